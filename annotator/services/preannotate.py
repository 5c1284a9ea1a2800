"""Pre-annotate articles with the spaCy pipeline and store its spans as origin ``model``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, true, update
from sqlmodel import Session, select

from annotator.models import Article, Origin, Span, utcnow


@dataclass
class PreannotateSummary:
    articles: int = 0
    spans: int = 0
    pipeline_version: str = ""

    def describe(self) -> str:
        if not self.articles:
            return "Nothing to pre-annotate: every article has model spans (use --force to redo them)."
        return f"Pre-annotated {self.articles} articles with pipeline {self.pipeline_version}: {self.spans} spans."


def _pending(*, force: bool):
    return true() if force else Article.preannotated_with.is_(None)


def count_pending(session: Session, *, force: bool = False) -> int:
    """Return how many articles a run would pre-annotate."""
    return session.exec(select(func.count()).select_from(Article).where(_pending(force=force))).one()


def _article_batches(
    session: Session, *, force: bool, batch_size: int, after_id: int = 0
) -> Iterator[list[tuple[int, str]]]:
    # Keyset pages keep memory flat on large corpora and survive concurrent inserts.
    while True:
        rows = session.exec(
            select(Article.id, Article.text)
            .where(_pending(force=force), Article.id > after_id)
            .order_by(Article.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        after_id = rows[-1][0]


def preannotate(
    session: Session,
    *,
    nlp=None,
    model: str | None = None,
    batch_size: int = 64,
    n_process: int = 1,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PreannotateSummary:
    """Run the pipeline over articles without model spans (all with ``force``) and store its spans.

    Each batch of articles is committed with its spans and marked with the pipeline
    version, so a run that is killed resumes where it stopped, with no duplicates.
    """
    from annotator.nlp import PIPELINE_VERSION, doc_to_spans, load_pipeline

    if nlp is None:
        nlp = load_pipeline(model=model)
    version = f"{PIPELINE_VERSION}+{nlp.meta.get('name', 'model')}-{nlp.meta.get('version', '')}"
    total = count_pending(session, force=force)
    summary = PreannotateSummary(pipeline_version=version)
    if progress:
        progress(0, total)
    # With --force every article is redone once: remember where this run began.
    last_id = session.exec(select(func.max(Article.id))).one() or 0
    for batch in _article_batches(session, force=force, batch_size=batch_size):
        batch = [(article_id, text) for article_id, text in batch if article_id <= last_id]
        if not batch:
            break
        ids = [article_id for article_id, _ in batch]
        docs = nlp.pipe(
            ((text, article_id) for article_id, text in batch),
            as_tuples=True,
            batch_size=batch_size,
            n_process=n_process,
        )
        now = utcnow()
        rows = []
        for doc, article_id in docs:
            for span in doc_to_spans(doc):
                rows.append(
                    {
                        "article_id": article_id,
                        "start": span["start"],
                        "end": span["end"],
                        "label": span["label"],
                        "attrs": span.get("attrs") or {},
                        "origin": Origin.MODEL.value,
                        "owner_id": None,
                        "source": f"{span.get('source') or 'pipeline'}@{version}"[:200],
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(delete(Span).where(Span.article_id.in_(ids), Span.origin == Origin.MODEL.value))
        if rows:
            session.execute(insert(Span), rows)
        session.execute(update(Article).where(Article.id.in_(ids)).values(preannotated_with=version))
        session.commit()
        summary.articles += len(ids)
        summary.spans += len(rows)
        if progress:
            progress(summary.articles, total)
    return summary
