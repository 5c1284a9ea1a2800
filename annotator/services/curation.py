"""Adjudication: a reviewer turns the versions of an article into its gold, through a draft.

The first time a reviewer opens an article's curation, its draft gold is
filled with the spans the project's merge strategy accepts (see
``curation_merge``); every other span of the versions is a candidate. The
versions are the accepted and flagged working copies of the article's
annotators, read afresh on every request, and never changed here.

The draft is one row (``Curation``) saved edit by edit. As with a working
copy, each edit names the draft version it was made on and a conditional
``UPDATE ... WHERE version = :seen`` both bumps and locks it, so of two edits
made on one version one wins and the other gets StaleVersion. Each edit is
logged (``CurationEdit``) with the spans it removed and added and the
candidate answers it changed, so that undo can reverse it.

Finishing saves the draft as the article's gold: a gold revision (action
``adjudicate``) whose spans carry their provenance, the annotators who had
each one exactly and whether the reviewer changed it. Re-opening starts a new
draft from the gold as it then is; the revisions keep every earlier gold.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, bindparam, cast, delete, exists, func, insert, select, update
from sqlmodel import Session

from annotator.errors import (
    Forbidden,
    InvalidEdit,
    InvalidSpan,
    NotFound,
    NothingToUndo,
    SpanOverlap,
    StaleVersion,
)
from annotator.labels import CASUALTY, attribute_errors, missing_attributes
from annotator.models import (
    AnnotationState,
    Article,
    ArticleCues,
    Curation,
    CurationEdit,
    GoldAction,
    GoldRevision,
    Origin,
    Role,
    Span,
    Status,
    User,
    utcnow,
)
from annotator.services import audit, curation_merge, tallies
from annotator.services.chunks import Chunk, chunks
from annotator.services.curation_merge import ACCEPTED, REJECTED, span_key
from annotator.services.edits import (
    check_complete,
    check_label,
    overlap_message,
    resized_bounds,
    snapped_selection,
)
from annotator.services.gold_revisions import record_revision
from annotator.services.settings import load_settings
from annotator.services.visibility import visible_articles
from annotator.services.workspace import StateView, casualty_badge

if TYPE_CHECKING:
    from annotator.nlp.tally import ArticleTally

_ARTICLES = Article.__table__
_CUES = ArticleCues.__table__
_SPANS = Span.__table__
_STATES = AnnotationState.__table__
_USERS = User.__table__
_CURATIONS = Curation.__table__
_EDITS = CurationEdit.__table__
_REVISIONS = GoldRevision.__table__

# The working copies that take part: finished by their annotator, flagged ones included (a flag
# may be adjudicated directly).
VERSION_STATUSES = (Status.ACCEPTED.value, Status.FLAGGED.value)
# How many annotator colours the stylesheet has (.who-0 … .who-7).
COLOURS = 8
# Every part of the curation view an edit can change.
EVERYTHING = frozenset({"spans", "candidates", "status"})


class NeedsConfirmation(InvalidEdit):
    """Finishing while candidates are still open: the reviewer must say so."""

    def __init__(self, message: str, *, open_candidates: int) -> None:
        super().__init__(message)
        self.open_candidates = open_candidates


# --- what the templates get ----------------------------------------------------------


@dataclass(frozen=True)
class DraftSpan:
    id: int
    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    text: str
    # The reviewer made this span or changed it (its offsets, label or attributes).
    changed: bool = False
    # Who has exactly this span in their version (filled in when read for a page).
    annotators: tuple[str, ...] = ()

    @functools.cached_property
    def badge(self) -> str | None:
        return casualty_badge(self.attrs) if self.label == CASUALTY else None

    @functools.cached_property
    def missing(self) -> tuple[str, ...]:
        return missing_attributes(self.label, self.attrs)

    @property
    def key(self) -> str:
        return span_key(self.start, self.end, self.label, self.attrs)

    def stored(self) -> dict[str, Any]:
        """Return the span as the draft row stores it."""
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "attrs": self.attrs,
            "changed": self.changed,
        }

    def provenance(self) -> dict[str, Any]:
        return {"annotators": list(self.annotators), "changed": self.changed}


def _draft_span(text: str, stored: Mapping[str, Any]) -> DraftSpan:
    start, end = stored["start"], stored["end"]
    return DraftSpan(
        id=stored["id"],
        start=start,
        end=end,
        label=stored["label"],
        attrs=dict(stored.get("attrs") or {}),
        text=text[start:end],
        changed=bool(stored.get("changed")),
    )


@dataclass(frozen=True)
class Annotator:
    """One version's annotator, as the curation view names them: initials in a colour of their own."""

    username: str
    status: str
    colour: int
    comment: str | None = None

    @property
    def initials(self) -> str:
        parts = [
            part
            for part in self.username.replace("-", " ").replace(".", " ").replace("_", " ").split()
            if part
        ]
        if len(parts) >= 2:
            return (parts[0][0] + parts[1][0]).upper()
        return self.username[:2].upper()


