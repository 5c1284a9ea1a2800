"""`annotator import`: the command wraps the import service and reports its summary or problems."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from annotator.cli import main
from annotator.models import Article, Span
from annotator.services.importer import MAX_TEXT_LENGTH
from tests.conftest import DATA
from tests.factories import make_user
from tests.services.test_importer import BAD_PARAMS, make_bad_file

SAMPLES = DATA / "import"
ALL_SAMPLES = [str(SAMPLES / "folder"), str(SAMPLES / "articles.jsonl"), str(SAMPLES / "articles.csv")]


def counts(app) -> tuple[int, int]:
    """Return how many articles and spans the app's database holds, read on a fresh connection."""
    with app.extensions["annotator.engine"].connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(Article)).scalar_one(),
            connection.execute(select(func.count()).select_from(Span)).scalar_one(),
        )


def test_import_prints_the_summary(runner, app):
    result = runner.invoke(main, ["import", *ALL_SAMPLES])

    assert result.exit_code == 0, result.output
    assert (
        "4 files: 7 new articles, 0 unchanged, 0 rejected; 12 spans added; gold changed for 3"
        in result.output
    )
    assert counts(app) == (7, 12)


def test_import_again_adds_nothing(runner, app):
    runner.invoke(main, ["import", *ALL_SAMPLES])

    result = runner.invoke(main, ["import", *ALL_SAMPLES])

    assert result.exit_code == 0, result.output
    assert "4 files: 0 new articles, 7 unchanged, 0 rejected; 0 spans added" in result.output
    assert counts(app) == (7, 12)


@pytest.mark.parametrize("origin", ["gold", "model"])
def test_import_with_origin(runner, app, db_session, origin):
    result = runner.invoke(main, ["import", "--origin", origin, str(SAMPLES / "articles.jsonl")])

    assert result.exit_code == 0, result.output
    assert set(db_session.exec(select(Span.origin, Span.owner_id)).all()) == {(origin, None)}


def test_import_for_an_annotator(runner, app, db_session):
    user = make_user(db_session, username="ann")

    result = runner.invoke(main, ["import", "--origin", "annotator:ann", str(SAMPLES / "articles.jsonl")])

    assert result.exit_code == 0, result.output
    assert set(db_session.exec(select(Span.origin, Span.owner_id)).all()) == {("annotator", user.id)}


def test_import_for_an_unknown_annotator_fails(runner, app):
    result = runner.invoke(main, ["import", "--origin", "annotator:bob", str(SAMPLES / "articles.jsonl")])

    assert result.exit_code == 1
    assert "no user named 'bob'" in result.output
    assert "Nothing was imported." in result.output
    assert counts(app) == (0, 0)


def test_import_with_an_invalid_origin_fails(runner, app):
    result = runner.invoke(main, ["import", "--origin", "silver", str(SAMPLES / "articles.jsonl")])

    assert result.exit_code == 1
    assert "origin must be gold, model or annotator:NAME, not 'silver'" in result.output
    assert counts(app) == (0, 0)


def test_import_needs_a_path(runner):
    result = runner.invoke(main, ["import"])

    assert result.exit_code == 2
    assert "Missing argument 'PATHS...'" in result.output


def test_import_help_states_the_text_limit(runner):
    result = runner.invoke(main, ["import", "--help"])

    assert result.exit_code == 0
    assert f"at most {MAX_TEXT_LENGTH:,} characters" in " ".join(result.output.split())


@pytest.mark.parametrize(("name", "content", "line", "problem"), BAD_PARAMS)
def test_import_of_bad_input_fails_and_writes_nothing(runner, app, tmp_path, name, content, line, problem):
    runner.invoke(main, ["import", str(SAMPLES / "articles.csv")])
    before = counts(app)
    bad = make_bad_file(tmp_path, name, content)

    result = runner.invoke(main, ["import", str(SAMPLES / "articles.jsonl"), str(bad)])

    assert result.exit_code == 1
    where = f"{bad}:{line}" if line is not None else str(bad)
    assert f"Error: {where}: " in result.output
    assert problem in result.output
    assert result.output.rstrip().endswith("Nothing was imported.")
    assert counts(app) == before == (2, 0)


def test_import_drops_provenance_for_origins_other_than_gold(runner, app, db_session, tmp_path):
    record = {
        "id": "a1",
        "text": "Taliban fighters attacked Kabul.",
        "spans": [{"start": 0, "end": 7, "label": "ACTOR", "provenance": {"annotators": 3}}],
    }
    path = tmp_path / "model.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")

    result = runner.invoke(main, ["import", "--origin", "model", str(path)])

    assert result.exit_code == 0, result.output
    assert db_session.exec(select(Span.origin, Span.provenance)).all() == [("model", None)]
    assert db_session.exec(select(Article.meta)).all() == [{}]
