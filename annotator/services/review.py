"""Review: each annotator's working copy of an article's spans, its edits, undo and status.

An annotator's first visit to an article copies the model's spans into their
own working copy (origin ``annotator``); the model's spans are never changed.
Every edit names the version of the working copy it was made on: the version
is bumped by a conditional ``UPDATE ... WHERE version = :seen`` in the same
transaction as the edit, so of two edits made on one version exactly one wins
and the other gets StaleVersion. Each edit is logged in ``span_edit`` with the
span before and after, and undo reverses the newest logged edit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, literal, update
from sqlmodel import Session, select

from annotator.errors import (
    Forbidden,
    InvalidEdit,
    InvalidSpan,
    NotFound,
    NothingToUndo,
    SpanOverlap,
    StaleVersion,
)
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS, attribute_errors, span_errors
from annotator.models import (
    AnnotationState,
    Article,
    EditAction,
    Origin,
    Role,
    Span,
    SpanEdit,
    Status,
    User,
    utcnow,
)
from annotator.services.spans import copy_spans

# Statuses after which an article leaves the annotator's queue.
FINISHED = (Status.ACCEPTED.value, Status.SKIPPED.value, Status.FLAGGED.value)
# Statuses an annotator sets by hand (todo and in_progress follow from their edits).
CHOSEN = FINISHED
MAX_COMMENT = 2000

# Core statements of the edits, run with a dict of values each (the SET clause follows the dict).
_ARTICLES = Article.__table__
_SPANS = Span.__table__
_STATES = AnnotationState.__table__
_EDITS = SpanEdit.__table__
_USERS = User.__table__
_SPAN_INSERT = insert(_SPANS).returning(_SPANS.c.id)
_SPAN_UPDATE = update(_SPANS).where(_SPANS.c.id == bindparam("span_id"))
_SPAN_DELETE = delete(_SPANS).where(_SPANS.c.id == bindparam("span_id"))
_STATE_UPDATE = update(_STATES).where(_STATES.c.id == bindparam("state_id"))
_LOG_INSERT = insert(_EDITS)
_LAST_EDIT = (
    select(_EDITS)
    .where(_EDITS.c.state_id == bindparam("state_id"))
    .order_by(_EDITS.c.version.desc())
    .limit(1)
)
_LOG_DELETE = delete(_EDITS).where(_EDITS.c.id == bindparam("edit_id"))

_QUALIFIER_MARKS = {"at_least": "≥", "about": "~"}
_OUTCOME_WORDS = {"killed": "killed", "wounded": "wounded", "killed_or_wounded": "killed/wounded"}


def casualty_badge(attrs: Mapping[str, Any]) -> str:
    """Return a CASUALTY span's count and outcome in a few characters ("≥12 killed")."""
    count, qualifier = attrs.get("count"), attrs.get("qualifier")
    if isinstance(count, int):
        number = _QUALIFIER_MARKS.get(qualifier, "") + str(count)
    else:
        number = "many" if qualifier == "vague" else "?"
    return f"{number} {_OUTCOME_WORDS.get(attrs.get('outcome'), '?')}"


# --- what the templates get ------------------------------------------------------


@dataclass(frozen=True)
class SpanView:
    id: int
    start: int
    end: int
    label: str
    attrs: dict[str, Any]
    text: str
    source: str | None = field(default=None, compare=False)

    @functools.cached_property
    def badge(self) -> str | None:
        return casualty_badge(self.attrs) if self.label == CASUALTY else None

    def snapshot(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "attrs": self.attrs,
            "source": self.source,
        }


@dataclass(frozen=True)
class Segment:
    """A run of the article text, inside a span or between spans."""

    text: str
    span: SpanView | None = None


def segments(text: str, spans: tuple[SpanView, ...] | list[SpanView]) -> list[Segment]:
    """Cut ``text`` into runs at the spans' edges; the runs join up to exactly ``text``."""
    result = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.start < cursor:
            continue  # overlaps the previous span (never stored by an edit): shown as plain text
        if span.start > cursor:
            result.append(Segment(text[cursor : span.start]))
        result.append(Segment(text[span.start : span.end], span))
        cursor = span.end
    if cursor < len(text):
        result.append(Segment(text[cursor:]))
    return result


@dataclass(frozen=True)
class StateView:
    status: str
    version: int
    comment: str | None
    can_undo: bool


