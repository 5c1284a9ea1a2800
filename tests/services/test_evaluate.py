"""Scoring schemes, casualty attributes, matching documents, and the sources evaluate reads."""

from __future__ import annotations

import json

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotator.services.evaluate import (
    SCHEMES,
    BadSource,
    evaluate,
    evaluate_sources,
    match_documents,
    read_jsonl,
    score,
)
from annotator.services.gold import Document
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def span(start, end, label, attrs=None):
    return {"start": start, "end": end, "label": label, "attrs": attrs or {}}


def outcome(evaluation, label=None):
    """Return per scheme the non-zero counts, e.g. {"strict": "incorrect", "partial": "partial"}."""
    schemes = evaluation.micro if label is None else evaluation.per_label[label]
    names = ("correct", "incorrect", "partial", "missed", "spurious")
    return {
        scheme: " ".join(f"{name}" for name in names if getattr(schemes[scheme], name)) for scheme in SCHEMES
    }


# The cases of SemEval-2013 task 9.1 as nervaluate's documentation lays them out.
@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ([span(0, 7, "ACTOR")], [span(0, 7, "ACTOR")],
         {"strict": "correct", "exact": "correct", "partial": "correct", "ent_type": "correct"}),
        ([span(0, 7, "ACTOR")], [span(0, 7, "LOCATION")],
         {"strict": "incorrect", "exact": "correct", "partial": "correct", "ent_type": "incorrect"}),
        ([span(0, 16, "ACTOR")], [span(0, 7, "ACTOR")],
         {"strict": "incorrect", "exact": "incorrect", "partial": "partial", "ent_type": "correct"}),
        ([span(0, 16, "ACTOR")], [span(8, 16, "LOCATION")],
         {"strict": "incorrect", "exact": "incorrect", "partial": "partial", "ent_type": "incorrect"}),
        ([], [span(41, 48, "LOCATION")],
         {"strict": "spurious", "exact": "spurious", "partial": "spurious", "ent_type": "spurious"}),
        ([span(41, 48, "LOCATION")], [],
         {"strict": "missed", "exact": "missed", "partial": "missed", "ent_type": "missed"}),
    ],
)  # fmt: skip
def test_each_scheme_counts_as_semeval_does(gold, pred, expected):
    assert outcome(score([(gold, pred)])) == expected


def test_partial_matches_earn_half_credit_in_partial_and_ent_type_only():
    evaluation = score([([span(0, 16, "ACTOR"), span(24, 37, "CASUALTY")], [span(0, 7, "ACTOR")])])
    assert evaluation.micro["partial"].to_dict() == {
        "precision": 0.5,
        "recall": 0.25,
        "f1": pytest.approx(1 / 3),
        "correct": 0,
        "incorrect": 0,
        "partial": 1,
        "missed": 1,
        "spurious": 0,
        "possible": 2,
        "actual": 1,
    }
    assert evaluation.micro["strict"].precision == 0


def test_a_label_confusion_is_incorrect_in_micro_but_missed_and_spurious_per_label():
    evaluation = score([([span(0, 7, "ACTOR")], [span(0, 7, "LOCATION")])])
    assert outcome(evaluation)["strict"] == "incorrect"
    assert outcome(evaluation, "ACTOR")["strict"] == "missed"
    assert outcome(evaluation, "LOCATION")["strict"] == "spurious"
    assert outcome(evaluation, "CASUALTY")["strict"] == ""


def test_labels_not_asked_for_are_ignored_on_both_sides():
    evaluation = score([([span(0, 7, "ACTOR")], [span(0, 7, "LOCATION")])], labels=("ACTOR",))
    assert list(evaluation.per_label) == ["ACTOR"]
    assert outcome(evaluation)["strict"] == "missed"


