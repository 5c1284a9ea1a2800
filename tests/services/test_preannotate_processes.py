"""Pre-annotation with ``n_process`` > 1: worker processes started once per run, results as with one process."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from spacy.language import Language
from sqlmodel import select

import annotator.nlp  # noqa: F401  (registers Span._.source)
from annotator.models import Span
from annotator.services.preannotate import preannotate
from tests.factories import make_article
from tests.phrase_ruler import expected_spans
from tests.services.test_preannotate_pieces import MARKER, SENTENCE, mark, model_spans, ruler_pipeline

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="worker processes are forked"
)


@Language.component("annotator_test_source_is_pid")
def source_is_pid(doc):
    """Mark each entity with the id of the process that ran the pipeline on it."""
    for ent in doc.ents:
        ent._.source = f"pid{os.getpid()}"
    return doc


def _corpus(session, n: int = 12) -> list:
    # Every third article breaks the failing pipeline; the others hold both phrases.
    return [
        make_article(
            session,
            external_id=f"article-{number:02d}",
            text=f"{MARKER} {number}" if number % 3 == 1 else f"Kabul, day {number}. {SENTENCE}",
        )
        for number in range(n)
    ]


@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_two_processes_store_what_one_does_and_skip_the_same_articles(session, batch_size):
    articles = _corpus(session)

    summary = preannotate(session, nlp=ruler_pipeline(failing=True), batch_size=batch_size, n_process=2)

    bad = [article for number, article in enumerate(articles) if number % 3 == 1]
    assert (summary.articles, summary.skipped) == (len(articles) - len(bad), len(bad))
    assert [item.external_id for item in summary.skipped_listed] == [article.external_id for article in bad]
    assert {item.reason for item in summary.skipped_listed} == {
        "RuntimeError: refusing a text with the marker"
    }
    for article in articles:
        if article in bad:
            assert model_spans(session, article) == []
            assert mark(session, article) is None
        else:
            assert model_spans(session, article) == expected_spans(article.text)
            assert mark(session, article) == summary.pipeline_version


def test_batches_run_in_the_same_two_workers_not_in_the_parent(session):
    _corpus(session, 10)
    nlp = ruler_pipeline()
    nlp.add_pipe("annotator_test_source_is_pid")
    progress = []

    summary = preannotate(
        session, nlp=nlp, batch_size=1, n_process=2, progress=lambda *call: progress.append(call)
    )

    assert summary.articles == 10
    sources = set(session.exec(select(Span.source).where(Span.origin == "model")))
    pids = {source.split("@")[0] for source in sources}
    # Ten batches of one article: a pool started per batch would show up to twenty processes.
    assert 1 <= len(pids) <= 2
    assert f"pid{os.getpid()}" not in pids
    # Each batch is still committed and reported on its own, in order.
    assert progress == [(done, 10) for done in range(11)]


PARENT = os.getpid()


@Language.component("annotator_test_worker_dies_on_marker")
def worker_dies_on_marker(doc):
    """Kill the worker process (not the test's own) that meets MARKER, as the kernel's OOM killer would."""
    if MARKER in doc.text and os.getpid() != PARENT:
        os._exit(1)
    return doc


def test_a_worker_that_dies_leaves_the_run_to_the_parent_and_every_article_is_done(session):
    articles = _corpus(session, 9)
    nlp = ruler_pipeline()
    nlp.add_pipe("annotator_test_worker_dies_on_marker")

    summary = preannotate(session, nlp=nlp, batch_size=2, n_process=2)

    assert (summary.articles, summary.skipped) == (9, 0)
    for article in articles:
        assert model_spans(session, article) == expected_spans(article.text)
        assert mark(session, article) == summary.pipeline_version
