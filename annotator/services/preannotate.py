"""Pre-annotate articles with the spaCy pipeline and store its spans as origin ``model``."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, func, insert, true, update
from sqlmodel import Session, select

from annotator.models import Article, Origin, Span, utcnow
from annotator.services import tallies, version_counts
from annotator.services.origins import preannotator_spans
from annotator.services.visibility import visible_articles

# How many skipped articles a summary names; the others are only counted.
MAX_LISTED = 10
# How long the reason an article was skipped may be, in characters.
MAX_REASON = 200
# The most characters one nlp.pipe minibatch should hold. spaCy's working memory
# grows with them (about 3 MB per 1,000 with en_core_web_sm), and a minibatch of
# 16 articles is no slower than one of 64, so a batch of long texts (or pieces
# of one) goes through a few at a time.
PIPE_CHARACTERS = 100_000
# With n_process > 1, the batches each worker process holds: one it runs and one
# waiting, so that no worker idles while the parent writes a batch's spans.
BATCHES_PER_WORKER = 2


_Batch = list[tuple[int, str, str]]
_Results = tuple[dict[int, tuple[list[dict], dict]], dict[int, str]]


@dataclass
class SkippedArticle:
    external_id: str
    reason: str


@dataclass
class PreannotateSummary:
    articles: int = 0
    spans: int = 0
    pipeline_version: str = ""
    # Articles the pipeline failed on: left pending, so that the next run retries them.
    skipped: int = 0
    # The first MAX_LISTED of them, with the reason.
    skipped_listed: list[SkippedArticle] = field(default_factory=list)
    # The shard this run did ("1/2"), or "" for the whole corpus.
    shard: str = ""

    def skip(self, external_id: str, reason: str) -> None:
        """Count an article the pipeline failed on, and name it if the list has room."""
        self.skipped += 1
        if len(self.skipped_listed) < MAX_LISTED:
            self.skipped_listed.append(SkippedArticle(external_id, reason))

    def describe(self) -> str:
        of_shard = f" of shard {self.shard}" if self.shard else ""
        if not self.articles and not self.skipped:
            return f"Nothing to pre-annotate: every article{of_shard} has model spans (use --force to redo them)."
        lines = [
            f"Pre-annotated {self.articles} articles{of_shard} with pipeline {self.pipeline_version}: "
            f"{self.spans} spans."
        ]
        if self.skipped:
            lines.append(
                "Skipped 1 article the pipeline failed on; it stays pending, so the next run retries it:"
                if self.skipped == 1
                else f"Skipped {self.skipped} articles the pipeline failed on; they stay pending, "
                "so the next run retries them:"
            )
            lines.extend(f"  {item.external_id}: {item.reason}" for item in self.skipped_listed)
            if self.skipped > len(self.skipped_listed):
                lines.append(f"  ... and {self.skipped - len(self.skipped_listed)} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Shard:
    """One of ``count`` disjoint parts of the corpus: the articles whose id leaves ``index`` modulo ``count``.

    Ids never change, so the parts never overlap and together hold every
    article, whatever the order the processes run in or how often they are
    restarted; an id modulo N also spreads long and short articles evenly.
    """

    index: int  # 0-based
    count: int

    def __post_init__(self) -> None:
        if not (self.count >= 1 and 0 <= self.index < self.count):
            raise ValueError(f"a shard is I/N with 1 <= I <= N, not {self.index + 1}/{self.count}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read ``I/N`` (1-based, as people count: 1/2 and 2/2 are the two halves)."""
        index, slash, count = text.partition("/")
        if not slash or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"a shard is I/N, such as 1/2 or 3/4, not {text!r}")
        return cls(int(index) - 1, int(count))

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


def _pending(*, force: bool, shard: Shard | None = None):
    # Not the articles of an import still running: a later run takes them once it commits.
    pending = and_(true() if force else Article.preannotated_with.is_(None), visible_articles())
    if shard is None or shard.count == 1:
        return pending
    return pending & (Article.id % shard.count == shard.index)


def count_pending(session: Session, *, force: bool = False, shard: Shard | None = None) -> int:
    """Return how many articles a run (of one shard) would pre-annotate."""
    return session.exec(
        select(func.count()).select_from(Article).where(_pending(force=force, shard=shard))
    ).one()


