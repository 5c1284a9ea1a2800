"""Pre-annotation of texts longer than spaCy takes, and of texts the pipeline fails on, with small pipelines."""

from __future__ import annotations

import pytest
from spacy.language import Language
from sqlmodel import select

from annotator.labels import spans_errors
from annotator.models import Article, Span
from annotator.services.preannotate import MAX_LISTED, count_pending, preannotate
from tests.factories import make_article, make_span
from tests.phrase_ruler import expected_spans, phrase_ruler

SENTENCE = "Taliban fighters attacked Kabul on Monday."
FILLER = "The markets were open and the weather was mild. " * 20
# Text that makes the failing pipeline raise.
MARKER = "BREAK-THE-PIPELINE"


@Language.component("annotator_test_fail_on_marker")
def fail_on_marker(doc):
    if MARKER in doc.text:
        raise RuntimeError(f"refusing a text with the marker\nand a second line of {MARKER}")
    return doc


def ruler_pipeline(*, failing: bool = False) -> Language:
    """Return the phrase ruler; with ``failing``, it raises on texts holding MARKER."""
    nlp = phrase_ruler()
    if failing:
        nlp.add_pipe("annotator_test_fail_on_marker")
    return nlp


def model_spans(session, article: Article) -> list[tuple[int, int, str]]:
    rows = session.exec(
        select(Span.start, Span.end, Span.label)
        .where(Span.article_id == article.id, Span.origin == "model")
        .order_by(Span.start)
    )
    return [tuple(row) for row in rows]


def mark(session, article: Article) -> str | None:
    return session.exec(select(Article.preannotated_with).where(Article.id == article.id)).one()


# --- long texts --------------------------------------------------------------------


