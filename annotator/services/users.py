"""Users: create, list, authenticate, and change password, role or whether they may log in.

Every change that should lock someone out (a new password, a new role,
deactivation) ends the user's sessions in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from annotator.errors import LoginFailed, LoginThrottled, NotFound, UserExists
from annotator.models import Role, User
from annotator.services import api_tokens, login_throttle, sessions

# scrypt is a memory-hard KDF; werkzeug salts and encodes the parameters in the hash.
PASSWORD_METHOD = "scrypt"


def _hash_password(password: str) -> str:
    if not password:
        raise ValueError("a password cannot be empty")
    return generate_password_hash(password, method=PASSWORD_METHOD)


def create_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Create a user with a hashed password and commit it."""
    username = username.strip()
    if not username:
        raise ValueError("a username cannot be empty")
    password_hash = _hash_password(password)
    role = Role(role).value
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(username=username, password_hash=password_hash, role=role)
    session.add(user)
    try:
        session.commit()
    except IntegrityError as error:  # a concurrent insert of the same name
        session.rollback()
        raise UserExists(f"user {username!r} already exists") from error
    session.refresh(user)
    return user


def ensure_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Return the user named ``username``, creating it when missing."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user if user is not None else create_user(session, username, password, role=role)


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.exec(select(User).order_by(User.username)))


def get_user(session: Session, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    return session.get(User, user_id)


def get_user_by_name(session: Session, username: str) -> User | None:
    """Return the user with this name, or None."""
    return session.exec(select(User).where(User.username == username)).first()


def _named(session: Session, username: str) -> User:
    user = get_user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}; `annotator user list` shows who there is")
    return user


def set_password(session: Session, username: str, password: str) -> int:
    """Give the user a new password, end their sessions, commit; return how many sessions ended."""
    user = _named(session, username)
    user.password_hash = _hash_password(password)
    ended = sessions.end_user_sessions(session, user.id)
    session.commit()
    return ended


def set_role(session: Session, username: str, role: str) -> tuple[str, int]:
    """Give the user another role and end their sessions; commit; return the old role and sessions ended."""
    role = Role(role).value
    user = _named(session, username)
    old = user.role
    if old == role:
        return old, 0
    user.role = role
    ended = sessions.end_user_sessions(session, user.id)
    session.commit()
    return old, ended


def set_active(session: Session, username: str, active: bool) -> int:
    """Allow or stop the user's logins (deactivating ends their sessions); commit; return sessions ended."""
    user = _named(session, username)
    user.is_active = active
    ended = 0
    if not active:
        ended = sessions.end_user_sessions(session, user.id)
        # A deactivated user's API tokens die with their sessions: reactivating does not revive them.
        api_tokens.revoke_user_tokens(session, user.id)
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