def test_casualty_attributes_are_compared_on_strict_matches():
    wrong = {**NINE, "count": 12, "group": "civilian"}
    vague = {**NINE, "count": None, "qualifier": "vague"}
    gold = [span(0, 7, "CASUALTY", NINE), span(10, 17, "CASUALTY", NINE), span(20, 27, "CASUALTY", vague)]
    # The third is a boundary miss: not strict, so its attributes are not compared.
    pred = [span(0, 7, "CASUALTY", NINE), span(10, 17, "CASUALTY", wrong), span(20, 26, "CASUALTY", vague)]
    attrs = score([(gold, pred)]).casualty_attrs.to_dict()
    assert attrs == {
        "matched": 2,
        "attributes": {
            "count": {"correct": 1, "accuracy": 0.5},
            "qualifier": {"correct": 2, "accuracy": 1.0},
            "outcome": {"correct": 2, "accuracy": 1.0},
            "group": {"correct": 1, "accuracy": 0.5},
        },
        "count_mae": 1.5,
        "count_pairs": 2,
    }


def test_casualty_attributes_without_matches_have_no_accuracy():
    attrs = score([([span(0, 7, "ACTOR")], [span(0, 7, "ACTOR")])]).casualty_attrs.to_dict()
    assert attrs["matched"] == 0 and attrs["count_mae"] is None
    assert attrs["attributes"]["count"] == {"correct": 0, "accuracy": None}


def test_documents_match_by_id_then_by_text():
    gold = [
        Document("a", "Text A.", []),
        Document("b", "Text B.", []),
        Document("c", "Text C.", []),
        Document("d", "Text D.", []),
    ]
    predicted = [
        Document("a", "Text A.", []),
        Document("other-id", "Text B.", []),
        Document("c", "Text C, edited.", []),
    ]
    evaluation = evaluate(gold, predicted)
    assert evaluation.documents == 2
    assert evaluation.unmatched == ["d"]
    assert evaluation.text_differs == ["c"]
    pairs, unmatched, text_differs = match_documents(gold, predicted)
    assert [(one.id, other.id) for one, other in pairs] == [("a", "a"), ("b", "other-id")]
    assert (unmatched, text_differs) == (["d"], ["c"])


def test_to_dict_has_micro_per_label_and_casualty_attrs():
    result = evaluate(
        [Document("a", TEXT, [span(0, 7, "ACTOR")])], [Document("a", TEXT, [span(0, 7, "ACTOR")])]
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["micro"]) == set(SCHEMES)
    assert set(data["per_label"]) == {"ACTOR", "LOCATION", "CASUALTY"}
    assert data["micro"]["strict"]["f1"] == 1.0
    assert set(data["casualty_attrs"]) == {"matched", "attributes", "count_mae", "count_pairs"}


def test_table_shows_every_scheme_and_label():
    table = evaluate([Document("a", TEXT, [span(0, 7, "ACTOR")])], [Document("a", TEXT, [])]).table()
    lines = table.splitlines()
    assert lines[2].split() == [
        "scheme", "label", "correct", "incorrect", "partial", "missed", "spurious", "P", "R", "F1"
    ]  # fmt: skip
    assert lines[3].split() == ["strict", "micro", "0", "0", "0", "1", "0", "0.000", "0.000", "0.000"]
    assert sum(line.split()[0] in SCHEMES for line in lines[3:] if line.strip()) == 4
    assert "CASUALTY attributes on 0 strict matches:" in table


# --- sources ------------------------------------------------------------------------


def write_jsonl(path, documents):
    path.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
    return path


def test_a_jsonl_source_is_read_in_the_gold_format(tmp_path):
    path = write_jsonl(tmp_path / "gold.jsonl", [{"id": 7, "text": TEXT, "spans": [span(0, 7, "ACTOR")]}])
    [document] = read_jsonl(path)
    assert (document.id, document.text, document.spans) == ("7", TEXT, [span(0, 7, "ACTOR")])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.jsonl", "no such file"),
        ("bad.jsonl", "unknown label 'PERSON'"),
        ("notes.txt", "expected a .jsonl file"),
    ],
)
def test_a_bad_file_source_is_refused(tmp_path, source, message):
    write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "text": TEXT, "spans": [span(0, 7, "PERSON")]}])
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BadSource, match=message):
        read_jsonl(tmp_path / source)


