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

from sqlalchemy import String, and_, cast, func, literal
from sqlmodel import Session, select

from annotator.labels import LABELS
from annotator.models import (
    AnnotationState,
    Article,
    GoldRevision,
    Role,
    SpanEdit,
    Status,
    User,
    VersionCount,
)
from annotator.services.version_counts import MARKER
from annotator.services.visibility import visible_article_id

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
        .where(visible_article_id(AnnotationState.article_id))
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
    query = (
        select(AnnotationState.user_id, AnnotationState.status, func.count())
        .where(visible_article_id(AnnotationState.article_id))
        .group_by(AnnotationState.user_id, AnnotationState.status)
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


# --- exact-match span F1, from stored counts --------------------------------------------------------
#
# The dashboard's F1 is exact-match F1: twice the spans both sides have (same start,
# end and label) over all spans of both sides, per label as well. The counts are made
# when versions are accepted (services/version_counts) and only summed here, so the
# dashboard reads no spans and stays fast on a large corpus. Where two
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
    """Sum the stored exact-match counts of these users' current accepted versions (services/version_counts)."""
    found = StrictFigures()
    if not user_ids:
        return found
    counts = VersionCount.__table__
    mine = AnnotationState.__table__.alias("mine")
    theirs = AnnotationState.__table__.alias("theirs")
    current = and_(
        mine.c.id == counts.c.state_id,
        mine.c.version == counts.c.state_version,
        mine.c.status == Status.ACCEPTED.value,
    )
    sums = (func.count(), func.sum(counts.c.mine), func.sum(counts.c.theirs), func.sum(counts.c.matches))

    def add(
        target: _Counts, label: str, number: int, mine_count: int, theirs_count: int, matches: int
    ) -> None:
        if label == MARKER:  # one marker a compared article
            target.articles += number
        else:
            target.mine[label] += mine_count
            target.theirs[label] += theirs_count
            target.matches[label] += matches

    for first, second, label, *numbers in session.execute(
        select(mine.c.user_id, theirs.c.user_id, counts.c.label, *sums)
        .select_from(
            counts.join(mine, current).join(
                theirs,
                and_(
                    theirs.c.id == counts.c.other_state_id,
                    theirs.c.version == counts.c.other_version,
                    theirs.c.status == Status.ACCEPTED.value,
                ),
            )
        )
        .where(counts.c.kind == "state", mine.c.user_id.in_(user_ids), visible_article_id(mine.c.article_id))
        .group_by(mine.c.user_id, theirs.c.user_id, counts.c.label)
    ):
        add(found.pairs[(first, second)], label, *numbers)
    article = Article.__table__
    for user_id, label, *numbers in session.execute(
        select(mine.c.user_id, counts.c.label, *sums)
        .select_from(
            counts.join(mine, current).join(
                article,
                and_(article.c.id == mine.c.article_id, article.c.preannotated_with == counts.c.reference),
            )
        )
        .where(counts.c.kind == "model", mine.c.user_id.in_(user_ids), visible_article_id(mine.c.article_id))
        .group_by(mine.c.user_id, counts.c.label)
    ):
        add(found.model[user_id], label, *numbers)
    latest = (
        select(GoldRevision.article_id, func.max(GoldRevision.id).label("revision"))
        .group_by(GoldRevision.article_id)
        .subquery()
    )
    for user_id, label, *numbers in session.execute(
        select(mine.c.user_id, counts.c.label, *sums)
        .select_from(
            counts.join(mine, current).join(
                latest,
                and_(
                    latest.c.article_id == mine.c.article_id,
                    counts.c.reference == cast(latest.c.revision, String),
                ),
            )
        )
        .where(counts.c.kind == "gold", mine.c.user_id.in_(user_ids), visible_article_id(mine.c.article_id))
        .group_by(mine.c.user_id, counts.c.label)
    ):
        add(found.gold[user_id], label, *numbers)
    return found
