"""The reviewers' queue: articles waiting for adjudication, lowest agreement first, and flagged versions.

An article waits for adjudication when two or more annotators accepted it and
it has no gold revision (the rule of services/gold.py). Its agreement is the
mean pairwise exact-span F1 of its accepted versions, summed from the stored
counts of services/version_counts (kind "state", at the versions that are
current), never from the spans themselves. A page is a few queries whatever
the size of the corpus: one for the page's articles in queue order (keyset
pagination on agreement and article id), one for their annotators, one for
their drafts.
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    Float,
    Numeric,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlmodel import Session

from annotator.models import (
    AnnotationState,
    Article,
    Curation,
    GoldRevision,
    Origin,
    Span,
    Status,
    User,
    VersionCount,
)
from annotator.services.visibility import visible_article_id, visible_articles

PAGE_SIZE = 50
# The sort key of an article whose counts are missing (F1 is never below 0). Such articles come
# first: one that cannot be ranked may be the worst of all, and they are few, as every accept
# is counted at once (`annotator db upgrade` counts what an older release left uncounted).
UNCOUNTED = -1.0

_ARTICLES = Article.__table__
_STATES = AnnotationState.__table__
_SPANS = Span.__table__
_USERS = User.__table__
_COUNTS = VersionCount.__table__
_CURATIONS = Curation.__table__
_REVISIONS = GoldRevision.__table__
ACCEPTED = Status.ACCEPTED.value
FLAGGED = Status.FLAGGED.value


class QueueState(enum.StrEnum):
    WAITING = "waiting"  # two or more accepted versions, no gold (an open draft or not)
    DRAFT = "draft"  # a reviewer's draft gold is open
    ADJUDICATED = "adjudicated"  # the draft was finished into gold
    FLAGGED = "flagged"  # versions their annotators flagged


@dataclass(frozen=True)
class Filters:
    state: QueueState = QueueState.WAITING
    annotator: str | None = None  # username: articles they accepted, or flags they raised
    label: str | None = None  # articles whose accepted (or the flagged) version holds a span of it


@dataclass(frozen=True)
class Cursor:
    """Where a page of articles starts: after this agreement key and article id."""

    key: float
    article_id: int


@dataclass
class ArticleRow:
    article_id: int
    external_id: str
    # None: some pair of its accepted versions is not counted yet.
    agreement: float | None
    accepted: list[str] = field(default_factory=list)
    draft_by: str | None = None  # an open draft, and who started it
    draft_open: bool = False
    finished_by: str | None = None
    finished_at: datetime | None = None


@dataclass
class ArticlePage:
    rows: list[ArticleRow]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class FlagRow:
    article_id: int
    external_id: str
    annotator: str
    comment: str | None
    flagged_at: datetime
    reviewer_note: str | None
    reviewer: str | None
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


@dataclass
class FlagPage:
    rows: list[FlagRow]
    has_more: bool


@dataclass(frozen=True)
class Counts:
    """What the top bar shows reviewers: articles waiting, flags not answered yet."""

    waiting: int
    open_flags: int


# --- the conditions, as SQL ------------------------------------------------------------------


def _accepted_counts():
    """Article id -> how many accepted versions it has, for the articles with two or more.

    From the counters the database keeps on article (schema_queue.py): one
    range of ix_article_queue, where counting the accepted states would read
    every article done, most of them with one accept.
    """
    return select(_ARTICLES.c.id.label("article_id"), _ARTICLES.c.accepted_count.label("accepted")).where(
        _ARTICLES.c.accepted_count >= literal_column("2")
    )


def _no_gold(article_id):
    return ~exists().where(_REVISIONS.c.article_id == article_id)


def _answered(state):
    """The flag of ``state`` has been answered: a reviewer's note newer than the flag."""
    return and_(state.c.reviewer_note_at.is_not(None), state.c.reviewer_note_at > state.c.updated_at)


