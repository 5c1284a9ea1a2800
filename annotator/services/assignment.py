"""Who annotates what: each article's N annotators, claims on articles, the queue, and assignments.

An annotator *holds* an article when they accepted it, or when they claimed it
(with Next, their first edit, or an admin's assignment) and are still working
on it: an unfinished claim lapses once untouched for the claim timeout, unless
it was assigned. Skipping or flagging releases a claim. An article has room
while fewer annotators hold it than it needs (N for the overlap share of the
articles, one for the rest; see services/settings.py). Opening an article
claims nothing, so nobody blocks an article by looking at it.

A claim is made under a lock on the article's row (PostgreSQL: SELECT ... FOR
UPDATE; SQLite: the claim's first statement is a write, which takes the
database's write lock), so of several annotators pressing Next at once no
more than N get the same article.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    text,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from annotator.errors import InvalidEdit, NotFound
from annotator.models import OPEN_CLAIM, AnnotationState, Article, Role, Span, Status, User, utcnow
from annotator.services import audit
from annotator.services.settings import SPREAD, ProjectSettings, load_settings
from annotator.services.spans import copy_model_spans
from annotator.services.visibility import visible_article_id, visible_articles

# Statuses after which an article leaves the annotator's queue.
FINISHED = (Status.ACCEPTED.value, Status.SKIPPED.value, Status.FLAGGED.value)
OPEN = (Status.TODO.value, Status.IN_PROGRESS.value)

_ARTICLES = Article.__table__
_STATES = AnnotationState.__table__
_SPANS = Span.__table__


class FullyStaffed(InvalidEdit):
    """The article already has its N annotators; the user's version is kept, read-only."""


# --- the conditions, as SQL ------------------------------------------------------------------


def holds(state):
    """Return the condition that ``state`` (a table or alias of annotation_state) counts toward N.

    Needs the bind parameter :cutoff, the time before which an unassigned claim has lapsed.
    """
    return or_(
        state.c.status == Status.ACCEPTED.value,
        and_(
            state.c.status.in_(OPEN),
            state.c.claimed_at.is_not(None),
            or_(state.c.assigned_at.is_not(None), state.c.updated_at > bindparam("cutoff")),
        ),
    )


def holders_of(article_id, *, except_user=None):
    """Return a scalar subquery: how many annotators hold the article (but ``except_user``)."""
    state = _STATES.alias("holder")
    conditions = [state.c.article_id == article_id, holds(state)]
    if except_user is not None:
        conditions.append(state.c.user_id != except_user)
    return select(func.count()).select_from(state).where(*conditions).scalar_subquery()


def accepted_of(article_id):
    """Return a scalar subquery: how many annotators accepted the article.

    Counted in the index on (article_id, status), without reading the states;
    the same number as ``article.accepted_count`` (schema_queue.py), for a query
    that must not read the article row.
    """
    state = _STATES.alias("accepted_state")
    conditions = (state.c.article_id == article_id, state.c.status == Status.ACCEPTED.value)
    return select(func.count()).select_from(state).where(*conditions).scalar_subquery()


def required_of(article_id):
    """Return an expression: how many annotators the article needs (binds :n and :coverage)."""
    return case((_in_overlap(article_id), bindparam("n")), else_=1)


def claim_params(settings: ProjectSettings, now: datetime | None = None) -> dict:
    """Return the bind parameters of the conditions above for these settings."""
    now = now or utcnow()
    return {
        "n": settings.annotators_per_article,
        "coverage": round(settings.overlap_coverage * 100),
        "cutoff": now - settings.claim_timeout,
    }


# --- reading: where an article stands --------------------------------------------------------------


@dataclass(frozen=True)
class Staffing:
    """An article's annotators as one annotator sees them."""

    required: int
    others: int  # annotators other than the viewer who hold it
    holds: bool  # whether the viewer holds it

    @property
    def room(self) -> bool:
        return self.others < self.required

    @property
    def may_edit(self) -> bool:
        return self.holds or self.room


def state_holds(status: str, claimed_at, assigned_at, updated_at, cutoff: datetime) -> bool:
    """Return, in Python, what ``holds`` says in SQL for one state's values."""
    if status == Status.ACCEPTED.value:
        return True
    return status in OPEN and claimed_at is not None and (assigned_at is not None or updated_at > cutoff)


# --- the queue ----------------------------------------------------------------------------------------


