"""Edits of an annotator's working copy: add, relabel, delete, resize, attributes, status, undo.

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

from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, null, update
from sqlmodel import Session, select

from annotator.errors import (
    IncompleteSpans,
    InvalidEdit,
    InvalidSpan,
    NotFound,
    NothingToUndo,
    SpanOverlap,
    StaleVersion,
)
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS, MAX_COUNT, attribute_errors, span_errors
from annotator.models import (
    AnnotationState,
    Article,
    ArticleCues,
    EditAction,
    Origin,
    Span,
    SpanEdit,
    Status,
    User,
    utcnow,
)
from annotator.services import version_counts
from annotator.services.assignment import FINISHED, FullyStaffed, claim_params, lock_article, room_for
from annotator.services.json_rows import json_rows
from annotator.services.settings import ProjectSettings, load_settings
from annotator.services.workspace import (
    SpanView,
    StateView,
    Workspace,
    has_undoable_edits,
    load_workspace,
    span_views,
    working_copy_json,
)
from annotator.wording import indefinite

# Statuses an annotator sets by hand (todo and in_progress follow from their edits).
CHOSEN = FINISHED
# Statuses that give the article back to the pool.
RELEASED = (Status.SKIPPED.value, Status.FLAGGED.value)
MAX_COMMENT = 2000

# Core statements of the edits, run with a dict of values each (the SET clause follows the dict).
_ARTICLES = Article.__table__
_CUES = ArticleCues.__table__
_SPANS = Span.__table__
_STATES = AnnotationState.__table__
_EDITS = SpanEdit.__table__
_USERS = User.__table__
_SPAN_INSERT = insert(_SPANS).returning(_SPANS.c.id)
# Scoped to the owner's working copy as well as the id: an id alone is no proof of whose span it is.
_OWN_SPAN = (
    _SPANS.c.id == bindparam("the_span"),
    _SPANS.c.origin == Origin.ANNOTATOR.value,
    _SPANS.c.owner_id == bindparam("the_owner"),
)
_SPAN_UPDATE = update(_SPANS).where(*_OWN_SPAN)
_SPAN_DELETE = delete(_SPANS).where(*_OWN_SPAN)
_STATE_UPDATE = update(_STATES).where(_STATES.c.id == bindparam("state_id"))
_LOG_INSERT = insert(_EDITS)
_OLDER_EDITS = _EDITS.alias("older")
# The newest edit, and whether an older one is left once it is undone (for the page that reloads).
_LAST_EDIT = (
    select(
        _EDITS,
        exists()
        .where(_OLDER_EDITS.c.state_id == _EDITS.c.state_id, _OLDER_EDITS.c.version < _EDITS.c.version)
        .label("older"),
    )
    .where(_EDITS.c.state_id == bindparam("state_id"))
    .order_by(_EDITS.c.version.desc())
    .limit(1)
)
_LOG_DELETE = delete(_EDITS).where(_EDITS.c.id == bindparam("edit_id"))
_SPAN_STATEMENTS = {"update": _SPAN_UPDATE, "delete": _SPAN_DELETE, "insert": _SPAN_INSERT}
_LOG_STATEMENTS = {"insert": _LOG_INSERT, "delete": _LOG_DELETE}


def _bound(table, names):
    """Return ``values()`` arguments binding each named column of ``table`` to a parameter of its name and type."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


