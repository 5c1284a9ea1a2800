"""An annotator's working copy of an article as pages and fragments show it, and its first visit.

An annotator's first visit to an article copies the model's spans into their
own working copy (origin ``annotator``); the model's spans are never changed.
Reviewers may read anyone's working copy; reading writes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, exists
from sqlmodel import Session, select

from annotator.errors import (
    NotFound,
)
from annotator.labels import CASUALTY, missing_attributes
from annotator.models import (
    AnnotationState,
    Article,
    ArticleCues,
    Origin,
    Role,
    Span,
    SpanEdit,
    Status,
    User,
    utcnow,
)
from annotator.services import tallies, users
from annotator.services.assignment import (
    OPEN,
    FullyStaffed,
    Staffing,
    claim_params,
    holders_of,
    lock_article,
    required_of,
    room_for,
    state_holds,
    take,
)
from annotator.services.chunks import Chunk, chunks
from annotator.services.flags import ReviewerNote
from annotator.services.json_rows import json_rows
from annotator.services.origins import preannotator_spans
from annotator.services.settings import ProjectSettings, load_settings
from annotator.services.spans import copy_model_spans
from annotator.services.visibility import get_visible, visible_articles

if TYPE_CHECKING:
    from annotator.nlp.tally import ArticleTally

_ARTICLES = Article.__table__
_CUES = ArticleCues.__table__
_SPANS = Span.__table__
_STATES = AnnotationState.__table__
_EDITS = SpanEdit.__table__
_USERS = User.__table__

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

    @functools.cached_property
    def missing(self) -> tuple[str, ...]:
        """The attributes this span still needs before its article can be accepted."""
        return missing_attributes(self.label, self.attrs)

    def snapshot(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "attrs": self.attrs,
            "source": self.source,
        }


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
    versions: tuple[VersionLink, ...] = ()
    # Who holds the article, as this owner sees it (None where not worked out).
    staffing: Staffing | None = None
    # Why the owner may only read their copy, when so.
    staffing_note: str | None = None
    # The blueprint whose routes the span panel's forms post to (the curation view has its own).
    blueprint: str = "review"
    # A reviewer's note on this version (read with the page; None on the copies edits return).
    note: ReviewerNote | None = None
    # The article's stored tally cues (``article_cues``), read with the article; None when it has none yet.
    cues: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def tally(self) -> ArticleTally:
        """This version's article tally (GUIDELINES.md, "Article tally"), from its spans and the stored cues."""
        return tallies.tally_of(self.spans, self.text, self.cues)

    def chunks(self, changed: Iterable[tuple[int, int]] | None = None) -> list[Chunk]:
        """Return the text's chunks (see ``services.chunks``): all, or those an edit of ``changed`` touched."""
        return chunks(self.text, self.spans, changed=changed)

    def span(self, span_id: int | None) -> SpanView | None:
        return next((span for span in self.spans if span.id == span_id), None)


# --- reading a working copy ----------------------------------------------------------


@functools.cache
def _spans_statement(*, model: bool):
    columns = _SPANS.c
    statement = select(
        columns.id, columns.start, columns.end, columns.label, columns.attrs, columns.source
    ).where(columns.article_id == bindparam("article_id"))
    if model:
        # The pre-annotator's spans, which a working copy starts from (pushed predictions may overlap).
        statement = statement.where(
            columns.origin == Origin.MODEL.value,
            columns.owner_id.is_(None),
            preannotator_spans(columns.source),
        )
    else:
        statement = statement.where(
            columns.origin == Origin.ANNOTATOR.value, columns.owner_id == bindparam("owner_id")
        )
    return statement.order_by(columns.start)


def load_spans(session: Session, text: str, article_id: int, owner_id: int | None) -> list[SpanView]:
    """Return the working copy of ``owner_id`` (the model's spans when None), in text order."""
    rows = session.execute(
        _spans_statement(model=owner_id is None), {"article_id": article_id, "owner_id": owner_id}
    )
    return span_views(text, rows)


def span_views(text: str, rows: Iterable[Sequence[Any]]) -> list[SpanView]:
    """Return the spans of (id, start, end, label, attrs, source) rows, in text order."""
    spans = [
        SpanView(
            id=id_, start=start, end=end, label=label, attrs=attrs or {}, text=text[start:end], source=source
        )
        for id_, start, end, label, attrs, source in rows
    ]
    spans.sort(key=lambda span: span.start)
    return spans