@dataclass(frozen=True)
class VersionLink:
    """Another annotator's working copy of the article, for reviewers."""

    username: str
    status: str


@dataclass(frozen=True)
class Workspace:
    """One annotator's working copy of one article, as a page or fragment shows it."""

    article_id: int
    external_id: str
    text: str
    spans: tuple[SpanView, ...]
    annotator: str
    # None: that annotator has not opened the article yet; the spans are the model's.
    state: StateView | None
    editable: bool
    selected: SpanView | None = None
    next_external_id: str | None = None
    versions: tuple[VersionLink, ...] = ()

    def segments(self) -> list[Segment]:
        return segments(self.text, self.spans)

    def span(self, span_id: int | None) -> SpanView | None:
        return next((span for span in self.spans if span.id == span_id), None)


@dataclass(frozen=True)
class EditResult:
    workspace: Workspace
    message: str | None = None
    # What changed: "spans" (the text and the selected span), "status", "progress" (accepted counts).
    changed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Progress:
    articles: int
    mine: int  # articles this user accepted
    team: int  # articles accepted by at least one annotator


# --- queue and progress ------------------------------------------------------------


# Statements are built once, with bind parameters: building these SELECTs (aliases,
# correlated subqueries) costs more than running them.


def _next_expression(current_id=None):
    """Return a scalar expression: the first article :viewer_id has not finished after ``current_id``, else before."""
    candidate = _ARTICLES.alias("candidate")
    state = _STATES.alias("finished")
    unfinished = ~exists().where(
        state.c.article_id == candidate.c.id,
        state.c.user_id == bindparam("viewer_id"),
        state.c.status.in_(FINISHED),
    )

    def first(*conditions):
        return (
            select(candidate.c.external_id)
            .where(unfinished, *conditions)
            .order_by(candidate.c.id)
            .limit(1)
            .scalar_subquery()
        )

    if current_id is None:
        return first()
    return func.coalesce(first(candidate.c.id > current_id), first(candidate.c.id < current_id))


@functools.cache
def _next_statement():
    return select(_next_expression())


def next_article(session: Session, user_id: int) -> str | None:
    """Return the external id of the first article this user has not finished, or None."""
    return session.execute(_next_statement(), {"viewer_id": user_id}).scalar_one()


@functools.cache
def _progress_statement():
    accepted = _STATES.c.status == Status.ACCEPTED.value
    return select(
        select(func.count()).select_from(_ARTICLES).scalar_subquery(),
        select(func.count())
        .select_from(_STATES)
        .where(_STATES.c.user_id == bindparam("user_id"), accepted)
        .scalar_subquery(),
        select(func.count(_STATES.c.article_id.distinct())).where(accepted).scalar_subquery(),
    )


def progress(session: Session, user_id: int) -> Progress:
    """Return how many articles there are, this user accepted, and anyone accepted (one query)."""
    articles, mine, team = session.execute(_progress_statement(), {"user_id": user_id}).one()
    return Progress(articles=articles, mine=mine, team=team)


# --- reading a working copy ----------------------------------------------------------


@functools.cache
def _spans_statement(*, model: bool):
    columns = _SPANS.c
    statement = select(
        columns.id, columns.start, columns.end, columns.label, columns.attrs, columns.source
    ).where(columns.article_id == bindparam("article_id"))
    if model:
        statement = statement.where(columns.origin == Origin.MODEL.value, columns.owner_id.is_(None))
    else:
        statement = statement.where(
            columns.origin == Origin.ANNOTATOR.value, columns.owner_id == bindparam("owner_id")
        )
    return statement.order_by(columns.start)


def _load_spans(session: Session, text: str, article_id: int, owner_id: int | None) -> list[SpanView]:
    """Return the working copy of ``owner_id`` (the model's spans when None), in text order."""
    rows = session.execute(
        _spans_statement(model=owner_id is None), {"article_id": article_id, "owner_id": owner_id}
    )
    return [
        SpanView(
            id=id_, start=start, end=end, label=label, attrs=attrs or {}, text=text[start:end], source=source
        )
        for id_, start, end, label, attrs, source in rows
    ]