def test_article_longer_than_spacys_max_length_is_annotated_in_pieces(session):
    nlp = ruler_pipeline()
    # Stored directly, as an article imported before the import had a limit.
    text = f"{SENTENCE}\n\n{FILLER}\n\n" * (nlp.max_length // len(FILLER) + 1)
    assert len(text) > nlp.max_length
    before = make_article(session, external_id="before", text=SENTENCE)
    long = make_article(session, external_id="long", text=text)
    after = make_article(session, external_id="after", text=f"Kabul. {SENTENCE}")

    summary = preannotate(session, nlp=nlp)

    assert (summary.articles, summary.skipped) == (3, 0)
    spans = model_spans(session, long)
    assert len(spans) > 2000
    assert spans == expected_spans(text)
    assert model_spans(session, before) == expected_spans(SENTENCE)
    assert model_spans(session, after) == expected_spans(f"Kabul. {SENTENCE}")
    assert summary.spans == len(spans) + 2 + 3
    assert count_pending(session) == 0


@pytest.mark.parametrize("separator", ["\n\n", "\n", " "])
def test_spans_of_pieces_are_sorted_apart_and_at_their_phrases(session, separator):
    text = separator.join(f"Report {number}: {SENTENCE}" for number in range(300))
    long = make_article(session, external_id="long", text=text)

    preannotate(session, nlp=ruler_pipeline(), piece_length=500)

    spans = model_spans(session, long)
    assert spans == expected_spans(text)
    assert (
        spans_errors(text, [{"start": start, "end": end, "label": label} for start, end, label in spans])
        == []
    )


def test_forced_rerun_of_a_long_article_replaces_its_spans(session):
    text = f"{SENTENCE}\n\n" * 2000
    long = make_article(session, external_id="long", text=text)
    preannotate(session, nlp=ruler_pipeline(), piece_length=1000)

    summary = preannotate(session, nlp=ruler_pipeline(), piece_length=1000, force=True)

    assert summary.articles == 1
    assert model_spans(session, long) == expected_spans(text)


# --- one article never stops the rest ---------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_article_the_pipeline_fails_on_is_skipped_and_named_and_the_others_are_done(session, batch_size):
    first = make_article(session, external_id="first", text=SENTENCE)
    bad = make_article(session, external_id="bad-one", text=f"Kabul. {MARKER}")
    last = make_article(session, external_id="last", text=f"Kabul. {SENTENCE}")

    summary = preannotate(session, nlp=ruler_pipeline(failing=True), batch_size=batch_size)

    assert (summary.articles, summary.skipped) == (2, 1)
    assert model_spans(session, first) == expected_spans(SENTENCE)
    assert model_spans(session, last) == expected_spans(f"Kabul. {SENTENCE}")
    assert model_spans(session, bad) == []
    assert mark(session, bad) is None
    assert mark(session, first) == mark(session, last) == summary.pipeline_version
    described = summary.describe().splitlines()
    assert described[1] == (
        "Skipped 1 article the pipeline failed on; it stays pending, so the next run retries it:"
    )
    assert described[2] == "  bad-one: RuntimeError: refusing a text with the marker"
    assert len(described) == 3


def test_skipped_article_is_retried_by_the_next_run(session):
    make_article(session, external_id="good", text=SENTENCE)
    bad = make_article(session, external_id="bad", text=MARKER)
    preannotate(session, nlp=ruler_pipeline(failing=True))
    assert count_pending(session) == 1

    again = preannotate(session, nlp=ruler_pipeline(failing=True))

    assert (again.articles, again.skipped) == (0, 1)
    assert "Nothing to pre-annotate" not in again.describe()
    fixed = preannotate(session, nlp=ruler_pipeline())
    assert (fixed.articles, fixed.skipped) == (1, 0)
    assert mark(session, bad) == fixed.pipeline_version


def test_failure_in_one_piece_skips_its_whole_article(session):
    text = f"{SENTENCE}\n\n" * 100 + MARKER + f"\n\n{SENTENCE}" * 100
    bad = make_article(session, external_id="long-and-bad", text=text)
    good = make_article(session, external_id="good", text=SENTENCE)

    summary = preannotate(session, nlp=ruler_pipeline(failing=True), piece_length=500)

    assert (summary.articles, summary.skipped) == (1, 1)
    assert model_spans(session, bad) == []
    assert model_spans(session, good) == expected_spans(SENTENCE)


def test_forced_run_keeps_the_old_spans_and_mark_of_an_article_it_fails_on(session):
    bad = make_article(session, external_id="bad", text=f"Kabul {MARKER}")
    old = make_span(session, bad, start=0, end=5, label="LOCATION", origin="model")
    bad.preannotated_with = "older-pipeline"
    session.add(bad)
    session.commit()

    summary = preannotate(session, nlp=ruler_pipeline(failing=True), force=True)

    assert (summary.articles, summary.skipped) == (0, 1)
    assert session.get(Span, old.id) is not None
    assert mark(session, bad) == "older-pipeline"


def test_summary_names_the_first_skipped_articles_and_counts_the_rest(session):
    for number in range(MAX_LISTED + 3):
        make_article(session, external_id=f"bad-{number:02d}", text=f"{MARKER} {number}")
    make_article(session, external_id="good", text=SENTENCE)
    progress = []

    summary = preannotate(
        session, nlp=ruler_pipeline(failing=True), batch_size=4, progress=lambda *call: progress.append(call)
    )

    assert (summary.articles, summary.skipped) == (1, MAX_LISTED + 3)
    lines = summary.describe().splitlines()
    assert (
        lines[1]
        == "Skipped 13 articles the pipeline failed on; they stay pending, so the next run retries them:"
    )
    assert lines[2 : 2 + MAX_LISTED] == [
        f"  bad-{number:02d}: RuntimeError: refusing a text with the marker" for number in range(MAX_LISTED)
    ]
    assert lines[2 + MAX_LISTED :] == ["  ... and 3 more"]
    assert progress[-1] == (MAX_LISTED + 4, MAX_LISTED + 4)


@Language.component("annotator_test_fail_at_length")
def fail_at_length(doc):
    raise ValueError("x" * 1000)


def test_long_reason_is_cut_to_one_short_line(session):
    nlp = ruler_pipeline()
    nlp.add_pipe("annotator_test_fail_at_length")
    make_article(session, external_id="bad", text=SENTENCE)

    summary = preannotate(session, nlp=nlp)

    [skipped] = summary.skipped_listed
    assert skipped.reason.startswith("ValueError: xxx")
    assert len(skipped.reason) == 200


def test_a_pipeline_without_sentences_stores_rule_cues(session):
    from annotator.models import ArticleCues

    article = make_article(session, external_id="ruled", text="Two killed. In another attack, one died.")
    preannotate(session, nlp=ruler_pipeline())
    cues = session.get(ArticleCues, article.id).cues
    assert cues["source"] == "rules"
    assert [sentence[0] for sentence in cues["sentences"]] == [0, 12]