@functools.cache
def _counts_statement():
    waiting = _accepted_counts().subquery()
    flagged = _STATES.alias("flagged")
    return select(
        select(func.count())
        .select_from(waiting)
        .where(_no_gold(waiting.c.article_id), visible_article_id(waiting.c.article_id))
        .scalar_subquery(),
        select(func.count())
        .select_from(flagged)
        .where(flagged.c.status == FLAGGED, ~_answered(flagged), visible_article_id(flagged.c.article_id))
        .scalar_subquery(),
    )


def counts(session: Session) -> Counts:
    """Return how many articles wait for adjudication and how many flags wait for an answer: one query."""
    waiting, open_flags = session.execute(_counts_statement()).one()
    return Counts(waiting, open_flags)


def _pair_agreements():
    """Return a select: article id and exact-span F1 of each counted pair of current accepted versions (stacked rows).

    Each unordered pair of versions is read once (the rows of the lower state
    id); a counted pair always has its marker row. The counts are summed per
    pair first and joined to the current accepted versions after: a join per
    pair, not per row.
    """
    counts_ = _COUNTS.c
    pair = (
        select(
            counts_.state_id,
            counts_.state_version,
            counts_.other_state_id,
            counts_.other_version,
            func.sum(counts_.mine).label("mine"),
            func.sum(counts_.theirs).label("theirs"),
            func.sum(counts_.matches).label("matches"),
        )
        .where(counts_.kind == "state", counts_.state_id < counts_.other_state_id)
        .group_by(counts_.state_id, counts_.state_version, counts_.other_state_id, counts_.other_version)
        .subquery("pair")
    )
    mine, theirs = _STATES.alias("mine"), _STATES.alias("theirs")
    spans = pair.c.mine + pair.c.theirs
    # Two versions with no span at all agree perfectly, as in services/agreement.
    f1 = case((spans == 0, literal(1.0)), else_=cast(2 * pair.c.matches, Float) / cast(spans, Float))
    return select(
        mine.c.article_id,
        cast(f1, Float).label("f1"),
        literal(0).label("accepted"),
        literal(0).label("is_candidate"),
        literal(1).label("pair"),
    ).select_from(
        pair.join(
            mine,
            and_(
                mine.c.id == pair.c.state_id,
                mine.c.version == pair.c.state_version,
                mine.c.status == ACCEPTED,
            ),
        ).join(
            theirs,
            and_(
                theirs.c.id == pair.c.other_state_id,
                theirs.c.version == pair.c.other_version,
                theirs.c.status == ACCEPTED,
            ),
        )
    )


def _candidates(filters: Filters):
    """Return a subquery of the article ids (and accepted counts) in this state, with the filters applied."""
    if filters.state == QueueState.WAITING:
        accepted = _accepted_counts().subquery("accepted")
        article_id = accepted.c.article_id
        statement = select(article_id.label("id"), accepted.c.accepted).where(_no_gold(article_id))
    else:
        finished, article_id = _CURATIONS.c.finished_at, _CURATIONS.c.article_id
        statement = (
            select(_CURATIONS.c.article_id.label("id"), _ARTICLES.c.accepted_count.label("accepted"))
            .select_from(_CURATIONS.join(_ARTICLES, _ARTICLES.c.id == _CURATIONS.c.article_id))
            .where(finished.is_(None) if filters.state == QueueState.DRAFT else finished.is_not(None))
        )
    statement = statement.where(visible_article_id(article_id))
    by = _STATES.alias("by")
    if filters.annotator:
        statement = statement.where(
            exists().where(
                by.c.article_id == article_id,
                by.c.status == ACCEPTED,
                by.c.user_id == _user_id(filters.annotator),
            )
        )
    if filters.label:
        statement = statement.where(_holds_label(article_id, filters.label, statuses=(ACCEPTED,)))
    return statement.subquery("candidate")


def _user_id(username: str):
    return select(_USERS.c.id).where(_USERS.c.username == username).scalar_subquery()


