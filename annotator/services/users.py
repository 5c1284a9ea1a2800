"""Users: create, list, authenticate, and change password, role or whether they may log in.

Every change that should lock someone out (a new password, a new role,
deactivation) ends the user's sessions in the same transaction. The changes an
admin makes (here or on the command line, where ``actor`` is None) are written
to the audit log in that transaction too, and none of them may leave the
project without an active admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from annotator.errors import Forbidden, InvalidEdit, LoginFailed, LoginThrottled, NotFound, UserExists
from annotator.models import ApiToken, Role, User, UserSession, utcnow
from annotator.services import api_tokens, audit, login_throttle, passwords, sessions

# scrypt is a memory-hard KDF; werkzeug salts and encodes the parameters in the hash.
PASSWORD_METHOD = "scrypt"


def _hash_password(password: str) -> str:
    if not password:
        raise ValueError("a password cannot be empty")
    return generate_password_hash(password, method=PASSWORD_METHOD)


class LastAdmin(InvalidEdit):
    """The change would leave no active admin, and nobody could use the admin pages any more."""


class WrongPassword(InvalidEdit):
    """The current password given to change one's own password is not the user's."""


def _target(user: User) -> str:
    return f"user:{user.username}"


def _insert_user(
    session: Session, username: str, password: str, *, role: str, must_change_password: bool
) -> User:
    """Add the user to the transaction and flush it; raise UserExists for a name already taken."""
    username = username.strip()
    if not username:
        raise ValueError("a username cannot be empty")
    if len(username) > 80:
        raise ValueError("a username is at most 80 characters")
    password_hash = _hash_password(password)
    role = Role(role).value
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(
        username=username, password_hash=password_hash, role=role, must_change_password=must_change_password
    )
    session.add(user)
    return user


def _commit_new_user(session: Session, user: User) -> User:
    try:
        session.commit()
    except IntegrityError as error:  # a concurrent insert of the same name
        session.rollback()
        raise UserExists(f"user {user.username!r} already exists") from error
    session.refresh(user)
    return user


def create_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Create a user with a hashed password and commit it (no policy, no audit: see ``add_user``)."""
    user = _insert_user(session, username, password, role=role, must_change_password=False)
    return _commit_new_user(session, user)


def add_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: str = "annotator",
    must_change_password: bool = False,
    actor: User | None = None,
) -> User:
    """Add a user as an admin does: the password follows the policy and the audit log records it; commit.

    Raises WeakPassword (nothing written) when the password breaks the policy.
    """
    passwords.check_password(password, username=username.strip())
    user = _insert_user(session, username, password, role=role, must_change_password=must_change_password)
    audit.record(
        session, actor, "user.add", _target(user), role=user.role, must_change_password=must_change_password
    )
    return _commit_new_user(session, user)


def ensure_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Return the user named ``username``, creating it when missing."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user if user is not None else create_user(session, username, password, role=role)


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.exec(select(User).order_by(User.username)))


@dataclass(frozen=True)
class UserOverview:
    """A user as the admin's list shows them."""

    user: User
    live_tokens: int
    live_sessions: int


