"""Login sessions kept on the server: started at login, checked on every request, ended for good.

The browser's signed cookie carries only a random token. A session is valid
while its row exists, has not expired and its user is active, so logging out,
a password or role change and deactivation end it at once, on every worker.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from annotator.models import User, UserSession, utcnow
from annotator.services.settings import ProjectSettings, settings_from_rows, stored_settings


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


def check_session(
    session: Session, token: str, *, now: datetime | None = None
) -> tuple[User, ProjectSettings] | None:
    """Return the active user whose unexpired session ``token`` names and the project's settings, or None.

    One query: a request's first, checking its session every time, brings the
    settings most pages and every edit need along with the user.
    """
    row = session.execute(
        select(User, stored_settings())
        .join(UserSession, UserSession.user_id == User.id)
        .where(*_valid_session(token, now))
    ).first()
    if row is None:
        return None
    user, settings = row
    return user, settings_from_rows(settings)


def end_session(session: Session, token: str) -> None:
    """End the session ``token`` names (nothing happens when it already ended); commit."""
    session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))
    session.commit()


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of the user and return how many there were; the caller commits."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return result.rowcount or 0