def _holds_label(article_id, label: str, *, statuses: tuple[str, ...], user_id=None):
    """An accepted (or other ``statuses``) version of the article holds a span of ``label``."""
    holder = _STATES.alias("holder")
    conditions = [
        holder.c.article_id == article_id,
        holder.c.status.in_(statuses),
        exists().where(
            _SPANS.c.article_id == holder.c.article_id,
            _SPANS.c.origin == Origin.ANNOTATOR.value,
            _SPANS.c.owner_id == holder.c.user_id,
            _SPANS.c.label == label,
        ),
    ]
    if user_id is not None:
        conditions.append(holder.c.user_id == user_id)
    return exists().where(*conditions)


def _ordered(filters: Filters):
    """Return the articles in queue order with their agreement and sort key, and those two columns.

    The candidates and the pairs' F1 are stacked (UNION ALL) and grouped once
    by article, rather than joined: a join of two aggregates is where
    PostgreSQL, misjudging their sizes, picked a nested loop of minutes.
    """
    candidate = _candidates(filters)
    stacked = union_all(
        select(
            candidate.c.id.label("article_id"),
            cast(literal(0.0), Float).label("f1"),
            candidate.c.accepted.label("accepted"),
            literal(1).label("is_candidate"),
            literal(0).label("pair"),
        ),
        _pair_agreements(),
    ).subquery("stacked")
    article_id, f1, accepted, is_candidate, pair = (
        stacked.c.article_id,
        stacked.c.f1,
        stacked.c.accepted,
        stacked.c.is_candidate,
        stacked.c.pair,
    )
    pairs, accepted = func.sum(pair), func.max(accepted)
    # Rounded: a float sum depends on the order of its terms, which a database does not fix, and a
    # page's cursor compares the key for equality with the one the page before ended on.
    mean = cast(func.round(cast(cast(func.sum(f1), Float) / cast(pairs, Float), Numeric), 6), Float)
    # Every pair counted, or the figure would leave someone out.
    agreement = case((and_(accepted >= 2, 2 * pairs == accepted * (accepted - 1)), mean), else_=None)
    ranked = (
        select(article_id.label("id"), agreement.label("agreement"))
        .group_by(article_id)
        .having(func.sum(is_candidate) == 1)
        .subquery("ranked")
    )
    key = func.coalesce(ranked.c.agreement, UNCOUNTED)
    statement = select(ranked.c.id, ranked.c.agreement, key.label("key")).order_by(key, ranked.c.id)
    return statement, key, ranked.c.id