@dataclass(frozen=True)
class CandidateView:
    key: str
    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    kinds: tuple[str, ...]
    decision: str | None
    in_draft: bool
    settled: bool
    text: str
    who: tuple[Annotator, ...]
    # The draft spans it would replace if accepted.
    against: tuple[DraftSpan, ...] = ()

    @property
    def kind(self) -> str:
        return self.kinds[0]

    @property
    def open(self) -> bool:
        return curation_merge.is_open(self.decision, self.in_draft, self.settled)

    @property
    def badge(self) -> str | None:
        return casualty_badge(self.attrs) if self.label == CASUALTY else None

    @property
    def description(self) -> str:
        """Its kinds in words: "boundary conflict (and missing from some versions)"."""
        first, *rest = (KIND_WORDS[kind] for kind in self.kinds)
        return f"{first} (and {', '.join(rest)})" if rest else first


KIND_WORDS = {
    "label": "label conflict",
    "boundary": "boundary conflict",
    "attributes": "attribute conflict",
    "missing": "missing from some versions",
}


@dataclass(frozen=True)
class CurationView:
    """An article's draft gold (or finished adjudication), its candidates and its versions."""

    article_id: int
    external_id: str
    text: str
    spans: tuple[DraftSpan, ...]
    state: StateView
    # The candidates as the list shows them: all, or after an edit only those whose entry it changed.
    candidates: tuple[CandidateView, ...]
    annotators: tuple[Annotator, ...]
    strategy: str
    # The candidates still open, of all of them.
    open_count: int = 0
    finished_at: datetime | None = None
    finished_by: str | None = None
    # The article's newest gold revision (None: no gold yet).
    gold_revision: int | None = None
    selected: DraftSpan | None = None
    # Who last changed the draft, and when: reviewers may share an article.
    last_edited_by: str | None = None
    last_edited_at: datetime | None = None
    # The templates shared with the review page post its edits to this blueprint's routes.
    blueprint: str = "curation"
    # The article's stored tally cues (None: none yet, read by rule).
    cues: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def tally(self) -> ArticleTally:
        """The draft gold's article tally."""
        return tallies.tally_of(self.spans, self.text, self.cues)

    @property
    def editable(self) -> bool:
        return self.finished_at is None

    def chunks(self, changed: Iterable[tuple[int, int]] | None = None) -> list[Chunk]:
        return chunks(self.text, self.spans, changed=changed)

    def span(self, span_id: int | None) -> DraftSpan | None:
        return next((span for span in self.spans if span.id == span_id), None)


@dataclass(frozen=True)
class CurationResult:
    view: CurationView
    message: str | None = None
    changed: frozenset[str] = EVERYTHING
    # The character ranges of the spans the edit removed and added (None: redraw all the text).
    ranges: tuple[tuple[int, int], ...] | None = None
    # The candidates whose entry the edit changed (None: redraw the whole list, as when one came or went).
    candidate_keys: frozenset[str] | None = None


# --- reading -------------------------------------------------------------------------------


def _require_reviewer(user: User) -> None:
    if user.role == Role.ANNOTATOR.value:
        raise Forbidden("Adjudication makes gold: reviewers and admins only.")


@functools.cache
def _article_statement():
    """Select the article :article_id, its draft (if any), its newest gold revision and whether undo has work."""
    article, curation = _ARTICLES.c, _CURATIONS.c
    newest_revision = (
        select(func.max(_REVISIONS.c.revision)).where(_REVISIONS.c.article_id == article.id).scalar_subquery()
    )
    finisher = select(_USERS.c.username).where(_USERS.c.id == curation.finished_by_id).scalar_subquery()
    editor = select(_USERS.c.username).where(_USERS.c.id == curation.updated_by_id).scalar_subquery()
    has_edits = exists().where(_EDITS.c.article_id == article.id)
    return (
        select(
            article.id,
            article.external_id,
            article.text,
            curation.version,
            curation.strategy,
            curation.spans,
            curation.decisions,
            curation.finished_at,
            finisher,
            newest_revision,
            has_edits,
            editor,
            curation.updated_at,
            # The tally's cues (see services/tallies.py).
            select(_CUES.c.cues).where(_CUES.c.article_id == article.id).scalar_subquery(),
        )
        .select_from(_ARTICLES.outerjoin(_CURATIONS, curation.article_id == article.id))
        .where(article.id == bindparam("article_id"), visible_articles())
    )