def _article_batches(
    session: Session, *, force: bool, batch_size: int, after_id: int = 0, shard: Shard | None = None
) -> Iterator[list[tuple[int, str, str]]]:
    # Keyset pages keep memory flat on large corpora and survive concurrent inserts.
    while True:
        rows = session.exec(
            select(Article.id, Article.external_id, Article.text)
            .where(_pending(force=force, shard=shard), Article.id > after_id)
            .order_by(Article.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        yield [(row[0], row[1], row[2]) for row in rows]
        after_id = rows[-1][0]


def _up_to(batches: Iterable[_Batch], last_id: int) -> Iterator[_Batch]:
    """Yield the batches' articles up to ``last_id``, stopping at the first batch with none."""
    for batch in batches:
        batch = [row for row in batch if row[0] <= last_id]
        if not batch:
            return
        yield batch


def _reason(error: Exception) -> str:
    """Return an error as one short line: its type and the first line of its message."""
    message = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    reason = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


def _run_pipeline(
    nlp, texts: list[tuple[str, int]], *, piece_length: int, batch_size: int, n_process: int
) -> tuple[dict[int, tuple[list[dict], dict]], dict[int, str]]:
    """Return the spans and tally cues of each ``(text, article id)`` the pipeline handled, and why it failed on the others."""
    from annotator.nlp import pipe_spans
    from annotator.nlp.cues import find_cues

    longest = max(min(len(text), piece_length) for text, _ in texts)
    batch_size = max(1, min(batch_size, PIPE_CHARACTERS // max(longest, 1)))
    done: dict[int, list[dict]] = {}
    failed: dict[int, str] = {}
    try:
        for spans, starts, article_id in pipe_spans(
            nlp,
            texts,
            piece_length=piece_length,
            batch_size=batch_size,
            n_process=n_process,
            with_sentences=True,
        ):
            done[article_id] = (spans, starts)
    except Exception:
        # One text broke the whole stream. Run the articles it left undone one
        # by one, so that the failure costs only its own article and names it.
        for text, article_id in texts:
            if article_id in done:
                continue
            try:
                for spans, starts, _ in pipe_spans(
                    nlp,
                    [(text, article_id)],
                    piece_length=piece_length,
                    batch_size=batch_size,
                    with_sentences=True,
                ):
                    done[article_id] = (spans, starts)
            except Exception as error:
                failed[article_id] = _reason(error)
    # The tally's cues come from the parse's sentences; reading them is cheap
    # beside the parse, and done here it happens in the worker that parsed.
    texts_by_id = {article_id: text for text, article_id in texts}
    return {
        article_id: (spans, find_cues(texts_by_id[article_id], starts).to_json())
        for article_id, (spans, starts) in done.items()
    }, failed


def _annotated(
    nlp, batches: Iterable[_Batch], *, piece_length: int, batch_size: int, n_process: int
) -> Iterator[tuple[_Batch, _Results]]:
    """Yield each batch of articles, in order, with what ``_run_pipeline`` made of it.

    With ``n_process`` > 1 (where processes can be forked), the batches go to
    that many worker processes, started once for the whole run and each
    holding the pipeline: a worker runs a whole batch (its pipeline, casualty
    extractor and the spans' conversion) and sends back plain spans, while the
    parent reads the next batches and writes the finished ones. Calling
    ``nlp.pipe(n_process=N)`` per batch instead would start N processes per
    batch, wait for the slowest at the end of each, and send every Doc back to
    be rebuilt in the parent.
    """
    options = {"piece_length": piece_length, "batch_size": batch_size}
    if n_process == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for batch in batches:
            yield batch, _run_pipeline(nlp, _texts(batch), n_process=n_process, **options)
        return
    # Forked workers inherit the loaded pipeline (and any pipeline a caller built):
    # nothing is pickled or loaded again. The executor forks them all before it starts a thread.
    pool = ProcessPoolExecutor(
        n_process,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_set_worker_pipeline,
        initargs=(nlp,),
    )
    try:
        waiting: deque = deque()
        for batch in batches:
            try:
                future = pool.submit(_run_in_worker, _texts(batch), **options)
            except BrokenProcessPool:
                future = None  # a worker died: the rest of the run goes on in this process
            waiting.append((batch, future))
            if len(waiting) >= n_process * BATCHES_PER_WORKER:
                yield _collected(nlp, *waiting.popleft(), options)
        while waiting:
            yield _collected(nlp, *waiting.popleft(), options)
    finally:
        pool.shutdown(cancel_futures=True)


def _texts(batch: _Batch) -> list[tuple[str, int]]:
    return [(text, article_id) for article_id, _, text in batch]


def _collected(nlp, batch: _Batch, future: Future | None, options: dict) -> tuple[_Batch, _Results]:
    """Return a worker's result for ``batch``; should the worker have died or failed outside the pipeline, run it here."""
    if future is not None:
        try:
            return batch, future.result()
        except Exception:  # BrokenProcessPool, or a result that would not pickle
            pass
    return batch, _run_pipeline(nlp, _texts(batch), n_process=1, **options)


_worker_pipeline = None


def _set_worker_pipeline(nlp) -> None:
    global _worker_pipeline
    _worker_pipeline = nlp


def _run_in_worker(texts: list[tuple[str, int]], *, piece_length: int, batch_size: int) -> _Results:
    return _run_pipeline(
        _worker_pipeline, texts, piece_length=piece_length, batch_size=batch_size, n_process=1
    )


def preannotate(
    session: Session,
    *,
    nlp=None,
    model: str | None = None,
    batch_size: int = 64,
    n_process: int = 1,
    force: bool = False,
    piece_length: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    shard: Shard | None = None,
) -> PreannotateSummary:
    """Run the pipeline over articles without model spans (all with ``force``) and store its spans.

    Each batch of articles is committed with its spans and marked with the pipeline
    version, so a run that is killed resumes where it stopped, with no duplicates.
    Texts over ``piece_length`` characters (default: ``annotator.nlp.PIECE_LENGTH``)
    are run in pieces. An article the pipeline fails on is skipped and named in
    the summary, and the others go on; it keeps whatever spans and mark it had,
    so the next run tries it again. With ``shard``, only that shard's articles
    are run, so N processes (on one machine or several, against one database)
    each given another shard of N share the corpus with no overlap and no gap.
    """
    # spaCy loads only when a run needs it.
    from annotator.nlp import PIECE_LENGTH, PIPELINE_VERSION, load_pipeline

    piece_length = piece_length or PIECE_LENGTH
    if nlp is None:
        nlp = load_pipeline(model=model)
    version = f"{PIPELINE_VERSION}+{nlp.meta.get('name', 'model')}-{nlp.meta.get('version', '')}"
    total = count_pending(session, force=force, shard=shard)
    summary = PreannotateSummary(pipeline_version=version, shard=str(shard) if shard else "")
    if progress:
        progress(0, total)
    # With --force every article is redone once: remember where this run began.
    last_id = session.exec(select(func.max(Article.id))).one() or 0
    batches = _up_to(_article_batches(session, force=force, batch_size=batch_size, shard=shard), last_id)
    for batch, (results, failures) in _annotated(
        nlp, batches, piece_length=piece_length, batch_size=batch_size, n_process=n_process
    ):
        spans_by_article = {article_id: spans for article_id, (spans, _) in results.items()}
        now = utcnow()
        rows = [
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
            for article_id, spans in spans_by_article.items()
            for span in spans
        ]
        ids = list(spans_by_article)
        if ids:
            # Predictions pushed through the API under a source name are another model's: kept.
            session.execute(
                delete(Span).where(
                    Span.article_id.in_(ids),
                    Span.origin == Origin.MODEL.value,
                    preannotator_spans(Span.source),
                )
            )
            if rows:
                session.execute(insert(Span), rows)
            session.execute(update(Article).where(Article.id.in_(ids)).values(preannotated_with=version))
            tallies.store_cues(session, {article_id: cues for article_id, (_, cues) in results.items()})
            # Accepted versions of these articles are compared with the model's new spans.
            version_counts.count_references(session, ids, only="model")
            session.commit()
        for article_id, external_id, _ in batch:
            if article_id in failures:
                summary.skip(external_id, failures[article_id])
        summary.articles += len(ids)
        summary.spans += len(rows)
        if progress:
            progress(summary.articles + summary.skipped, total)
    return summary
