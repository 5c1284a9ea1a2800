"""An article's gold revisions: every gold it has had, appended and never changed.

The newest revision is the article's gold, and its spans are also stored as
the article's ``gold`` spans, which every reader of gold uses. Each change of
gold (an import, a reviewer marking a version as gold, restoring an earlier
revision, and later adjudication) appends a revision in the same transaction
as it replaces those spans, so no gold is ever lost and each one says who
made it, when, from what and why. A revision may hold no spans: gold that
marks nothing in the article.

Changes are planned first (``plan_promotion``, ``plan_restore``) so that a
reviewer sees what would be replaced before confirming; the confirmation
names the revision it replaces, and a gold that changed in between is
refused as stale rather than overwritten.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotator.errors import Forbidden, InvalidEdit, NotFound, StaleVersion
from annotator.models import (
    AnnotationState,
    Article,
    GoldAction,
    GoldRevision,
    Origin,
    Role,
    Span,
    Status,
    User,
    utcnow,
)
from annotator.services import audit, version_counts
from annotator.services.visibility import get_visible

MAX_REASON = 2000


def snapshot(spans: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return spans as a revision stores them: start, end, label, attrs (and provenance), sorted by start.

    ``provenance`` (adjudicated gold: who had the span, whether the reviewer
    changed it) is kept only for a span that carries one.
    """
    return sorted(map(_snapshot_span, spans), key=lambda s: (s["start"], s["end"], s["label"]))


def _snapshot_span(span: Mapping[str, Any]) -> dict[str, Any]:
    item = {
        "start": span["start"],
        "end": span["end"],
        "label": span["label"],
        "attrs": dict(span.get("attrs") or {}),
    }
    if span.get("provenance") is not None:
        item["provenance"] = copy.deepcopy(dict(span["provenance"]))
    return item


def record_revision(
    session: Session,
    article_id: int,
    spans: Iterable[Mapping[str, Any]],
    *,
    action: GoldAction,
    source: str | None = None,
    reason: str | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> GoldRevision:
    """Append a revision holding ``spans`` and make them the article's gold spans; the caller commits.

    Two changes racing for the same revision number meet the unique
    constraint on (article, revision): one of them fails instead of both
    claiming to be the newest.
    """
    now = now or utcnow()
    spans = snapshot(spans)
    number = (
        session.exec(
            select(func.max(GoldRevision.revision)).where(GoldRevision.article_id == article_id)
        ).one()
        or 0
    ) + 1
    revision = GoldRevision(
        article_id=article_id,
        revision=number,
        action=GoldAction(action).value,
        source=source[:300] if source else None,
        reason=reason,
        created_by_id=user_id,
        created_at=now,
        spans=spans,
    )
    session.add(revision)
    session.execute(delete(Span).where(Span.article_id == article_id, Span.origin == Origin.GOLD.value))
    if spans:
        session.execute(
            insert(Span),
            [
                {
                    **span,
                    "article_id": article_id,
                    "origin": Origin.GOLD.value,
                    "owner_id": None,
                    "source": f"gold:{revision.action}",
                    "created_at": now,
                    "updated_at": now,
                }
                for span in spans
            ],
        )
    session.flush()
    version_counts.count_references(session, [article_id], only="gold")
    return revision


# --- reading the history ---------------------------------------------------------------


@dataclass(frozen=True)
class RevisionEntry:
    """One revision as the history page and confirmations show it."""

    revision: int
    action: str
    source: str | None
    reason: str | None
    created_by: str | None  # None: made by an import, or by a user since deleted
    created_at: datetime
    spans: list[dict[str, Any]]

    @property
    def span_count(self) -> int:
        return len(self.spans)

    @property
    def changed_by_reviewer(self) -> int:
        """How many spans the reviewer made or changed in adjudication, as their provenance says."""
        return sum(1 for span in self.spans if (span.get("provenance") or {}).get("changed"))

    def describe(self) -> str:
        """Return "revision 3, promote from annotator:ann by rev" and the like."""
        words = f"revision {self.revision} ({self.action}"
        if self.source:
            words += f" from {self.source}"
        if self.created_by:
            words += f" by {self.created_by}"
        return words + ")"


def history(session: Session, article_id: int) -> list[RevisionEntry]:
    """Return the article's gold revisions, newest first (the first is its gold)."""
    rows = session.exec(
        select(GoldRevision, User.username)
        .outerjoin(User, User.id == GoldRevision.created_by_id)
        .where(GoldRevision.article_id == article_id)
        .order_by(GoldRevision.revision.desc())
    ).all()
    return [_entry(revision, username) for revision, username in rows]


def _entry(revision: GoldRevision, username: str | None) -> RevisionEntry:
    return RevisionEntry(
        revision=revision.revision,
        action=revision.action,
        source=revision.source,
        reason=revision.reason,
        created_by=username,
        created_at=revision.created_at,
        spans=list(revision.spans or []),
    )


def current(session: Session, article_id: int) -> RevisionEntry | None:
    """Return the article's newest revision (its gold), or None when it has no stored gold."""
    row = session.exec(
        select(GoldRevision, User.username)
        .outerjoin(User, User.id == GoldRevision.created_by_id)
        .where(GoldRevision.article_id == article_id)
        .order_by(GoldRevision.revision.desc())
        .limit(1)
    ).first()
    return _entry(*row) if row else None


# --- planning and making a change -----------------------------------------------------------


@dataclass(frozen=True)
class SpanChange:
    """One span of a comparison, with the text it covers."""

    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    text: str
    # For a changed span: the label and attributes it had.
    was: tuple[str, dict[str, Any]] | None = None


@dataclass
class SpanDiff:
    """What replacing one list of spans by another does, span by span (matched on offsets)."""

    added: list[SpanChange] = field(default_factory=list)
    removed: list[SpanChange] = field(default_factory=list)
    changed: list[SpanChange] = field(default_factory=list)
    kept: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare(text: str, old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]]) -> SpanDiff:
    """Return what changes when the spans ``old`` are replaced by ``new``."""
    before = {(s["start"], s["end"]): s for s in snapshot(old)}
    after = {(s["start"], s["end"]): s for s in snapshot(new)}

    def change(span, was=None) -> SpanChange:
        return SpanChange(
            span["start"], span["end"], span["label"], span["attrs"], text[span["start"] : span["end"]], was
        )

    diff = SpanDiff()
    for key, span in after.items():
        old_span = before.get(key)
        if old_span is None:
            diff.added.append(change(span))
        elif (old_span["label"], old_span["attrs"]) != (span["label"], span["attrs"]):
            diff.changed.append(change(span, (old_span["label"], old_span["attrs"])))
        else:
            diff.kept += 1
    diff.removed.extend(change(span) for key, span in before.items() if key not in after)
    return diff


