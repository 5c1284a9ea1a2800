"""`annotator preannotate` and `annotator export --origin ... --format jsonl`."""

from __future__ import annotations

import json

import pytest

from annotator.cli import main
from annotator.labels import spans_errors
from tests.factories import make_article, make_span, make_user
from tests.services.test_preannotate_pieces import MARKER, ruler_pipeline

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday."


def gold_fields(spans):
    """Return exported spans without Prodigy's token indices: the gold format of the guidelines."""
    return [{key: value for key, value in span.items() if not key.startswith("token_")} for span in spans]


@pytest.mark.model
def test_preannotate_then_export_model_spans(runner, db_session, tmp_path):
    make_article(db_session, external_id="a1", text=TEXT)
    result = runner.invoke(main, ["preannotate", "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    assert "Pre-annotated 1 articles" in result.output
    out = tmp_path / "model.jsonl"
    result = runner.invoke(main, ["export", "--origin", "model", "--format", "jsonl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    [document] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert document["id"] == "a1" and document["text"] == TEXT
    assert spans_errors(TEXT, document["spans"]) == []
    by_text = {TEXT[s["start"] : s["end"]]: s for s in document["spans"]}
    assert by_text["nine soldiers"]["attrs"]["count"] == 9
    assert by_text["Helmand province"]["label"] == "LOCATION"


def test_preannotate_names_the_article_it_failed_on_and_exits_non_zero(runner, db_session, monkeypatch):
    monkeypatch.setattr("annotator.nlp.load_pipeline", lambda model=None: ruler_pipeline(failing=True))
    make_article(db_session, external_id="good", text=TEXT)
    make_article(db_session, external_id="bad-one", text=f"Kabul {MARKER}")

    result = runner.invoke(main, ["preannotate"])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Pre-annotated 1 articles" in result.stderr
    assert "Skipped 1 article the pipeline failed on" in result.stderr
    assert "  bad-one: RuntimeError: refusing a text with the marker" in result.stderr.splitlines()
    assert result.stdout == ""


def test_preannotate_exits_zero_when_every_article_is_done(runner, db_session, monkeypatch):
    monkeypatch.setattr("annotator.nlp.load_pipeline", lambda model=None: ruler_pipeline(failing=True))
    make_article(db_session, external_id="good", text=TEXT)

    result = runner.invoke(main, ["preannotate"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Pre-annotated 1 articles")
    assert "Skipped" not in result.output


def test_export_gold_round_trips_through_import(runner, db_session, tmp_path):
    article = make_article(db_session, external_id="g1", text=TEXT)
    make_span(db_session, article, start=0, end=16, label="ACTOR")
    attrs = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
    make_span(db_session, article, start=24, end=37, label="CASUALTY", attrs=attrs)
    make_article(db_session, external_id="no-gold", text="Nothing here.")
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(main, ["export", "--origin", "gold", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["g1"]
    assert gold_fields(json.loads(lines[0])["spans"]) == [
        {"start": 0, "end": 16, "label": "ACTOR"},
        {"start": 24, "end": 37, "label": "CASUALTY", "attrs": attrs},
    ]
    # Importing the export again changes nothing.
    result = runner.invoke(main, ["import", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 new articles, 1 unchanged" in result.output
    assert "0 spans added" in result.output


def test_export_annotator_spans_of_one_user(runner, db_session, tmp_path):
    ann, bob = make_user(db_session, username="ann"), make_user(db_session, username="bob")
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    make_span(db_session, article, start=41, end=48, label="LOCATION", origin="annotator", owner=bob)
    out = tmp_path / "ann.jsonl"
    result = runner.invoke(main, ["export", "--origin", "annotator:ann", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert gold_fields(json.loads(out.read_text())["spans"]) == [{"start": 0, "end": 7, "label": "ACTOR"}]


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("annotator:nobody", "no user named 'nobody'"),
        ("everyone", "origin must be gold, model, model:SOURCE, annotator:NAME or annotators"),
        ("model:nobody", "no predictions from source 'nobody'"),
    ],
)
def test_export_rejects_bad_origin_and_writes_no_file(runner, tmp_path, origin, message):
    out = tmp_path / "x.jsonl"
    result = runner.invoke(main, ["export", "--origin", origin, "-o", str(out)])
    assert result.exit_code == 1
    assert message in result.output
    assert not out.exists()