@functools.cache
def _start_statements(dialect: str):
    """Return the INSERT of a state that yields to a concurrent one, and the copy of the model's spans."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    create_state = (
        dialect_insert(_STATES)
        .on_conflict_do_nothing(index_elements=["user_id", "article_id"])
        .returning(_STATES.c.id)
    )
    copy_model_spans = copy_spans(
        _SPANS.c.article_id == bindparam("from_article"),
        _SPANS.c.origin == Origin.MODEL.value,
        origin=literal(Origin.ANNOTATOR.value),
        owner_id=bindparam("owner_id", type_=_SPANS.c.owner_id.type),
        now=bindparam("now", type_=_SPANS.c.created_at.type),
    )
    return create_state, copy_model_spans


def _start_work(session: Session, article_id: int, user_id: int) -> None:
    """Create the user's state for the article and copy the model's spans, unless another request did."""
    now = utcnow()
    create_state, copy_model_spans = _start_statements(session.get_bind().dialect.name)
    created = session.execute(
        create_state,
        {
            "article_id": article_id,
            "user_id": user_id,
            "status": Status.TODO.value,
            "version": 0,
            "created_at": now,
            "updated_at": now,
        },
    ).first()
    if created is not None:
        session.execute(copy_model_spans, {"from_article": article_id, "owner_id": user_id, "now": now})
    session.commit()


def _has_edits(state_id):
    return exists().where(_EDITS.c.state_id == state_id)


@functools.cache
def _has_edits_statement():
    return select(_has_edits(bindparam("state_id")))


def _can_undo(session: Session, state_id: int) -> bool:
    return bool(session.execute(_has_edits_statement(), {"state_id": state_id}).scalar_one())


def _owner(session: Session, user: User, annotator: str | None) -> User:
    """Return whose working copy ``user`` asks for: their own, or (reviewers only) another's."""
    if annotator is None or annotator == user.username:
        return user
    if user.role == Role.ANNOTATOR.value:
        raise Forbidden("Annotators see only their own work. Ask a reviewer to compare versions.")
    owner = session.exec(select(User).where(User.username == annotator)).first()
    if owner is None:
        raise NotFound(f"No user named {annotator!r}.")
    return owner


def open_article(
    session: Session,
    external_id: str,
    user: User,
    *,
    annotator: str | None = None,
    selected: int | None = None,
) -> Workspace:
    """Return the article page's workspace: ``user``'s own working copy, or for reviewers ``annotator``'s.

    The user's first visit to an article creates their state and copies the
    model's spans into their working copy. The next unfinished article comes
    with the article, in the same query. An unknown ``selected`` span is ignored.
    """
    return _read(
        session,
        user,
        _owner(session, user, annotator),
        external_id,
        f"No article with id {external_id!r}.",
        selected=selected,
        page=True,
    )


def article_exists(session: Session, article_id: int) -> bool:
    """Return whether there is an article with this number."""
    return session.get(Article, article_id) is not None


def load_workspace(
    session: Session,
    article_id: int,
    user: User,
    *,
    annotator: str | None = None,
    selected: int | None = None,
    page: bool = False,
) -> Workspace:
    """Return a working copy by article number; ``page`` adds what only the whole page shows.

    Unless ``page`` is set it creates no state. An unknown ``selected`` span is ignored.
    """
    return _read(
        session,
        user,
        _owner(session, user, annotator),
        article_id,
        f"No article number {article_id}.",
        selected=selected,
        page=page,
    )


@functools.cache
def _workspace_statement(*, by_id: bool, page: bool):
    """Select the article (by :key), the state of :owner_id, whether it has edits, and on the page the queue."""
    article = _ARTICLES.c
    state = _STATES.alias("state")
    columns = [
        article.id,
        article.external_id,
        article.text,
        state.c.id,
        state.c.status,
        state.c.version,
        state.c.comment,
        _has_edits(state.c.id),
    ]
    if page:
        columns.append(_next_expression(article.id))
    key = article.id if by_id else article.external_id
    return (
        select(*columns)
        .select_from(
            _ARTICLES.outerjoin(
                state, and_(state.c.article_id == article.id, state.c.user_id == bindparam("owner_id"))
            )
        )
        .where(key == bindparam("key"))
    )


@functools.cache
def _versions_statement():
    return (
        select(_USERS.c.username, _STATES.c.status)
        .join(_STATES, _STATES.c.user_id == _USERS.c.id)
        .where(_STATES.c.article_id == bindparam("article_id"))
        .order_by(_USERS.c.username)
    )