@dataclass(frozen=True)
class GoldChange:
    """A change of an article's gold, as the confirmation page shows it before anything is written."""

    article_id: int
    external_id: str
    # What would become gold: "ann's version" or "revision 2".
    incoming: str
    spans: list[dict[str, Any]]
    current: RevisionEntry | None
    diff: SpanDiff
    # Why a reason must be given, or None when none is needed.
    reason_required: str | None = None
    annotator: str | None = None
    revision: int | None = None

    @property
    def replaces(self) -> int:
        """The revision this change replaces (0: none), which the confirmation sends back."""
        return self.current.revision if self.current else 0


def _check_reviewer(user: User) -> None:
    if user.role == Role.ANNOTATOR.value:
        raise Forbidden("Only reviewers and admins can change an article's gold.")


def _article(session: Session, article_id: int) -> Article:
    article = get_visible(session, article_id)
    if article is None:
        raise NotFound(f"No article number {article_id}.")
    return article


def _version(
    session: Session, article_id: int, annotator: str
) -> tuple[User, str | None, list[dict[str, Any]]]:
    """Return the annotator, the status of their version (None: spans imported for them) and its spans."""
    owner = session.exec(select(User).where(User.username == annotator)).first()
    if owner is None:
        raise NotFound(f"No user named {annotator!r}.")
    status = session.exec(
        select(AnnotationState.status).where(
            AnnotationState.article_id == article_id, AnnotationState.user_id == owner.id
        )
    ).first()
    has_spans = session.exec(
        select(
            exists().where(
                Span.article_id == article_id,
                Span.origin == Origin.ANNOTATOR.value,
                Span.owner_id == owner.id,
            )
        )
    ).one()
    if status is None and not has_spans:
        raise NotFound(f"{annotator} has no version of this article to mark as gold.")
    rows = session.exec(
        select(Span.start, Span.end, Span.label, Span.attrs).where(
            Span.article_id == article_id, Span.origin == Origin.ANNOTATOR.value, Span.owner_id == owner.id
        )
    ).all()
    spans = [{"start": s, "end": e, "label": label, "attrs": attrs or {}} for s, e, label, attrs in rows]
    return owner, status, spans


def plan_promotion(session: Session, article_id: int, reviewer: User, annotator: str) -> GoldChange:
    """Return what making ``annotator``'s version the article's gold would change."""
    _check_reviewer(reviewer)
    article = _article(session, article_id)
    owner, status, spans = _version(session, article_id, annotator)
    now = current(session, article_id)
    reason_required = None
    if status != Status.ACCEPTED.value:
        state = "has only imported spans" if status is None else f"is {status.replace('_', ' ')}"
        reason_required = f"{owner.username}'s version {state}, not accepted"
    return GoldChange(
        article_id=article_id,
        external_id=article.external_id,
        incoming=f"{owner.username}'s version",
        spans=snapshot(spans),
        current=now,
        diff=compare(article.text, now.spans if now else [], spans),
        reason_required=reason_required,
        annotator=owner.username,
    )


