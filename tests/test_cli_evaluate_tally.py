"""`annotator evaluate`'s tally section: each article's predicted tally against its gold tally."""

from __future__ import annotations

import json

import pytest

from annotator.cli import main
from tests.tally_world import TEXT, build_world


@pytest.fixture
def world(runner, db_session, tmp_path):
    build_world(runner, db_session, tmp_path)


def test_evaluate_json_reports_tally_accuracy(runner, world):
    result = runner.invoke(main, ["evaluate", "--gold", "gold", "--pred", "model", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # Span scores: t1 and t3 only; t2 is gold by its tally alone.
    assert data["documents"] == 2
    tally = data["tally"]
    assert (tally["articles"], tally["from_gold_tallies"], tally["unmatched"]) == (3, 1, [])
    # killed: t1 57 = 57, t2 3 vs 0, t3 0 vs 5.
    assert tally["killed"] == {
        "total_correct": 1,
        "total_accuracy": pytest.approx(1 / 3),
        "total_mae": pytest.approx(8 / 3),
    }
    assert tally["wounded"] == {"total_correct": 3, "total_accuracy": 1.0, "total_mae": 0.0}
    # Reports anyone killed: t1 found, t2 missed, t3 not in gold.
    assert tally["killed_reported"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1}


def test_a_stored_gold_tally_replaces_the_tally_of_gold_spans(runner, world, tmp_path):
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps({"id": "t1", "text": TEXT, "tally": {"killed": {"total": 60}}}) + "\n")
    assert runner.invoke(main, ["import", "--origin", "gold", str(path)]).exit_code == 0
    result = runner.invoke(main, ["evaluate", "--gold", "gold", "--pred", "model", "--json"])
    tally = json.loads(result.output)["tally"]
    assert (tally["from_gold_tallies"], tally["killed"]["total_correct"]) == (2, 0)
    assert tally["killed"]["total_mae"] == pytest.approx((3 + 3 + 5) / 3)


def test_evaluate_prints_a_tally_table(runner, world):
    result = runner.invoke(main, ["evaluate", "--gold", "gold", "--pred", "model"])
    assert result.exit_code == 0, result.output
    assert "Article tally on 3 articles (1 from a stored gold tally):" in result.output
    lines = result.output.splitlines()
    assert next(line for line in lines if line.startswith("  killed ")).split() == [
        "killed",
        "1/3",
        "0.333",
        "2.667",
    ]
    assert "reports anyone killed: P 0.500 R 0.500 F1 0.500 (tp/fp/fn 1/1/1)" in result.output


def test_an_annotators_version_as_gold_never_reads_stored_gold_tallies(runner, world):
    result = runner.invoke(main, ["evaluate", "--gold", "model", "--pred", "model", "--json"])
    tally = json.loads(result.output)["tally"]
    assert (tally["articles"], tally["from_gold_tallies"]) == (3, 0)
    assert tally["killed"]["total_correct"] == 3
