"""Predictions pushed under a source name: model:SOURCE in origins, documents, evaluation, accuracy, export."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from annotator.errors import NotFound
from annotator.models import Prediction, Span
from annotator.services import workspace
from annotator.services.accuracy import accuracy_report, source_choices
from annotator.services.evaluate import evaluate_sources
from annotator.services.export import export
from annotator.services.gold import iter_documents
from annotator.services.origins import SpanOwner, parse_origin
from annotator.services.predictions import BadPredictions, store_predictions
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters attacked Kabul and killed 3 civilians near the market."
OTHER = "NATO troops left Herat on Sunday."


def at(part: str, text: str = TEXT) -> dict:
    start = text.index(part)
    return {"start": start, "end": start + len(part)}


GOLD = [{**at("Taliban fighters"), "label": "ACTOR"}, {**at("Kabul"), "label": "LOCATION"}]
# The pre-annotator: one right, one wrong.
PIPELINE = [{**at("Taliban fighters"), "label": "ACTOR"}, {**at("the market"), "label": "LOCATION"}]
CRF = [{**at("Taliban"), "label": "ACTOR"}, {**at("Kabul"), "label": "LOCATION"}]
HMM = [{**at("Taliban fighters"), "label": "ACTOR"}, {**at("Kabul"), "label": "LOCATION"}]


@pytest.fixture
def sources(session):
    """a1: gold, the pre-annotator's spans, and sources crf and hmm; a2: pushed by crf with no span."""
    reviewer = make_user(session, username="rev", role="reviewer")
    a1 = make_article(session, external_id="a1", text=TEXT)
    a2 = make_article(session, external_id="a2", text=OTHER)
    a1.preannotated_with = "1.0.0+test"
    session.add(a1)
    session.commit()
    for span in GOLD:
        make_span(session, a1, origin="gold", **span)
    for span in PIPELINE:
        make_span(session, a1, origin="model", **span)
    store_predictions(session, "a1", "crf", CRF, user=reviewer)
    store_predictions(session, "a1", "hmm", HMM, user=reviewer)
    store_predictions(session, "a2", "crf", [], user=reviewer)
    return {"a1": a1, "a2": a2, "reviewer": reviewer}


def keys(spans) -> list[tuple[int, int, str]]:
    return sorted((span["start"], span["end"], span["label"]) for span in spans)


def documents(session, origin: str) -> dict[str, list]:
    owner = parse_origin(session, origin, model_sources=True)
    return {document.id: keys(document.spans) for document in iter_documents(session, owner)}


def test_parse_origin_reads_model_sources_only_where_asked(session, sources):
    assert parse_origin(session, "model:crf", model_sources=True) == SpanOwner("model", source="crf")
    assert parse_origin(session, "model:preannotator", model_sources=True).source == "preannotator"
    assert parse_origin(session, "model", model_sources=True) == SpanOwner("model")
    with pytest.raises(NotFound, match=r"no predictions from source 'nope'; sources: crf, hmm, preannotator"):
        parse_origin(session, "model:nope", model_sources=True)
    # The importer does not ask for them: model:NAME is no origin to import into.
    with pytest.raises(ValueError, match="origin must be gold, model or annotator:NAME"):
        parse_origin(session, "model:crf")


def test_model_means_every_model_span_and_model_source_one_source(session, sources):
    assert documents(session, "model:crf") == {"a1": keys(CRF), "a2": []}
    assert documents(session, "model:hmm") == {"a1": keys(HMM)}
    assert documents(session, "model:preannotator") == {"a1": keys(PIPELINE)}
    every = documents(session, "model")
    assert every["a1"] == keys(PIPELINE + CRF + HMM)
    # An article only a source predicted (with nothing found) is a model document too.
    assert every["a2"] == []


def test_pushing_again_replaces_that_source_only(session, sources):
    result = store_predictions(session, "a1", "crf", [{**at("Kabul"), "label": "ACTOR"}], user=None)
    assert (result.spans, result.replaced) == (1, 2)
    assert documents(session, "model:crf")["a1"] == [(*at("Kabul").values(), "ACTOR")]
    assert documents(session, "model:hmm")["a1"] == keys(HMM)
    assert documents(session, "model:preannotator")["a1"] == keys(PIPELINE)
    row = session.get(Prediction, (sources["a1"].id, "crf"))
    assert row.spans == 1 and row.pushed_by_id is None


