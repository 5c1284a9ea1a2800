"""annotator's scores equal nervaluate's: every count and score, four schemes, micro and per label."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator

from annotator.labels import LABELS
from annotator.services.evaluate import SCHEMES, Evaluation, evaluate, predict_documents, read_jsonl, score
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


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(span_lists(overlapping=False), span_lists(overlapping=True)),
            span_lists(overlapping=True),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([LABELS, ("ACTOR",), ("LOCATION", "CASUALTY")]),
)
def test_scores_equal_nervaluate_on_any_spans(documents, labels):
    ours = score(documents, labels=labels)
    assert_same(ours, by_nervaluate([gold for gold, _ in documents], [pred for _, pred in documents], labels))


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