def _read(
    session: Session,
    user: User,
    owner: User,
    key: int | str,
    missing: str,
    *,
    selected: int | None,
    page: bool,
) -> Workspace:
    """Load the article, the owner's state and spans; on the page also the queue and other versions."""
    own = owner.id == user.id
    row = session.execute(
        _workspace_statement(by_id=isinstance(key, int), page=page),
        {"key": key, "owner_id": owner.id, "viewer_id": user.id},
    ).first()
    if row is None:
        raise NotFound(missing)
    article_id, external_id, text, state_id, status, version, comment, can_undo = row[:8]
    started = state_id is not None
    if not started and own and page:
        _start_work(session, article_id, user.id)
        started, status, version, comment, can_undo = True, Status.TODO.value, 0, None, False
    if started:
        spans = _load_spans(session, text, article_id, owner.id)
        state_view = StateView(status=status, version=version, comment=comment, can_undo=bool(can_undo))
    else:
        spans = _load_spans(session, text, article_id, None)
        state_view = None
    versions = ()
    if page and user.role != Role.ANNOTATOR.value:
        rows = session.execute(_versions_statement(), {"article_id": article_id})
        versions = tuple(VersionLink(username, status) for username, status in rows)
    workspace = Workspace(
        article_id=article_id,
        external_id=external_id,
        text=text,
        spans=tuple(spans),
        annotator=owner.username,
        state=state_view,
        editable=own and started,
        next_external_id=row[8] if page else None,
        versions=versions,
    )
    return replace(workspace, selected=workspace.span(selected))


# --- editing ---------------------------------------------------------------------------


@dataclass
class _Work:
    """A working copy locked for one edit: its state row is updated (so locked) until commit."""

    article_id: int
    external_id: str
    text: str
    user: User
    state_id: int
    seen: int  # the version the edit was made on
    version: int  # the version this edit produces
    status: str
    comment: str | None
    spans: list[SpanView]
    status_before: str = ""

    def __post_init__(self) -> None:
        self.status_before = self.status

    def span(self, span_id: int) -> SpanView:
        found = next((span for span in self.spans if span.id == span_id), None)
        if found is None:
            raise NotFound(f"No span {span_id} in your version of {self.external_id!r}; reload the page.")
        return found

    def overlap(self, start: int, end: int, *, ignore: int | None = None) -> SpanView | None:
        return next(
            (span for span in self.spans if span.id != ignore and span.start < end and start < span.end),
            None,
        )

    def workspace(self, *, selected: int | None, can_undo: bool = True) -> Workspace:
        spans = tuple(sorted(self.spans, key=lambda span: span.start))
        state = StateView(status=self.status, version=self.version, comment=self.comment, can_undo=can_undo)
        workspace = Workspace(
            article_id=self.article_id,
            external_id=self.external_id,
            text=self.text,
            spans=spans,
            annotator=self.user.username,
            state=state,
            editable=True,
        )
        return replace(workspace, selected=workspace.span(selected))

    def result(
        self, message: str, *, selected: int | None, spans: bool = True, can_undo: bool = True
    ) -> EditResult:
        changed = {"spans"} if spans else set()
        if self.status != self.status_before:
            changed.add("status")
            if Status.ACCEPTED.value in (self.status, self.status_before):
                changed.add("progress")
        return EditResult(self.workspace(selected=selected, can_undo=can_undo), message, frozenset(changed))


@functools.cache
def _bump_statement():
    """Bump the version of (:the_article, :the_user) if it is still :seen; return the state and its article."""
    state = _STATES.c

    def of_article(column):
        return select(column).where(_ARTICLES.c.id == state.article_id).scalar_subquery()

    return (
        update(_STATES)
        .where(
            state.article_id == bindparam("the_article"),
            state.user_id == bindparam("the_user"),
            state.version == bindparam("seen"),
        )
        .values(version=state.version + 1, updated_at=bindparam("now"))
        .returning(
            state.id,
            state.version,
            state.status,
            state.comment,
            of_article(_ARTICLES.c.external_id),
            of_article(_ARTICLES.c.text),
        )
    )


@functools.cache
def _current_version_statement():
    return select(_STATES.c.version).where(
        _STATES.c.article_id == bindparam("article_id"), _STATES.c.user_id == bindparam("user_id")
    )