@functools.cache
def _versions_statement():
    """Select every span of the article's accepted and flagged versions, with their annotators (one query)."""
    state, user, span = _STATES.c, _USERS.c, _SPANS.c
    return (
        # The attributes as text: few distinct ones recur, and each is parsed once (see _read_versions).
        select(
            user.username,
            state.status,
            state.comment,
            span.start,
            span.end,
            span.label,
            cast(span.attrs, Text),
        )
        .select_from(
            _STATES.join(_USERS, user.id == state.user_id).outerjoin(
                _SPANS,
                (span.article_id == state.article_id)
                & (span.origin == Origin.ANNOTATOR.value)
                & (span.owner_id == state.user_id),
            )
        )
        .where(state.article_id == bindparam("article_id"), state.status.in_(VERSION_STATUSES))
        .order_by(user.username, span.start)
    )


@dataclass
class _Versions:
    spans: dict[str, list[dict[str, Any]]]
    annotators: tuple[Annotator, ...]

    @functools.cached_property
    def comparison(self) -> curation_merge.Comparison:
        return curation_merge.Comparison(self.spans)

    def who_has(self, key: str) -> tuple[str, ...]:
        """Return the annotators who have exactly the span of this key."""
        proposal = self.comparison.by_key.get(key)
        return proposal.annotators if proposal else ()

    def proposal(self, key: str) -> curation_merge.Proposal | None:
        return self.comparison.by_key.get(key)


def _read_versions(session: Session, article_id: int) -> _Versions:
    spans: dict[str, list[dict[str, Any]]] = {}
    found: dict[str, tuple[str, str | None]] = {}
    parsed: dict[str | None, dict[str, Any]] = {None: {}}
    for username, status, comment, start, end, label, raw in session.execute(
        _versions_statement(), {"article_id": article_id}
    ).all():
        version = spans.setdefault(username, [])
        found[username] = (status, comment)
        if start is not None:
            attrs = parsed.get(raw)
            if attrs is None:
                attrs = parsed[raw] = json.loads(raw) or {}
            key = span_key(start, end, label, attrs)
            version.append({"start": start, "end": end, "label": label, "attrs": attrs, "key": key})
    annotators = tuple(
        Annotator(username, status, index % COLOURS, comment)
        for index, (username, (status, comment)) in enumerate(sorted(found.items()))
    )
    return _Versions(spans, annotators)


def _view(
    *,
    article_id: int,
    external_id: str,
    text: str,
    version: int,
    strategy: str,
    spans: Sequence[DraftSpan],
    decisions: Mapping[str, str],
    versions: _Versions,
    finished_at: datetime | None,
    finished_by: str | None,
    gold_revision: int | None,
    can_undo: bool,
    selected: int | None,
    last_edit: tuple[str | None, datetime | None] = (None, None),
    entries: Callable[[Sequence[str]], frozenset[str] | None] | None = None,
    cues: dict[str, Any] | None = None,
) -> CurationView:
    """Return the view; ``entries`` picks, from the listed candidates' keys, the entries to build (None: all)."""
    draft = sorted(
        (replace(span, annotators=versions.who_has(span.key)) for span in spans),
        key=lambda span: span.start,
    )
    found = versions.comparison.candidates([span.stored() for span in draft], decisions)
    wanted = entries([c.key for c in found]) if entries else None
    candidate_views = _candidate_views(
        text, versions, draft, [c for c in found if wanted is None or c.key in wanted]
    )
    status = "finished" if finished_at is not None else "draft"
    view = CurationView(
        article_id=article_id,
        external_id=external_id,
        text=text,
        spans=tuple(draft),
        state=StateView(status=status, version=version, comment=None, can_undo=can_undo),
        candidates=tuple(candidate_views),
        annotators=versions.annotators,
        strategy=strategy,
        open_count=sum(1 for c in found if c.open),
        finished_at=finished_at,
        finished_by=finished_by,
        gold_revision=gold_revision,
        last_edited_by=last_edit[0],
        last_edited_at=last_edit[1],
        cues=cues,
    )
    return replace(view, selected=view.span(selected))


def _candidate_views(
    text: str, versions: _Versions, draft: Sequence[DraftSpan], found: Iterable[curation_merge.Candidate]
) -> tuple[CandidateView, ...]:
    """Return candidates as the list shows them; ``draft`` is sorted by start."""
    by_name = {annotator.username: annotator for annotator in versions.annotators}
    draft_starts = [span.start for span in draft]
    views = []
    for c in found:
        against = tuple(
            span for span in _overlapping(draft, draft_starts, c.start, c.end) if span.key != c.key
        )
        views.append(
            CandidateView(
                key=c.key,
                start=c.start,
                end=c.end,
                label=c.label,
                attrs=c.attrs,
                kinds=c.kinds,
                decision=c.decision,
                in_draft=c.in_draft,
                settled=c.settled,
                text=text[c.start : c.end],
                who=tuple(by_name[name] for name in c.annotators),
                against=against,
            )
        )
    return tuple(views)