def test_origins_in_the_database_are_sources(session, tmp_path):
    ann = make_user(session, username="ann")
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=0, end=16, label="ACTOR")
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    evaluation = evaluate_sources(session, "gold", "annotator:ann")
    assert outcome(evaluation)["strict"] == "incorrect"
    file = write_jsonl(tmp_path / "pred.jsonl", [{"id": "a1", "text": TEXT, "spans": [span(0, 16, "ACTOR")]}])
    assert evaluate_sources(session, "gold", str(file)).micro["strict"].f1 == 1.0


@pytest.mark.parametrize(
    ("gold", "pred", "message"),
    [
        ("pipeline:en_core_web_sm", "gold", "cannot be the gold"),
        ("gold", "annotator:nobody", "no user named 'nobody'"),
        ("gold", "annotator:", "origin must be gold, model, model:SOURCE or annotator:NAME"),
        ("gold", "model:nobody", "no predictions from source 'nobody'"),
    ],
)
def test_bad_sources_are_refused(session, gold, pred, message):
    with pytest.raises(BadSource, match=message):
        evaluate_sources(session, gold, pred)


def test_bad_labels_are_refused(session):
    with pytest.raises(BadSource, match="labels must be among"):
        evaluate_sources(session, "gold", "model", labels=("PERSON",))


def test_a_pipeline_source_runs_on_the_gold_texts(session):
    make_span(session, make_article(session, external_id="a1", text=TEXT), start=0, end=7, label="ACTOR")
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": "ACTOR", "pattern": "Taliban"}, {"label": "LOCATION", "pattern": "Helmand"}]
    )
    evaluation = evaluate_sources(session, "gold", "pipeline:test", nlp=nlp)
    assert outcome(evaluation)["strict"] == "correct spurious"
    assert evaluation.pred == "pipeline:test"


# Ways a record can be wrong (or odd but valid), one at a time.
_DEFECTS = [
    None,
    None,
    ("id", " b "),
    ("id", 3),
    ("id", True),
    ("id", ""),
    ("id", "x" * 256),
    ("id", ...),
    ("text", "   "),
    ("text", "a\x00b"),
    ("text", 7),
    ("text", "\ud800 lone"),
    ("text", ...),
    ("spans", None),
    ("spans", ...),
    ("spans", "none"),
    ("spans", [{"start": True, "end": 3, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 3.0, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 3, "label": "PERSON"}]),
    ("spans", [{"start": 0, "end": 99, "label": "ACTOR"}]),
    ("spans", [{"start": 3, "end": 3, "label": "ACTOR"}]),
    ("spans", [{"start": 8, "end": 16, "label": "ACTOR"}, {"start": 0, "end": 7, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 16, "label": "ACTOR"}, {"start": 8, "end": 16, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 7, "label": "ACTOR"}, {"start": 0, "end": 7, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 16, "label": "ACTOR"}, {"start": 8, "end": 99, "label": "ACTOR"}]),
    ("spans", [{"start": 0, "end": 7, "label": "ACTOR", "attrs": []}]),
    ("spans", [{"start": 0, "end": 7, "label": "ACTOR", "attrs": NINE}]),
    ("spans", [{"start": 0, "end": 7, "label": "CASUALTY", "attrs": {"count": -1}}]),
    ("spans", [{"start": 0, "end": 7, "label": "CASUALTY", "attrs": {"count": 9.0}}]),
    ("spans", [{"start": 0, "end": 7, "label": "CASUALTY", "attrs": None}]),
    ("spans", "odd"),
    ("line", "[1]"),
    ("line", "{nan"),
    ("line", '{"id": "n", "text": "x", "v": NaN}'),
]