@functools.cache
def _own_claims_statement():
    """Articles the viewer holds and has not finished: assigned ones first, then in article order."""
    state = _STATES
    return (
        select(state.c.article_id)
        .where(state.c.user_id == bindparam("viewer_id"), state.c.status.in_(OPEN), holds(state))
        .where(state.c.article_id.not_in(bindparam("excluded", expanding=True)))
        .where(visible_article_id(state.c.article_id))
        .order_by(state.c.assigned_at.is_(None), state.c.article_id)
        .limit(1)
    )


def _in_overlap(article_id):
    """Return the condition that the article is in the overlap share (binds :coverage)."""
    return _overlap_rank(article_id) < bindparam("coverage")


def _overlap_rank(article_id):
    # 64-bit: id * 7919 leaves PostgreSQL's 32-bit integer above id 271,000.
    return (cast(article_id, BigInteger) * SPREAD) % 10_000


def _viewer_may_take(article_id, visible):
    """The viewer has no part in the article (finished it, or holds it), may see it, and did not leave it."""
    mine = _STATES.alias("mine")
    viewer_has_part = exists().where(
        mine.c.article_id == article_id,
        mine.c.user_id == bindparam("viewer_id"),
        or_(mine.c.status.in_(FINISHED), holds(mine)),
    )
    return and_(~viewer_has_part, article_id.not_in(bindparam("excluded", expanding=True)), visible)


@functools.cache
def _started_statement():
    """The first article with room that others hold and the viewer has no part in.

    Only an overlap article can have room with a holder (the others need one
    annotator), so the articles looked at are the overlap articles that some
    but not all of their N annotators accepted (one range of ix_article_queue
    per count), and those of the live claims (ix_state_open_claim_article):
    never the articles that are done, however many they are. They are read
    from those two indexes and each checked by id, never by walking the
    articles (which SQLite would otherwise choose on an ORDER BY article.id).
    """
    partly = select(_ARTICLES.c.id.label("id")).where(
        _ARTICLES.c.accepted_count.in_(bindparam("partly", expanding=True)),
        _ARTICLES.c.overlap_rank < bindparam("coverage"),
    )
    claimed = select(_STATES.c.article_id.label("id")).where(
        text(OPEN_CLAIM), holds(_STATES), _in_overlap(_STATES.c.article_id), bindparam("n") > 1
    )
    started = union(partly, claimed).subquery("started")
    # In article order first, then checked one by one up to the first that passes: OFFSET 0 keeps
    # the checks out of the subquery, so PostgreSQL neither checks every article before sorting
    # nor (costing that) compiles the statement with JIT, tens of milliseconds.
    in_order = select(started.c.id).order_by(started.c.id).offset(0).subquery("in_order")
    # Both come from rows that point at an existing article (a foreign key), so no join is needed.
    others = holders_of(in_order.c.id)
    return (
        select(in_order.c.id)
        .where(
            _viewer_may_take(in_order.c.id, visible_article_id(in_order.c.id)),
            others > 0,
            others < required_of(in_order.c.id),
        )
        .order_by(in_order.c.id)
        .limit(1)
    )


@functools.cache
def _untouched_statement():
    """The first article nobody holds and the viewer has no part in.

    Walks the articles nobody accepted in article order (ix_article_queue, where
    both leading columns are 0), so the articles that are done are never read;
    those passed over are the ones claimed by others, left by the viewer, or
    still being imported.
    """
    article = _ARTICLES.alias("candidate")
    holder = _STATES.alias("anyone")
    return (
        select(article.c.id)
        .where(
            # "< 1", not "= 0": PostgreSQL drops an ORDER BY column that an equality fixes, and
            # may then walk the primary key, reading the articles done before the first free one.
            article.c.accepted_count < literal_column("1"),
            _viewer_may_take(article.c.id, visible_articles(article.c.import_batch_id)),
            ~exists().where(holder.c.article_id == article.c.id, holds(holder)),
        )
        # The index's order, which is article order here: overlap_rank is 0 whenever
        # accepted_count is (schema_queue.py).
        .order_by(article.c.accepted_count, article.c.overlap_rank, article.c.id)
        .limit(1)
    )