@functools.cache
def _span_and_log_statement(span_change: str, log_change: str):
    """Return one PostgreSQL statement that changes a span of a working copy and logs (or unlogs) the edit.

    Data-modifying CTEs (SQLite has none): a round trip less for every edit. It
    selects the id of the span changed (the new one for an insert). The log's
    parameters are those of the separate statements prefixed with ``log_``.
    """
    columns = ("start", "end", "label", "attrs", "updated_at")
    if span_change == "update":
        changed = update(_SPANS).where(*_OWN_SPAN).values(_bound(_SPANS, columns))
    elif span_change == "delete":
        changed = delete(_SPANS).where(*_OWN_SPAN)
    else:
        new_columns = (*columns, "article_id", "origin", "owner_id", "source", "created_at")
        changed = insert(_SPANS).values(_bound(_SPANS, new_columns))
    changed = changed.returning(_SPANS.c.id).cte("span_change")
    if log_change == "insert":
        names = (
            "state_id",
            "version",
            "action",
            "before",
            "after",
            "status_before",
            "comment_before",
            "created_at",
        )
        logged = insert(_EDITS).values(
            {name: bindparam(f"log_{name}", type_=_EDITS.c[name].type) for name in names}
        )
    else:
        logged = delete(_EDITS).where(_EDITS.c.id == bindparam("log_edit_id"))
    return select(changed.c.id).add_cte(logged.cte("log_change"))


# Every part of the page an edit can change.
EVERYTHING = frozenset({"spans", "status", "progress"})


@dataclass(frozen=True)
class EditResult:
    workspace: Workspace
    message: str | None = None
    # What changed: "spans" (the text and the selected span), "status", "progress" (accepted counts).
    changed: frozenset[str] = frozenset()
    # The character ranges of the spans the edit removed and added: the page redraws only
    # the text around them. None: redraw all of it.
    ranges: tuple[tuple[int, int], ...] | None = None


# --- editing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _LoggedEdit:
    """The newest logged edit of a working copy, and whether an older one is left once it is undone."""

    id: int
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    status_before: str
    comment_before: str | None
    older: bool


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
    # Whether the database is PostgreSQL, which takes a span's change and its log entry in one statement.
    postgres: bool = False
    # For undo: the newest logged edit, read with the version bump (None when there is none).
    last_edit: _LoggedEdit | None = None
    status_before: str = ""
    # Where spans were removed or added, for EditResult.ranges.
    ranges: list[tuple[int, int]] = field(default_factory=list)
    # The article's stored tally cues (None when it has none yet).
    cues: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.status_before = self.status

    def span(self, span_id: int) -> SpanView:
        found = next((span for span in self.spans if span.id == span_id), None)
        if found is None:
            raise NotFound(f"No span {span_id} in your version of {self.external_id!r}; reload the page.")
        return found

    def span_like(self, snapshot: Mapping[str, Any]) -> SpanView:
        """Return the span at the snapshot's offsets with its label: unique, as spans never overlap."""
        key = (snapshot["start"], snapshot["end"], snapshot["label"])
        found = next((span for span in self.spans if (span.start, span.end, span.label) == key), None)
        if found is None:
            raise InvalidEdit(
                f"Cannot undo: the {snapshot['label']} span at characters {key[0]}–{key[1]} is no longer "
                "in your version. Reload the page."
            )
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
            cues=self.cues,
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
        return EditResult(
            self.workspace(selected=selected, can_undo=can_undo),
            message,
            frozenset(changed),
            tuple(self.ranges),
        )


def _newest_edit_json():
    """Return a scalar subquery of the newest logged edit of (:the_article, :the_user) as [[id, ..., older]] or []."""
    newest, older = _EDITS.alias("newest"), _EDITS.alias("older")
    state_id = (
        select(_STATES.c.id)
        .where(_STATES.c.article_id == bindparam("the_article"), _STATES.c.user_id == bindparam("the_user"))
        .scalar_subquery()
    )
    newest_version = select(func.max(older.c.version)).where(older.c.state_id == state_id).scalar_subquery()
    has_older = exists().where(older.c.state_id == newest.c.state_id, older.c.version < newest.c.version)
    return (
        select(
            json_rows(
                newest.c.id,
                newest.c.action,
                newest.c.before,
                newest.c.after,
                newest.c.status_before,
                newest.c.comment_before,
                has_older,
            )
        )
        .where(newest.c.state_id == state_id, newest.c.version == newest_version)
        .scalar_subquery()
    )


