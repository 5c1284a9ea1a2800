"""Delete articles, or every article one import created, after the admin has seen what goes.

An article takes everything stored about it along: its spans (model, gold,
every annotator's), annotators' states with their edit logs and version
counts, gold revisions and curation drafts. The schema cascades all of that
from the article (ON DELETE CASCADE on span, annotation_state, gold_revision
and curation; span_edit and version_count cascade from annotation_state,
curation_edit from curation), so deleting the article rows is enough.

Work people did is not thrown away by accident: articles that hold
annotators' work (a version edited, or given any status but "to do"), a
curation draft, or gold are refused unless the caller confirms that too.
The counts are taken again inside the deleting transaction, with the article
rows locked (on PostgreSQL), so work started after the confirmation page was
shown is never deleted unconfirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from annotator.errors import AnnotatorError, NotFound
from annotator.models import (
    AnnotationState,
    Article,
    ArticleCount,
    BatchState,
    Curation,
    GoldAction,
    GoldRevision,
    ImportBatch,
    Origin,
    Span,
    Status,
    User,
)
from annotator.services import audit, import_batches
from annotator.services.visibility import visible_articles

# Ids per query: well under every backend's limit on bound parameters.
CHUNK_SIZE = 1000
# How many ids an audit event lists; the counts say how many there were.
LISTED_IDS = 100
BATCH_PAGE_SIZE = 50
_NOT_COMMITTED = {
    BatchState.IMPORTING.value: "This import is still running: its articles are not in the app yet. "
    "Stop it (Ctrl-C cleans up after itself), or wait for it to finish, then delete it.",
    BatchState.DISCARDING.value: "This import is already being deleted.",
}


class DeletionRefused(AnnotatorError):
    """A deletion that would destroy work or gold without that being confirmed, or that changed since it was shown."""

    def __init__(self, message: str, plan: DeletionPlan) -> None:
        super().__init__(message)
        self.plan = plan


@dataclass
class DeletionPlan:
    """What a deletion takes away: the articles, their spans, and how many hold work or gold."""

    article_ids: list[int]
    # The external ids of the first articles, for showing.
    shown_ids: list[str]
    spans: int = 0
    # Articles with an annotator's version that was edited or is not "to do", or a curation draft.
    with_work: int = 0
    # Articles with gold (imported or made in the app), and of those, gold made in the app.
    with_gold: int = 0
    with_app_gold: int = 0
    # Ids asked for that no article has.
    missing: list[str] = field(default_factory=list)
    batch: ImportBatch | None = None

    @property
    def articles(self) -> int:
        return len(self.article_ids)

    @property
    def destroys_work(self) -> bool:
        """Whether the deletion takes annotators' work or gold with it, and so needs that confirmed too."""
        return bool(self.with_work or self.with_gold)


def parse_ids(text: str) -> list[str]:
    """Return the article ids written one per line, stripped, without blanks or repeats."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def plan_article_deletion(
    session: Session, external_ids: Iterable[str], *, lock: bool = False
) -> DeletionPlan:
    """Return what deleting the articles with these external ids would take away."""
    wanted = list(dict.fromkeys(external_ids))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        # An article of an import still running is not found: its import owns it until it commits.
        query = select(Article.external_id, Article.id).where(
            col(Article.external_id).in_(chunk), visible_articles()
        )
        found.update(session.exec(query.with_for_update() if lock else query).all())
    present = [external_id for external_id in wanted if external_id in found]
    plan = DeletionPlan(
        article_ids=[found[external_id] for external_id in present],
        shown_ids=present[:LISTED_IDS],
        missing=[external_id for external_id in wanted if external_id not in found],
    )
    _count(session, plan)
    return plan


def plan_batch_deletion(session: Session, batch_id: int, *, lock: bool = False) -> DeletionPlan:
    """Return what deleting every article the import ``batch_id`` created would take away."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"no import {batch_id}")
    if batch.state != BatchState.COMMITTED.value:
        plan = DeletionPlan(article_ids=[], shown_ids=[], batch=batch)
        session.rollback()
        raise DeletionRefused(_NOT_COMMITTED[batch.state], plan)
    query = select(Article.id, Article.external_id).where(Article.import_batch_id == batch_id)
    rows = session.exec((query.with_for_update() if lock else query).order_by(Article.id)).all()
    plan = DeletionPlan(
        article_ids=[article_id for article_id, _ in rows],
        shown_ids=[external_id for _, external_id in rows[:LISTED_IDS]],
        batch=batch,
    )
    _count(session, plan)
    return plan


def _count(session: Session, plan: DeletionPlan) -> None:
    work: set[int] = set()
    gold: set[int] = set()
    app_gold: set[int] = set()
    for chunk in _chunks(plan.article_ids):
        plan.spans += session.exec(
            select(func.count()).select_from(Span).where(col(Span.article_id).in_(chunk))
        ).one()
        work.update(
            session.exec(
                select(AnnotationState.article_id).where(
                    col(AnnotationState.article_id).in_(chunk),
                    or_(AnnotationState.version > 0, AnnotationState.status != Status.TODO.value),
                )
            ).all()
        )
        work.update(
            session.exec(select(Curation.article_id).where(col(Curation.article_id).in_(chunk))).all()
        )
        for article_id, action in session.exec(
            select(GoldRevision.article_id, GoldRevision.action)
            .where(col(GoldRevision.article_id).in_(chunk))
            .distinct()
        ):
            gold.add(article_id)
            if action != GoldAction.IMPORT.value:
                app_gold.add(article_id)
        # Gold spans always come with a revision; older databases may hold some without.
        gold.update(
            session.exec(
                select(Span.article_id).where(
                    col(Span.article_id).in_(chunk), Span.origin == Origin.GOLD.value
                )
            ).all()
        )
    plan.with_work, plan.with_gold, plan.with_app_gold = len(work), len(gold), len(app_gold)