@functools.cache
def _first_candidate_statement():
    """The first started article with room, else the first untouched one: one statement, so one snapshot.

    Asked as two statements, an article could be untouched when the first
    looked and started by the time the second did, and be missed by both.
    """
    started = _started_statement().subquery("started_pick")
    untouched = _untouched_statement().subquery("untouched_pick")
    rank = literal_column("rank")
    return (
        union_all(
            select(started.c.id, literal(0).label("rank")),
            select(untouched.c.id, literal(1).label("rank")),
        )
        .order_by(rank)
        .limit(1)
    )


def queue_values(params: dict, viewer_id: int, excluded: Iterable[int] = ()) -> dict:
    """Return the bind parameters of the queue's statements: ``claim_params`` and the viewer's."""
    return {
        **params,
        "viewer_id": viewer_id,
        "excluded": sorted(excluded) or [-1],
        # The accept counts of an overlap article still short of its N annotators.
        "partly": list(range(1, params["n"])) or [-1],
    }


def _pick(session: Session, user: User, params: dict, excluded: set[int]) -> tuple[int, bool] | None:
    """Return the next article for ``user`` and whether they already hold it, without claiming it."""
    values = queue_values(params, user.id, excluded)
    own = session.execute(_own_claims_statement(), values).scalar()
    if own is not None:
        return own, True
    found = session.execute(_first_candidate_statement(), values).scalar()
    return (found, False) if found is not None else None


def peek_next(session: Session, user: User, settings: ProjectSettings) -> str | None:
    """Return the external id of the article Next would give ``user`` now, claiming nothing."""
    picked = _pick(session, user, claim_params(settings), set())
    if picked is None:
        return None
    return session.get(Article, picked[0]).external_id


def claim_next(
    session: Session, user: User, settings: ProjectSettings, *, leaving: int | None = None
) -> str | None:
    """Give ``user`` the next article of their queue, claiming it; return its external id, or None.

    ``leaving`` is the article the user is on, which Next moves away from.
    Their own unfinished claims come first (assigned ones first of all), then
    articles other annotators have started and that still have room (so that
    double annotation completes), then untouched articles, in article order.
    """
    excluded = {leaving} if leaving is not None else set()
    # Each round either claims or rules out an article that filled up meanwhile, so it ends.
    while True:
        now = utcnow()
        params = claim_params(settings, now)
        picked = _pick(session, user, params, excluded)
        if picked is None:
            return None
        article_id, held = picked
        if held or _claim(session, article_id, user, settings, params, now):
            return session.get(Article, article_id).external_id
        excluded.add(article_id)  # taken by someone else meanwhile: try the next one


# --- claiming ------------------------------------------------------------------------------------------


def lock_article(session: Session, article_id: int) -> None:
    """Hold the article's row until commit, so that its claims are counted and made one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(_ARTICLES.c.id).where(_ARTICLES.c.id == article_id).with_for_update())
    else:
        # SQLite locks the whole database for the first write of a transaction; a write that
        # changes nothing takes that lock before anything is counted.
        session.execute(update(_ARTICLES).where(_ARTICLES.c.id == article_id).values(id=_ARTICLES.c.id))


@functools.cache
def _room_statement():
    return select(
        holders_of(bindparam("article_id"), except_user=bindparam("viewer_id")),
        required_of(bindparam("article_id")),
    )


def room_for(session: Session, article_id: int, user_id: int, params: dict) -> bool:
    """Return whether the article has room for ``user_id`` (who does not hold it)."""
    others, required = session.execute(
        _room_statement(), {**params, "article_id": article_id, "viewer_id": user_id}
    ).one()
    return others < required


@functools.cache
def _state_statements(dialect: str):
    """Return the INSERT of a claimed state (yielding to an existing one), and the claim of an existing one."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    create = (
        insert(_STATES)
        .values(
            article_id=bindparam("article_id"),
            user_id=bindparam("viewer_id"),
            status=Status.TODO.value,
            version=0,
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
            claimed_at=bindparam("now"),
            assigned_at=bindparam("assigned"),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "article_id"])
        .returning(_STATES.c.id)
    )
    # Not "article_id": an UPDATE reads a parameter named as a column as a value to SET.
    claim = (
        update(_STATES)
        .where(
            _STATES.c.article_id == bindparam("state_article"), _STATES.c.user_id == bindparam("viewer_id")
        )
        .values(
            claimed_at=bindparam("now"),
            updated_at=bindparam("now"),
            assigned_at=func.coalesce(bindparam("assigned"), _STATES.c.assigned_at),
            # A finished but released article (skipped, flagged) is taken up again.
            status=case(
                (_STATES.c.status.in_(OPEN + (Status.ACCEPTED.value,)), _STATES.c.status), else_="in_progress"
            ),
        )
    )
    return create, claim