def working_copy_json(article_id, owner_id):
    """Return a scalar subquery of an owner's working copy of an article as rows for ``span_views``.

    For a statement that reads (or bumps) the state to bring the spans along.
    """
    columns = _SPANS.c
    return (
        select(
            json_rows(columns.id, columns.start, columns.end, columns.label, columns.attrs, columns.source)
        )
        .where(
            columns.article_id == article_id,
            columns.origin == Origin.ANNOTATOR.value,
            columns.owner_id == owner_id,
        )
        .scalar_subquery()
    )


@functools.cache
def _start_statements(dialect: str):
    """Return the INSERT of a state that yields to a concurrent one."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    create_state = (
        dialect_insert(_STATES)
        .on_conflict_do_nothing(index_elements=["user_id", "article_id"])
        .returning(_STATES.c.id)
    )
    return create_state


@functools.cache
def _copy_statement():
    """Copy the model's spans into a new working copy and return them as rows for ``span_views``."""
    columns = _SPANS.c
    return copy_model_spans().returning(
        columns.id, columns.start, columns.end, columns.label, columns.attrs, columns.source
    )


def _start_work(
    session: Session, article_id: int, user_id: int, settings: ProjectSettings
) -> list[Sequence[Any]] | None:
    """Create the user's (unclaimed) state for the article and its working copy, unless another request did.

    The copy starts from the model's spans, unless the article gets several
    annotators and the settings keep them from starting from the same proposals.
    Returns the rows of the copy made (None when another request made it).
    """
    now = utcnow()
    create_state = _start_statements(session.get_bind().dialect.name)
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
    copied = None
    if created is not None:
        copied = []
        if settings.starts_from_model(article_id):
            copied = session.execute(
                _copy_statement(), {"from_article": article_id, "owner_id": user_id, "now": now}
            ).all()
    session.commit()
    return copied


def start_work(
    session: Session, article_id: int, user: User, *, settings: ProjectSettings | None = None
) -> str:
    """Claim the article for the user's own working copy and return its external id.

    Raises FullyStaffed when the article already has its annotators.
    """
    settings = settings or load_settings(session)
    external_id = session.execute(
        select(_ARTICLES.c.external_id).where(_ARTICLES.c.id == article_id, visible_articles())
    ).scalar_one_or_none()
    if external_id is None:
        raise NotFound(f"No article number {article_id}.")
    now = utcnow()
    params = claim_params(settings, now)
    lock_article(session, article_id)
    state = session.execute(
        select(_STATES.c.status, _STATES.c.claimed_at, _STATES.c.assigned_at, _STATES.c.updated_at).where(
            _STATES.c.article_id == article_id, _STATES.c.user_id == user.id
        )
    ).first()
    if state is not None and state_holds(*state, params["cutoff"]):
        session.rollback()
        return external_id
    if not room_for(session, article_id, user.id, params):
        session.rollback()
        raise FullyStaffed(_full_message(settings.required(article_id)))
    take(session, article_id, user.id, settings, now=now)
    session.commit()
    return external_id


def _full_message(required: int) -> str:
    who = "its annotator" if required == 1 else f"its {required} annotators"
    return f"This article already has {who} (working on it or done); there is no room for another."


def _has_edits(state_id):
    return exists().where(_EDITS.c.state_id == state_id)


@functools.cache
def _has_edits_statement():
    return select(_has_edits(bindparam("state_id")))


def has_undoable_edits(session: Session, state_id: int) -> bool:
    """Return whether the working copy has an edit left to undo."""
    return bool(session.execute(_has_edits_statement(), {"state_id": state_id}).scalar_one())


def _owner(session: Session, user: User, annotator: str | None) -> User:
    """Return whose working copy ``user`` asks for: their own, or (reviewers only) another's."""
    return users.whose_work(
        session,
        user,
        annotator,
        refusal="Annotators see only their own work. Ask a reviewer to compare versions.",
    )


def open_article(
    session: Session,
    external_id: str,
    user: User,
    *,
    annotator: str | None = None,
    selected: int | None = None,
    settings: ProjectSettings | None = None,
) -> Workspace:
    """Return the article page's workspace: ``user``'s own working copy, or for reviewers ``annotator``'s.

    An annotator's first visit to an article with room creates their state and
    working copy (claiming nothing). An unknown ``selected`` span is ignored.
    """
    return _read(
        session,
        user,
        _owner(session, user, annotator),
        external_id,
        f"No article with id {external_id!r}.",
        selected=selected,
        page=True,
        settings=settings,
    )


