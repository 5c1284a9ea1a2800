"""`annotator import` of a record's tally field: a gold import stores it as the article's gold tally."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from annotator.cli import main
from annotator.models import Article, GoldRevision, GoldTally
from annotator.nlp.tally import completed
from annotator.services import importer
from annotator.services.importer import import_records
from annotator.services.tallies import gold_tallies
from tests.tally_world import SPANS, TALLY, TEXT, add_article

THREE_KILLED = {"killed": {"total": 3}}


def write_jsonl(path, *records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def stored_tallies(app) -> dict[str, dict]:
    """Return external id -> gold tally as stored, read on a fresh connection."""
    with app.extensions["annotator.engine"].connect() as connection:
        rows = connection.execute(
            select(Article.external_id, GoldTally.tally).join(GoldTally, GoldTally.article_id == Article.id)
        )
        return dict(rows.all())


def article_count(app) -> int:
    with app.extensions["annotator.engine"].connect() as connection:
        return connection.execute(select(func.count()).select_from(Article)).scalar_one()


def test_gold_import_stores_the_tally_even_without_spans(runner, app, db_session, tmp_path):
    path = write_jsonl(
        tmp_path / "gold.jsonl",
        {"id": "t1", "text": TEXT, "spans": SPANS, "tally": TALLY},
        {"id": "t2", "text": TEXT + " More.", "tally": THREE_KILLED, "source": "wire"},
    )
    result = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 gold tallies stored" in result.output
    assert stored_tallies(app) == {"t1": TALLY, "t2": THREE_KILLED}
    article = db_session.exec(select(Article).where(Article.external_id == "t2")).one()
    assert article.meta == {"source": "wire"}
    # A tally alone is no gold revision: the article has no gold spans.
    assert not db_session.exec(select(GoldRevision).where(GoldRevision.article_id == article.id)).all()
    assert gold_tallies(db_session, [article.id])[article.id] == completed(THREE_KILLED)


def test_gold_import_sets_the_tally_of_a_stored_article_and_the_last_record_wins(runner, app, tmp_path):
    write_jsonl(tmp_path / "first.jsonl", {"id": "t1", "text": TEXT})
    assert runner.invoke(main, ["import", str(tmp_path / "first.jsonl")]).exit_code == 0
    path = write_jsonl(
        tmp_path / "tallies.jsonl",
        {"id": "t1", "text": TEXT, "tally": TALLY},
        {"id": "t1", "text": TEXT, "tally": THREE_KILLED},
    )
    result = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert result.exit_code == 0, result.output
    assert stored_tallies(app) == {"t1": THREE_KILLED}


def test_gold_tallies_of_new_articles_are_written_chunk_by_chunk(runner, app, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "WRITE_ARTICLES", 1)
    path = write_jsonl(
        tmp_path / "gold.jsonl",
        {"id": "t1", "text": TEXT, "tally": TALLY},
        {"id": "t2", "text": TEXT + " More."},
        # The same new article again, a chunk later: its tally replaces the first.
        {"id": "t1", "text": TEXT, "tally": THREE_KILLED},
    )
    result = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert result.exit_code == 0, result.output
    assert stored_tallies(app) == {"t1": THREE_KILLED}


def test_model_import_ignores_the_tally_and_says_so(runner, app, db_session, tmp_path):
    path = write_jsonl(tmp_path / "model.jsonl", {"id": "t1", "text": TEXT, "spans": SPANS, "tally": "junk"})
    result = runner.invoke(main, ["import", "--origin", "model", str(path)])
    assert result.exit_code == 0, result.output
    assert "Ignored the tally field of 1 record: only an import with origin gold reads it" in result.output
    assert stored_tallies(app) == {}
    assert db_session.exec(select(Article.meta)).one() == {}


@pytest.mark.parametrize(
    ("tally", "field"),
    [
        ({"dead": {"total": 3}}, "tally: unknown outcome 'dead'"),
        ({"killed": {"total": -1}}, "tally.killed.total must be a whole number"),
        ({"killed": {"total": "3"}}, "tally.killed.total must be a whole number"),
        ({"killed": {"reported": 1}}, "tally.killed.reported must be true or false"),
        ([3], "tally must be an object, not an array"),
    ],
)
def test_a_bad_tally_refuses_the_file_naming_line_and_field(runner, app, tmp_path, tally, field):
    write_jsonl(tmp_path / "first.jsonl", {"id": "t0", "text": "Already here."})
    assert runner.invoke(main, ["import", str(tmp_path / "first.jsonl")]).exit_code == 0
    path = write_jsonl(
        tmp_path / "gold.jsonl",
        {"id": "t1", "text": TEXT, "tally": TALLY},
        {"id": "t2", "text": TEXT + " More.", "tally": tally},
    )
    result = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert result.exit_code == 1
    assert f"Error: {path}:2: {field}" in result.output
    assert (article_count(app), stored_tallies(app)) == (1, {})


def test_a_csv_tally_column_is_refused_for_gold_and_never_metadata(runner, app, db_session, tmp_path):
    path = tmp_path / "articles.csv"
    path.write_text('id,text,tally,source\nc1,Five soldiers were killed.,"{""killed"": {}}",wire\n')
    result = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert result.exit_code == 1
    assert f"Error: {path}:2: tally: a CSV cell cannot give an article's gold tally" in result.output
    result = runner.invoke(main, ["import", "--origin", "model", str(path)])
    assert result.exit_code == 0, result.output
    assert "Ignored the tally field of 1 record" in result.output
    assert db_session.exec(select(Article.meta)).one() == {"source": "wire"}


def test_exported_jsonl_imports_back_as_gold_tallies(runner, app, db_session, tmp_path):
    add_article(db_session, "t1")
    out = tmp_path / "gold.jsonl"
    assert runner.invoke(main, ["export", "-o", str(out)]).exit_code == 0
    result = runner.invoke(main, ["import", "--origin", "gold", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 new articles, 1 unchanged" in result.output
    assert stored_tallies(app) == {"t1": TALLY}
    assert db_session.exec(select(Article.meta)).one() == {}


def test_api_records_give_gold_tallies_too(app, db_session):
    summary = import_records(db_session, [{"id": "t1", "text": TEXT, "tally": TALLY}], origin="gold")
    assert (summary.gold_tallies, stored_tallies(app)) == (1, {"t1": TALLY})
    with pytest.raises(importer.BadImport, match=r"articles\[0\]: tally.wounded must be an object"):
        import_records(db_session, [{"id": "t2", "text": TEXT, "tally": {"wounded": 2}}], origin="gold")