def _line(defect) -> str:
    record = {"id": "a", "text": TEXT, "spans": [span(0, 7, "ACTOR"), span(24, 37, "CASUALTY", NINE)]}
    if defect is None:
        return json.dumps(record)
    field_, value = defect
    if field_ == "line":
        return value
    if value is ...:
        del record[field_]
    else:
        record[field_] = value
    return json.dumps(record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_DEFECTS).map(_line), max_size=3))
def test_reading_a_jsonl_source_agrees_with_the_importer(tmp_path_factory, lines):
    from annotator.services.importer import Problems, read_file

    path = tmp_path_factory.mktemp("jsonl") / "source.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    problems = Problems()
    # Evaluation scores overlapping spans, which an import refuses.
    records = read_file(path, problems, allow_overlaps=True)
    if problems:
        with pytest.raises(BadSource):
            read_jsonl(path)
    else:
        assert [(d.id, d.text, d.spans) for d in read_jsonl(path)] == [
            (record.external_id, record.text, record.spans) for record in records
        ]


def test_a_source_with_overlapping_spans_is_read_and_counted(tmp_path):
    spans = [span(24, 37, "CASUALTY", NINE), span(0, 16, "ACTOR"), span(29, 37, "ACTOR"), span(0, 7, "ACTOR")]
    path = write_jsonl(tmp_path / "pred.jsonl", [{"id": "a", "text": TEXT, "spans": spans}])
    assert read_jsonl(path)[0].spans == spans
    gold = write_jsonl(tmp_path / "gold.jsonl", [{"id": "a", "text": TEXT, "spans": [span(0, 16, "ACTOR")]}])
    evaluation = evaluate_sources(None, str(gold), str(path))
    assert evaluation.overlapping == {"gold": 0, "pred": 4}
    assert evaluation.to_dict()["overlapping"] == {"gold": 0, "pred": 4}
    assert "Note: 4 predicted spans overlap another predicted span; scored as nervaluate does." in (
        evaluation.table()
    )
    assert "gold spans overlap" not in evaluation.table()
    # Counted among the labels scored only: without CASUALTY, "soldiers" overlaps nothing.
    assert evaluate_sources(None, str(gold), str(path), labels=("ACTOR",)).overlapping["pred"] == 2
    assert evaluate_sources(None, str(gold), str(path), labels=("CASUALTY",)).overlapping["pred"] == 0


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            [span(0, 16, "ACTOR"), span(60, 99, "LOCATION")],
            r"pred\.jsonl:2: span 1: span \[60, 99\) lies outside",
        ),
        ([span(0, 16, "ACTOR"), span(0, 7, "PERSON")], r"pred\.jsonl:2: span 1: unknown label 'PERSON'"),
        (
            [span(0, 16, "ACTOR"), {"start": 0, "end": 7.0, "label": "ACTOR"}],
            r"pred\.jsonl:2: span 1: end must be an integer, not 7\.0",
        ),
    ],
)
def test_overlapping_spans_leave_other_problems_named_by_file_and_line(tmp_path, second, message):
    path = tmp_path / "pred.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": TEXT, "spans": [span(0, 16, "ACTOR"), span(0, 7, "ACTOR")]})
        + "\n"
        + json.dumps({"id": "b", "text": TEXT, "spans": second})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(BadSource, match=message) as raised:
        read_jsonl(path)
    assert "overlaps" not in str(raised.value)


def test_overlapping_spans_in_the_database_are_scored_and_counted(session):
    article = make_article(session, external_id="a1", text=TEXT)
    article.preannotated_with = "test"  # model spans count for pre-annotated articles only
    make_span(session, article, start=0, end=16, label="ACTOR")
    for start, end, label in ((0, 7, "ACTOR"), (0, 16, "ACTOR"), (8, 16, "ACTOR")):
        make_span(session, article, start=start, end=end, label=label, origin="model")
    evaluation = evaluate_sources(session, "gold", "model")
    assert evaluation.overlapping == {"gold": 0, "pred": 3}
    # nervaluate's greedy order: (0, 7) takes the gold span as incorrect, the other two are spurious.
    assert outcome(evaluation)["strict"] == "incorrect spurious"