def _overlapping(spans: Sequence[DraftSpan], starts: Sequence[int], start: int, end: int) -> list[DraftSpan]:
    """Return the draft spans (sorted, never overlapping) that overlap [start, end)."""
    from bisect import bisect_left

    index = bisect_left(starts, end)
    found = []
    while index > 0 and spans[index - 1].end > start:
        index -= 1
        found.append(spans[index])
    return found[::-1]


@functools.cache
def _create_statement(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(_CURATIONS).on_conflict_do_nothing(index_elements=["article_id"])


def _read_article(session: Session, article_id: int, user: User):
    _require_reviewer(user)
    row = session.execute(_article_statement(), {"article_id": article_id}).first()
    if row is None:
        raise NotFound(f"No article number {article_id}.")
    return row


def open_curation(
    session: Session, article_id: int, user: User, *, selected: int | None = None
) -> CurationView:
    """Return the article's curation; the first opening starts its draft from the merge of its versions."""
    row = _read_article(session, article_id, user)
    versions = _read_versions(session, article_id)
    if row.version is None:
        strategy = load_settings(session).merge_strategy
        merged = versions.comparison.merge(strategy)
        spans = [
            {
                "id": number,
                "start": p.start,
                "end": p.end,
                "label": p.label,
                "attrs": p.attrs,
                "changed": False,
            }
            for number, p in enumerate(merged, start=1)
        ]
        now = utcnow()
        session.execute(
            _create_statement(session.get_bind().dialect.name),
            {
                "article_id": article_id,
                "version": 0,
                "strategy": strategy,
                "spans": spans,
                "decisions": {},
                "next_span_id": len(spans) + 1,
                "started_by_id": user.id,
                "started_at": now,
                "updated_by_id": user.id,
                "updated_at": now,
            },
        )
        session.commit()
        # Another reviewer may have opened it in the same moment: theirs is the draft.
        row = session.execute(_article_statement(), {"article_id": article_id}).one()
    return _view_of_row(row, versions, selected)


def _view_of_row(row, versions: _Versions, selected: int | None) -> CurationView:
    (
        article_id,
        external_id,
        text,
        version,
        strategy,
        spans,
        decisions,
        finished_at,
        finisher,
        revision,
        has_edits,
        last_editor,
        last_edited_at,
        cues,
    ) = row
    return _view(
        cues=cues,
        article_id=article_id,
        external_id=external_id,
        text=text,
        version=version,
        strategy=strategy,
        spans=[_draft_span(text, span) for span in spans],
        decisions=decisions or {},
        versions=versions,
        finished_at=finished_at,
        finished_by=finisher,
        gold_revision=revision,
        can_undo=bool(has_edits),
        selected=selected,
        last_edit=(last_editor, last_edited_at),
    )


def load_curation(
    session: Session, article_id: int, user: User, *, selected: int | None = None
) -> CurationView:
    """Return the article's curation as saved, creating nothing (for fragments and refusals)."""
    row = _read_article(session, article_id, user)
    if row.version is None:
        raise NotFound(f"Article {row.external_id!r} has no draft gold yet: open its curation first.")
    return _view_of_row(row, _read_versions(session, article_id), selected)


# --- editing -------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A draft locked for one edit: its row was bumped (so locked) and is written back before commit."""

    article_id: int
    external_id: str
    text: str
    user: User
    seen: int
    version: int
    strategy: str
    spans: list[DraftSpan]
    decisions: dict[str, str]
    next_id: int
    versions: _Versions
    removed: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    decisions_before: dict[str, str | None] = field(default_factory=dict)

    def changed_entries(self, listed: Iterable[str]) -> frozenset[str] | None:
        """Return the candidates whose entry this edit may have changed, or None when one came or went.

        Only candidates whose answer the edit changed, or that overlap the
        draft spans it removed or added, can look different: whether they
        are in the draft, settled, or what they would replace.
        """
        comparison = self.versions.comparison
        affected = {key for key in self.decisions_before if key in comparison.by_key}
        for start, end in self.ranges:
            affected.update(proposal.key for proposal in comparison.overlapping(start, end))
        listed = set(listed)
        in_draft = {span.key for span in self.spans}
        added = {span_key(s["start"], s["end"], s["label"], s["attrs"]) for s in self.added}
        removed = {span_key(s["start"], s["end"], s["label"], s["attrs"]) for s in self.removed}
        in_draft_before = (in_draft - added) | removed
        for key in affected:
            decision_before = self.decisions_before.get(key, self.decisions.get(key))
            listed_before = not (key in in_draft_before and decision_before is None)
            if listed_before != (key in listed):
                return None
        return frozenset(affected & listed)

    def span(self, span_id: int) -> DraftSpan:
        found = next((span for span in self.spans if span.id == span_id), None)
        if found is None:
            raise NotFound(f"No span {span_id} in the draft gold of {self.external_id!r}; reload the page.")
        return found

    def overlap(self, start: int, end: int, *, ignore: int | None = None) -> DraftSpan | None:
        return next(
            (span for span in self.spans if span.id != ignore and span.start < end and start < span.end), None
        )

    def new_span(
        self, start: int, end: int, label: str, attrs: Mapping[str, Any], *, changed: bool
    ) -> DraftSpan:
        span = DraftSpan(self.next_id, start, end, label, dict(attrs), self.text[start:end], changed)
        self.next_id += 1
        return span

    def remove(self, span: DraftSpan) -> None:
        self.spans = [each for each in self.spans if each.id != span.id]
        self.removed.append(span.stored())

    def add(self, span: DraftSpan) -> None:
        self.spans.append(span)
        self.added.append(span.stored())

    def decide(self, key: str, decision: str | None) -> None:
        if key not in self.decisions_before:
            self.decisions_before[key] = self.decisions.get(key)
        if decision is None:
            self.decisions.pop(key, None)
        else:
            self.decisions[key] = decision

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple((span["start"], span["end"]) for span in (*self.removed, *self.added))


@functools.cache
def _bump_statement():
    curation = _CURATIONS.c

    def of_article(column):
        # By the bound value: SQLite's RETURNING renders columns without their table (see edits.py).
        return select(column).where(_ARTICLES.c.id == bindparam("the_article")).scalar_subquery()

    return (
        update(_CURATIONS)
        .where(
            curation.article_id == bindparam("the_article"),
            curation.version == bindparam("seen"),
            curation.finished_at.is_(None),
        )
        .values(version=curation.version + 1, updated_at=bindparam("now"), updated_by_id=bindparam("user_id"))
        .returning(
            curation.version,
            curation.strategy,
            curation.spans,
            curation.decisions,
            curation.next_span_id,
            of_article(_ARTICLES.c.external_id),
            of_article(_ARTICLES.c.text),
        )
    )


def _refusal(session: Session, article_id: int, seen: int) -> Exception:
    """Say why a draft edit found no draft at version ``seen`` to bump."""
    row = session.execute(
        select(_CURATIONS.c.version, _CURATIONS.c.finished_at).where(_CURATIONS.c.article_id == article_id)
    ).first()
    if row is None:
        if session.get(Article, article_id) is None:
            return NotFound(f"No article number {article_id}.")
        return NotFound("This article has no draft gold yet: open its curation first.")
    if row.finished_at is not None:
        return InvalidEdit(
            "Not saved: this adjudication is finished. Re-open it to change the article's gold."
        )
    return StaleVersion(
        f"Not saved: this draft gold was changed in another tab or by another reviewer (you edited version "
        f"{seen}, it is now at version {row.version}). The latest draft is shown; redo the edit if it is still needed."
    )


def _begin(session: Session, article_id: int, user: User, seen: int) -> _Draft:
    _require_reviewer(user)
    bumped = session.execute(
        _bump_statement(), {"the_article": article_id, "seen": seen, "now": utcnow(), "user_id": user.id}
    ).first()
    if bumped is None:
        session.rollback()
        raise _refusal(session, article_id, seen)
    version, strategy, spans, decisions, next_id, external_id, text = bumped
    return _Draft(
        article_id=article_id,
        external_id=external_id,
        text=text,
        user=user,
        seen=seen,
        version=version,
        strategy=strategy,
        spans=[_draft_span(text, span) for span in spans],
        decisions=dict(decisions or {}),
        next_id=next_id,
        versions=_read_versions(session, article_id),
    )


def _save(session: Session, draft: _Draft, action: str | None) -> None:
    """Write the draft back, log the edit (unless ``action`` is None: an undo), and commit."""
    session.execute(
        update(_CURATIONS)
        .where(_CURATIONS.c.article_id == draft.article_id)
        .values(
            spans=[span.stored() for span in sorted(draft.spans, key=lambda span: span.start)],
            decisions=draft.decisions,
            next_span_id=draft.next_id,
        )
    )
    if action is not None:
        session.execute(
            insert(_EDITS),
            {
                "article_id": draft.article_id,
                "version": draft.version,
                "action": action,
                "removed": draft.removed,
                "added": draft.added,
                "decisions_before": draft.decisions_before,
                "user_id": draft.user.id,
                "created_at": utcnow(),
            },
        )
    session.commit()


def _result(
    session: Session, draft: _Draft, message: str, *, selected: int | None, can_undo: bool = True
) -> CurationResult:
    # Only the entries the edit changed are built and sent again, unless the list itself changed.
    changed: dict[str, frozenset[str] | None] = {}
    view = _view(
        article_id=draft.article_id,
        external_id=draft.external_id,
        text=draft.text,
        version=draft.version,
        strategy=draft.strategy,
        spans=draft.spans,
        decisions=draft.decisions,
        versions=draft.versions,
        finished_at=None,
        finished_by=None,
        gold_revision=_newest_revision(session, draft.article_id),
        can_undo=can_undo,
        selected=selected,
        last_edit=(draft.user.username, utcnow()),
        entries=lambda listed: changed.setdefault("keys", draft.changed_entries(listed)),
        cues=tallies.stored_cues(session, [draft.article_id]).get(draft.article_id),
    )
    keys = changed["keys"]
    return CurationResult(view, message, EVERYTHING, draft.ranges, keys)


def _newest_revision(session: Session, article_id: int) -> int | None:
    return session.execute(
        select(func.max(_REVISIONS.c.revision)).where(_REVISIONS.c.article_id == article_id)
    ).scalar_one()


def _edit(session: Session, article_id: int, user: User, seen: int):
    """Begin an edit; the caller calls ``_save`` or lets an exception roll everything back."""
    return _Editing(session, article_id, user, seen)


class _Editing:
    def __init__(self, session: Session, article_id: int, user: User, seen: int) -> None:
        self.session, self.args = session, (article_id, user, seen)

    def __enter__(self) -> _Draft:
        self.draft = _begin(self.session, *self.args)
        return self.draft

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None:
            self.session.rollback()


def add_span(
    session: Session, article_id: int, user: User, *, version: int, start: int, end: int, label: str
) -> CurationResult:
    """Add a span over ``[start, end)``, widened to whole tokens, to the draft gold."""
    check_label(label)
    with _edit(session, article_id, user, version) as draft:
        snapped = snapped_selection(draft.text, start, end, label)
        other = draft.overlap(*snapped)
        if other is not None:
            raise SpanOverlap(overlap_message(other, f"“{draft.text[snapped[0] : snapped[1]]}”"))
        added = draft.new_span(*snapped, label, {}, changed=True)
        draft.add(added)
        _save(session, draft, "add")
    return _result(session, draft, f"Added {label} “{added.text}” to the draft gold.", selected=added.id)


def relabel_span(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, label: str
) -> CurationResult:
    check_label(label)
    with _edit(session, article_id, user, version) as draft:
        old = draft.span(span_id)
        if old.label == label:
            session.rollback()
            return _unchanged(session, article_id, user, f"“{old.text}” is already {label}.", span_id)
        new = replace(old, label=label, attrs=old.attrs if label == CASUALTY else {}, changed=True)
        draft.remove(old)
        draft.add(new)
        _save(session, draft, "relabel")
    return _result(session, draft, f"“{new.text}” is now {label}.", selected=span_id)


def delete_span(
    session: Session, article_id: int, user: User, *, version: int, span_id: int
) -> CurationResult:
    with _edit(session, article_id, user, version) as draft:
        old = draft.span(span_id)
        draft.remove(old)
        _save(session, draft, "delete")
    return _result(session, draft, f"Deleted {old.label} “{old.text}” from the draft gold.", selected=None)


def resize_span(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, edge: str, direction: str
) -> CurationResult:
    with _edit(session, article_id, user, version) as draft:
        old = draft.span(span_id)
        start, end = resized_bounds(draft.text, old, edge, direction)
        other = draft.overlap(start, end, ignore=span_id)
        if other is not None:
            raise SpanOverlap(overlap_message(other, f"growing “{old.text}”"))
        new = replace(old, start=start, end=end, text=draft.text[start:end], changed=True)
        draft.remove(old)
        draft.add(new)
        _save(session, draft, "resize")
    return _result(session, draft, f"Now “{new.text}”.", selected=span_id)


def set_attributes(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, attrs: Mapping[str, Any]
) -> CurationResult:
    with _edit(session, article_id, user, version) as draft:
        old = draft.span(span_id)
        errors = attribute_errors(old.label, dict(attrs))
        if errors:
            raise InvalidSpan(f"Not saved: {'; '.join(errors)}.")
        if dict(attrs) == old.attrs:
            session.rollback()
            return _unchanged(session, article_id, user, "No change.", span_id)
        new = replace(old, attrs=dict(attrs), changed=True)
        draft.remove(old)
        draft.add(new)
        _save(session, draft, "attrs")
    return _result(session, draft, f"“{new.text}”: {new.badge}.", selected=span_id)


def _unchanged(
    session: Session, article_id: int, user: User, message: str, selected: int | None
) -> CurationResult:
    return CurationResult(
        load_curation(session, article_id, user, selected=selected), message, EVERYTHING, ()
    )


def _proposal(draft: _Draft, key: str) -> curation_merge.Proposal:
    proposal = draft.versions.proposal(key)
    if proposal is None:
        raise InvalidEdit(
            "Not saved: no version has that candidate any more (an annotator changed their version). "
            "The candidates are shown as they now are."
        )
    return proposal


def accept_candidate(
    session: Session, article_id: int, user: User, *, version: int, key: str
) -> CurationResult:
    """Put a candidate in the draft, in place of the draft spans it overlaps; the candidates it overlaps are set aside."""
    with _edit(session, article_id, user, version) as draft:
        proposal = _proposal(draft, key)
        replaced = [span for span in draft.spans if proposal.overlaps(span.start, span.end)]
        for span in replaced:
            draft.remove(span)
        added = draft.new_span(proposal.start, proposal.end, proposal.label, proposal.attrs, changed=False)
        draft.add(added)
        draft.decide(key, ACCEPTED)
        # The other answers there were: they compete with this one for the same characters.
        set_aside = 0
        for other in draft.versions.comparison.overlapping(proposal.start, proposal.end):
            if (
                other.key != key
                and other.overlaps(proposal.start, proposal.end)
                and draft.decisions.get(other.key) is None
            ):
                draft.decide(other.key, REJECTED)
                set_aside += 1
        _save(session, draft, "accept")
    message = f"Accepted {proposal.label} “{added.text}”"
    if replaced:
        message += f" in place of {_count(len(replaced), 'draft span')}"
    if set_aside:
        message += f"; {_count(set_aside, 'competing candidate')} set aside"
    return _result(session, draft, message + ".", selected=added.id)


def reject_candidate(
    session: Session, article_id: int, user: User, *, version: int, key: str
) -> CurationResult:
    """Leave a candidate out of the gold (and take it out of the draft if it was accepted)."""
    with _edit(session, article_id, user, version) as draft:
        proposal = _proposal(draft, key)
        for span in [span for span in draft.spans if span.key == key]:
            draft.remove(span)
        draft.decide(key, REJECTED)
        _save(session, draft, "reject")
    return _result(
        session,
        draft,
        f"Rejected {proposal.label} “{draft.text[proposal.start : proposal.end]}”.",
        selected=None,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@functools.cache
def _last_edit_statement():
    return (
        select(_EDITS)
        .where(_EDITS.c.article_id == bindparam("article_id"))
        .order_by(_EDITS.c.version.desc())
        .limit(1)
    )


def undo(session: Session, article_id: int, user: User, *, version: int) -> CurationResult:
    """Reverse the newest edit of the draft (again and again, back to its opening)."""
    with _edit(session, article_id, user, version) as draft:
        last = session.execute(_last_edit_statement(), {"article_id": article_id}).first()
        if last is None:
            raise NothingToUndo("Nothing to undo: this is the draft gold as it was opened.")
        for stored in last.added:
            # Found again by offsets and label, never by id (see CurationEdit).
            found = next(
                (
                    span
                    for span in draft.spans
                    if (span.start, span.end, span.label) == (stored["start"], stored["end"], stored["label"])
                ),
                None,
            )
            if found is None:
                raise InvalidEdit(
                    "Cannot undo: the draft no longer holds what that edit made. Reload the page."
                )
            draft.remove(found)
        for stored in last.removed:
            restored = _draft_span(draft.text, {**stored, "id": draft.next_id})
            draft.next_id += 1
            draft.add(restored)
        for key, decision in (last.decisions_before or {}).items():
            draft.decide(key, decision)
        session.execute(delete(_EDITS).where(_EDITS.c.id == last.id))
        can_undo = session.execute(select(exists().where(_EDITS.c.article_id == article_id))).scalar_one()
        _save(session, draft, None)
    selected = draft.spans[-1].id if last.removed else None
    return _result(
        session,
        draft,
        f"Undid {_UNDO_WORDS.get(last.action, last.action)}.",
        selected=selected,
        can_undo=can_undo,
    )


_UNDO_WORDS = {
    "add": "adding a span",
    "delete": "deleting a span",
    "relabel": "relabelling a span",
    "resize": "resizing a span",
    "attrs": "the attributes of a span",
    "accept": "accepting a candidate",
    "reject": "rejecting a candidate",
}


# --- finishing and re-opening --------------------------------------------------------------


def finish(
    session: Session, article_id: int, user: User, *, version: int, confirm: bool = False
) -> CurationResult:
    """Save the draft as the article's gold, with each span's provenance; open candidates need ``confirm``."""
    with _edit(session, article_id, user, version) as draft:
        view = _result(session, draft, "", selected=None).view
        if view.open_count and not confirm:
            raise NeedsConfirmation(
                f"{_count(view.open_count, 'candidate')} {'is' if view.open_count == 1 else 'are'} still open. "
                "Finish anyway, leaving them out of the gold?",
                open_candidates=view.open_count,
            )
        check_complete(view.spans, "Not finished")
        now = utcnow()
        revision = record_revision(
            session,
            article_id,
            [
                {
                    "start": s.start,
                    "end": s.end,
                    "label": s.label,
                    "attrs": s.attrs,
                    "provenance": s.provenance(),
                }
                for s in view.spans
            ],
            action=GoldAction.ADJUDICATE,
            source=f"adjudication by {user.username}",
            user_id=user.id,
            now=now,
        )
        session.execute(
            update(_CURATIONS)
            .where(_CURATIONS.c.article_id == article_id)
            .values(finished_at=now, finished_by_id=user.id)
        )
        # The gold revisions keep every gold; undo does not reach back past a finish.
        session.execute(delete(_EDITS).where(_EDITS.c.article_id == article_id))
        audit.record(
            session,
            user,
            "gold.adjudicate",
            f"article:{draft.external_id}",
            revision=revision.revision,
            spans=len(view.spans),
        )
        session.commit()
        number = revision.revision
    spans = f"{_count(len(view.spans), 'span')}" if view.spans else "no spans (gold that marks nothing)"
    return CurationResult(
        load_curation(session, article_id, user),
        f"Saved as gold revision {number}, with {spans}.",
        EVERYTHING,
        None,
    )


@functools.cache
def _reopen_statement():
    curation = _CURATIONS.c
    return (
        update(_CURATIONS)
        .where(
            curation.article_id == bindparam("the_article"),
            curation.version == bindparam("seen"),
            curation.finished_at.is_not(None),
        )
        .values(
            version=curation.version + 1,
            finished_at=None,
            finished_by_id=None,
            updated_at=bindparam("now"),
            updated_by_id=bindparam("user_id"),
        )
        .returning(curation.next_span_id)
    )


def reopen(session: Session, article_id: int, user: User, *, version: int) -> CurationResult:
    """Start a new draft from the article's gold as it now is (its revisions keep every earlier gold)."""
    _require_reviewer(user)
    reopened = session.execute(
        _reopen_statement(), {"the_article": article_id, "seen": version, "now": utcnow(), "user_id": user.id}
    ).first()
    if reopened is None:
        session.rollback()
        row = session.execute(
            select(_CURATIONS.c.version, _CURATIONS.c.finished_at).where(
                _CURATIONS.c.article_id == article_id
            )
        ).first()
        if row is None:
            raise NotFound("This article has no adjudication to re-open.")
        if row.finished_at is None:
            raise InvalidEdit("This adjudication is open already: its draft is shown.")
        raise StaleVersion(
            f"Not re-opened: this adjudication changed in another tab (you saw version {version}, "
            f"it is now at version {row.version}). It is shown as it is now."
        )
    next_id = reopened[0]
    gold = session.execute(
        select(_SPANS.c.start, _SPANS.c.end, _SPANS.c.label, _SPANS.c.attrs, _SPANS.c.provenance)
        .where(_SPANS.c.article_id == article_id, _SPANS.c.origin == Origin.GOLD.value)
        .order_by(_SPANS.c.start)
    ).all()
    spans = []
    for start, end, label, attrs, provenance in gold:
        spans.append(
            {
                "id": next_id,
                "start": start,
                "end": end,
                "label": label,
                "attrs": attrs or {},
                "changed": bool((provenance or {}).get("changed")),
            }
        )
        next_id += 1
    session.execute(
        update(_CURATIONS)
        .where(_CURATIONS.c.article_id == article_id)
        .values(spans=spans, next_span_id=next_id)
    )
    external_id = session.execute(
        select(_ARTICLES.c.external_id).where(_ARTICLES.c.id == article_id)
    ).scalar_one()
    audit.record(
        session,
        user,
        "gold.reopen",
        f"article:{external_id}",
        revision=_newest_revision(session, article_id),
    )
    session.commit()
    return CurationResult(
        load_curation(session, article_id, user),
        "Re-opened: the draft is the article's gold as it is now. Finishing saves a new gold revision.",
        EVERYTHING,
        None,
    )