def delete_articles(
    session: Session,
    external_ids: Iterable[str],
    *,
    actor: User | None,
    confirm_work: bool = False,
    expected: int | None = None,
) -> DeletionPlan:
    """Delete the articles with these external ids and commit; return what went.

    Raise DeletionRefused, deleting nothing, when they hold annotators' work or
    gold and ``confirm_work`` is not set, or when ``expected`` (the number of
    articles the admin was shown) no longer matches.
    """
    plan = plan_article_deletion(session, external_ids, lock=True)
    _check(session, plan, confirm_work=confirm_work, expected=expected)
    _delete(session, plan.article_ids)
    target = f"article:{plan.shown_ids[0]}" if plan.articles == 1 else f"{plan.articles} articles"
    audit.record(session, actor, "article.delete", target, ids=plan.shown_ids, **_details(plan, confirm_work))
    session.commit()
    return plan


def delete_batch(
    session: Session,
    batch_id: int,
    *,
    actor: User | None,
    confirm_work: bool = False,
    expected: int | None = None,
) -> DeletionPlan:
    """Delete every article the import created, and the import's record, and commit; return what went.

    Spans the import added to articles that were stored before it stay, as do
    those articles. Refused as ``delete_articles`` is.
    """
    plan = plan_batch_deletion(session, batch_id, lock=True)
    _check(session, plan, confirm_work=confirm_work, expected=expected)
    batch = plan.batch
    audit.record(
        session,
        actor,
        "import.delete",
        f"import:{batch_id}",
        batch=batch_id,
        channel=batch.channel,
        origin=batch.origin,
        file_names=batch.files[:20],
        imported_at=batch.created_at.isoformat(),
        **_details(plan, confirm_work),
    )
    # The whole import leaves the app at once (one row), then its articles go a chunk per
    # transaction: deleting a million articles in one would hold the write lock for minutes.
    batch.state = BatchState.DISCARDING.value
    session.commit()
    import_batches.delete_discarded(session, batch_id)
    return plan


def _check(session: Session, plan: DeletionPlan, *, confirm_work: bool, expected: int | None) -> None:
    if not plan.articles:
        session.rollback()
        raise DeletionRefused("There is nothing to delete: none of these articles is stored.", plan)
    if expected is not None and expected != plan.articles:
        session.rollback()
        raise DeletionRefused(
            f"The articles changed since the confirmation was shown ({expected} then, {plan.articles} now): "
            "nothing was deleted. Check the new counts and confirm again.",
            plan,
        )
    if plan.destroys_work and not confirm_work:
        session.rollback()
        raise DeletionRefused(
            f"{_describe_work(plan)}: nothing was deleted. Tick the second confirmation to delete them anyway.",
            plan,
        )


def _describe_work(plan: DeletionPlan) -> str:
    parts = []
    if plan.with_work:
        parts.append(f"{plan.with_work} of these articles hold annotators' work")
    if plan.with_gold:
        parts.append(f"{plan.with_gold} have gold")
    return "; ".join(parts)


def _details(plan: DeletionPlan, confirm_work: bool) -> dict[str, Any]:
    return {
        "articles": plan.articles,
        "spans": plan.spans,
        "with_work": plan.with_work,
        "with_gold": plan.with_gold,
        "work_confirmed": confirm_work and plan.destroys_work,
    }


def _delete(session: Session, article_ids: list[int]) -> None:
    # The database cascades to spans, states (and their edits and counts), gold revisions and drafts.
    for chunk in _chunks(article_ids):
        session.execute(delete(Article).where(col(Article.id).in_(chunk)))


def _chunks(items: Iterable[Any], size: int = CHUNK_SIZE) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- the list of imports ---------------------------------------------------------


@dataclass
class BatchRow:
    batch: ImportBatch
    username: str | None
    # How many of the articles it created are still stored.
    articles: int


@dataclass
class BatchPage:
    rows: list[BatchRow]
    # The id to pass as ``before`` for the next (older) page; None: this is the last page.
    next_before: int | None


def list_batches(session: Session, *, before: int | None = None, limit: int = BATCH_PAGE_SIZE) -> BatchPage:
    """Return the newest imports (older than ``before``), with who made them and their articles still stored."""
    # From the per-batch counters the triggers keep: counting a million-article import's rows
    # would read them all.
    remaining = func.coalesce(
        select(ArticleCount.articles)
        .where(ArticleCount.batch_id == ImportBatch.id)
        .correlate(ImportBatch)
        .scalar_subquery(),
        0,
    )
    query = (
        select(ImportBatch, User.username, remaining)
        .join(User, col(User.id) == ImportBatch.user_id, isouter=True)
        .order_by(col(ImportBatch.id).desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(col(ImportBatch.id) < before)
    rows = [BatchRow(batch, username, articles) for batch, username, articles in session.exec(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return BatchPage(rows, rows[-1].batch.id if more else None)


def get_batch(session: Session, batch_id: int) -> BatchRow:
    """Return one import with who made it and how many of its articles are still stored."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"no import {batch_id}")
    user = session.get(User, batch.user_id) if batch.user_id is not None else None
    articles = (
        session.exec(select(ArticleCount.articles).where(ArticleCount.batch_id == batch_id)).first() or 0
    )
    return BatchRow(batch, user.username if user else None, articles)
