"""Every import is recorded as a batch, with its articles and an audit event, in one transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from annotator.errors import BadImport
from annotator.models import Article, AuditEvent, GoldRevision, ImportBatch, Span
from annotator.services.importer import import_paths, import_records, problem_lines
from tests.factories import make_user

TEXT = "Taliban fighters attacked Kabul."


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def batch_of(session, external_id: str) -> int | None:
    return session.exec(select(Article.import_batch_id).where(Article.external_id == external_id)).one()


def test_a_command_line_import_is_a_batch_with_its_articles_and_an_audit_event(session, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]},
        {"id": "a2", "text": "Kabul."},
    )

    summary = import_paths(session, [path], origin="model")

    batch = session.get(ImportBatch, summary.batch_id)
    assert (batch.channel, batch.origin, batch.files, batch.user_id) == ("cli", "model", [str(path)], None)
    assert batch.summary == {
        "files": 1,
        "records": 2,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "spans_added": 1,
        "gold_revisions": 0,
    }
    assert batch_of(session, "a1") == batch_of(session, "a2") == batch.id
    (event,) = session.exec(select(AuditEvent)).all()
    assert (event.action, event.target, event.actor_id, event.actor_name) == (
        "import.cli",
        f"import:{batch.id}",
        None,
        "(command line)",
    )
    assert event.details["batch"] == batch.id and event.details["new"] == 2
    assert event.details["file_names"] == [str(path)]


def test_articles_keep_the_batch_that_created_them_when_a_later_import_adds_spans(session, tmp_path):
    first = import_paths(session, [write_jsonl(tmp_path / "a.jsonl", {"id": "a1", "text": TEXT})])
    spans = [{"start": 0, "end": 7, "label": "ACTOR"}]
    second = import_paths(
        session,
        [
            write_jsonl(
                tmp_path / "b.jsonl", {"id": "a1", "text": TEXT, "spans": spans}, {"id": "b1", "text": "x"}
            )
        ],
    )

    assert batch_of(session, "a1") == first.batch_id
    assert batch_of(session, "b1") == second.batch_id != first.batch_id
    assert session.get(ImportBatch, second.batch_id).summary == {
        "files": 1,
        "records": 2,
        "new": 1,
        "updated": 1,
        "unchanged": 0,
        "spans_added": 1,
        "gold_revisions": 1,
    }
    # The command line's summary line keeps its wording: "unchanged" counts every record not new.
    assert second.describe().startswith("1 file: 1 new article, 1 unchanged")


def test_an_import_again_is_a_batch_of_unchanged_records(session, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", {"id": "a1", "text": TEXT})
    import_paths(session, [path])

    again = import_paths(session, [path])

    counts = session.get(ImportBatch, again.batch_id).summary
    assert (counts["new"], counts["updated"], counts["unchanged"]) == (0, 0, 1)
    assert len(session.exec(select(ImportBatch)).all()) == 2


def test_a_refused_import_records_no_batch_and_no_event(session, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", {"id": "a1", "text": TEXT}, {"id": "a2"})

    with pytest.raises(BadImport):
        import_paths(session, [path])

    assert session.exec(select(ImportBatch)).all() == []
    assert session.exec(select(AuditEvent)).all() == []
    assert session.exec(select(Article)).all() == []


def test_names_stand_for_the_files_in_problems_ids_and_the_batch(session, tmp_path):
    saved = tmp_path / "0" / "upload.txt"
    saved.parent.mkdir()
    saved.write_text(TEXT, encoding="utf-8")
    bad = write_jsonl(tmp_path / "1.jsonl", {"id": "x"})
    admin = make_user(session, username="boss", role="admin")

    with pytest.raises(BadImport) as refused:
        import_paths(
            session, [saved, bad], channel="upload", actor=admin, names={saved: "a.txt", bad: "mine.jsonl"}
        )
    assert problem_lines(refused.value) == ["mine.jsonl:1: missing 'text'"]

    summary = import_paths(
        session, [saved], channel="upload", actor=admin, names={saved: "Kabul report 01.txt"}
    )
    batch = session.get(ImportBatch, summary.batch_id)
    assert (batch.channel, batch.files, batch.user_id) == ("upload", ["Kabul report 01.txt"], admin.id)
    assert batch_of(session, "Kabul report 01") == batch.id
    (event,) = session.exec(select(AuditEvent)).all()
    assert (event.action, event.actor_name) == ("import.upload", "boss")


def test_api_records_are_checked_as_jsonl_lines_and_named_by_their_index(session):
    items = [
        {"id": "a1", "text": TEXT},
        {"id": "a2"},
        "not an object",
        {"id": "a3", "text": TEXT, "spans": [{"start": 0, "end": 99, "label": "ACTOR"}]},
        {"id": "a4", "text": TEXT, "score": float("nan")},
    ]

    with pytest.raises(BadImport) as refused:
        import_records(session, items)

    lines = problem_lines(refused.value)
    assert lines[0] == "articles[1]: missing 'text'"
    assert lines[1] == "articles[2]: expected a JSON object, not a string"
    assert lines[2].startswith("articles[3]: span 0")
    assert lines[3] == "articles[4]: holds NaN or Infinity, which JSON does not have"
    assert session.exec(select(Article)).all() == []
    assert session.exec(select(ImportBatch)).all() == []


def test_api_records_import_as_a_batch_whose_gold_names_the_api(session):
    admin = make_user(session, username="boss", role="admin")
    spans = [{"start": 0, "end": 7, "label": "ACTOR", "attrs": {}}]

    summary = import_records(
        session, [{"id": 7, "text": TEXT, "spans": spans, "source": "wire"}], actor=admin
    )

    article = session.exec(select(Article)).one()
    assert (article.external_id, article.meta, article.import_batch_id) == (
        "7",
        {"source": "wire"},
        summary.batch_id,
    )
    assert session.exec(select(Span.origin)).all() == ["gold"]
    batch = session.get(ImportBatch, summary.batch_id)
    assert (batch.channel, batch.files, batch.user_id) == ("api", ["API"], admin.id)

    assert session.exec(select(GoldRevision.source)).all() == ["API"]
    (event,) = session.exec(select(AuditEvent)).all()
    assert event.action == "import.api"


def test_an_unknown_api_origin_is_named_as_the_field(session):
    with pytest.raises(BadImport) as refused:
        import_records(session, [{"id": "a", "text": TEXT}], origin="annotator:nobody")
    assert str(refused.value).startswith("origin: ")


def test_an_empty_api_list_is_refused(session):
    with pytest.raises(BadImport, match="articles: the list holds no articles"):
        import_records(session, [])
