"""The team dashboard: per annotator, their statuses, pace, and agreement with others, the model and gold.

Pace comes from the edit log's timestamps: the active time of a working copy
is the sum of the gaps between its consecutive edits, each gap capped at
IDLE (a longer pause is a break, not work). Articles per hour divide the
accepted articles by all active time; the median active time per article is
over the copies that have edits. Undone edits leave the log, so their time
is not counted. Agreement figures are strict span F1, from services/agreement.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, literal, or_
from sqlmodel import Session, select

from annotator.labels import LABELS
from annotator.models import (
    AnnotationState,
    Article,
    GoldRevision,
    Origin,
    Role,
    Span,
    SpanEdit,
    Status,
    User,
)

# A pause between two edits longer than this is not counted as work.
IDLE_SECONDS = 300.0


@dataclass
class AnnotatorRow:
    username: str
    accepted: int = 0
    skipped: int = 0
    flagged: int = 0
    in_progress: int = 0  # todo or in progress, with a claim or edits
    active_seconds: float = 0.0
    median_seconds: float | None = None  # active time per article, median over their copies with edits
    # Exact-match span F1: mean over the pairs with each other annotator, against the model, against gold.
    with_others: float | None = None
    with_model: float | None = None
    with_gold: float | None = None
    # Label -> the same three figures.
    per_label: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @property
    def per_hour(self) -> float | None:
        """Accepted articles per hour of active time."""
        if not self.active_seconds:
            return None
        return self.accepted / (self.active_seconds / 3600)


@dataclass
class Dashboard:
    rows: list[AnnotatorRow]
    # Whether the viewer sees the whole team (reviewers, admins) or only their own row.
    whole_team: bool
    labels: tuple[str, ...] = LABELS


def _epoch(column, dialect: str):
    """Return ``column`` (a timestamp) as seconds since 1970, in the database's own terms."""
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - literal(2440587.5)) * literal(86400.0)


def active_times(session: Session, user_ids: list[int] | None = None) -> dict[int, list[float]]:
    """Return user id -> the active seconds of each of their working copies that has edits."""
    dialect = session.get_bind().dialect.name
    moment = _epoch(SpanEdit.created_at, dialect)
    gaps = (
        select(
            SpanEdit.state_id,
            (moment - func.lag(moment).over(partition_by=SpanEdit.state_id, order_by=SpanEdit.version)).label(
                "gap"
            ),
        )
    ).subquery()
    # The first edit of a copy has no gap before it (NULL, which PostgreSQL's LEAST would skip).
    gaps = select(gaps).where(gaps.c.gap.is_not(None)).subquery()
    capped = func.sum(
        func.min(gaps.c.gap, IDLE_SECONDS) if dialect == "sqlite" else func.least(gaps.c.gap, IDLE_SECONDS)
    )
    query = (
        select(AnnotationState.user_id, gaps.c.state_id, func.coalesce(capped, 0.0))
        .join(AnnotationState, AnnotationState.id == gaps.c.state_id)
        .group_by(AnnotationState.user_id, gaps.c.state_id)
    )
    if user_ids is not None:
        query = query.where(AnnotationState.user_id.in_(user_ids))
    found: dict[int, list[float]] = defaultdict(list)
    for user_id, _state_id, seconds in session.execute(query):
        found[user_id].append(float(seconds))
    return found


