"""Pre-annotation stores the pipeline's spans as origin ``model``, once, resumably."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from annotator.labels import LABELS, spans_errors
from annotator.models import Article, Span
from annotator.services.preannotate import count_pending, preannotate
from tests.conftest import SEEDS
from tests.factories import make_article, make_span

pytestmark = pytest.mark.model

TEXTS = {
    "kabul": "KABUL, Afghanistan – A suicide bomber killed at least 12 civilians in Kabul on Monday, "
    "the Interior Ministry said.",
    "aleppo": "Syrian government forces shelled Aleppo, wounding 14 people, activists said.",
    "quiet": "The weather was mild and the markets were open.",
}


@pytest.fixture(scope="module")
def nlp():
    from annotator.nlp import load_pipeline

    return load_pipeline()


@pytest.fixture
def articles(session):
    return {key: make_article(session, external_id=key, text=text) for key, text in TEXTS.items()}


def _model_spans(session):
    return session.exec(
        select(Span).where(Span.origin == "model").order_by(Span.article_id, Span.start)
    ).all()


def test_preannotate_stores_valid_model_spans(session, articles, nlp):
    summary = preannotate(session, nlp=nlp)
    assert summary.articles == 3
    spans = _model_spans(session)
    assert summary.spans == len(spans) > 0
    assert {span.label for span in spans} <= set(LABELS)
    for article in articles.values():
        mine = [
            {"start": s.start, "end": s.end, "label": s.label, "attrs": s.attrs}
            for s in spans
            if s.article_id == article.id
        ]
        assert spans_errors(article.text, mine) == []
    kabul = articles["kabul"]
    casualty = next(s for s in spans if s.article_id == kabul.id and s.label == "CASUALTY")
    assert kabul.text[casualty.start : casualty.end] == "at least 12 civilians"
    assert casualty.attrs == {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "civilian"}
    assert all(s.owner_id is None and s.source and summary.pipeline_version in s.source for s in spans)


def test_preannotate_marks_articles_with_the_pipeline_version(session, articles, nlp):
    summary = preannotate(session, nlp=nlp)
    versions = set(session.exec(select(Article.preannotated_with)).all())
    assert versions == {summary.pipeline_version}
    assert count_pending(session) == 0


def test_second_run_adds_nothing(session, articles, nlp):
    preannotate(session, nlp=nlp)
    before = len(_model_spans(session))
    summary = preannotate(session, nlp=nlp)
    assert summary.articles == 0
    assert "Nothing to pre-annotate" in summary.describe()
    assert len(_model_spans(session)) == before


def test_force_replaces_model_spans_without_duplicates(session, articles, nlp):
    preannotate(session, nlp=nlp)
    before = [(s.article_id, s.start, s.end, s.label) for s in _model_spans(session)]
    summary = preannotate(session, nlp=nlp, force=True, batch_size=2)
    assert summary.articles == 3
    assert [(s.article_id, s.start, s.end, s.label) for s in _model_spans(session)] == before


def test_force_leaves_gold_and_annotator_spans_alone(session, articles, nlp):
    gold = make_span(session, articles["quiet"], start=4, end=11, label="ACTOR", origin="gold")
    preannotate(session, nlp=nlp, force=True)
    assert session.get(Span, gold.id) is not None


def test_interrupted_run_resumes_without_duplicates(session, articles, nlp):
    class Stop(Exception):
        pass

    def stop_after_first_batch(done, total):
        if done == 1:
            raise Stop

    with pytest.raises(Stop):
        preannotate(session, nlp=nlp, batch_size=1, progress=stop_after_first_batch)
    session.rollback()
    assert count_pending(session) == 2
    first = len(_model_spans(session))
    summary = preannotate(session, nlp=nlp, batch_size=1)
    assert summary.articles == 2
    complete = session.exec(select(func.count()).select_from(Span)).one()
    fresh = preannotate(session, nlp=nlp, force=True)
    assert fresh.spans == complete >= first


def test_progress_reports_every_batch(session, articles, nlp):
    calls = []
    preannotate(session, nlp=nlp, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 3), (2, 3), (3, 3)]


def test_long_article_is_annotated_in_pieces_as_it_is_whole(session, articles, nlp):
    from annotator.nlp import PIECE_LENGTH, doc_to_spans

    sentence = "Taliban fighters attacked Kabul on Monday, killing 12 civilians."
    seeds = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt")))
    text = f"{sentence}\n\n{seeds}\n\n" * 4
    assert len(text) > 3 * PIECE_LENGTH
    long = make_article(session, external_id="long", text=text)

    summary = preannotate(session, nlp=nlp)

    assert (summary.articles, summary.skipped) == (4, 0)
    spans = [(s.start, s.end, s.label) for s in _model_spans(session) if s.article_id == long.id]
    assert spans == [(span["start"], span["end"], span["label"]) for span in doc_to_spans(nlp(text))]
    repeated = [index for index in range(len(text)) if text.startswith(sentence, index)]
    assert len(repeated) == 4
    for at in repeated:
        assert {
            (at, at + 16, "ACTOR"),
            (at + 26, at + 31, "LOCATION"),
            (at + 51, at + 63, "CASUALTY"),
        } <= set(spans)


def test_preannotate_stores_the_tally_cues_with_the_parse_sentences(session, articles, nlp):
    from annotator.models import ArticleCues
    from annotator.nlp.cues import Cues, find_cues

    preannotate(session, nlp=nlp)
    stored = {row.article_id: row.cues for row in session.exec(select(ArticleCues)).all()}
    assert set(stored) == {article.id for article in articles.values()}
    kabul = articles["kabul"]
    cues = Cues.from_json(stored[kabul.id])
    assert cues.source == "parse"
    assert cues.sentences[0].days == ("monday",)
    # The parse's sentences, as spaCy split them, not the rules'.
    assert [s.start for s in cues.sentences] == [s.start_char for s in nlp(kabul.text).sents]
    assert cues == find_cues(kabul.text, [s.start_char for s in nlp(kabul.text).sents])