def _begin(session: Session, article_id: int, user: User, seen: int) -> _Work:
    """Bump the version of the user's state if it is still ``seen``, and load the working copy."""
    bumped = session.execute(
        _bump_statement(), {"the_article": article_id, "the_user": user.id, "seen": seen, "now": utcnow()}
    ).first()
    if bumped is None:
        session.rollback()
        current = session.execute(
            _current_version_statement(), {"article_id": article_id, "user_id": user.id}
        ).scalar_one_or_none()
        if current is None:
            raise NotFound("That article does not exist, or you have not opened it yet; open it first.")
        raise StaleVersion(
            f"Not saved: this article was changed in another tab or window (you edited version {seen}, "
            f"it is now at version {current}). The latest version is shown; redo the edit if it is still needed."
        )
    state_id, version, status, comment, external_id, text = bumped
    spans = _load_spans(session, text, article_id, user.id)
    return _Work(article_id, external_id, text, user, state_id, seen, version, status, comment, spans)


@contextmanager
def _editing(session: Session, article_id: int, user: User, seen: int) -> Iterator[_Work]:
    """Yield the locked working copy; anything raised rolls the edit (and the version bump) back."""
    work = _begin(session, article_id, user, seen)
    try:
        yield work
    except BaseException:
        session.rollback()
        raise


def _log(
    session: Session,
    work: _Work,
    action: EditAction,
    *,
    span_id: int | None = None,
    before: SpanView | None = None,
    after: SpanView | None = None,
) -> None:
    """Log an edit with the span before and after it and the status before it."""
    session.execute(
        _LOG_INSERT,
        {
            "state_id": work.state_id,
            "version": work.version,
            "action": action.value,
            "span_id": span_id,
            "before": before.snapshot() if before else None,
            "after": after.snapshot() if after else None,
            "status_before": work.status,
            "comment_before": work.comment,
            "created_at": utcnow(),
        },
    )


def _span_edited(
    session: Session, work: _Work, action: EditAction, before: SpanView | None, after: SpanView | None
):
    """Log a span edit, and put the article back in progress (an accepted one needs accepting again)."""
    _log(session, work, action, span_id=(after or before).id, before=before, after=after)
    if work.status != Status.IN_PROGRESS.value:
        _set_state(session, work, Status.IN_PROGRESS.value, work.comment)


def _replace_span(work: _Work, old: SpanView | None, new: SpanView | None) -> None:
    if old is not None:
        work.spans = [span for span in work.spans if span.id != old.id]
    if new is not None:
        work.spans.append(new)


def _set_state(session: Session, work: _Work, status: str, comment: str | None) -> None:
    session.execute(_STATE_UPDATE, {"state_id": work.state_id, "status": status, "comment": comment})
    work.status, work.comment = status, comment


def _update_span(session: Session, span: SpanView) -> None:
    session.execute(
        _SPAN_UPDATE,
        {
            "span_id": span.id,
            "start": span.start,
            "end": span.end,
            "label": span.label,
            "attrs": span.attrs,
            "updated_at": utcnow(),
        },
    )


def _delete_span(session: Session, span_id: int) -> None:
    session.execute(_SPAN_DELETE, {"span_id": span_id})


def _insert_span(session: Session, work: _Work, span: SpanView, *, keep_id: bool = False) -> int:
    """Insert a span into the user's working copy and return its id (``span.id`` with ``keep_id``)."""
    now = utcnow()
    values = {
        **span.snapshot(),
        "article_id": work.article_id,
        "origin": Origin.ANNOTATOR.value,
        "owner_id": work.user.id,
        "created_at": now,
        "updated_at": now,
    }
    if keep_id:
        values["id"] = span.id
    return session.execute(_SPAN_INSERT, values).scalar_one()


def _overlap_message(other: SpanView, what: str) -> str:
    return (
        f"Not saved: {what} would overlap “{other.text}” ({other.label}). "
        "Spans may not overlap; shrink or delete that one first."
    )


def _check_label(label: str) -> None:
    if label not in LABELS:
        raise InvalidSpan(f"Unknown label {label!r}: use one of {', '.join(LABELS)}.")


