"""`annotator evaluate --gold SOURCE --pred SOURCE [--json] [--labels ...]`."""

from __future__ import annotations

import json

import pytest

from annotator.cli import main
from annotator.services.evaluate import SCHEMES
from tests.conftest import DATA
from tests.factories import make_article, make_span

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
SEED_GOLD = sorted(DATA.glob("*.jsonl"))


def write_jsonl(path, spans, *, id_="a1"):
    path.write_text(json.dumps({"id": id_, "text": TEXT, "spans": spans}) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    gold = write_jsonl(
        tmp_path / "gold.jsonl",
        [
            {"start": 0, "end": 16, "label": "ACTOR"},
            {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE},
            {"start": 41, "end": 57, "label": "LOCATION"},
        ],
    )
    pred = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {"start": 0, "end": 7, "label": "ACTOR"},
            {"start": 24, "end": 37, "label": "CASUALTY", "attrs": {**NINE, "count": 7}},
            {"start": 41, "end": 57, "label": "ACTOR"},
        ],
        id_="renamed",  # matched by text
    )
    return gold, pred


def test_evaluate_prints_json(runner, files):
    gold, pred = files
    result = runner.invoke(main, ["evaluate", "--gold", gold, "--pred", pred, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 1
    assert set(data["micro"]) == set(SCHEMES)
    assert {
        name: data["micro"]["strict"][name] for name in ("correct", "incorrect", "missed", "spurious")
    } == {
        "correct": 1,
        "incorrect": 2,
        "missed": 0,
        "spurious": 0,
    }
    assert data["micro"]["ent_type"]["correct"] == 2
    assert data["per_label"]["LOCATION"]["strict"]["missed"] == 1
    assert data["casualty_attrs"]["attributes"]["count"]["accuracy"] == 0.0
    assert data["casualty_attrs"]["count_mae"] == 2.0


def test_evaluate_prints_a_table(runner, files):
    gold, pred = files
    result = runner.invoke(main, ["evaluate", "--gold", gold, "--pred", pred])
    assert result.exit_code == 0, result.output
    assert f"Gold: {gold}; predicted: {pred}; 1 document compared." in result.output
    assert "strict    micro            1         2" in result.output
    assert (
        "count      accuracy 0.000 (0/1); mean absolute error 2.000 over 1 pairs with counts" in result.output
    )


@pytest.mark.parametrize(
    "labels", [["--labels", "actor,LOCATION"], ["--labels", "ACTOR", "--labels", "LOCATION"]]
)
def test_evaluate_scores_only_the_labels_asked_for(runner, files, labels):
    gold, pred = files
    result = runner.invoke(main, ["evaluate", "--gold", gold, "--pred", pred, "--json", *labels])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data["per_label"]) == ["ACTOR", "LOCATION"]
    assert data["micro"]["strict"]["possible"] == 2


def test_evaluate_rejects_an_unknown_label(runner, files):
    result = runner.invoke(main, ["evaluate", "--gold", files[0], "--pred", files[1], "--labels", "PERSON"])
    assert result.exit_code == 2
    assert "unknown label PERSON" in result.output


def test_evaluate_reports_a_missing_source(runner, tmp_path):
    result = runner.invoke(main, ["evaluate", "--pred", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1
    assert "none.jsonl: no such file" in result.output


def test_evaluate_reads_origins_from_the_database(runner, db_session, files):
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_span(db_session, article, start=0, end=16, label="ACTOR")
    make_span(db_session, article, start=0, end=16, label="ACTOR", origin="model")
    # Model spans count once the article is marked pre-annotated; until then it has no prediction.
    result = runner.invoke(main, ["evaluate", "--pred", "model", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["unmatched"] == ["a1"]
    article.preannotated_with = "test"
    db_session.add(article)
    db_session.commit()
    result = runner.invoke(main, ["evaluate", "--pred", "model", "--json"])
    assert json.loads(result.output)["micro"]["strict"]["f1"] == 1.0
    result = runner.invoke(main, ["evaluate", "--gold", files[0], "--pred", "gold", "--json"])
    assert json.loads(result.output)["micro"]["strict"]["missed"] == 2


@pytest.mark.model
def test_evaluate_runs_the_pre_annotator_on_the_gold_texts(runner):
    result = runner.invoke(main, ["evaluate", "--gold", str(SEED_GOLD[0]), "--pred", "pipeline:", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["documents"] == 1
    assert data["micro"]["strict"]["possible"] == sum(
        len(json.loads(line)["spans"]) for line in SEED_GOLD[0].read_text(encoding="utf-8").splitlines()
    )
    assert data["micro"]["strict"]["f1"] > 0.5


def test_evaluate_scores_overlapping_predictions_and_notes_them(runner, files, tmp_path):
    gold, _ = files
    # An extractor's output with nested and overlapping spans, the CASUALTY one holding an ACTOR.
    pred = write_jsonl(
        tmp_path / "overlapping.jsonl",
        [
            {"start": 0, "end": 16, "label": "ACTOR"},
            {"start": 0, "end": 7, "label": "ACTOR"},
            {"start": 24, "end": 37, "label": "CASUALTY", "attrs": NINE},
            {"start": 29, "end": 37, "label": "ACTOR"},
            {"start": 41, "end": 57, "label": "LOCATION"},
        ],
    )
    result = runner.invoke(main, ["evaluate", "--gold", gold, "--pred", pred])
    assert result.exit_code == 0, result.output
    assert (
        "Note: 4 predicted spans overlap another predicted span; scored as nervaluate does." in result.output
    )
    # As nervaluate counts: (0, 7) takes the gold ACTOR as incorrect before (0, 16) can match it.
    assert "strict    micro            2         1        0       0         2" in result.output
    assert "count      accuracy 1.000 (1/1)" in result.output
    result = runner.invoke(main, ["evaluate", "--gold", gold, "--pred", pred, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["overlapping"] == {"gold": 0, "pred": 4}
    assert data["micro"]["strict"]["spurious"] == 2