@pytest.mark.parametrize(
    ("source", "spans", "problem"),
    [
        ("crf", [{"start": 0, "end": 500, "label": "ACTOR"}], "lies outside the text"),
        ("crf", [{"start": 0, "end": 7, "label": "PERSON"}], "unknown label 'PERSON'"),
        (
            "crf",
            [{**at("Taliban fighters"), "label": "ACTOR"}, {**at("Taliban"), "label": "ACTOR"}],
            "overlaps",
        ),
        ("crf", [{**at("3 civilians"), "label": "CASUALTY", "attrs": {"count": -1}}], "count must be"),
        ("crf", [{**at("Kabul"), "label": "LOCATION", "attrs": {"count": 3}}], "take no attrs"),
        ("preannotator", [], "reserved"),
        ("my model", [], "source must be"),
        ("", [], "source must be"),
    ],
)
def test_bad_predictions_write_nothing(session, sources, source, spans, problem):
    before = session.exec(select(Span.id, Span.source).order_by(Span.id)).all()
    with pytest.raises(BadPredictions) as raised:
        store_predictions(session, "a1", source, spans, user=None)
    assert any(problem in line for line in raised.value.problems), raised.value.problems
    session.rollback()
    assert session.exec(select(Span.id, Span.source).order_by(Span.id)).all() == before


def test_predictions_for_an_unknown_article_are_refused(session, sources):
    with pytest.raises(NotFound, match="no article with id 'zz'"):
        store_predictions(session, "zz", "crf", [], user=None)


def test_evaluate_scores_one_source(session, sources):
    def strict(pred):
        return evaluate_sources(session, "gold", pred).micro["strict"]

    assert (strict("model:hmm").correct, strict("model:hmm").spurious) == (2, 0)
    assert (strict("model:crf").correct, strict("model:crf").incorrect) == (1, 1)
    assert (strict("model:preannotator").correct, strict("model:preannotator").spurious) == (1, 1)
    # All model spans at once: 6 predictions against 2 gold spans.
    assert strict("model").actual == 6


def test_accuracy_offers_and_scores_each_source(session, sources):
    choices = source_choices(session, sources["reviewer"])
    assert choices[:5] == ["gold", "model", "model:crf", "model:hmm", "model:preannotator"]
    report = accuracy_report(session, sources["reviewer"], "gold", "model:crf")
    assert report.evaluation.pred == "model:crf"
    assert report.strict_rows()[0][1].correct == 1
    errors = {
        (error.kind, error.label, error.text) for article in report.articles for error in article.errors
    }
    assert errors == {("fp", "ACTOR", "Taliban"), ("fn", "ACTOR", "Taliban fighters")}
    annotator = make_user(session, username="ann")
    assert "model:crf" in source_choices(session, annotator)


def test_accuracy_offers_plain_model_alone_without_sources(session):
    reviewer = make_user(session, username="rev", role="reviewer")
    assert [choice for choice in source_choices(session, reviewer) if choice.startswith("model")] == ["model"]


def test_export_writes_one_source(session, sources, tmp_path):
    out = tmp_path / "crf.jsonl"
    summary = export(session, "model:crf", out, format_="jsonl")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(record["id"], keys(record["spans"])) for record in records] == [("a1", keys(CRF)), ("a2", [])]
    assert summary.selection.documents == 2


def test_working_copies_start_from_the_preannotator_only(session, sources):
    annotator = make_user(session, username="ann")
    view = workspace.open_article(session, "a1", annotator)
    assert sorted((span.start, span.end, span.label) for span in view.spans) == keys(PIPELINE)


def test_preannotating_again_keeps_pushed_predictions(session, sources):
    import spacy

    from annotator.services.preannotate import preannotate

    # A pipeline that finds nothing: the pre-annotator's old spans go, the sources' stay.
    preannotate(session, nlp=spacy.blank("en"), force=True)
    assert documents(session, "model:preannotator")["a1"] == []
    assert documents(session, "model:crf") == {"a1": keys(CRF), "a2": []}
    assert documents(session, "model:hmm") == {"a1": keys(HMM)}