@functools.cache
def _bump_statement(*, undo: bool = False):
    """Bump the version of (:the_article, :the_user) if it is still :seen; return the state and its article.

    For ``undo`` also the newest logged edit, read under the same row lock.
    """
    state = _STATES.c
    # The subqueries name the article and user by the parameters, never by the updated row's columns:
    # SQLite's RETURNING is written with unqualified column names, and there ``span.article_id =
    # annotation_state.article_id`` would read ``article_id = article_id``, true of every span.
    article, user = bindparam("the_article"), bindparam("the_user")

    def of_article(column):
        return select(column).where(_ARTICLES.c.id == article).scalar_subquery()

    returned = [
        state.id,
        state.version,
        state.status,
        state.comment,
        of_article(_ARTICLES.c.external_id),
        of_article(_ARTICLES.c.text),
        state.claimed_at,
        # The working copy, read under the state's row lock that every edit of it takes first.
        working_copy_json(article, user),
        # The tally's cues, so the tally the response shows reads nothing more.
        select(_CUES.c.cues).where(_CUES.c.article_id == article).scalar_subquery(),
    ]
    if undo:
        returned.append(_newest_edit_json())
    return (
        update(_STATES)
        .where(state.article_id == article, state.user_id == user, state.version == bindparam("seen"))
        .values(
            version=state.version + 1,
            updated_at=bindparam("now"),
            # An unfinished, unassigned claim untouched since :cutoff has lapsed (SET sees the old row).
            claimed_at=case(
                (
                    and_(
                        state.status != Status.ACCEPTED.value,
                        state.assigned_at.is_(None),
                        state.updated_at <= bindparam("cutoff"),
                    ),
                    null(),
                ),
                else_=state.claimed_at,
            ),
        )
        .returning(*returned)
    )


@functools.cache
def _current_version_statement():
    return select(_STATES.c.version).where(
        _STATES.c.article_id == bindparam("article_id"), _STATES.c.user_id == bindparam("user_id")
    )