def plan_restore(session: Session, article_id: int, reviewer: User, revision: int) -> GoldChange:
    """Return what making the earlier ``revision`` the article's gold again would change."""
    _check_reviewer(reviewer)
    article = _article(session, article_id)
    revisions = {entry.revision: entry for entry in history(session, article_id)}
    if revision not in revisions:
        raise NotFound(f"Article {article.external_id!r} has no gold revision {revision}.")
    now = current(session, article_id)
    old = revisions[revision]
    return GoldChange(
        article_id=article_id,
        external_id=article.external_id,
        incoming=f"revision {revision}",
        spans=old.spans,
        current=now,
        diff=compare(article.text, now.spans if now else [], old.spans),
        reason_required=None,
        revision=revision,
    )


@dataclass(frozen=True)
class GoldHistory:
    article_id: int
    external_id: str
    revisions: list[RevisionEntry]  # newest (the gold) first


def gold_history(session: Session, article_id: int, reviewer: User) -> GoldHistory:
    """Return every gold revision of the article, newest first, for a reviewer or admin."""
    _check_reviewer(reviewer)
    article = _article(session, article_id)
    return GoldHistory(article_id, article.external_id, history(session, article_id))


def _confirm(change: GoldChange, *, reason: str | None, replaces: int) -> str | None:
    """Check a confirmed change against the gold as it is now; return the cleaned reason."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidEdit(f"Not changed: keep the reason under {MAX_REASON} characters.")
    if change.replaces != replaces:
        now = f"revision {change.current.revision}" if change.current else "no gold"
        raise StaleVersion(
            f"Not changed: the gold of {change.external_id!r} changed while you looked (it is now {now}). "
            "Check what would be replaced now, then confirm again."
        )
    if change.reason_required and reason is None:
        raise InvalidEdit(
            f"Not changed: {change.reason_required}. Give a reason to mark it as gold anyway, "
            "or wait until it is accepted."
        )
    return reason


def promote(
    session: Session, article_id: int, reviewer: User, annotator: str, *, reason: str | None, replaces: int
) -> tuple[GoldChange, GoldRevision]:
    """Make ``annotator``'s version the article's gold, as confirmed against revision ``replaces``; commit."""
    change = plan_promotion(session, article_id, reviewer, annotator)
    source = f"{Origin.ANNOTATOR.value}:{annotator}"
    return change, _apply(
        session, change, reviewer, GoldAction.PROMOTE, source, reason=reason, replaces=replaces
    )


def restore(
    session: Session, article_id: int, reviewer: User, revision: int, *, reason: str | None, replaces: int
) -> tuple[GoldChange, GoldRevision]:
    """Make an earlier revision the article's gold again (as a new revision), as confirmed; commit."""
    change = plan_restore(session, article_id, reviewer, revision)
    source = f"revision {revision}"
    return change, _apply(
        session, change, reviewer, GoldAction.RESTORE, source, reason=reason, replaces=replaces
    )


def _apply(
    session: Session,
    change: GoldChange,
    reviewer: User,
    action: GoldAction,
    source: str,
    *,
    reason: str | None,
    replaces: int,
) -> GoldRevision:
    """Check a confirmed change against the gold as it is now, append its revision and commit."""
    reason = _confirm(change, reason=reason, replaces=replaces)
    revision = record_revision(
        session,
        change.article_id,
        change.spans,
        action=action,
        source=source,
        reason=reason,
        user_id=reviewer.id,
    )
    audit.record(
        session,
        reviewer,
        f"gold.{revision.action}",
        f"article:{change.external_id}",
        revision=revision.revision,
        replaces=change.replaces or None,
        source=source,
        reason=reason,
    )
    _commit_or_stale(session, change)
    return revision


def _commit_or_stale(session: Session, change: GoldChange) -> None:
    try:
        session.commit()
    except IntegrityError as error:  # another change took the same revision number first
        session.rollback()
        raise StaleVersion(
            f"Not changed: someone else changed the gold of {change.external_id!r} at the same moment. "
            "Check what would be replaced now, then confirm again."
        ) from error


def articles_with_revisions(session: Session, article_ids: list[int]) -> set[int]:
    """Return those of ``article_ids`` that have stored gold (a revision), however empty."""
    if not article_ids:
        return set()
    return set(
        session.exec(
            select(GoldRevision.article_id).where(GoldRevision.article_id.in_(article_ids)).distinct()
        )
    )


def has_revision_condition():
    """Return the condition on Article that it has stored gold."""
    return exists().where(GoldRevision.article_id == Article.id)
