"""`annotator agreement [--annotator NAME ...] [--labels L,...] [--json]`."""

from __future__ import annotations

import json

import pytest

from annotator.cli import main
from annotator.models import AnnotationState
from annotator.services.agreement import compute
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
ANN = [
    {"start": 0, "end": 16, "label": "ACTOR"},
    {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE},
    {"start": 41, "end": 57, "label": "LOCATION"},
]
BOB = [
    {"start": 0, "end": 7, "label": "ACTOR"},
    {"start": 24, "end": 37, "label": "CASUALTY", "attrs": {**NINE, "count": 8}},
    {"start": 41, "end": 57, "label": "LOCATION"},
]
CY = [{"start": 41, "end": 57, "label": "LOCATION"}]


def add_version(session, article, user, spans, status="accepted"):
    for span in spans:
        make_span(session, article, origin="annotator", owner=user, **span)
    session.add(AnnotationState(article_id=article.id, user_id=user.id, status=status))
    session.commit()


@pytest.fixture
def team(db_session):
    ann, bob, cy = (make_user(db_session, username=name) for name in ("ann", "bob", "cy"))
    make_user(db_session, username="dee")
    a1 = make_article(db_session, external_id="a1", text=TEXT)
    a2 = make_article(db_session, external_id="a2", text=TEXT)
    add_version(db_session, a1, ann, ANN)
    add_version(db_session, a1, bob, BOB)
    add_version(db_session, a1, cy, CY)
    add_version(db_session, a2, ann, ANN)
    add_version(db_session, a2, bob, ANN)
    add_version(db_session, a2, cy, CY, status="in_progress")
    return {"a1": {"ann": ANN, "bob": BOB, "cy": CY}, "a2": {"ann": ANN, "bob": ANN}}


def test_agreement_prints_json(runner, team):
    result = runner.invoke(main, ["agreement", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    expected = compute(team, dict.fromkeys(team, TEXT)).to_dict()
    for article in data["per_article"]:
        assert isinstance(article.pop("article_id"), int)
    for article in expected["per_article"]:
        article.pop("article_id")
    assert data == json.loads(json.dumps(expected))
    assert data["articles"] == 2
    assert data["annotators"] == ["ann", "bob", "cy"]
    assert list(data["pairwise"]) == ["ann|bob", "ann|cy", "bob|cy"]
    assert data["pairwise"]["ann|bob"]["strict"]["micro"]["f1"] == pytest.approx(5 / 6)
    assert data["pairwise"]["ann|cy"]["articles"] == 1
    assert data["casualty_attrs"]["count"] == 0.5
    assert data["vs_model"] == {"ann": None, "bob": None, "cy": None}


def test_agreement_prints_a_table(runner, team):
    result = runner.invoke(main, ["agreement"])
    assert result.exit_code == 0, result.output
    assert "Agreement over 2 articles that two or more of 3 annotators accepted" in result.output
    assert "Span F1, strict (same start, end and label):" in result.output
    assert "Krippendorff's alpha (nominal)" in result.output
    assert "CASUALTY attributes that agree, on 2 strict matches: count 0.500" in result.output


def test_agreement_of_named_annotators_and_labels(runner, team):
    result = runner.invoke(
        main, ["agreement", "--annotator", "ann", "--annotator", "cy", "--labels", "location", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["articles"], data["annotators"], data["labels"]) == (1, ["ann", "cy"], ["LOCATION"])
    assert data["pairwise"]["ann|cy"]["strict"]["micro"]["f1"] == 1.0
    assert data["overall"]["krippendorff_alpha"] == 1.0


def test_unknown_annotators_are_one_line(runner, team):
    result = runner.invoke(main, ["agreement", "--annotator", "ann", "--annotator", "zed"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no user named 'zed'"


def test_an_unknown_label_is_refused(runner, team):
    result = runner.invoke(main, ["agreement", "--labels", "PERSON"])
    assert result.exit_code == 2
    assert "unknown label PERSON" in result.output


@pytest.mark.parametrize("args", [[], ["--annotator", "ann"], ["--annotator", "cy", "--annotator", "dee"]])
def test_nothing_to_compare_is_one_line(runner, db_session, args):
    ann = make_user(db_session, username="ann")
    make_user(db_session, username="cy")
    make_user(db_session, username="dee")
    add_version(db_session, make_article(db_session, external_id="a1", text=TEXT), ann, ANN)
    result = runner.invoke(main, ["agreement", *args])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("No article was accepted by two or more annotators")
    result = runner.invoke(main, ["agreement", "--json", *args])
    data = json.loads(result.output)
    assert data["articles"] == 0
    assert data["overall"]["mean_pairwise_f1"] == {"strict": None, "lenient": None}
    assert data["overall"]["krippendorff_alpha"] is None
