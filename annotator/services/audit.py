"""The audit log: what admins did (users, imports, exports, settings, gold), by whom and when.

``record`` adds an event to the caller's transaction and never commits: the
event is saved with the action it describes, or not at all. The command line
acts as no user; its events name it ``(command line)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from annotator.models import AuditEvent, User

COMMAND_LINE = "(command line)"
PAGE_SIZE = 100


def record(
    session: Session,
    actor: User | None,
    action: str,
    target: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the session's transaction (the caller commits) and return it."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.username if actor is not None else COMMAND_LINE,
        action=action,
        target=target[:300] if target else None,
        details=details,
    )
    session.add(event)
    return event


@dataclass
class AuditPage:
    events: list[AuditEvent]
    # The id to pass as ``before`` for the next (older) page; None: this is the last page.
    next_before: int | None


def list_events(
    session: Session,
    *,
    before: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """Return the newest events (older than ``before``), filtered by action prefix or actor name."""
    query = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit + 1)
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    if action:
        query = query.where(col(AuditEvent.action).startswith(action))
    if actor:
        query = query.where(AuditEvent.actor_name == actor)
    events = list(session.exec(query))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].id if more else None)