def status_counts(session: Session, user_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Return user id -> status -> how many of their working copies have it."""
    query = select(AnnotationState.user_id, AnnotationState.status, func.count()).group_by(
        AnnotationState.user_id, AnnotationState.status
    )
    if user_ids is not None:
        query = query.where(AnnotationState.user_id.in_(user_ids))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for user_id, status, count in session.execute(query):
        counts[user_id][status] = count
    return counts


def annotators_with_accepted(session: Session) -> list[str]:
    """Return the names of the users who accepted at least one article, in order."""
    return list(
        session.exec(
            select(User.username)
            .where(
                User.id.in_(
                    select(AnnotationState.user_id).where(AnnotationState.status == Status.ACCEPTED.value)
                )
            )
            .order_by(User.username)
        )
    )


def dashboard(session: Session, viewer: User) -> Dashboard:
    """Return the dashboard as ``viewer`` may see it: the whole team for reviewers and admins, else their row.

    Agreement with the others is counted over everyone (an annotator's own
    figures need their pairs), but only the rows shown carry any.
    """
    whole_team = viewer.role != Role.ANNOTATOR.value
    if whole_team:
        users = list(
            session.exec(
                select(User)
                .where(User.id.in_(select(AnnotationState.user_id).distinct()))
                .order_by(User.username)
            )
        )
    else:
        users = [viewer]
    ids = [user.id for user in users]
    counts = status_counts(session, ids)
    times = active_times(session, ids)
    figures = strict_figures(session, ids)
    rows = []
    for user in users:
        mine = counts.get(user.id, {})
        spans = times.get(user.id, [])
        row = AnnotatorRow(
            username=user.username,
            accepted=mine.get(Status.ACCEPTED.value, 0),
            skipped=mine.get(Status.SKIPPED.value, 0),
            flagged=mine.get(Status.FLAGGED.value, 0),
            in_progress=mine.get(Status.IN_PROGRESS.value, 0),
            active_seconds=sum(spans),
            median_seconds=statistics.median(spans) if spans else None,
        )
        row.with_others, row.with_model, row.with_gold, row.per_label = figures.of(user.id)
        rows.append(row)
    return Dashboard(rows, whole_team)


# --- exact-match span F1, counted in SQL ---------------------------------------------------------------
#
# The dashboard's F1 is exact-match F1: twice the spans both sides have (same start,
# end and label) over all spans of both sides, per label as well. The database counts
# them, so the dashboard reads no spans and stays fast on a large corpus. Where two
# versions' spans are either the same or apart (the usual case) this is exactly
# nervaluate's strict F1, which the Agreement page gives; they differ only where a span
# of one version overlaps several of the other, which nervaluate counts as several
# incorrect spans. Two sides without any spans agree perfectly (1.0), as there.


@dataclass
class _Counts:
    """Per label: spans on one side, on the other, and exact matches."""

    mine: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    theirs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    matches: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    articles: int = 0

    def f1(self, label: str | None = None) -> float | None:
        if not self.articles:
            return None
        keys = LABELS if label is None else (label,)
        total = sum(self.mine[key] + self.theirs[key] for key in keys)
        return 1.0 if total == 0 else 2 * sum(self.matches[key] for key in keys) / total


@dataclass
class StrictFigures:
    # (user, other user) -> counts over the articles both accepted, both orders present.
    pairs: dict[tuple[int, int], _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    model: dict[int, _Counts] = field(default_factory=lambda: defaultdict(_Counts))
    gold: dict[int, _Counts] = field(default_factory=lambda: defaultdict(_Counts))

    def of(self, user_id: int) -> tuple[float | None, float | None, float | None, dict[str, dict]]:
        """Return the user's strict F1 with the others (mean over pairs), the model and gold, and per label."""
        theirs = [counts for (first, _), counts in self.pairs.items() if first == user_id and counts.articles]
        model, gold = self.model.get(user_id), self.gold.get(user_id)

        def figures(label):
            return {
                "others": _mean([counts.f1(label) for counts in theirs]),
                "model": model.f1(label) if model else None,
                "gold": gold.f1(label) if gold else None,
            }

        overall = figures(None)
        return (
            overall["others"],
            overall["model"],
            overall["gold"],
            {label: figures(label) for label in LABELS},
        )


def _mean(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None


def strict_figures(session: Session, user_ids: list[int]) -> StrictFigures:
    """Count, for these users' accepted versions, spans and exact matches against each other, the model and gold."""
    found = StrictFigures()
    if not user_ids:
        return found
    accepted = (
        select(AnnotationState.article_id, AnnotationState.user_id)
        .where(AnnotationState.status == Status.ACCEPTED.value)
        .subquery()
    )
    me, other = accepted.alias("me"), accepted.alias("other")
    mine = Span.__table__.alias("mine")
    spans = Span.__table__.alias("other_spans")

    def own_spans(side):
        return and_(
            mine.c.article_id == side.c.article_id,
            mine.c.origin == Origin.ANNOTATOR.value,
            mine.c.owner_id == side.c.user_id,
        )

    shared = and_(other.c.article_id == me.c.article_id, other.c.user_id != me.c.user_id)
    # Pairs: shared articles, each side's spans there, and exact matches.
    for first, second, articles in session.execute(
        select(me.c.user_id, other.c.user_id, func.count())
        .select_from(me.join(other, shared))
        .where(me.c.user_id.in_(user_ids))
        .group_by(me.c.user_id, other.c.user_id)
    ):
        found.pairs[(first, second)].articles = articles
    for first, second, label, count in session.execute(
        select(me.c.user_id, other.c.user_id, mine.c.label, func.count())
        .select_from(me.join(other, shared).join(mine, own_spans(me)))
        # Both ends: a user's pair needs the other's span count as well.
        .where(or_(me.c.user_id.in_(user_ids), other.c.user_id.in_(user_ids)))
        .group_by(me.c.user_id, other.c.user_id, mine.c.label)
    ):
        found.pairs[(first, second)].mine[label] += count
        found.pairs[(second, first)].theirs[label] += count
    exact = and_(
        spans.c.article_id == mine.c.article_id,
        spans.c.origin == Origin.ANNOTATOR.value,
        spans.c.owner_id == other.c.user_id,
        spans.c.start == mine.c.start,
        spans.c.end == mine.c.end,
        spans.c.label == mine.c.label,
    )
    for first, second, label, count in session.execute(
        select(me.c.user_id, other.c.user_id, mine.c.label, func.count())
        .select_from(me.join(other, shared).join(mine, own_spans(me)).join(spans, exact))
        .where(me.c.user_id.in_(user_ids))
        .group_by(me.c.user_id, other.c.user_id, mine.c.label)
    ):
        found.pairs[(first, second)].matches[label] = count
    # The model (pre-annotated articles) and stored gold (articles with a gold revision).
    for origin, articles_of, target in (
        (Origin.MODEL.value, select(Article.id).where(Article.preannotated_with.is_not(None)), found.model),
        (Origin.GOLD.value, select(GoldRevision.article_id).distinct(), found.gold),
    ):
        compared = and_(me.c.user_id.in_(user_ids), me.c.article_id.in_(articles_of))
        for user_id, articles in session.execute(
            select(me.c.user_id, func.count()).where(compared).group_by(me.c.user_id)
        ):
            target[user_id].articles = articles
        for user_id, label, count in session.execute(
            select(me.c.user_id, mine.c.label, func.count())
            .select_from(me.join(mine, own_spans(me)))
            .where(compared)
            .group_by(me.c.user_id, mine.c.label)
        ):
            target[user_id].mine[label] += count
        reference = and_(spans.c.article_id == me.c.article_id, spans.c.origin == origin)
        for user_id, label, count in session.execute(
            select(me.c.user_id, spans.c.label, func.count())
            .select_from(me.join(spans, reference))
            .where(compared)
            .group_by(me.c.user_id, spans.c.label)
        ):
            target[user_id].theirs[label] += count
        matched = and_(
            spans.c.article_id == mine.c.article_id,
            spans.c.origin == origin,
            spans.c.start == mine.c.start,
            spans.c.end == mine.c.end,
            spans.c.label == mine.c.label,
        )
        for user_id, label, count in session.execute(
            select(me.c.user_id, mine.c.label, func.count())
            .select_from(me.join(mine, own_spans(me)).join(spans, matched))
            .where(compared)
            .group_by(me.c.user_id, mine.c.label)
        ):
            target[user_id].matches[label] = count
    return found