def _begin(
    session: Session,
    article_id: int,
    user: User,
    seen: int,
    settings: ProjectSettings | None,
    *,
    undo: bool = False,
) -> _Work:
    """Bump the version of the user's state if it is still ``seen``, make sure they hold the article, load the copy.

    For ``undo`` the newest logged edit comes along.
    """
    settings = settings or load_settings(session)
    now = utcnow()
    params = claim_params(settings, now)
    bumped = session.execute(
        _bump_statement(undo=undo),
        {
            "the_article": article_id,
            "the_user": user.id,
            "seen": seen,
            "now": now,
            "cutoff": params["cutoff"],
        },
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
    state_id, version, status, comment, external_id, text, claimed_at, copy, cues = bumped[:9]
    if claimed_at is None:
        # The first edit claims the article (or claims it again after a lapse), if there is room.
        lock_article(session, article_id)
        if not room_for(session, article_id, user.id, params):
            session.rollback()
            raise FullyStaffed(
                f"Not saved: this article now has the {settings.required(article_id)} annotator(s) it needs. "
                "Your version is kept, read-only; press n for another article."
            )
        session.execute(_STATE_UPDATE, {"state_id": state_id, "claimed_at": now})
    spans = span_views(text, copy)
    work = _Work(article_id, external_id, text, user, state_id, seen, version, status, comment, spans)
    work.postgres = session.get_bind().dialect.name == "postgresql"
    work.cues = cues
    if undo and bumped[9]:
        edit_id, action, before, after, status_before, comment_before, older = bumped[9][0]
        work.last_edit = _LoggedEdit(
            edit_id, action, before, after, status_before, comment_before, bool(older)
        )
    return work


@contextmanager
def _editing(
    session: Session,
    article_id: int,
    user: User,
    seen: int,
    settings: ProjectSettings | None,
    *,
    undo: bool = False,
) -> Iterator[_Work]:
    """Yield the locked working copy; anything raised rolls the edit (and the version bump) back."""
    work = _begin(session, article_id, user, seen, settings, undo=undo)
    try:
        yield work
    except BaseException:
        session.rollback()
        raise


def _log_values(
    work: _Work, action: EditAction, before: SpanView | None = None, after: SpanView | None = None
) -> dict[str, Any]:
    """Return the log entry of an edit: the span before and after it and the status before it."""
    return {
        "state_id": work.state_id,
        "version": work.version,
        "action": action.value,
        "before": before.snapshot() if before else None,
        "after": after.snapshot() if after else None,
        "status_before": work.status,
        "comment_before": work.comment,
        "created_at": utcnow(),
    }


def _log(session: Session, work: _Work, action: EditAction) -> None:
    """Log an edit that changes no span (a status change)."""
    session.execute(_LOG_INSERT, _log_values(work, action))


def _write(
    session: Session, work: _Work, span_change: tuple[str, dict], log_change: tuple[str, dict]
) -> int | None:
    """Change a span of the working copy and log (or unlog) the edit; return the id of an inserted span.

    Each change is a kind ("update", "delete" or "insert") and its values. One
    statement on PostgreSQL, two on SQLite.
    """
    (span_kind, span_values), (log_kind, log_values) = span_change, log_change
    if work.postgres:
        values = {**span_values, **{f"log_{name}": value for name, value in log_values.items()}}
        return session.execute(_span_and_log_statement(span_kind, log_kind), values).scalar()
    changed = session.execute(_SPAN_STATEMENTS[span_kind], span_values)
    inserted = changed.scalar_one() if span_kind == "insert" else None
    session.execute(_LOG_STATEMENTS[log_kind], log_values)
    return inserted


def _span_edited(
    session: Session,
    work: _Work,
    action: EditAction,
    before: SpanView | None,
    after: SpanView | None,
    change: tuple[str, dict],
) -> int | None:
    """Make and log a span edit's change; put the article back in progress (an accepted one needs accepting again).

    Returns the id of an inserted span.
    """
    span_id = _write(session, work, change, ("insert", _log_values(work, action, before, after)))
    if work.status != Status.IN_PROGRESS.value:
        _set_state(session, work, Status.IN_PROGRESS.value, work.comment)
    return span_id


def _replace_span(work: _Work, old: SpanView | None, new: SpanView | None) -> None:
    if old is not None:
        work.spans = [span for span in work.spans if span.id != old.id]
        work.ranges.append((old.start, old.end))
    if new is not None:
        work.spans.append(new)
        work.ranges.append((new.start, new.end))


def _changes_state(work: _Work, status: str, comment: str | None) -> bool:
    """Return whether setting this status and comment would change the state (or its claim or counts)."""
    if status in RELEASED or status == Status.ACCEPTED.value:
        return True  # the claim is given back, or the accepted version counted, again
    return (work.status, work.comment) != (status, comment)


def _set_state(session: Session, work: _Work, status: str, comment: str | None) -> None:
    values = {"state_id": work.state_id, "status": status, "comment": comment}
    if status in RELEASED:
        # Skipping or flagging gives the article back: it no longer counts toward its annotators.
        values.update(claimed_at=None, assigned_at=None)
    session.execute(_STATE_UPDATE, values)
    work.status, work.comment = status, comment
    if status == Status.ACCEPTED.value:
        # Counted now, as accepted, so that the team dashboard only sums (services/version_counts).
        version_counts.count_accepted(session, work.state_id)


def _updated(work: _Work, span: SpanView) -> tuple[str, dict]:
    """Return the change that gives a span of the working copy the offsets, label and attributes of ``span``."""
    values = {
        "the_span": span.id,
        "the_owner": work.user.id,
        "start": span.start,
        "end": span.end,
        "label": span.label,
        "attrs": span.attrs,
        "updated_at": utcnow(),
    }
    return "update", values


def _deleted(work: _Work, span_id: int) -> tuple[str, dict]:
    """Return the change that deletes a span from the working copy."""
    return "delete", {"the_span": span_id, "the_owner": work.user.id}


def _inserted(work: _Work, span: SpanView) -> tuple[str, dict]:
    """Return the change that inserts a span into the user's working copy."""
    now = utcnow()
    values = {
        **span.snapshot(),
        "article_id": work.article_id,
        "origin": Origin.ANNOTATOR.value,
        "owner_id": work.user.id,
        "created_at": now,
        "updated_at": now,
    }
    return "insert", values


def overlap_message(other: SpanView, what: str) -> str:
    return (
        f"Not saved: {what} would overlap “{other.text}” ({other.label}). "
        "Spans may not overlap; shrink or delete that one first."
    )


def check_label(label: str) -> None:
    if label not in LABELS:
        raise InvalidSpan(f"Unknown label {label!r}: use one of {', '.join(LABELS)}.")


def snapped_selection(text: str, start: int, end: int, label: str) -> tuple[int, int]:
    """Return a selection widened to whole tokens, or raise InvalidSpan (also used on draft gold)."""
    from annotator.nlp.tokens import snap, token_bounds_near

    check_label(label)
    errors = span_errors(text, {"start": start, "end": end, "label": label})
    if errors:
        raise InvalidSpan(f"Not saved: {errors[0]}.")
    snapped = snap(token_bounds_near(text, start, end), start, end)
    if snapped is None:
        raise InvalidSpan("Not saved: the selection holds only spaces; select a word or more.")
    return snapped


def add_span(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    start: int,
    end: int,
    label: str,
    settings: ProjectSettings | None = None,
) -> EditResult:
    """Add a span over ``[start, end)``, widened to whole tokens, to the user's working copy."""
    check_label(label)
    with _editing(session, article_id, user, version, settings) as work:
        snapped = snapped_selection(work.text, start, end, label)
        other = work.overlap(*snapped)
        if other is not None:
            raise SpanOverlap(overlap_message(other, f"“{work.text[snapped[0] : snapped[1]]}”"))
        added = SpanView(0, *snapped, label, {}, work.text[snapped[0] : snapped[1]], "annotator")
        added_id = _span_edited(session, work, EditAction.ADD, None, added, _inserted(work, added))
        added = replace(added, id=added_id)
        _replace_span(work, None, added)
        session.commit()
    message = f"Added {label} “{added.text}”."
    if snapped != (start, end):
        message = f"Snapped to whole tokens: added {label} “{added.text}”."
    return work.result(message, selected=added.id)


def relabel_span(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    span_id: int,
    label: str,
    settings: ProjectSettings | None = None,
) -> EditResult:
    """Give a span another label (attributes are dropped when it stops being a CASUALTY)."""
    check_label(label)
    with _editing(session, article_id, user, version, settings) as work:
        old = work.span(span_id)
        if old.label == label:
            return EditResult(_unchanged(session, work, span_id), f"“{old.text}” is already {label}.")
        new = replace(old, label=label, attrs=old.attrs if label == CASUALTY else {})
        _span_edited(session, work, EditAction.RELABEL, old, new, _updated(work, new))
        _replace_span(work, old, new)
        session.commit()
    return work.result(f"“{new.text}” is now {label}.", selected=span_id)


def delete_span(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    span_id: int,
    settings: ProjectSettings | None = None,
) -> EditResult:
    """Delete a span from the user's working copy."""
    with _editing(session, article_id, user, version, settings) as work:
        old = work.span(span_id)
        _span_edited(session, work, EditAction.DELETE, old, None, _deleted(work, span_id))
        _replace_span(work, old, None)
        session.commit()
    return work.result(f"Deleted {old.label} “{old.text}”.", selected=None)


EDGES = ("start", "end")
DIRECTIONS = ("grow", "shrink")


def resized_bounds(text: str, span, edge: str, direction: str) -> tuple[int, int]:
    """Return a span's offsets with one edge moved by one token, or raise InvalidSpan (also used on draft gold)."""
    from annotator.nlp import tokens

    if edge not in EDGES or direction not in DIRECTIONS:
        raise InvalidSpan(
            f"Resize takes edge start or end and direction grow or shrink, not {edge!r} {direction!r}."
        )
    bounds = tokens.token_bounds_near(text, span.start, span.end)
    start, end = span.start, span.end
    if edge == "start" and direction == "grow":
        start = tokens.previous_start(bounds, span.start)
    elif edge == "start":
        start = tokens.next_start(bounds, span.start)
    elif direction == "grow":
        end = tokens.next_end(bounds, span.end)
    else:
        end = tokens.previous_end(bounds, span.end)
    if direction == "grow" and (start is None or end is None):
        where = "beginning" if start is None else "end"
        raise InvalidSpan(f"Not saved: “{span.text}” already reaches the {where} of the text.")
    if start is None or end is None or start >= end:
        raise InvalidSpan(f"Not saved: “{span.text}” is one token long; delete it instead of shrinking it.")
    return start, end


def resize_span(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    span_id: int,
    edge: str,
    direction: str,
    settings: ProjectSettings | None = None,
) -> EditResult:
    """Move one edge of a span by one token: ``grow`` outwards or ``shrink`` inwards."""
    if edge not in EDGES or direction not in DIRECTIONS:
        raise InvalidSpan(
            f"Resize takes edge start or end and direction grow or shrink, not {edge!r} {direction!r}."
        )
    with _editing(session, article_id, user, version, settings) as work:
        old = work.span(span_id)
        start, end = resized_bounds(work.text, old, edge, direction)
        other = work.overlap(start, end, ignore=span_id)
        if other is not None:
            raise SpanOverlap(overlap_message(other, f"growing “{old.text}”"))
        new = replace(old, start=start, end=end, text=work.text[start:end])
        _span_edited(session, work, EditAction.RESIZE, old, new, _updated(work, new))
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
            elif (
                value.isascii()
                and value.isdigit()
                and len(value.lstrip("0")) <= 7
                and int(value) <= MAX_COUNT
            ):
                attrs[name] = int(value)
            else:
                shown = raw if len(raw) <= 20 else raw[:20] + "…"
                raise InvalidSpan(
                    f"Not saved: count must be a whole number of people from 0 to {MAX_COUNT:,}, or empty "
                    f"when the text is vague (“dozens”), not {shown!r}."
                )
        elif value:
            attrs[name] = value
        elif name not in CASUALTY_ATTRIBUTES:
            attrs[name] = value  # let the validation name the unknown field
    return attrs


def set_attributes(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    span_id: int,
    attrs: Mapping[str, Any],
    settings: ProjectSettings | None = None,
) -> EditResult:
    """Replace a CASUALTY span's attributes (count, qualifier, outcome, group)."""
    with _editing(session, article_id, user, version, settings) as work:
        old = work.span(span_id)
        errors = attribute_errors(old.label, dict(attrs))
        if errors:
            raise InvalidSpan(f"Not saved: {'; '.join(errors)}.")
        new = replace(old, attrs=dict(attrs))
        if new.attrs == old.attrs:
            return EditResult(_unchanged(session, work, span_id), "No change.")
        _span_edited(session, work, EditAction.ATTRS, old, new, _updated(work, new))
        _replace_span(work, old, new)
        session.commit()
    return work.result(f"“{new.text}”: {new.badge}.", selected=span_id)


def set_status(
    session: Session,
    article_id: int,
    user: User,
    *,
    version: int,
    status: str,
    comment: str | None = None,
    settings: ProjectSettings | None = None,
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
    with _editing(session, article_id, user, version, settings) as work:
        if (work.status, work.comment) == (status, comment):
            return EditResult(_unchanged(session, work, None), f"Already {status.replace('_', ' ')}.")
        if status == Status.ACCEPTED.value:
            check_complete(work.spans)
        _log(session, work, EditAction.STATUS)
        _set_state(session, work, status, comment)
        session.commit()
    words = {"accepted": "Accepted", "skipped": "Skipped", "flagged": "Flagged for a reviewer"}
    return work.result(f"{words[status]}.", selected=None, spans=False)


# How many incomplete spans a refusal names; the rest are counted.
MAX_NAMED = 5


def check_complete(spans, refused: str = "Not accepted") -> None:
    """Refuse spans (a working copy, or a draft gold) whose CASUALTY spans lack attributes, naming them."""
    incomplete = sorted((span for span in spans if span.missing), key=lambda span: span.start)
    if not incomplete:
        return
    named = "; ".join(f"“{span.text}” needs {', '.join(span.missing)}" for span in incomplete[:MAX_NAMED])
    more = f"; and {len(incomplete) - MAX_NAMED} more" if len(incomplete) > MAX_NAMED else ""
    count = f"{len(incomplete)} CASUALTY span{'s' if len(incomplete) != 1 else ''}"
    raise IncompleteSpans(
        f"{refused}: {count} still miss attributes: {named}{more}. "
        "The first is selected; press e to fill it in, i for the next.",
        span_id=incomplete[0].id,
    )


def _unchanged(session: Session, work: _Work, selected: int | None) -> Workspace:
    """Roll back an edit that turned out to change nothing, and return the working copy as it was."""
    session.rollback()
    work.version = work.seen
    return work.workspace(selected=selected, can_undo=has_undoable_edits(session, work.state_id))


def undo(
    session: Session, article_id: int, user: User, *, version: int, settings: ProjectSettings | None = None
) -> EditResult:
    """Reverse the newest edit of the user's working copy (again and again, down to the first visit)."""
    with _editing(session, article_id, user, version, settings, undo=True) as work:
        last = work.last_edit
        if last is None:
            raise NothingToUndo("Nothing to undo: this is the article as you first opened it.")
        unlogged = ("delete", {"edit_id": last.id})
        selected = None
        if last.action != EditAction.STATUS:
            # The span as the edit left it, found by its offsets (see SpanEdit): ids may be reused.
            current = work.span_like(last.after) if last.after is not None else None
            restored = None
            if last.before is None:
                _write(session, work, _deleted(work, current.id), unlogged)
            else:
                restored = _from_snapshot(work.text, last.before, span_id=current.id if current else 0)
                if current is None:
                    restored = replace(
                        restored, id=_write(session, work, _inserted(work, restored), unlogged)
                    )
                else:
                    _write(session, work, _updated(work, restored), unlogged)
                selected = restored.id
            _replace_span(work, current, restored)
        else:
            session.execute(_LOG_DELETE, unlogged[1])
        if _changes_state(work, last.status_before, last.comment_before):
            _set_state(session, work, last.status_before, last.comment_before)
        can_undo = last.older
        session.commit()
    return work.result(
        f"Undid {_describe(last)}.",
        selected=selected,
        spans=last.action != EditAction.STATUS,
        can_undo=can_undo,
    )


def saved_state(session: Session, article_id: int, user: User) -> EditResult:
    """Return the user's working copy as the database holds it, and a sentence saying what was last saved.

    For a page that could not tell whether its last edit arrived: it shows this
    instead of guessing.
    """
    ws = load_workspace(session, article_id, user)
    if ws.state is None:
        return EditResult(ws, "You have no saved version of this article yet.", EVERYTHING)
    state_id = session.execute(
        select(_STATES.c.id).where(_STATES.c.article_id == article_id, _STATES.c.user_id == user.id)
    ).scalar_one()
    last = session.execute(_LAST_EDIT, {"state_id": state_id}).first()
    if last is None:
        latest = "no change is saved since you first opened it"
    else:
        snapshot = last.after or last.before
        where = f" “{ws.text[snapshot['start'] : snapshot['end']]}”" if snapshot else ""
        latest = f"the last saved change is {_describe(last)}{where}, at {last.created_at:%H:%M:%S} UTC"
    message = f"This is your version as saved on the server, version {ws.state.version}: {latest}."
    return EditResult(ws, message, EVERYTHING)


def _from_snapshot(text: str, snapshot: Mapping[str, Any], *, span_id: int) -> SpanView:
    start, end = snapshot["start"], snapshot["end"]
    return SpanView(
        id=span_id,
        start=start,
        end=end,
        label=snapshot["label"],
        attrs=snapshot["attrs"] or {},
        text=text[start:end],
        source=snapshot.get("source"),
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
    return f"{words[EditAction(edit.action)]} {indefinite(snapshot['label'])} span"
