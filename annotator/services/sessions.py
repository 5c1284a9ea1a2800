"""Login sessions kept on the server: started at login, checked on every request, ended for good.

The browser's signed cookie carries only a random token. A session is valid
while its row exists, has not expired and its user is active, so logging out,
a password or role change and deactivation end it at once, on every worker.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session, select

from annotator.models import User, UserSession, utcnow
from annotator.services.settings import ProjectSettings, settings_from_rows, stored_settings

# The user's columns, in the order the session check selects them.
_USER_COLUMNS = tuple(column.key for column in User.__table__.c)


@functools.cache
def _user_manager():
    # A worker's first request may come before any ORM query, which would have set the mappers
    # up: without that, the user's attributes have no implementation yet.
    configure_mappers()
    return manager_of_class(User)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user_id: int, *, lifetime: timedelta, now: datetime | None = None) -> str:
    """Start a session for the user that lasts ``lifetime``, commit, and return its token."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    # A login is a good moment to forget this user's sessions that ran out.
    session.execute(delete(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at <= now))
    session.add(
        UserSession(user_id=user_id, token_hash=_hash(token), created_at=now, expires_at=now + lifetime)
    )
    session.commit()
    return token


def _valid_session(token: str, now: datetime | None):
    return (
        UserSession.token_hash == _hash(token),
        UserSession.expires_at > (now or utcnow()),
        User.is_active,
    )


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """Return the active user whose unexpired session ``token`` names, or None (one query)."""
    return session.exec(
        select(User).join(UserSession, UserSession.user_id == User.id).where(*_valid_session(token, now))
    ).first()


@functools.cache
def _check_statement():
    """Select the user of an unexpired session (:token_hash, :now) who is active, and the stored settings."""
    users, sessions = User.__table__, UserSession.__table__
    return (
        select(*users.c, stored_settings())
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == bindparam("token_hash"), sessions.c.expires_at > bindparam("now"))
        .where(users.c.is_active)
    )


def check_session(
    session: Session, token: str, *, now: datetime | None = None
) -> tuple[User, ProjectSettings] | None:
    """Return the active user whose unexpired session ``token`` names and the project's settings, or None.

    One query: a request's first, checking its session every time, brings the
    settings most pages and every edit need along with the user. It runs on
    every request, so it is a Core statement built once, and the user is put
    into the session as loaded (no ORM row loading, no query).
    """
    row = session.execute(_check_statement(), {"token_hash": _hash(token), "now": now or utcnow()}).first()
    if row is None:
        return None
    *columns, settings = row
    # Made as the ORM makes a loaded row's object (no __init__, the values straight into its
    # state), then attached as persistent with nothing to flush.
    user = _user_manager().new_instance()
    user.__dict__.update(zip(_USER_COLUMNS, columns, strict=True))
    make_transient_to_detached(user)
    session.add(user)
    return user, settings_from_rows(settings)


def end_session(session: Session, token: str) -> None:
    """End the session ``token`` names (nothing happens when it already ended); commit."""
    session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))
    session.commit()


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of the user and return how many there were; the caller commits."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return result.rowcount or 0
