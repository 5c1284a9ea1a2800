"""Which articles the app may see: not those of an import still writing (or left by a crashed one).

A streamed import writes its articles in many short transactions, each pointing
at an import batch whose state is "importing"; committing the batch (one row)
makes them all visible at once. Every query that finds articles for the app
filters with ``visible_articles`` so that no half-written import shows up in the
queue, the list, counts, gold, exports, evaluation, search, the API or shards.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import select

from annotator.models import Article, BatchState, ImportBatch


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
