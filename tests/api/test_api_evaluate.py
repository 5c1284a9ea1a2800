"""POST /api/v1/evaluate and GET /api/v1/agreement: the CLI's JSON, over HTTP, with sources that load nothing."""

from __future__ import annotations

import json

import pytest

from annotator.cli import main
from annotator.models import AnnotationState
from annotator.services.predictions import store_predictions
from tests.api.conftest import bearer, token_for
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}


def at(part: str) -> dict:
    start = TEXT.index(part)
    return {"start": start, "end": start + len(part)}


GOLD = [
    {**at("Taliban fighters"), "label": "ACTOR"},
    {**at("nine soldiers"), "label": "CASUALTY", "attrs": NINE},
    {**at("Helmand province"), "label": "LOCATION"},
]
CRF = [
    {**at("Taliban"), "label": "ACTOR"},
    {**at("nine soldiers"), "label": "CASUALTY", "attrs": {**NINE, "count": 8}},
]


@pytest.fixture
def scored(db_session):
    """Two articles with gold; the pre-annotator on one, source crf on both; ann and bob accepted a1."""
    ann = make_user(db_session, username="ann")
    bob = make_user(db_session, username="bob")
    a1 = make_article(db_session, external_id="a1", text=TEXT)
    a2 = make_article(db_session, external_id="a2", text=TEXT + " More.")
    for article in (a1, a2):
        for span in GOLD:
            make_span(db_session, article, origin="gold", **span)
    a1.preannotated_with = "test"
    db_session.add(a1)
    make_span(db_session, a1, origin="model", label="LOCATION", **at("Helmand province"))
    store_predictions(db_session, "a1", "crf", CRF, user=None)
    store_predictions(db_session, "a2", "crf", [], user=None)
    for user, spans in ((ann, GOLD), (bob, CRF[:1])):
        for span in spans:
            make_span(db_session, a1, origin="annotator", owner=user, **span)
        db_session.add(AnnotationState(article_id=a1.id, user_id=user.id, status="accepted"))
    db_session.commit()
    return bearer(token_for(db_session, "rev", "reviewer"))


def cli_json(runner, *args: str):
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(
    ("gold", "pred", "labels"),
    [
        ("gold", "model", None),
        ("gold", "model:crf", None),
        ("gold", "model:preannotator", ["LOCATION"]),
        ("annotator:ann", "annotator:bob", ["actor", "CASUALTY"]),
    ],
)
def test_evaluate_answers_what_the_cli_prints(client, runner, scored, gold, pred, labels):
    body = {"gold": gold, "pred": pred} | ({"labels": labels} if labels else {})
    response = client.post("/api/v1/evaluate", json=body, headers=scored)
    assert response.status_code == 200, response.json
    args = ["evaluate", "--gold", gold, "--pred", pred, "--json"]
    if labels:
        args += ["--labels", ",".join(labels)]
    assert response.json == cli_json(runner, *args)


def test_evaluate_scores_one_source_against_gold(client, scored):
    report = client.post("/api/v1/evaluate", json={"gold": "gold", "pred": "model:crf"}, headers=scored).json
    # a2 was predicted with nothing: its three gold spans are missed, not left out.
    assert report["documents"] == 2 and report["unmatched"] == []
    strict = report["micro"]["strict"]
    assert (strict["correct"], strict["incorrect"], strict["missed"]) == (1, 1, 4)
    assert report["casualty_attrs"]["attributes"]["count"]["correct"] == 0


def test_inline_documents_are_scored_like_a_file(client, runner, scored, tmp_path):
    predicted = [{"id": "a1", "text": TEXT, "spans": CRF}]
    response = client.post("/api/v1/evaluate", json={"pred": {"documents": predicted}}, headers=scored)
    assert response.status_code == 200, response.json
    path = tmp_path / "pred.jsonl"
    path.write_text("".join(json.dumps(document) + "\n" for document in predicted))
    expected = cli_json(runner, "evaluate", "--pred", str(path), "--json")
    assert response.json == {**expected, "pred": "inline (1 document)"}


def test_both_sides_may_be_inline_and_overlap(client, scored):
    gold = {"documents": [{"id": 1, "text": TEXT, "spans": GOLD}]}
    overlapping = [*GOLD, {**at("Taliban"), "label": "ACTOR"}]
    pred = {"documents": [{"id": "1", "text": TEXT, "spans": overlapping}]}
    report = client.post("/api/v1/evaluate", json={"gold": gold, "pred": pred}, headers=scored).json
    assert report["gold"] == "inline (1 document)"
    # Scored as nervaluate does: "Taliban" comes first and takes the gold span "Taliban fighters".
    assert report["micro"]["strict"]["correct"] == 2 and report["overlapping"] == {"gold": 0, "pred": 2}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"pred": "/etc/passwd"}, "never a file on the server"),
        ({"pred": "predictions.jsonl"}, "never a file on the server"),
        ({"gold": "tests/data/x.jsonl", "pred": "model"}, "never a file on the server"),
        ({"pred": "pipeline:en_core_web_sm"}, "would load code"),
        ({"pred": "pipeline:"}, "would load code"),
        ({"pred": "annotators"}, "never a file on the server"),
        ({"pred": "model:nothing"}, "no predictions from source 'nothing'"),
        ({"pred": "annotator:nobody"}, "no user named 'nobody'"),
        ({"pred": "model", "labels": ["PERSON"]}, "labels must be among"),
        (
            {
                "pred": {
                    "documents": [
                        {"id": "x", "text": "Kabul", "spans": [{"start": 0, "end": 9, "label": "LOCATION"}]}
                    ]
                }
            },
            "pred.documents[0]: span 0: span [0, 9) lies outside",
        ),
        ({"pred": {"documents": [{"id": "", "text": "Kabul"}]}}, "pred.documents[0]: id must be"),
        ({"pred": {"documents": [{"id": "x", "text": " "}]}}, "text must be a non-empty string"),
        ({"gold": "gold"}, "pred"),
    ],
)
def test_sources_that_are_no_origin_or_bad_documents_get_422(client, scored, body, detail):
    response = client.post("/api/v1/evaluate", json=body, headers=scored)
    assert response.status_code == 422
    assert any(detail in line for line in response.json["details"]), response.json


def test_agreement_answers_what_the_cli_prints(client, runner, scored):
    response = client.get("/api/v1/agreement", headers=scored)
    assert response.status_code == 200
    assert response.json == cli_json(runner, "agreement", "--json")
    assert response.json["articles"] == 1 and response.json["annotators"] == ["ann", "bob"]
    response = client.get("/api/v1/agreement?annotators=ann,bob&labels=actor", headers=scored)
    assert response.json == cli_json(
        runner, "agreement", "--annotator", "ann", "--annotator", "bob", "--labels", "ACTOR", "--json"
    )
    assert response.json["labels"] == ["ACTOR"]


def test_agreement_refuses_unknown_names_and_labels(client, scored):
    response = client.get("/api/v1/agreement?annotators=ann,nobody", headers=scored)
    assert response.status_code == 404 and "nobody" in response.json["error"]
    response = client.get("/api/v1/agreement?labels=PERSON", headers=scored)
    assert response.status_code == 422 and "PERSON" in response.json["error"]
