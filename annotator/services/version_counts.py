"""Exact-match span counts between accepted versions, the model and gold, kept as versions are accepted.

The team dashboard needs, per annotator, span F1 with the others, the model
and gold over the whole corpus. Counting that on every view compares every
span of every accepted version (seconds at 10,000 articles), so the counts
are made when something changes and read back summed:

- a working copy becomes accepted: it against every other accepted version of
  the article (both ways), the model and the article's gold;
- an article gets a new gold revision: each accepted version against it;
- an article is pre-annotated again: each accepted version against the model.

Rows are keyed by the exact versions compared (see VersionCount), so they
never go stale and are never deleted by these changes; readers join them to
the versions that are current.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from annotator.models import AnnotationState, Article, GoldRevision, Origin, Span, Status, VersionCount
from annotator.services.origins import preannotator_spans

_STATES = AnnotationState.__table__
_SPANS = Span.__table__
_COUNTS = VersionCount.__table__
# "Counted" marker: written for every comparison, even when neither side has a span.
MARKER = ""

Key = tuple[int, int, str]  # start, end, label


def _keys(rows) -> dict:
    found = defaultdict(set)
    for owner, start, end, label in rows:
        found[owner].add((start, end, label))
    return found


def _rows(
    state_id: int, version: int, other: str, kind: str, mine: set[Key], theirs: set[Key], **extra
) -> list[dict]:
    """Return the rows of one comparison: the marker, then one per label either side has."""
    mine_by, theirs_by = Counter(label for *_, label in mine), Counter(label for *_, label in theirs)
    matched = Counter(label for *_, label in mine & theirs)
    # Every row has every column: one executemany takes rows of all kinds.
    base = {
        "state_id": state_id,
        "state_version": version,
        "other": other,
        "kind": kind,
        "other_state_id": None,
        "other_version": None,
        "reference": None,
        **extra,
    }
    rows = [{**base, "label": MARKER, "mine": 0, "theirs": 0, "matches": 0}]
    for label in sorted(set(mine_by) | set(theirs_by)):
        rows.append(
            {
                **base,
                "label": label,
                "mine": mine_by[label],
                "theirs": theirs_by[label],
                "matches": matched[label],
            }
        )
    return rows


def _write(session: Session, rows: list[dict]) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Counted twice at the same moment (two requests): both counts are the same, keep one.
    session.execute(insert_(_COUNTS).on_conflict_do_nothing(), rows)


def _accepted(session: Session, article_ids: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """Return (state id, version, article id, user id) of the accepted versions of these articles."""
    return session.execute(
        select(_STATES.c.id, _STATES.c.version, _STATES.c.article_id, _STATES.c.user_id).where(
            _STATES.c.article_id.in_(list(article_ids)), _STATES.c.status == Status.ACCEPTED.value
        )
    ).all()


def _spans(session: Session, article_ids: Iterable[int], origin: str) -> dict[int, dict]:
    """Return article id -> owner (None for model and gold) -> span keys."""
    found: dict[int, dict] = defaultdict(lambda: defaultdict(set))
    query = select(
        _SPANS.c.article_id, _SPANS.c.owner_id, _SPANS.c.start, _SPANS.c.end, _SPANS.c.label
    ).where(_SPANS.c.article_id.in_(list(article_ids)), _SPANS.c.origin == origin)
    if origin == Origin.MODEL.value:
        # "The model" here is the pipeline, keyed by its version: pushed predictions are not counted.
        query = query.where(preannotator_spans(_SPANS.c.source))
    for article_id, owner, start, end, label in session.execute(query):
        found[article_id][owner].add((start, end, label))
    return found


def count_accepted(session: Session, state_id: int) -> None:
    """Count a version that was just accepted (as it stands in this transaction); the caller commits.

    All comparisons of its article's accepted versions are made; those already
    counted are kept as they are (their keys did not change).
    """
    article_id = session.execute(select(_STATES.c.article_id).where(_STATES.c.id == state_id)).scalar_one()
    count_articles(session, [article_id])


# Whose spans each kind of reference compares against.
_REFERENCE_ORIGINS = {"model": Origin.MODEL.value, "gold": Origin.GOLD.value}


def _references(session: Session, article_ids: set[int], kind: str) -> dict[int, str]:
    """Return article id -> what its current model (the pipeline) or gold (the newest revision's id) is."""
    if kind == "model":
        query = select(Article.id, Article.preannotated_with).where(
            Article.id.in_(article_ids), Article.preannotated_with.is_not(None)
        )
    else:
        query = (
            select(GoldRevision.article_id, func.max(GoldRevision.id))
            .where(GoldRevision.article_id.in_(article_ids))
            .group_by(GoldRevision.article_id)
        )
    return {article_id: str(reference) for article_id, reference in session.execute(query)}


def _reference_rows(
    session: Session, accepted, versions: dict[int, dict], *, only: str | None = None
) -> list[dict]:
    """Return the rows of these accepted versions against the model and the current gold of their articles."""
    article_ids = {article_id for _, _, article_id, _ in accepted}
    rows = []
    for kind in (only,) if only else tuple(_REFERENCE_ORIGINS):
        references = _references(session, article_ids, kind)
        spans = _spans(session, references, _REFERENCE_ORIGINS[kind])
        for state_id, version, article_id, user_id in accepted:
            if article_id in references:
                rows += _rows(
                    state_id,
                    version,
                    f"{kind}:{references[article_id]}",
                    kind,
                    versions[article_id][user_id],
                    spans[article_id][None],
                    reference=references[article_id],
                )
    return rows


def count_references(session: Session, article_ids: Iterable[int], *, only: str) -> None:
    """Count the accepted versions of these articles against their model (``only="model"``) or gold; the caller commits.

    Called when the model's spans or the gold changed. The model's earlier
    counts of these versions are replaced: pre-annotating again under the
    same pipeline version would otherwise keep its key.
    """
    article_ids = list(article_ids)
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        accepted = _accepted(session, chunk)
        if not accepted:
            continue
        if only == "model":
            session.execute(
                delete(_COUNTS).where(
                    _COUNTS.c.kind == "model", _COUNTS.c.state_id.in_([row[0] for row in accepted])
                )
            )
        versions = _spans(session, chunk, Origin.ANNOTATOR.value)
        _write(session, _reference_rows(session, accepted, versions, only=only))


def recount_owner(session: Session, article_ids: Iterable[int], user_id: int) -> None:
    """Count again a user's accepted versions of these articles (their spans changed without an edit); the caller commits."""
    article_ids = list(article_ids)
    # 500 articles a round, not a round per version: an import can touch thousands.
    for start in range(0, len(article_ids), 500):
        owned = [
            (state_id, article_id)
            for state_id, _, article_id, owner in _accepted(session, article_ids[start : start + 500])
            if owner == user_id
        ]
        if not owned:
            continue
        states = [state_id for state_id, _ in owned]
        session.execute(delete(_COUNTS).where(_COUNTS.c.state_id.in_(states)))
        session.execute(delete(_COUNTS).where(_COUNTS.c.other_state_id.in_(states)))
        count_articles(session, sorted({article_id for _, article_id in owned}))


def count_articles(session: Session, article_ids: Iterable[int]) -> None:
    """Count every comparison of the accepted versions of these articles, 500 articles a round; the caller commits."""
    article_ids = list(article_ids)
    for start in range(0, len(article_ids), 500):
        chunk = article_ids[start : start + 500]
        accepted = _accepted(session, chunk)
        versions = _spans(session, chunk, Origin.ANNOTATOR.value)
        by_article = defaultdict(list)
        for row in accepted:
            by_article[row[2]].append(row)
        rows = []
        for article_id, states in by_article.items():
            for state_id, version, _, user_id in states:
                for other_id, other_version, _, other_user in states:
                    if other_id != state_id:
                        rows += _rows(
                            state_id,
                            version,
                            f"state:{other_id}:{other_version}",
                            "state",
                            versions[article_id][user_id],
                            versions[article_id][other_user],
                            other_state_id=other_id,
                            other_version=other_version,
                        )
        rows += _reference_rows(session, accepted, versions)
        _write(session, rows)


def count_everything(session: Session) -> int:
    """Count the articles whose accepted versions lack counts (after an upgrade, say); return how many; the caller commits."""
    counted = (
        select(_COUNTS.c.state_id)
        .where(_COUNTS.c.state_id == _STATES.c.id, _COUNTS.c.state_version == _STATES.c.version)
        .exists()
    )
    articles = (
        session.execute(
            select(_STATES.c.article_id)
            .where(_STATES.c.status == Status.ACCEPTED.value, ~counted)
            .distinct()
            .order_by(_STATES.c.article_id)
        )
        .scalars()
        .all()
    )
    count_articles(session, articles)
    return len(articles)
