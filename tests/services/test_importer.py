"""Importing articles and spans from .txt, JSONL and CSV files: formats, origins, idempotence, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from annotator.errors import BadImport
from annotator.models import Article, Span
from annotator.services.importer import MAX_PROBLEMS, MAX_TEXT_LENGTH, import_paths
from tests.conftest import DATA
from tests.factories import make_article, make_span, make_user

SAMPLES = DATA / "import"
TEXT = "Taliban fighters attacked Kabul."


def counts(session: Session) -> tuple[int, int]:
    """Return how many articles and spans are stored."""
    return (
        session.exec(select(func.count()).select_from(Article)).one(),
        session.exec(select(func.count()).select_from(Span)).one(),
    )


def article(session: Session, external_id: str) -> Article:
    return session.exec(select(Article).where(Article.external_id == external_id)).one()


def stored_spans(session: Session, external_id: str) -> list[tuple]:
    rows = session.exec(
        select(Span.start, Span.end, Span.label, Span.attrs, Span.origin, Span.owner_id)
        .join(Article)
        .where(Article.external_id == external_id)
        .order_by(Span.origin, Span.start)
    )
    return [tuple(row) for row in rows]


def write_jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def sample_records() -> list[dict]:
    return [
        json.loads(line) for line in (SAMPLES / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    ]


# --- formats -----------------------------------------------------------------


def test_import_txt_file_uses_its_stem_as_id_and_keeps_the_text_exactly(session, tmp_path):
    text = "  KABUL –\r\nTaliban fighters attacked Kabul.\n\n"
    path = tmp_path / "kabul-01.txt"
    path.write_bytes(text.encode("utf-8"))

    summary = import_paths(session, [path])

    assert (summary.new, summary.unchanged, summary.spans_added, summary.files) == (1, 0, 0, 1)
    stored = article(session, "kabul-01")
    assert stored.text == text
    assert stored.content_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert stored.meta == {}
    assert stored.imported_at.tzinfo is not None
    assert abs(stored.imported_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_import_folder_reads_txt_files_recursively_and_skips_others(session, tmp_path):
    folder = tmp_path / "folder"
    shutil.copytree(SAMPLES / "folder", folder)
    (folder / "README.md").write_text("not an article", encoding="utf-8")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "draft.txt").write_text("a draft", encoding="utf-8")

    summary = import_paths(session, [folder])

    assert (summary.new, summary.files) == (2, 2)
    # In path order: "more/txt-002.txt" sorts before "txt-001.txt".
    assert session.exec(select(Article.external_id).order_by(Article.id)).all() == ["txt-002", "txt-001"]
    assert article(session, "txt-002").text == (folder / "more" / "txt-002.txt").read_text(encoding="utf-8")


def test_import_jsonl_keeps_other_fields_as_meta_and_imports_spans(session):
    summary = import_paths(session, [SAMPLES / "articles.jsonl"])

    records = sample_records()
    assert (summary.new, summary.spans_added) == (3, sum(len(record["spans"]) for record in records))
    for record in records:
        stored = article(session, record["id"])
        assert stored.text == record["text"]
        assert stored.meta == {"source": "example-wire", "published": record["published"]}
        expected = [
            (span["start"], span["end"], span["label"], span.get("attrs", {}), "gold", None)
            for span in record["spans"]
        ]
        assert stored_spans(session, record["id"]) == expected
    span = session.exec(select(Span)).first()
    assert span.created_at.tzinfo is not None and span.updated_at.tzinfo is not None


def test_import_csv_keeps_other_columns_as_meta_and_line_breaks_in_text(session):
    summary = import_paths(session, [SAMPLES / "articles.csv"])

    assert (summary.new, summary.files) == (2, 1)
    stored = article(session, "csv-002")
    assert stored.text.startswith("JALALABAD – A suicide bomber")
    assert "Jalalabad.\n\nThe Islamic State" in stored.text
    assert stored.meta == {"source": "example-wire", "published": "2015-04-18"}


def test_import_every_sample_format_in_one_command(session):
    summary = import_paths(
        session, [SAMPLES / "folder", SAMPLES / "articles.jsonl", SAMPLES / "articles.csv"]
    )

    assert (summary.files, summary.new, summary.unchanged, summary.rejected) == (4, 7, 0, 0)
    assert counts(session) == (7, 12)
    assert summary.describe() == (
        "4 files: 7 new articles, 0 unchanged, 0 rejected; 12 spans added; gold changed for 3 articles"
    )


def test_ids_are_stripped_and_json_integers_become_strings(session, tmp_path):
    path = write_jsonl(tmp_path / "ids.jsonl", {"id": 17, "text": TEXT}, {"id": "  padded\t", "text": TEXT})

    import_paths(session, [path])

    assert sorted(session.exec(select(Article.external_id)).all()) == ["17", "padded"]


def test_byte_order_mark_is_ignored_in_jsonl_and_csv(session, tmp_path):
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes("\ufeff".encode() + json.dumps({"id": "j", "text": TEXT}).encode() + b"\n")
    table = tmp_path / "bom.csv"
    table.write_bytes("\ufeffid,text\r\nc,".encode() + TEXT.encode() + b"\r\n")

    summary = import_paths(session, [jsonl, table])

    assert summary.new == 2
    assert article(session, "j").text == TEXT
    assert article(session, "c").text == TEXT


def test_blank_lines_are_skipped_and_still_counted_in_line_numbers(session, tmp_path):
    path = tmp_path / "gaps.jsonl"
    path.write_text(
        json.dumps({"id": "a", "text": TEXT}) + "\n\n   \n" + json.dumps({"id": "b"}) + "\n", encoding="utf-8"
    )

    with pytest.raises(BadImport) as caught:
        import_paths(session, [path])

    assert caught.value.line == 4


# --- origins -----------------------------------------------------------------


@pytest.mark.parametrize("origin", ["gold", "model"])
def test_gold_and_model_spans_have_no_owner(session, origin):
    summary = import_paths(session, [SAMPLES / "articles.jsonl"], origin=origin)

    assert summary.spans_added == 12
    assert set(session.exec(select(Span.origin, Span.owner_id)).all()) == {(origin, None)}


def test_annotator_origin_gives_the_spans_to_that_user(session):
    user = make_user(session, username="ann")

    import_paths(session, [SAMPLES / "articles.jsonl"], origin="annotator:ann")

    assert set(session.exec(select(Span.origin, Span.owner_id)).all()) == {("annotator", user.id)}


def test_annotator_origin_with_an_unknown_user_is_refused(session):
    make_user(session, username="ann")

    with pytest.raises(BadImport, match="no user named 'bob'"):
        import_paths(session, [SAMPLES / "articles.jsonl"], origin="annotator:bob")

    assert counts(session) == (0, 0)


@pytest.mark.parametrize(
    "origin", ["silver", "Gold", "gold:ann", "annotator", "annotator:", "", "annotators"]
)
def test_invalid_origin_is_refused(session, origin):
    with pytest.raises(BadImport, match=r"origin must be gold, model or annotator:NAME, not"):
        import_paths(session, [SAMPLES / "articles.jsonl"], origin=origin)

    assert counts(session) == (0, 0)


# --- importing again -----------------------------------------------------------


def test_reimport_adds_nothing(session):
    paths = [SAMPLES / "folder", SAMPLES / "articles.jsonl", SAMPLES / "articles.csv"]
    import_paths(session, paths)
    before = counts(session)

    summary = import_paths(session, paths)

    assert (summary.new, summary.unchanged, summary.spans_added) == (0, 7, 0)
    assert counts(session) == before == (7, 12)


def test_spans_attach_to_an_existing_article_with_the_same_text(session, tmp_path):
    record = sample_records()[0]
    existing = make_article(session, external_id=record["id"], text=record["text"])
    path = write_jsonl(tmp_path / "gold.jsonl", record)

    summary = import_paths(session, [path])

    assert (summary.new, summary.unchanged, summary.spans_added) == (0, 1, len(record["spans"]))
    assert counts(session) == (1, len(record["spans"]))
    assert {span.article_id for span in session.exec(select(Span))} == {existing.id}
    assert import_paths(session, [path]).spans_added == 0


def test_spans_already_stored_are_not_added_again(session, tmp_path):
    existing = make_article(session, text=TEXT)
    make_span(session, existing, start=0, end=7, label="ACTOR")
    spans = [{"start": 0, "end": 7, "label": "ACTOR"}, {"start": 26, "end": 31, "label": "LOCATION"}]
    path = write_jsonl(tmp_path / "gold.jsonl", {"id": "a1", "text": TEXT, "spans": spans})

    summary = import_paths(session, [path])

    assert summary.spans_added == 1
    assert [row[:3] for row in stored_spans(session, "a1")] == [(0, 7, "ACTOR"), (26, 31, "LOCATION")]


def test_spans_of_another_origin_or_owner_do_not_count_as_stored(session, tmp_path):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    existing = make_article(session, text=TEXT)
    make_span(session, existing, start=0, end=7, label="ACTOR", origin="model")
    make_span(session, existing, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    path = write_jsonl(
        tmp_path / "a.jsonl", {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]}
    )

    assert import_paths(session, [path], origin="gold").spans_added == 1
    assert import_paths(session, [path], origin="annotator:bob").spans_added == 1
    assert import_paths(session, [path], origin="annotator:ann").spans_added == 0
    assert {row[4:] for row in stored_spans(session, "a1")} == {
        ("annotator", ann.id),
        ("annotator", bob.id),
        ("gold", None),
        ("model", None),
    }


def test_new_span_overlapping_a_stored_one_is_refused(session, tmp_path):
    existing = make_article(session, text=TEXT)
    make_span(session, existing, start=0, end=16, label="ACTOR")
    path = write_jsonl(
        tmp_path / "a.jsonl", {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]}
    )

    with pytest.raises(BadImport) as caught:
        import_paths(session, [path])

    assert (caught.value.path, caught.value.line) == (str(path), 1)
    assert "span [0, 7) ACTOR overlaps the [0, 16) ACTOR span already there" in caught.value.message
    assert counts(session) == (1, 1)


def test_same_id_twice_with_the_same_text_is_merged(session, tmp_path):
    path = write_jsonl(
        tmp_path / "twice.jsonl",
        {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]},
        {"id": "a1", "text": TEXT, "spans": [{"start": 26, "end": 31, "label": "LOCATION"}]},
        {"id": "a1", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]},
    )

    summary = import_paths(session, [path])

    assert (summary.new, summary.unchanged, summary.spans_added) == (1, 2, 2)
    assert counts(session) == (1, 2)


def test_same_id_twice_with_different_text_is_refused(session, tmp_path):
    path = write_jsonl(tmp_path / "twice.jsonl", {"id": "a1", "text": TEXT}, {"id": "a1", "text": TEXT + "!"})

    with pytest.raises(BadImport) as caught:
        import_paths(session, [path])

    assert caught.value.line == 2
    assert f"article 'a1' already exists with different text (in {path}:1)" in caught.value.message
    assert counts(session) == (0, 0)


def test_stored_article_with_different_text_is_refused(session, tmp_path):
    make_article(session, text=TEXT)
    make_span(session, article(session, "a1"), start=0, end=7, label="ACTOR")
    path = tmp_path / "a1.txt"
    path.write_text("Taliban fighters attacked Kandahar.", encoding="utf-8")

    with pytest.raises(BadImport, match="article 'a1' already exists with different text"):
        import_paths(session, [path])

    assert article(session, "a1").text == TEXT
    assert counts(session) == (1, 1)


def test_progress_counts_records(session):
    calls = []

    import_paths(
        session, [SAMPLES / "articles.jsonl", SAMPLES / "articles.csv"], progress=lambda *c: calls.append(c)
    )

    assert calls[0] == (0, 5)
    assert calls[-1] == (5, 5)


# --- bad input -----------------------------------------------------------------


def jsonl_lines(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


GOOD = json.dumps({"id": "ok", "text": TEXT})


def with_spans(*spans: dict) -> str:
    return json.dumps({"id": "bad", "text": TEXT, "spans": list(spans)})


# One character over the limit, made of words: only its length is wrong.
TOO_LONG = "word " * (MAX_TEXT_LENGTH // 5) + "x"
TOO_LONG_MESSAGE = "text is 1,000,001 characters long, over the limit of 1,000,000 characters"


# (case id, file name, content, 1-based line or None, what the message must say)
BAD_CASES = [
    ("missing-path", "absent.jsonl", None, None, "no such file or folder"),
    ("unknown-extension", "articles.xml", b"<articles/>", None, "unknown file type '.xml'"),
    ("unreadable", "broken-link.txt", "symlink", None, "cannot read the file"),
    (
        "invalid-utf8-jsonl",
        "a.jsonl",
        jsonl_lines(GOOD).replace(b"\n", b"\n\xff\xfe\n"),
        2,
        "not valid UTF-8",
    ),
    ("invalid-utf8-txt", "a.txt", b"KABUL\nline two\nbad \xc3(\n", 3, "not valid UTF-8"),
    ("empty-txt", "empty.txt", b"", None, "text is empty"),
    ("whitespace-txt", "blank.txt", b" \n\t\r\n", None, "text is empty"),
    ("empty-jsonl-text", "a.jsonl", jsonl_lines(GOOD, '{"id": "x", "text": "  \\n "}'), 2, "text is empty"),
    ("empty-jsonl-file", "a.jsonl", b"\n\n", None, "the file holds no articles"),
    (
        "malformed-json",
        "a.jsonl",
        jsonl_lines(GOOD, '{"id": "x", "text": "unterminated}'),
        2,
        "malformed JSON",
    ),
    (
        "nan-json",
        "a.jsonl",
        jsonl_lines('{"id": "x", "text": "t", "score": NaN}'),
        1,
        "NaN is not valid JSON",
    ),
    ("json-array", "a.jsonl", jsonl_lines(GOOD, "[1, 2]"), 2, "expected a JSON object, not an array"),
    ("json-string", "a.jsonl", jsonl_lines('"just text"'), 1, "expected a JSON object, not a string"),
    ("missing-id", "a.jsonl", jsonl_lines(GOOD, json.dumps({"text": TEXT})), 2, "missing 'id'"),
    ("missing-text", "a.jsonl", jsonl_lines(GOOD, GOOD, json.dumps({"id": "x"})), 3, "missing 'text'"),
    ("empty-id", "a.jsonl", jsonl_lines(json.dumps({"id": " ", "text": TEXT})), 1, "id is empty"),
    (
        "bool-id",
        "a.jsonl",
        jsonl_lines(json.dumps({"id": True, "text": TEXT})),
        1,
        "id must be a string or an integer",
    ),
    (
        "null-id",
        "a.jsonl",
        jsonl_lines(json.dumps({"id": None, "text": TEXT})),
        1,
        "id must be a string or an integer, not null",
    ),
    (
        "long-id",
        "a.jsonl",
        jsonl_lines(json.dumps({"id": "x" * 256, "text": TEXT})),
        1,
        "id is longer than 255",
    ),
    (
        "text-not-string",
        "a.jsonl",
        jsonl_lines(json.dumps({"id": "x", "text": 5})),
        1,
        "text must be a string",
    ),
    (
        "text-too-long-jsonl",
        "a.jsonl",
        jsonl_lines(GOOD, json.dumps({"id": "long", "text": TOO_LONG})),
        2,
        TOO_LONG_MESSAGE,
    ),
    ("text-too-long-txt", "long.txt", TOO_LONG.encode("utf-8"), None, TOO_LONG_MESSAGE),
    ("text-too-long-csv", "a.csv", f"id,text\nok,fine\nlong,{TOO_LONG}\n".encode(), 3, TOO_LONG_MESSAGE),
    ("nul-in-text", "a.jsonl", jsonl_lines(json.dumps({"id": "x", "text": "a\u0000b"})), 1, "NUL character"),
    (
        "lone-surrogate",
        "a.jsonl",
        jsonl_lines('{"id": "x", "text": "bad \\ud800 text"}'),
        1,
        "unpaired surrogate",
    ),
    (
        "spans-not-list",
        "a.jsonl",
        jsonl_lines(json.dumps({"id": "x", "text": TEXT, "spans": {}})),
        1,
        "spans must be a list",
    ),
    (
        "span-outside",
        "a.jsonl",
        jsonl_lines(GOOD, with_spans({"start": 26, "end": 99, "label": "LOCATION"})),
        2,
        "lies outside the text",
    ),
    (
        "span-negative",
        "a.jsonl",
        jsonl_lines(with_spans({"start": -1, "end": 5, "label": "ACTOR"})),
        1,
        "lies outside the text",
    ),
    (
        "span-start-not-before-end",
        "a.jsonl",
        jsonl_lines(with_spans({"start": 7, "end": 7, "label": "ACTOR"})),
        1,
        "span start 7 must be before its end 7",
    ),
    (
        "span-offset-not-int",
        "a.jsonl",
        jsonl_lines(with_spans({"start": "0", "end": 7, "label": "ACTOR"})),
        1,
        "start must be an integer",
    ),
    (
        "overlapping-spans",
        "a.jsonl",
        jsonl_lines(
            with_spans({"start": 0, "end": 16, "label": "ACTOR"}, {"start": 8, "end": 25, "label": "ACTOR"})
        ),
        1,
        "overlaps",
    ),
    (
        "unknown-label",
        "a.jsonl",
        jsonl_lines(with_spans({"start": 0, "end": 7, "label": "PERSON"})),
        1,
        "unknown label 'PERSON'",
    ),
    (
        "count-wrong-type",
        "a.jsonl",
        jsonl_lines(with_spans({"start": 0, "end": 16, "label": "CASUALTY", "attrs": {"count": "many"}})),
        1,
        "count must be a whole number from 0 to 1,000,000 or null",
    ),
    (
        "attrs-not-object",
        "a.jsonl",
        jsonl_lines(with_spans({"start": 0, "end": 16, "label": "CASUALTY", "attrs": ["killed"]})),
        1,
        "attrs must be an object",
    ),
    (
        "attrs-on-actor",
        "a.jsonl",
        jsonl_lines(with_spans({"start": 0, "end": 7, "label": "ACTOR", "attrs": {"count": 1}})),
        1,
        "ACTOR spans take no attrs",
    ),
    (
        "provenance-not-object",
        "a.jsonl",
        jsonl_lines(GOOD, with_spans({"start": 0, "end": 7, "label": "ACTOR", "provenance": "ann"})),
        2,
        'span 0: provenance must be an object with "annotators"',
    ),
    (
        "provenance-changed-not-boolean",
        "a.jsonl",
        jsonl_lines(
            with_spans(
                {"start": 0, "end": 7, "label": "ACTOR", "provenance": {"annotators": [], "changed": 1}}
            )
        ),
        1,
        "span 0: provenance.changed must be true or false, not a number",
    ),
    ("csv-missing-text-column", "a.csv", b"id,body\nx,Some text\n", 1, "the header has no 'text' column"),
    ("csv-missing-both-columns", "a.csv", b"name\nx\n", 1, "no 'id' or 'text' column"),
    ("csv-empty-file", "a.csv", b"", None, "the file holds no articles"),
    ("csv-empty-text", "a.csv", b'id,text\nok,"two\nlines"\nx,  \n', 4, "text is empty"),
    ("csv-empty-id", "a.csv", b"id,text\n,Some text\n", 2, "id is empty"),
    ("csv-wrong-field-count", "a.csv", b"id,text\nok,fine\nx,a,b\n", 3, "the row has 3 fields, the header 2"),
    ("csv-invalid-utf8", "a.csv", b"id,text\nok,caf\xe9\n", 2, "not valid UTF-8"),
    ("empty-folder", "folder", "folder", None, "the folder holds no .txt, .jsonl or .csv files"),
]


BAD_PARAMS = [pytest.param(*case[1:], id=case[0]) for case in BAD_CASES]


def make_bad_file(tmp_path: Path, name: str, content: bytes | str | None) -> Path:
    path = tmp_path / name
    if content == "symlink":
        path.symlink_to(tmp_path / "nowhere.txt")
    elif content == "folder":
        path.mkdir()
        (path / "notes.md").write_text("no articles here", encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    """A valid file, imported in the same command before the bad one."""
    return write_jsonl(
        tmp_path / "good.jsonl",
        {"id": "good", "text": TEXT, "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]},
    )


@pytest.mark.parametrize(("name", "content", "line", "problem"), BAD_PARAMS)
def test_bad_input_is_refused_naming_file_and_line_and_nothing_is_written(
    session, tmp_path, good_file, name, content, line, problem
):
    make_article(session, external_id="stored", text=TEXT)
    bad = make_bad_file(tmp_path, name, content)
    before = counts(session)

    with pytest.raises(BadImport) as caught:
        import_paths(session, [good_file, bad])

    error = caught.value
    assert (error.path, error.line) == (str(bad), line)
    assert problem in error.message
    where = f"{bad}:{line}" if line is not None else str(bad)
    assert str(error).startswith(f"{where}: ")
    assert counts(session) == before == (1, 0)
    assert session.exec(select(Article.external_id)).all() == ["stored"]


def test_csv_text_longer_than_the_csv_modules_field_limit_is_imported(session, tmp_path):
    text = "word " * 40_000
    (tmp_path / "long.csv").write_text(f"id,text\nlong,{text}\n", encoding="utf-8")

    import_paths(session, [tmp_path / "long.csv"])

    assert article(session, "long").text == text


def test_text_of_exactly_the_limit_is_imported(session, tmp_path):
    text = "word " * (MAX_TEXT_LENGTH // 5 - 1) + "last."
    assert len(text) == MAX_TEXT_LENGTH
    (tmp_path / "longest.txt").write_text(text, encoding="utf-8")

    summary = import_paths(session, [tmp_path / "longest.txt"])

    assert summary.new == 1
    assert article(session, "longest").text == text


def test_every_problem_of_every_file_is_reported_at_once(session, tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_bytes(jsonl_lines(GOOD, "not json", json.dumps({"id": "x"})))
    second = tmp_path / "second.csv"
    second.write_bytes(b"id,text\nother,fine\n,no id\n")

    with pytest.raises(BadImport) as caught:
        import_paths(session, [first, tmp_path / "missing.txt", second])

    error = caught.value
    assert (error.path, error.line) == (str(first), 2)
    assert error.message.splitlines() == [
        "malformed JSON: Expecting value (column 1)",
        f"{first}:3: missing 'text'",
        f"{tmp_path / 'missing.txt'}: no such file or folder",
        f"{second}:3: id is empty",
    ]
    assert counts(session) == (0, 0)


def test_problem_list_is_capped(session, tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_bytes(jsonl_lines(*["[]"] * (MAX_PROBLEMS + 7)))

    with pytest.raises(BadImport) as caught:
        import_paths(session, [path])

    lines = caught.value.message.splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-2] == f"{path}:{MAX_PROBLEMS}: expected a JSON object, not an array"
    assert lines[-1] == "... and 7 more problems"


def test_prodigy_task_fields_are_not_kept_as_metadata(session, tmp_path):
    from annotator.models import Article

    task = {
        "id": "p1",
        "text": "Kabul",
        "tokens": [{"text": "Kabul", "start": 0, "end": 5, "id": 0, "ws": False}],
        "spans": [{"start": 0, "end": 5, "label": "LOCATION", "token_start": 0, "token_end": 0}],
        "answer": "accept",
        "_input_hash": 12,
        "meta": {"id": "p1", "source": "wire"},
        "section": "world",
    }
    path = tmp_path / "prodigy.jsonl"
    path.write_text(json.dumps(task) + "\n", encoding="utf-8")
    import_paths(session, [path])
    article = session.exec(select(Article)).one()
    assert article.meta == {"source": "wire", "section": "world"}