def article_exists(session: Session, article_id: int) -> bool:
    """Return whether there is an article with this number (one still being imported is none)."""
    return get_visible(session, article_id) is not None


def load_workspace(
    session: Session,
    article_id: int,
    user: User,
    *,
    annotator: str | None = None,
    selected: int | None = None,
    page: bool = False,
    settings: ProjectSettings | None = None,
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
        settings=settings,
    )


@functools.cache
def _workspace_statement(*, by_id: bool):
    """Select the article (by :key), the state of :owner_id, whether it has edits, and who else holds it."""
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
        state.c.claimed_at,
        state.c.assigned_at,
        state.c.updated_at,
        holders_of(article.id, except_user=bindparam("owner_id")),
        required_of(article.id),
        # The owner's working copy, when started: no second query for it.
        working_copy_json(article.id, bindparam("owner_id")),
        # The reviewer's note on it, for the page.
        state.c.reviewer_note,
        select(_USERS.c.username).where(_USERS.c.id == state.c.reviewer_note_by_id).scalar_subquery(),
        state.c.reviewer_note_at,
        # The tally's cues: no second query for them.
        select(_CUES.c.cues).where(_CUES.c.article_id == article.id).scalar_subquery(),
    ]
    key = article.id if by_id else article.external_id
    return (
        select(*columns)
        .select_from(
            _ARTICLES.outerjoin(
                state, and_(state.c.article_id == article.id, state.c.user_id == bindparam("owner_id"))
            )
        )
        .where(key == bindparam("key"), visible_articles())
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
    settings: ProjectSettings | None,
) -> Workspace:
    """Load the article, the owner's state and spans, who else holds it; on the page also the other versions."""
    settings = settings or load_settings(session)
    params = claim_params(settings)
    own = owner.id == user.id
    row = session.execute(
        _workspace_statement(by_id=isinstance(key, int)),
        {**params, "key": key, "owner_id": owner.id},
    ).first()
    if row is None:
        raise NotFound(missing)
    article_id, external_id, text, state_id, status, version, comment, can_undo = row[:8]
    claimed_at, assigned_at, updated_at, others, required, copy = row[8:14]
    note = ReviewerNote(*row[14:17]) if row[14] is not None else None
    cues = row[17]
    if page and not tallies.cues_are_current(cues):
        # Read once by rule and kept, so the edits that follow parse and scan nothing.
        cues = tallies.ensure_cues(session, article_id, text, cues).to_json()
        session.commit()
    started = state_id is not None
    staffing = Staffing(
        required=required,
        others=others,
        holds=started and state_holds(status, claimed_at, assigned_at, updated_at, params["cutoff"]),
    )
    # Only an annotator's own page view starts their work: a reviewer reading an article, or
    # anyone's fragment request, writes nothing (reviewers start with ``start_work``). It
    # claims nothing either, and an article without room is only read.
    if not started and own and page and user.role == Role.ANNOTATOR.value and staffing.room:
        # The copy comes back from its INSERT, unless a concurrent request made it (then it is read).
        copy = _start_work(session, article_id, user.id, settings)
        started, status, version, comment, can_undo = True, Status.TODO.value, 0, None, False
    if started:
        spans = (
            span_views(text, copy) if copy is not None else load_spans(session, text, article_id, owner.id)
        )
        state_view = StateView(status=status, version=version, comment=comment, can_undo=bool(can_undo))
    else:
        spans = load_spans(session, text, article_id, None)
        state_view = None
    versions = ()
    if page and user.role != Role.ANNOTATOR.value:
        rows = session.execute(_versions_statement(), {"article_id": article_id})
        versions = tuple(VersionLink(username, status) for username, status in rows)
    staffing_note = None
    if own and not staffing.may_edit:
        staffing_note = _full_message(required)
        if started:
            staffing_note += " Your version is kept, read-only" + (
                ": your claim lapsed after the claim timeout without an edit." if status in OPEN else "."
            )
    workspace = Workspace(
        article_id=article_id,
        external_id=external_id,
        text=text,
        spans=tuple(spans),
        annotator=owner.username,
        state=state_view,
        editable=own and started and staffing.may_edit,
        versions=versions,
        staffing=staffing,
        staffing_note=staffing_note,
        note=note,
        cues=cues,
    )
    return replace(workspace, selected=workspace.span(selected))