def add_span(
    session: Session, article_id: int, user: User, *, version: int, start: int, end: int, label: str
) -> EditResult:
    """Add a span over ``[start, end)``, widened to whole tokens, to the user's working copy."""
    from annotator.nlp.tokens import snap, token_bounds

    _check_label(label)
    with _editing(session, article_id, user, version) as work:
        errors = span_errors(work.text, {"start": start, "end": end, "label": label})
        if errors:
            raise InvalidSpan(f"Not saved: {errors[0]}.")
        snapped = snap(token_bounds(work.text), start, end)
        if snapped is None:
            raise InvalidSpan("Not saved: the selection holds only spaces; select a word or more.")
        other = work.overlap(*snapped)
        if other is not None:
            raise SpanOverlap(_overlap_message(other, f"“{work.text[snapped[0] : snapped[1]]}”"))
        added = SpanView(0, *snapped, label, {}, work.text[snapped[0] : snapped[1]], "annotator")
        added = replace(added, id=_insert_span(session, work, added))
        _span_edited(session, work, EditAction.ADD, None, added)
        _replace_span(work, None, added)
        session.commit()
    message = f"Added {label} “{added.text}”."
    if snapped != (start, end):
        message = f"Snapped to whole tokens: added {label} “{added.text}”."
    return work.result(message, selected=added.id)


def relabel_span(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, label: str
) -> EditResult:
    """Give a span another label (attributes are dropped when it stops being a CASUALTY)."""
    _check_label(label)
    with _editing(session, article_id, user, version) as work:
        old = work.span(span_id)
        if old.label == label:
            return EditResult(_unchanged(session, work, span_id), f"“{old.text}” is already {label}.")
        new = replace(old, label=label, attrs=old.attrs if label == CASUALTY else {})
        _update_span(session, new)
        _span_edited(session, work, EditAction.RELABEL, old, new)
        _replace_span(work, old, new)
        session.commit()
    return work.result(f"“{new.text}” is now {label}.", selected=span_id)


def delete_span(session: Session, article_id: int, user: User, *, version: int, span_id: int) -> EditResult:
    """Delete a span from the user's working copy."""
    with _editing(session, article_id, user, version) as work:
        old = work.span(span_id)
        _delete_span(session, span_id)
        _span_edited(session, work, EditAction.DELETE, old, None)
        _replace_span(work, old, None)
        session.commit()
    return work.result(f"Deleted {old.label} “{old.text}”.", selected=None)


EDGES = ("start", "end")
DIRECTIONS = ("grow", "shrink")


def resize_span(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, edge: str, direction: str
) -> EditResult:
    """Move one edge of a span by one token: ``grow`` outwards or ``shrink`` inwards."""
    from annotator.nlp import tokens

    if edge not in EDGES or direction not in DIRECTIONS:
        raise InvalidSpan(
            f"Resize takes edge start or end and direction grow or shrink, not {edge!r} {direction!r}."
        )
    with _editing(session, article_id, user, version) as work:
        old = work.span(span_id)
        bounds = tokens.token_bounds(work.text)
        start, end = old.start, old.end
        if edge == "start" and direction == "grow":
            start = tokens.previous_start(bounds, old.start)
        elif edge == "start":
            start = tokens.next_start(bounds, old.start)
        elif direction == "grow":
            end = tokens.next_end(bounds, old.end)
        else:
            end = tokens.previous_end(bounds, old.end)
        if direction == "grow" and (start is None or end is None):
            where = "beginning" if start is None else "end"
            raise InvalidSpan(f"Not saved: “{old.text}” already reaches the {where} of the text.")
        if start is None or end is None or start >= end:
            raise InvalidSpan(
                f"Not saved: “{old.text}” is one token long; delete it instead of shrinking it."
            )
        other = work.overlap(start, end, ignore=span_id)
        if other is not None:
            raise SpanOverlap(_overlap_message(other, f"growing “{old.text}”"))
        new = replace(old, start=start, end=end, text=work.text[start:end])
        _update_span(session, new)
        _span_edited(session, work, EditAction.RESIZE, old, new)
        _replace_span(work, old, new)
        session.commit()
    return work.result(f"Now “{new.text}”.", selected=span_id)


def parse_casualty_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Turn the attribute form's strings into attributes: an empty count is null, an empty choice unset."""
    attrs: dict[str, Any] = {}
    for name, raw in form.items():
        value = raw.strip()
        if name == "count":
            if not value:
                attrs[name] = None
            elif value.isascii() and value.isdigit():
                attrs[name] = int(value)
            else:
                raise InvalidSpan(
                    f"Not saved: count must be a whole number of people, or empty when the text is vague "
                    f"(“dozens”), not {raw!r}."
                )
        elif value:
            attrs[name] = value
        elif name not in CASUALTY_ATTRIBUTES:
            attrs[name] = value  # let the validation name the unknown field
    return attrs


