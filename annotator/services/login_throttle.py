"""Throttle password guessing: failed logins counted per account and per client address.

Counts live in the database, so every web worker and host sees the same ones.
A key over its limit within the window is refused, right password or not,
until enough of its failures have aged out; refused attempts are not counted,
so waiting always works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from annotator.models import LoginFailure, utcnow

# Longer keys are cut: a key only has to tell accounts and addresses apart.
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class ThrottlePolicy:
    per_account: int
    per_address: int
    window: timedelta


def account_key(username: str) -> str:
    return f"account:{username}"[:MAX_KEY_LENGTH]


def address_key(address: str) -> str:
    return f"address:{address}"[:MAX_KEY_LENGTH]


def _limits(policy: ThrottlePolicy, username: str, address: str) -> list[tuple[str, int]]:
    return [(account_key(username), policy.per_account), (address_key(address), policy.per_address)]


def retry_after(
    session: Session, policy: ThrottlePolicy, *, username: str, address: str, now: datetime | None = None
) -> int | None:
    """Return the seconds to wait before this account may be tried from this address, or None."""
    now = now or utcnow()
    since = now - policy.window
    waits = []
    for key, limit in _limits(policy, username, address):
        recent = session.exec(
            select(LoginFailure.failed_at)
            .where(LoginFailure.key == key, LoginFailure.failed_at > since)
            .order_by(LoginFailure.failed_at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            # Below the limit again once the limit-th newest failure leaves the window.
            waits.append((recent[-1] + policy.window - now).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else None


def record_failure(
    session: Session, policy: ThrottlePolicy, *, username: str, address: str, now: datetime | None = None
) -> None:
    """Count a failed login against the account and the address, forget old failures, and commit."""
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - policy.window))
    session.execute(
        insert(LoginFailure),
        [{"key": key, "failed_at": now} for key, _ in _limits(policy, username, address)],
    )
    session.commit()


def forget_account_failures(session: Session, username: str) -> None:
    """Forget the account's failed logins (after a successful one); the caller commits."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == account_key(username)))


def api_key(address: str) -> str:
    return f"api:{address}"[:MAX_KEY_LENGTH]


def api_retry_after(
    session: Session, policy: ThrottlePolicy, *, address: str, now: datetime | None = None
) -> int | None:
    """Return the seconds an address must wait after too many bad API tokens, or None."""
    now = now or utcnow()
    limit = policy.per_address
    recent = session.exec(
        select(LoginFailure.failed_at)
        .where(LoginFailure.key == api_key(address), LoginFailure.failed_at > now - policy.window)
        .order_by(LoginFailure.failed_at.desc())
        .limit(limit)
    ).all()
    if len(recent) < limit:
        return None
    return max(1, math.ceil((recent[-1] + policy.window - now).total_seconds()))


def record_api_failure(
    session: Session, policy: ThrottlePolicy, *, address: str, now: datetime | None = None
) -> None:
    """Count a request with a bad API token against its address, forget old failures, and commit."""
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - policy.window))
    session.execute(insert(LoginFailure), [{"key": api_key(address), "failed_at": now}])
    session.commit()
