"""`annotator export --format tally`, and the tally field of the JSONL export."""

from __future__ import annotations

import csv
import io
import json

from annotator.cli import main
from annotator.services.formats import tally_columns
from tests.factories import make_article
from tests.tally_world import SPANS, TALLY, add_article


def _rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_tally_export_writes_one_row_per_article_with_its_tally(runner, db_session, tmp_path):
    add_article(db_session, "t1")
    add_article(db_session, "quiet", spans=SPANS[:1])
    make_article(db_session, external_id="no-gold", text="Nothing here.")
    out = tmp_path / "gold.tally.csv"
    result = runner.invoke(main, ["export", "--format", "tally", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 articles with gold" in result.stderr
    assert out.read_text(encoding="utf-8").splitlines()[0].split(",") == tally_columns()
    first, quiet = _rows(out)
    assert first == {
        "id": "t1",
        "killed_total": "57",
        "killed_lower_bound": "true",
        "killed_reported": "true",
        "killed_civilian": "35",
        "killed_security": "22",
        "killed_militant": "",
        "killed_mixed_or_unknown": "0",
        "wounded_total": "0",
        "wounded_lower_bound": "true",
        "wounded_reported": "true",
        "wounded_civilian": "",
        "wounded_security": "",
        "wounded_militant": "",
        "wounded_mixed_or_unknown": "0",
        "killed_or_wounded_total": "0",
        "killed_or_wounded_lower_bound": "false",
        "killed_or_wounded_reported": "false",
        "killed_or_wounded_civilian": "",
        "killed_or_wounded_security": "",
        "killed_or_wounded_militant": "",
        "killed_or_wounded_mixed_or_unknown": "",
        # Positions in the article's spans (the ACTOR span is 0), as the JSONL export lists them.
        "span_ids": "1 2 3 4 5",
    }
    assert (quiet["id"], quiet["killed_total"], quiet["killed_reported"], quiet["span_ids"]) == (
        "quiet",
        "0",
        "false",
        "",
    )


def test_tally_export_follows_the_origin(runner, db_session, tmp_path):
    article = add_article(db_session, "t1", origin="model", spans=SPANS[:3])
    article.preannotated_with = "test"
    db_session.add(article)
    db_session.commit()
    out = tmp_path / "model.tally.csv"
    result = runner.invoke(main, ["export", "--origin", "model", "--format", "tally", "-o", str(out)])
    assert result.exit_code == 0, result.output
    [row] = _rows(out)
    # Without the breakdown's other figures, the 57 "people" stand, 35 of them civilians.
    assert (row["killed_total"], row["killed_civilian"], row["killed_mixed_or_unknown"]) == ("57", "35", "22")
    assert row["wounded_reported"] == "false"


def test_tally_export_reads_stored_cues_in_one_query_per_chunk(runner, db_session, tmp_path, monkeypatch):
    from annotator.services import export, tallies

    calls = []
    stored_cues = tallies.stored_cues
    monkeypatch.setattr(tallies, "stored_cues", lambda *a, **k: calls.append(1) or stored_cues(*a, **k))
    monkeypatch.setattr(export, "READ_CHUNK", 2)
    for number in range(5):
        add_article(db_session, f"t{number}", spans=SPANS[1:2])
    result = runner.invoke(main, ["export", "--format", "tally", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code == 0, result.output
    assert len(_rows(tmp_path / "x.csv")) == 5
    assert len(calls) == 3


def test_jsonl_export_carries_each_articles_tally(runner, db_session, tmp_path):
    add_article(db_session, "t1")
    out = tmp_path / "gold.jsonl"
    result = runner.invoke(main, ["export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["tally"] == TALLY
    assert "tally" not in record["meta"]