def take(
    session: Session,
    article_id: int,
    user_id: int,
    settings: ProjectSettings,
    *,
    now: datetime,
    assigned: bool = False,
) -> None:
    """Create or claim the user's state on the article; a new state starts from the model's spans when the settings say so.

    The caller holds the article's lock and has checked the room (or is an
    assignment, which may exceed N), and commits.
    """
    create, claim = _state_statements(session.get_bind().dialect.name)
    values = {
        "article_id": article_id,
        "viewer_id": user_id,
        "now": now,
        "assigned": now if assigned else None,
    }
    created = session.execute(create, values).first()
    if created is None:
        session.execute(claim, {**values, "state_article": values.pop("article_id")})
    elif settings.starts_from_model(article_id):
        session.execute(copy_model_spans(), {"from_article": article_id, "owner_id": user_id, "now": now})


def _claim(
    session: Session, article_id: int, user: User, settings: ProjectSettings, params: dict, now: datetime
) -> bool:
    """Claim the article for ``user`` if it still has room; commit either way."""
    lock_article(session, article_id)
    if not room_for(session, article_id, user.id, params):
        session.rollback()
        return False
    take(session, article_id, user.id, settings, now=now)
    session.commit()
    return True


# --- assignments ------------------------------------------------------------------------------------------


@dataclass
class Assignment:
    annotator: str
    assigned: list[str]
    # Of the assigned articles, those that now have more annotators than they need.
    over: list[str]
    # Ids that are no article.
    unknown: list[str]

    def describe(self, settings: ProjectSettings) -> str:
        lines = [
            f"Assigned {len(self.assigned)} article{'s' if len(self.assigned) != 1 else ''} to {self.annotator}."
        ]
        if self.over:
            shown = ", ".join(self.over[:10]) + (", ..." if len(self.over) > 10 else "")
            lines.append(
                f"{len(self.over)} of them now have more annotators than the {settings.annotators_per_article} "
                f"they need (an assignment may exceed it): {shown}"
            )
        return "\n".join(lines)


def assign(
    session: Session,
    settings: ProjectSettings,
    username: str,
    *,
    external_ids: Iterable[str] | None = None,
    count: int | None = None,
) -> Assignment:
    """Give articles to an annotator: these ids, or the next ``count`` of their queue; commit.

    Assigned articles come first in their queue, their claim never lapses,
    and they count toward N, which an assignment may exceed (it says so).
    Unknown ids refuse the whole assignment.
    """
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user named {username!r}; `annotator user list` shows who there is")
    now = utcnow()
    params = claim_params(settings, now)
    if external_ids is not None:
        wanted = list(dict.fromkeys(each.strip() for each in external_ids if each.strip()))
        found = (
            dict(
                session.exec(
                    select(Article.external_id, Article.id).where(
                        Article.external_id.in_(wanted), visible_articles()
                    )
                ).all()
            )
            if wanted
            else {}
        )
        unknown = [each for each in wanted if each not in found]
        if unknown:
            shown = ", ".join(repr(each) for each in unknown[:10])
            raise NotFound(f"{len(unknown)} id{'s are' if len(unknown) != 1 else ' is'} no article: {shown}")
        article_ids = [found[each] for each in wanted]
    else:
        article_ids, excluded = [], set()
        while len(article_ids) < (count or 0):
            picked = _pick(session, user, params, excluded)
            if picked is None:
                break
            excluded.add(picked[0])
            if not picked[1]:
                article_ids.append(picked[0])
    result = Assignment(username, [], [], [])
    for article_id in article_ids:
        lock_article(session, article_id)
        take(session, article_id, user.id, settings, now=now, assigned=True)
        session.flush()
        others = session.execute(
            _room_statement(), {**params, "article_id": article_id, "viewer_id": user.id}
        ).one()
        external_id = session.get(Article, article_id).external_id
        result.assigned.append(external_id)
        if others[0] + 1 > others[1]:
            result.over.append(external_id)
    session.commit()
    return result


# --- an admin's view of a user's claims, and moving a claim -----------------------------------------------


@dataclass(frozen=True)
class Claim:
    """An article an annotator holds and has not finished."""

    article_id: int
    external_id: str
    status: str
    assigned: bool
    # Edits the annotator made on their working copy (its version).
    version: int


