"""annotator's scores equal nervaluate's: every count and score, four schemes, micro and per label."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator

from annotator.labels import LABELS
from annotator.services.evaluate import (
    SCHEMES,
    Evaluation,
    evaluate,
    evaluate_sources,
    predict_documents,
    read_jsonl,
    score,
)
from tests.conftest import DATA

FIELDS = (
    "correct",
    "incorrect",
    "partial",
    "missed",
    "spurious",
    "possible",
    "actual",
    "precision",
    "recall",
    "f1",
)
SEED_GOLD = sorted(DATA.glob("*.jsonl"))
# The pre-annotator's own held-out gold (tests/nlp/data), where it makes more mistakes than on the seeds.
HELDOUT = sorted((DATA.parent / "nlp" / "data").glob("heldout*.jsonl"))


def nervaluate_entities(spans):
    # nervaluate's spans end on their last character (its loaders build them so, and
    # its overlap test assumes it); ours end one past it.
    return [{"label": span["label"], "start": span["start"], "end": span["end"] - 1} for span in spans]


def by_nervaluate(gold_docs, pred_docs, labels=LABELS):
    return Evaluator(
        [nervaluate_entities(spans) for spans in gold_docs],
        [nervaluate_entities(spans) for spans in pred_docs],
        tags=list(labels),
        loader="dict",
    ).evaluate()


def assert_same(ours: Evaluation, theirs) -> None:
    for scheme in SCHEMES:
        expected = theirs["overall"].get(scheme)
        if expected is None:  # nervaluate reports nothing for a set without any span
            assert ours.micro[scheme].possible == ours.micro[scheme].actual == 0
            continue
        got = ours.micro[scheme]
        assert {name: getattr(got, name) for name in FIELDS} == {
            name: getattr(expected, name) for name in FIELDS
        }, f"micro {scheme}"
    for label in ours.labels:
        for scheme in SCHEMES:
            got = ours.per_label[label][scheme]
            if label not in theirs["entities"]:  # nervaluate leaves out labels no span has
                assert got.possible == got.actual == 0
                continue
            expected = theirs["entities"][label][scheme]
            assert {name: getattr(got, name) for name in FIELDS} == {
                name: getattr(expected, name) for name in FIELDS
            }, f"{label} {scheme}"


def sort(spans):
    # Both sides see the spans in the same order: nervaluate's greedy matching depends on it.
    return sorted(spans, key=lambda span: (span["start"], span["end"], span["label"]))


def count_overlapping(documents, labels):
    """Count, pair by pair, the spans of the labels that overlap another such span of their document."""
    count = 0
    for spans in documents:
        kept = [span for span in spans if span["label"] in labels]
        count += sum(
            any(
                other is not span and other["start"] < span["end"] and span["start"] < other["end"]
                for other in kept
            )
            for span in kept
        )
    return count


@st.composite
def span_lists(draw, *, overlapping: bool):
    spans = []
    position = draw(st.integers(0, 5))
    for _ in range(draw(st.integers(0, 10))):
        # Lengths past 100 characters reach nervaluate's 1% overlap threshold.
        length = draw(st.one_of(st.integers(1, 12), st.integers(90, 250)))
        start = draw(st.integers(0, 40)) if overlapping else position
        spans.append({"start": start, "end": start + length, "label": draw(st.sampled_from(LABELS))})
        position = start + length + draw(st.integers(0, 6))
    return sort(spans)


@st.composite
def document_pairs(draw):
    """Return (gold, predicted) spans of one document; either side may overlap or nest."""
    gold = draw(st.one_of(span_lists(overlapping=False), span_lists(overlapping=True)))
    pred = draw(st.one_of(span_lists(overlapping=False), span_lists(overlapping=True)))
    # Copies of gold spans, some relabelled and some twice over, so that exact and
    # strict matches meet overlapping spans on both sides, not just random ones.
    if gold:
        for copied in draw(st.lists(st.sampled_from(gold), max_size=len(gold) + 2)):
            pred.append({**copied, "label": draw(st.sampled_from(LABELS))})
    return gold, sort(pred)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(document_pairs(), min_size=1, max_size=6),
    st.sampled_from([LABELS, ("ACTOR",), ("LOCATION", "CASUALTY")]),
)
def test_scores_equal_nervaluate_on_any_spans(documents, labels):
    golds, preds = [gold for gold, _ in documents], [pred for _, pred in documents]
    ours = score(documents, labels=labels)
    assert_same(ours, by_nervaluate(golds, preds, labels))
    assert ours.overlapping == {
        "gold": count_overlapping(golds, labels),
        "pred": count_overlapping(preds, labels),
    }


TEXT = "x " * 160


def write_documents(path, spans_per_document):
    # Spans in the file in reverse order: reading and scoring must not depend on it.
    path.write_text(
        "".join(
            json.dumps({"id": f"d{index}", "text": TEXT, "spans": spans[::-1]}) + "\n"
            for index, spans in enumerate(spans_per_document)
        ),
        encoding="utf-8",
    )
    return str(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(document_pairs(), min_size=1, max_size=4))
def test_files_with_overlapping_spans_score_as_nervaluate(tmp_path_factory, documents):
    folder = tmp_path_factory.mktemp("overlapping")
    # Spans past the text are another test's business: cut them off here.
    documents = [
        tuple([span for span in spans if span["end"] <= len(TEXT)] for spans in pair) for pair in documents
    ]
    golds, preds = [gold for gold, _ in documents], [pred for _, pred in documents]
    ours = evaluate_sources(
        None, write_documents(folder / "gold.jsonl", golds), write_documents(folder / "pred.jsonl", preds)
    )
    assert ours.documents == len(documents)
    assert_same(ours, by_nervaluate(golds, preds))
    assert ours.overlapping == {
        "gold": count_overlapping(golds, LABELS),
        "pred": count_overlapping(preds, LABELS),
    }


HELMAND = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def span(start, end, label, attrs=None):
    return {"start": start, "end": end, "label": label, "attrs": attrs or {}}


@pytest.mark.parametrize(
    ("gold", "pred", "expected_overlapping"),
    [
        pytest.param(
            [span(0, 16, "ACTOR"), span(24, 37, "CASUALTY", NINE), span(41, 57, "LOCATION")],
            [
                span(0, 7, "ACTOR"),  # nested in the next one
                span(0, 16, "ACTOR"),
                span(24, 37, "CASUALTY", {**NINE, "count": 7}),
                span(24, 48, "CASUALTY"),  # "nine soldiers in Helmand", into the location
                span(29, 37, "ACTOR"),  # "soldiers", inside both casualties
                span(41, 57, "LOCATION"),
                span(41, 57, "LOCATION"),  # the same span twice
                span(41, 48, "ACTOR"),
                span(61, 67, "LOCATION"),  # apart from all others
            ],
            {"gold": 0, "pred": 8},
            id="overlapping-predictions",
        ),
        pytest.param(
            [
                span(0, 7, "ACTOR"),
                span(0, 16, "ACTOR"),
                span(17, 37, "CASUALTY"),
                span(24, 37, "CASUALTY", NINE),
                span(29, 37, "ACTOR"),
                span(41, 57, "LOCATION"),
                span(61, 67, "LOCATION"),
            ],
            [span(0, 7, "ACTOR"), span(24, 37, "CASUALTY", NINE), span(41, 48, "LOCATION")],
            {"gold": 5, "pred": 0},
            id="overlapping-gold",
        ),
    ],
)
def test_overlapping_and_nested_spans_score_as_nervaluate(tmp_path, gold, pred, expected_overlapping):
    paths = []
    for name, spans in (("gold", gold), ("pred", pred)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"id": "a1", "text": HELMAND, "spans": spans}) + "\n", encoding="utf-8")
        paths.append(str(path))
    ours = evaluate_sources(None, *paths)
    theirs = by_nervaluate([sort(gold)], [sort(pred)])
    assert_same(ours, theirs)
    # Every scheme and label took part: the comparison above was not between empty results.
    assert set(theirs["entities"]) == set(LABELS)
    assert all(
        (ours.micro[scheme].actual, ours.micro[scheme].possible) == (len(pred), len(gold))
        for scheme in SCHEMES
    )
    assert ours.overlapping == expected_overlapping
    # The CASUALTY span "nine soldiers" is matched strictly in both cases; its attributes are compared.
    assert ours.casualty_attrs.matched == 1


@pytest.mark.model
@pytest.mark.parametrize("paths", [SEED_GOLD, HELDOUT], ids=["seed-gold", "heldout"])
def test_scores_of_the_pre_annotator_equal_nervaluate(paths, request):
    if not paths:
        pytest.skip("no held-out gold in tests/nlp/data")
    nlp = request.getfixturevalue("preannotator")
    gold = [document for path in paths for document in read_jsonl(path)]
    predicted = predict_documents(gold, nlp)
    ours = evaluate(gold, predicted)
    assert ours.documents == len(gold)
    assert_same(
        ours,
        by_nervaluate(
            [sort(document.spans) for document in gold], [sort(document.spans) for document in predicted]
        ),
    )
    assert json.loads(json.dumps(ours.to_dict())) == ours.to_dict()


@pytest.fixture(scope="module")
def preannotator():
    from annotator.nlp import load_pipeline

    return load_pipeline()