def list_user_overviews(
    session: Session, *, username: str | None = None, now: datetime | None = None
) -> list[UserOverview]:
    """Return every user (or the one named), by name, with how many live API tokens and sessions they have."""
    now = now or utcnow()
    tokens = (
        select(func.count())
        .where(ApiToken.user_id == User.id, col(ApiToken.revoked_at).is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    logins = (
        select(func.count())
        .where(UserSession.user_id == User.id, UserSession.expires_at > now)
        .correlate(User)
        .scalar_subquery()
    )
    query = select(User, tokens, logins).order_by(User.username)
    if username is not None:
        query = query.where(User.username == username)
    rows = session.exec(query).all()
    return [UserOverview(user, token_count, session_count) for user, token_count, session_count in rows]


def get_user(session: Session, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    return session.get(User, user_id)


def get_user_by_name(session: Session, username: str) -> User | None:
    """Return the user with this name, or None."""
    return session.exec(select(User).where(User.username == username)).first()


def whose_work(session: Session, viewer: User, annotator: str | None, *, refusal: str) -> User:
    """Return whose work ``viewer`` asks to see: their own, or (reviewers and admins only) ``annotator``'s.

    An annotator asking for someone else's gets Forbidden with ``refusal``; an
    unknown name gets NotFound.
    """
    if not annotator or annotator == viewer.username:
        return viewer
    if viewer.role == Role.ANNOTATOR.value:
        raise Forbidden(refusal)
    owner = get_user_by_name(session, annotator)
    if owner is None:
        raise NotFound(f"No user named {annotator!r}.")
    return owner


def _named(session: Session, username: str) -> User:
    user = get_user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}; `annotator user list` shows who there is")
    return user


_ACTIVE_ADMINS = select(User.id).where(User.role == Role.ADMIN.value, User.is_active)


def _lock_active_admins(session: Session) -> None:
    """Hold the active admins' rows until commit (PostgreSQL: FOR UPDATE; SQLite ignores it).

    Taken before a change that may remove an admin, so two admins demoting
    each other at once are counted one after the other. On SQLite the
    change's flush takes the database's write lock, which does the same.
    """
    session.exec(_ACTIVE_ADMINS.with_for_update()).all()


def _refuse_leaving_no_admin(session: Session, user: User) -> None:
    """Roll back and raise LastAdmin when ``user``'s pending change has left no active admin."""
    session.flush()
    if session.exec(select(func.count()).select_from(_ACTIVE_ADMINS.subquery())).one() == 0:
        session.rollback()
        raise LastAdmin(
            f"{user.username!r} is the last active admin; make another user an admin first, "
            "or nobody could manage users any more"
        )


def set_password(session: Session, username: str, password: str, *, actor: User | None = None) -> int:
    """Give the user a new password, end their sessions, commit; return how many sessions ended.

    The password is not checked against the policy here: the command line
    checks it before (the demo's own login is exempt).
    """
    user = _named(session, username)
    user.password_hash = _hash_password(password)
    ended = sessions.end_user_sessions(session, user.id)
    audit.record(
        session, actor, "user.password_reset", _target(user), must_change_password=False, sessions_ended=ended
    )
    session.commit()
    return ended


def reset_password(session: Session, username: str, temporary: str, *, actor: User | None = None) -> int:
    """Give the user a temporary password they must change at their next login; end their sessions; commit.

    Returns how many sessions ended. The temporary password follows the
    policy (WeakPassword otherwise, nothing written). An admin changes their
    own password on their account page, which asks for the current one.
    """
    user = _named(session, username)
    if actor is not None and actor.id == user.id:
        raise InvalidEdit("change your own password on your Account page, which asks for the current one")
    passwords.check_password(temporary, username=user.username)
    user.password_hash = _hash_password(temporary)
    user.must_change_password = True
    ended = sessions.end_user_sessions(session, user.id)
    audit.record(
        session, actor, "user.password_reset", _target(user), must_change_password=True, sessions_ended=ended
    )
    session.commit()
    return ended


def change_own_password(session: Session, user: User, current: str, new: str, *, lifetime: timedelta) -> str:
    """Change the user's own password after checking the current one; commit; return a new session token.

    Every session of the user ends, the one this change was made from
    included, and a fresh session is started in the same transaction: a
    session that may have leaked before the change is worthless after it,
    while the person changing the password stays logged in. Clears
    ``must_change_password``. Raises WrongPassword or WeakPassword (nothing
    written), and refuses a new password equal to the current one.
    """
    if not check_password_hash(user.password_hash, current):
        raise WrongPassword("the current password is wrong")
    passwords.check_password(new, username=user.username)
    if new == current:
        raise passwords.WeakPassword("the new password must differ from the current one")
    user.password_hash = _hash_password(new)
    user.must_change_password = False
    session.add(user)
    ended = sessions.end_user_sessions(session, user.id)
    audit.record(session, user, "user.password_change", _target(user), sessions_ended=ended)
    # start_session commits the whole change, audit event included.
    return sessions.start_session(session, user.id, lifetime=lifetime)


def set_role(session: Session, username: str, role: str, *, actor: User | None = None) -> tuple[str, int]:
    """Give the user another role and end their sessions; commit; return the old role and sessions ended.

    Raises LastAdmin when this would demote the last active admin.
    """
    role = Role(role).value
    user = _named(session, username)
    old = user.role
    if old == role:
        return old, 0
    if old == Role.ADMIN.value:
        _lock_active_admins(session)
    user.role = role
    if old == Role.ADMIN.value:
        _refuse_leaving_no_admin(session, user)
    ended = sessions.end_user_sessions(session, user.id)
    audit.record(session, actor, "user.role", _target(user), old=old, new=role, sessions_ended=ended)
    session.commit()
    return old, ended


def set_active(session: Session, username: str, active: bool, *, actor: User | None = None) -> int:
    """Allow or stop the user's logins (deactivating ends their sessions); commit; return sessions ended.

    Deactivating revokes the user's API tokens too, and raises LastAdmin for
    the last active admin. Asking for the state the user is already in
    changes (and records) nothing.
    """
    user = _named(session, username)
    if user.is_active == active:
        return 0
    if active:
        user.is_active = True
        audit.record(session, actor, "user.activate", _target(user))
        session.commit()
        return 0
    if user.role == Role.ADMIN.value:
        _lock_active_admins(session)
    user.is_active = False
    if user.role == Role.ADMIN.value:
        _refuse_leaving_no_admin(session, user)
    ended = sessions.end_user_sessions(session, user.id)
    # A deactivated user's API tokens die with their sessions: reactivating does not revive them.
    revoked = api_tokens.revoke_user_tokens(session, user.id)
    audit.record(
        session, actor, "user.deactivate", _target(user), sessions_ended=ended, tokens_revoked=revoked
    )
    session.commit()
    return ended


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the user when the password matches, else None (deactivated users included)."""
    user = get_user_by_name(session, username.strip())
    if user is None:
        # Hash anyway so a wrong name takes as long as a wrong password.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def log_in(
    session: Session,
    username: str,
    password: str,
    *,
    address: str,
    policy: login_throttle.ThrottlePolicy,
    lifetime,
) -> tuple[User, str]:
    """Check the password under the login throttle and start a session; return the user and its token.

    Raises LoginThrottled before looking at the password when the account or
    the address has failed too often, and LoginFailed (counted) otherwise.
    """
    username = username.strip()
    wait = login_throttle.retry_after(session, policy, username=username, address=address)
    if wait is not None:
        raise LoginThrottled(wait)
    user = authenticate(session, username, password)
    if user is None:
        login_throttle.record_failure(session, policy, username=username, address=address)
        raise LoginFailed("Incorrect username or password.")
    if not user.is_active:
        # Said only to someone who knows the password: it tells a guesser nothing.
        raise LoginFailed("This account is deactivated. Ask an admin to activate it again.")
    login_throttle.forget_account_failures(session, username)
    return user, sessions.start_session(session, user.id, lifetime=lifetime)


_DUMMY_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)