def claims_of(session: Session, user_id: int, settings: ProjectSettings) -> list[Claim]:
    """Return the unfinished claims the user holds now (lapsed ones are no claim), in article order."""
    state = _STATES
    rows = session.execute(
        select(
            state.c.article_id,
            _ARTICLES.c.external_id,
            state.c.status,
            state.c.assigned_at.is_not(None),
            state.c.version,
        )
        .join(_ARTICLES, _ARTICLES.c.id == state.c.article_id)
        .where(state.c.user_id == user_id, state.c.status.in_(OPEN), holds(state))
        .where(visible_articles(_ARTICLES.c.import_batch_id))
        .order_by(state.c.article_id),
        claim_params(settings),
    ).all()
    return [Claim(*row) for row in rows]


@dataclass(frozen=True)
class Reassignment:
    """What moving a claim from one annotator to another does (or did)."""

    article_id: int
    external_id: str
    from_username: str
    to_username: str
    # The previous holder's edits: their working copy stays theirs.
    from_version: int
    # Whether the new annotator already has a working copy of the article (they keep it).
    to_has_copy: bool


def plan_reassignment(
    session: Session, article_id: int, from_username: str, to_username: str
) -> Reassignment:
    """Check that the claim can move and say what moving it does; change nothing.

    Raises NotFound for an unknown article or user, and InvalidEdit when the
    first user holds no unfinished claim on the article, or the second is
    not an active annotator or holds it already.
    """
    settings = load_settings(session)
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"there is no article {article_id}")
    giver = _user_named(session, from_username)
    taker = _user_named(session, to_username)
    if giver.id == taker.id:
        raise InvalidEdit(f"{giver.username!r} holds {article.external_id!r} already; choose someone else")
    held = {claim.article_id: claim for claim in claims_of(session, giver.id, settings)}
    if article_id not in held:
        raise InvalidEdit(
            f"{giver.username!r} holds no unfinished claim on {article.external_id!r} "
            "(never claimed, lapsed, released or accepted)"
        )
    if not taker.is_active or taker.role != Role.ANNOTATOR.value:
        raise InvalidEdit(f"{taker.username!r} is not an active annotator")
    theirs = session.exec(
        select(AnnotationState).where(
            AnnotationState.article_id == article_id, AnnotationState.user_id == taker.id
        )
    ).first()
    cutoff = claim_params(settings)["cutoff"]
    if theirs is not None and state_holds(
        theirs.status, theirs.claimed_at, theirs.assigned_at, theirs.updated_at, cutoff
    ):
        raise InvalidEdit(f"{taker.username!r} holds {article.external_id!r} already")
    return Reassignment(
        article_id=article_id,
        external_id=article.external_id,
        from_username=giver.username,
        to_username=taker.username,
        from_version=held[article_id].version,
        to_has_copy=theirs is not None,
    )


def reassign_claim(
    session: Session, article_id: int, from_username: str, to_username: str, *, actor: User | None = None
) -> Reassignment:
    """Move an annotator's unfinished claim on an article to another annotator; commit.

    The new annotator gets the article as an assignment (first in their
    queue, never lapsing), starting from their own working copy when they
    have one, else as any first claim does (from the model's spans when the
    settings say so). The previous holder's claim is released; their working
    copy, edits and status stay theirs, and they may take the article up
    again under the usual rules (when it has room). Refusals as in
    ``plan_reassignment``; nothing is written then.
    """
    # Under the article's lock, so the claims checked are still the claims when the move is written.
    lock_article(session, article_id)
    try:
        plan = plan_reassignment(session, article_id, from_username, to_username)
    except (NotFound, InvalidEdit):
        session.rollback()  # let go of the lock
        raise
    giver = _user_named(session, from_username)
    taker = _user_named(session, to_username)
    now = utcnow()
    session.execute(
        update(_STATES)
        .where(_STATES.c.article_id == article_id, _STATES.c.user_id == giver.id)
        .values(claimed_at=None, assigned_at=None)
    )
    take(session, article_id, taker.id, load_settings(session), now=now, assigned=True)
    audit.record(
        session,
        actor,
        "claim.reassign",
        f"article:{plan.external_id}",
        article_id=article_id,
        from_user=giver.username,
        to_user=taker.username,
        from_version=plan.from_version,
    )
    session.commit()
    return plan


def _user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user