def articles(
    session: Session, filters: Filters, *, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> ArticlePage:
    """Return a page of the articles in ``filters.state``, lowest agreement first, then by article id."""
    statement, key, article_id = _ordered(filters)
    if after is not None:
        statement = statement.where(
            or_(key > after.key, and_(key == after.key, article_id > after.article_id))
        )
    top = statement.limit(limit + 1).subquery("top")
    found = session.execute(
        select(top.c.id, _ARTICLES.c.external_id, top.c.agreement, top.c.key)
        .join_from(top, _ARTICLES, _ARTICLES.c.id == top.c.id)
        .order_by(top.c.key, top.c.id)
    ).all()
    more = len(found) > limit
    found = found[:limit]
    rows = [ArticleRow(each.id, each.external_id, each.agreement) for each in found]
    _add_people(session, rows)
    next_cursor = Cursor(found[-1].key, found[-1].id) if more else None
    return ArticlePage(rows, next_cursor)


def _add_people(session: Session, rows: list[ArticleRow]) -> None:
    """Fill in who accepted each article and its draft, two queries for the page."""
    if not rows:
        return
    ids = [row.article_id for row in rows]
    accepted = defaultdict(list)
    for article_id, username in session.execute(
        select(_STATES.c.article_id, _USERS.c.username)
        .join(_USERS, _USERS.c.id == _STATES.c.user_id)
        .where(_STATES.c.article_id.in_(ids), _STATES.c.status == ACCEPTED)
        .order_by(_STATES.c.article_id, _USERS.c.username)
    ):
        accepted[article_id].append(username)
    starter, finisher = _USERS.alias("starter"), _USERS.alias("finisher")
    drafts = {
        row.article_id: row
        for row in session.execute(
            select(
                _CURATIONS.c.article_id,
                _CURATIONS.c.finished_at,
                starter.c.username.label("started_by"),
                finisher.c.username.label("finished_by"),
            )
            .select_from(
                _CURATIONS.outerjoin(starter, starter.c.id == _CURATIONS.c.started_by_id).outerjoin(
                    finisher, finisher.c.id == _CURATIONS.c.finished_by_id
                )
            )
            .where(_CURATIONS.c.article_id.in_(ids))
        )
    }
    for row in rows:
        row.accepted = accepted[row.article_id]
        draft = drafts.get(row.article_id)
        if draft is None:
            continue
        if draft.finished_at is None:
            row.draft_open, row.draft_by = True, draft.started_by
        else:
            row.finished_by, row.finished_at = draft.finished_by, draft.finished_at


def first_waiting(session: Session, reviewer_id: int) -> int | None:
    """Return the article a reviewer should adjudicate next: the first waiting one no other reviewer has a draft of."""
    statement, _, article_id = _ordered(Filters())
    someone_elses_draft = exists().where(
        _CURATIONS.c.article_id == article_id,
        _CURATIONS.c.finished_at.is_(None),
        or_(_CURATIONS.c.started_by_id.is_(None), _CURATIONS.c.started_by_id != bindparam("reviewer")),
    )
    found = session.execute(statement.where(~someone_elses_draft).limit(1), {"reviewer": reviewer_id}).first()
    return found.id if found else None


# --- flags ------------------------------------------------------------------------------------------


def flags(session: Session, filters: Filters, *, page: int = 1, limit: int = PAGE_SIZE) -> FlagPage:
    """Return a page of the flagged versions, newest flag first, with the reviewers' answers."""
    state = _STATES.alias("flag")
    annotator, reviewer = _USERS.alias("annotator"), _USERS.alias("reviewer")
    statement = (
        select(
            state.c.article_id,
            _ARTICLES.c.external_id,
            annotator.c.username,
            state.c.comment,
            state.c.updated_at,
            state.c.reviewer_note,
            reviewer.c.username,
            case((_answered(state), state.c.reviewer_note_at), else_=None),
        )
        .select_from(
            state.join(_ARTICLES, _ARTICLES.c.id == state.c.article_id)
            .join(annotator, annotator.c.id == state.c.user_id)
            .outerjoin(reviewer, reviewer.c.id == state.c.reviewer_note_by_id)
        )
        .where(state.c.status == FLAGGED, visible_articles(_ARTICLES.c.import_batch_id))
    )
    if filters.annotator:
        statement = statement.where(annotator.c.username == filters.annotator)
    if filters.label:
        statement = statement.where(
            _holds_label(state.c.article_id, filters.label, statuses=(FLAGGED,), user_id=state.c.user_id)
        )
    found = session.execute(
        statement.order_by(state.c.updated_at.desc(), state.c.id.desc())
        .offset((page - 1) * limit)
        .limit(limit + 1)
    ).all()
    rows = [FlagRow(*row) for row in found[:limit]]
    return FlagPage(rows, len(found) > limit)


def annotators(session: Session) -> list[str]:
    """Return the names of everyone who has accepted or flagged something, for the filter."""
    return list(
        session.execute(
            select(_USERS.c.username)
            .where(
                exists().where(_STATES.c.user_id == _USERS.c.id, _STATES.c.status.in_((ACCEPTED, FLAGGED)))
            )
            .order_by(_USERS.c.username)
        ).scalars()
    )
