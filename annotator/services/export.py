"""Export stored spans of one origin in the gold JSONL format of GUIDELINES.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from sqlmodel import Session, select

from annotator.models import Article, Origin, Span
from annotator.services.origins import SpanOwner


def iter_documents(session: Session, source: SpanOwner, *, chunk_size: int = 500) -> Iterator[dict[str, Any]]:
    """Yield ``{"id", "text", "spans"}`` per article that ``source`` has annotated, in article order."""
    last_id = 0
    while True:
        articles = session.exec(
            select(Article)
            .where(Article.id > last_id)
            .where(_article_condition(source))
            .order_by(Article.id)
            .limit(chunk_size)
        ).all()
        if not articles:
            return
        # One query for the spans of the whole chunk, grouped in Python.
        spans: dict[int, list[Span]] = {article.id: [] for article in articles}
        for span in session.exec(
            _span_query(source).where(Span.article_id.in_(list(spans))).order_by(Span.article_id, Span.start)
        ):
            spans[span.article_id].append(span)
        for article in articles:
            yield {
                "id": article.external_id,
                "text": article.text,
                "spans": [_span_dict(span) for span in spans[article.id]],
            }
        last_id = articles[-1].id


def _span_query(source: SpanOwner):
    query = select(Span).where(Span.origin == source.origin)
    if source.owner_id is not None:
        query = query.where(Span.owner_id == source.owner_id)
    return query


def _article_condition(source: SpanOwner):
    # A pre-annotated article belongs in a model export even when the model found nothing.
    if source.origin == Origin.MODEL:
        return Article.preannotated_with.is_not(None)
    query = select(Span.article_id).where(Span.origin == source.origin)
    if source.owner_id is not None:
        query = query.where(Span.owner_id == source.owner_id)
    return Article.id.in_(query)


def _span_dict(span: Span) -> dict[str, Any]:
    item: dict[str, Any] = {"start": span.start, "end": span.end, "label": span.label}
    if span.attrs:
        item["attrs"] = span.attrs
    return item


def export_jsonl(session: Session, source: SpanOwner, out: IO[str]) -> int:
    """Write one gold-format JSON line per article that ``source`` annotated; return how many."""
    written = 0
    for document in iter_documents(session, source):
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
        written += 1
    return written
