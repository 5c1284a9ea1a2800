"""The audit log: what admins did (users, imports, exports, settings, gold), by whom and when.

``record`` adds an event to the caller's transaction and never commits: the
event is saved with the action it describes, or not at all. The command line
acts as no user; its events name it ``(command line)``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
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
        # autoescape: a "_" or "%" typed into the filter is a character, not a wildcard.
        query = query.where(col(AuditEvent.action).startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEvent.actor_name == actor)
    events = list(session.exec(query))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].id if more else None)


# --- reading the log: the audit page's filters and its CSV download ---------------------------------

# The groups of actions the audit page filters by (an action's prefix up to its dot).
ACTION_GROUPS = ("user.", "token.", "claim.", "import.", "article.", "export.", "setting.", "gold.")
CSV_HEADER = ("id", "when_utc", "actor", "action", "target", "details")
CSV_BATCH = 1000


def actor_names(session: Session) -> list[str]:
    """Return every name that acted in the log, in order."""
    return list(session.exec(select(AuditEvent.actor_name).distinct().order_by(AuditEvent.actor_name)))


def compact(details: dict[str, Any]) -> str:
    """Return an event's details on one line: "old: 1, new: 2"."""
    return ", ".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in details.items()
        if value is not None
    )


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with one of these as a formula; names and ids are typed by users.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_lines(session: Session, *, action: str | None = None, actor: str | None = None) -> Iterator[str]:
    """Yield the filtered log as CSV, newest first, a batch of events at a time (memory stays flat)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    before = None
    while True:
        page = list_events(session, before=before, action=action, actor=actor, limit=CSV_BATCH)
        for event in page.events:
            writer.writerow(
                (
                    event.id,
                    event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    _cell(event.actor_name),
                    event.action,
                    _cell(event.target or ""),
                    json.dumps(event.details, ensure_ascii=False, sort_keys=True),
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next_before is None:
            return
        before = page.next_before
        session.expunge_all()  # what was written need not stay in the session
