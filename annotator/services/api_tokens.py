"""Personal API tokens: created and revoked by their user or an admin, checked on every API request.

A token is shown once, when it is created. Only its SHA-256 is stored, so a
copy of the database holds no usable token. A token acts with its user's
current role, read from the user's row on every request; deactivating the user
revokes every token they have.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from annotator.errors import NotFound
from annotator.models import ApiToken, User, utcnow
from annotator.services import audit

# Tokens start with this, so a leaked one is easy to recognise (and to search code for).
TOKEN_PREFIX = "ann_"
# A token's last use is written at most this often, so reading with a token rarely writes.
LAST_USED_RESOLUTION_SECONDS = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, user: User, name: str, *, created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the user and add it to the transaction (the caller commits); return it and its secret."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name, such as the script or machine that will use it")
    if len(name) > 100:
        raise ValueError("a token's name is at most 100 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        created_by_id=created_by.id if created_by is not None else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session, user_id: int, *, include_revoked: bool = True) -> list[ApiToken]:
    """Return the user's tokens, newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(col(ApiToken.id).desc())
    if not include_revoked:
        query = query.where(col(ApiToken.revoked_at).is_(None))
    return list(session.exec(query))


def revoke_token(session: Session, user_id: int, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (the caller commits); revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound(f"the user has no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def issue(session: Session, user: User, name: str, *, actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a token for the user, record it in the audit log and commit; return it and its secret.

    ``actor`` is who asked (the user themselves or an admin; None: the command line).
    """
    if not user.is_active:
        # Its token would come alive on reactivation, which is meant to revive none.
        raise ValueError(f"{user.username!r} is deactivated; activate them before giving them a token")
    token, secret = create_token(session, user, name, created_by=actor)
    audit.record(
        session,
        actor,
        "token.create",
        f"user:{user.username}",
        token_id=token.id,
        name=token.name,
        prefix=token.prefix,
    )
    session.commit()
    return token, secret


def revoke(session: Session, user: User, token_id: int, *, actor: User | None = None) -> ApiToken:
    """Revoke one of the user's tokens, record it in the audit log and commit; a revoked token stays so.

    Raises NotFound when the user has no such token (another user's included).
    """
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"{user.username!r} has no token {token_id}")
    if token.revoked_at is None:
        revoke_token(session, user.id, token_id)
        audit.record(
            session,
            actor,
            "token.revoke",
            f"user:{user.username}",
            token_id=token.id,
            name=token.name,
            prefix=token.prefix,
        )
        session.commit()
    return token


def revoke_user_tokens(session: Session, user_id: int) -> int:
    """Revoke every live token of the user (the caller commits); return how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def user_for_api_token(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    """Return the active user a live token belongs to, or None; note the token's use now and then."""
    row = session.exec(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == _hash(secret),
            col(ApiToken.revoked_at).is_(None),
            User.is_active,
        )
    ).first()
    if row is None:
        return None
    user, token = row
    now = now or utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        token.last_used_at = now
        session.commit()
    return user