def set_attributes(
    session: Session, article_id: int, user: User, *, version: int, span_id: int, attrs: Mapping[str, Any]
) -> EditResult:
    """Replace a CASUALTY span's attributes (count, qualifier, outcome, group)."""
    with _editing(session, article_id, user, version) as work:
        old = work.span(span_id)
        errors = attribute_errors(old.label, dict(attrs))
        if errors:
            raise InvalidSpan(f"Not saved: {'; '.join(errors)}.")
        new = replace(old, attrs=dict(attrs))
        if new.attrs == old.attrs:
            return EditResult(_unchanged(session, work, span_id), "No change.")
        _update_span(session, new)
        _span_edited(session, work, EditAction.ATTRS, old, new)
        _replace_span(work, old, new)
        session.commit()
    return work.result(f"“{new.text}”: {new.badge}.", selected=span_id)


def set_status(
    session: Session, article_id: int, user: User, *, version: int, status: str, comment: str | None = None
) -> EditResult:
    """Accept, skip or flag (with a comment) the user's working copy."""
    if status not in CHOSEN:
        raise InvalidEdit(f"Status must be one of {', '.join(CHOSEN)}, not {status!r}.")
    comment = (comment or "").strip() or None
    if status == Status.FLAGGED.value and comment is None:
        raise InvalidEdit("Not flagged: say what is wrong in the comment, so a reviewer can act on it.")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidEdit(f"Not flagged: keep the comment under {MAX_COMMENT} characters.")
    if status != Status.FLAGGED.value:
        comment = None
    with _editing(session, article_id, user, version) as work:
        if (work.status, work.comment) == (status, comment):
            return EditResult(_unchanged(session, work, None), f"Already {status.replace('_', ' ')}.")
        _log(session, work, EditAction.STATUS)
        _set_state(session, work, status, comment)
        session.commit()
    words = {"accepted": "Accepted", "skipped": "Skipped", "flagged": "Flagged for a reviewer"}
    return work.result(f"{words[status]}.", selected=None, spans=False)


def _unchanged(session: Session, work: _Work, selected: int | None) -> Workspace:
    """Roll back an edit that turned out to change nothing, and return the working copy as it was."""
    session.rollback()
    work.version = work.seen
    return work.workspace(selected=selected, can_undo=_can_undo(session, work.state_id))


def undo(session: Session, article_id: int, user: User, *, version: int) -> EditResult:
    """Reverse the newest edit of the user's working copy (again and again, down to the first visit)."""
    with _editing(session, article_id, user, version) as work:
        last = session.execute(_LAST_EDIT, {"state_id": work.state_id}).first()
        if last is None:
            raise NothingToUndo("Nothing to undo: this is the article as you first opened it.")
        selected = None
        if last.action != EditAction.STATUS:
            current = work.span(last.span_id) if last.after is not None else None
            if last.before is None:
                _delete_span(session, last.span_id)
                restored = None
            else:
                before = last.before
                restored = SpanView(
                    id=last.span_id,
                    start=before["start"],
                    end=before["end"],
                    label=before["label"],
                    attrs=before["attrs"] or {},
                    text=work.text[before["start"] : before["end"]],
                    source=before.get("source"),
                )
                if current is None:
                    # Back under its old id, so older log entries still name it.
                    _insert_span(session, work, restored, keep_id=True)
                else:
                    _update_span(session, restored)
                selected = restored.id
            _replace_span(work, current, restored)
        _set_state(session, work, last.status_before, last.comment_before)
        session.execute(_LOG_DELETE, {"edit_id": last.id})
        can_undo = _can_undo(session, work.state_id)
        session.commit()
    return work.result(
        f"Undid {_describe(last)}.",
        selected=selected,
        spans=last.action != EditAction.STATUS,
        can_undo=can_undo,
    )


def _describe(edit: SpanEdit) -> str:
    if edit.action == EditAction.STATUS:
        return f"the status change (back to {edit.status_before.replace('_', ' ')})"
    snapshot = edit.after or edit.before
    words = {
        EditAction.ADD: "adding",
        EditAction.DELETE: "deleting",
        EditAction.RELABEL: "relabelling",
        EditAction.RESIZE: "resizing",
        EditAction.ATTRS: "the attributes of",
    }
    return f"{words[EditAction(edit.action)]} a {snapshot['label']} span"
