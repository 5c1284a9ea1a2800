"""Which articles the app may see: not those of an import still writing (or left by a crashed one).

A streamed import writes its articles in many short transactions, each pointing
at an import batch whose state is "importing"; committing the batch (one row)
makes them all visible at once. Every query that finds articles for the app
filters with ``visible_articles`` so that no half-written import shows up in the
queue, the list, counts, gold, exports, evaluation, search, the API or shards.

Where articles are found through other tables (annotation states, gold
revisions, curations), ``visible_article_id`` filters their article ids. Per-id
reads that follow from an article already found this way (its spans, its
states) need no condition of their own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, or_
from sqlmodel import Session, select

from annotator.models import Article, ArticleCount, BatchState, ImportBatch


def pending_batches():
    """Return a subquery of the ids of import batches whose articles are not visible yet."""
    return select(ImportBatch.id).where(ImportBatch.state != BatchState.COMMITTED.value)


def visible_articles(batch_id_column=None) -> ColumnElement[bool]:
    """Return a condition true for visible articles (pass another table's batch column for an alias).

    The pending batches are few (imports running now, or crashed and awaiting
    cleanup), so the subquery is tiny and the condition costs one lookup per row.
    """
    column = Article.import_batch_id if batch_id_column is None else batch_id_column
    return or_(column.is_(None), column.not_in(pending_batches()))


def visible_article_id(article_id) -> ColumnElement[bool]:
    """Return a condition true when ``article_id`` (another table's column) is not an invisible article's id.

    Correlated on the article's primary key, so each row costs one index
    lookup, however many articles an import has written so far.
    """
    hidden = Article.__table__.alias("hidden_article")
    return ~exists().where(hidden.c.id == article_id, hidden.c.import_batch_id.in_(pending_batches()))


def count_visible():
    """Return a scalar subquery: how many articles are visible.

    A sum over the per-import counters the database's triggers keep
    (schema_extras.py), so it reads a few rows, not the corpus.
    """
    return (
        select(func.coalesce(func.sum(ArticleCount.articles), 0))
        .where(visible_articles(ArticleCount.batch_id))
        .scalar_subquery()
    )


def find_article(session: Session, external_id: str) -> Article | None:
    """Return the visible article with this external id, or None (also for one still being imported)."""
    return session.exec(select(Article).where(Article.external_id == external_id, visible_articles())).first()


def get_visible(session: Session, article_id: int) -> Article | None:
    """Return the visible article with this number, or None (also for one still being imported)."""
    return session.exec(select(Article).where(Article.id == article_id, visible_articles())).first()
