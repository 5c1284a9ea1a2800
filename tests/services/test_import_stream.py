"""The streamed import: invisible while it writes, all or nothing when it fails, crashes cleaned up, edits never blocked."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from annotator.errors import BadImport
from annotator.models import Article, BatchState, GoldRevision, ImportBatch, Span
from annotator.services import import_batches, importer
from annotator.services.importer import import_paths, import_records
from annotator.services.visibility import visible_articles
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters attacked Kabul."
ACTOR = {"start": 0, "end": 7, "label": "ACTOR"}
LOCATION = {"start": 26, "end": 31, "label": "LOCATION"}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def corpus(tmp_path: Path, n: int, *, prefix: str = "n", spans: list[dict] | None = None) -> Path:
    records = [
        {"id": f"{prefix}{number:04d}", "text": f"{TEXT} Report {number}.", "spans": spans or [ACTOR]}
        for number in range(n)
    ]
    return write_jsonl(tmp_path / f"{prefix}.jsonl", records)


def fresh(engine) -> Session:
    """A session of its own, as another process (the web app) would have."""
    return Session(engine, expire_on_commit=False)


def visible_count(engine) -> int:
    with fresh(engine) as session:
        return session.exec(select(func.count()).select_from(Article).where(visible_articles())).one()


def all_rows(engine) -> tuple[int, int, int, int]:
    """Return how many articles, spans, gold revisions and batches are stored, visible or not."""
    with fresh(engine) as session:
        return tuple(
            session.exec(select(func.count()).select_from(table)).one()
            for table in (Article, Span, GoldRevision, ImportBatch)
        )


@pytest.fixture
def small_chunks(monkeypatch):
    """Write two articles per transaction, so that a few records make several chunks."""
    monkeypatch.setattr(importer, "WRITE_ARTICLES", 2)


def stop_at(monkeypatch, stage: str, chunks: int, action):
    """Call ``action(batch_id)`` when the import reaches ``stage`` after ``chunks`` chunks."""

    def checkpoint(at: str, batch_id: int, done: int) -> None:
        if at == stage and done == chunks:
            action(batch_id)

    monkeypatch.setattr(importer, "_checkpoint", checkpoint)


# --- invisible while importing --------------------------------------------------------


def test_articles_stay_invisible_until_the_batch_commits(
    session, engine, tmp_path, small_chunks, monkeypatch
):
    make_article(session, external_id="old", text=TEXT)
    path = corpus(tmp_path, 7)
    seen = {}

    def look(batch_id: int) -> None:
        with fresh(engine) as other:
            seen["state"] = other.get(ImportBatch, batch_id).state
            seen["stored"] = other.exec(select(func.count()).select_from(Article)).one()
        seen["visible"] = visible_count(engine)

    stop_at(monkeypatch, "chunk", 2, look)

    summary = import_paths(session, [path])

    assert seen == {"state": BatchState.IMPORTING.value, "stored": 1 + 4, "visible": 1}
    assert visible_count(engine) == 8
    assert (summary.new, summary.unchanged, summary.spans_added) == (7, 0, 7)
    assert session.get(ImportBatch, summary.batch_id).state == BatchState.COMMITTED.value


def test_spans_added_to_stored_articles_appear_only_with_the_commit(
    session, engine, tmp_path, small_chunks, monkeypatch
):
    for number in range(5):
        make_article(session, external_id=f"n{number:04d}", text=f"{TEXT} Report {number}.")
    path = corpus(tmp_path, 5)
    seen = []

    def count_model_spans(_batch_id: int) -> None:
        with fresh(engine) as other:
            seen.append(other.exec(select(func.count()).select_from(Span)).one())

    stop_at(monkeypatch, "committing", 3, count_model_spans)

    summary = import_paths(session, [path], origin="model")

    assert seen == [0]
    assert all_rows(engine)[:2] == (5, 5)
    assert (summary.new, summary.updated, summary.spans_added) == (0, 5, 5)
    assert summary.commit_seconds > 0


def test_gold_added_to_stored_articles_gets_one_revision_each_in_the_commit(session, tmp_path, small_chunks):
    stored = make_article(session, external_id="n0000", text=f"{TEXT} Report 0.")
    make_span(session, stored, **ACTOR)
    path = corpus(tmp_path, 3, spans=[ACTOR, LOCATION])

    summary = import_paths(session, [path])

    assert (summary.new, summary.updated, summary.gold_revisions) == (2, 1, 3)
    # make_span's gold was revision 1.
    revision = session.exec(
        select(GoldRevision)
        .where(GoldRevision.article_id == stored.id)
        .order_by(GoldRevision.revision.desc())
    ).first()
    assert (revision.revision, [span["label"] for span in revision.spans]) == (2, ["ACTOR", "LOCATION"])


def test_an_id_named_in_several_chunks_is_merged(session, tmp_path, small_chunks, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 2)
    records = [
        {"id": "a", "text": TEXT, "spans": [ACTOR]},
        {"id": "b", "text": TEXT},
        {"id": "c", "text": TEXT},
        {"id": "a", "text": TEXT, "spans": [LOCATION]},
        {"id": "d", "text": TEXT},
        {"id": "a", "text": TEXT, "spans": [ACTOR]},
    ]
    path = write_jsonl(tmp_path / "a.jsonl", records)

    summary = import_paths(session, [path])

    assert (summary.new, summary.unchanged, summary.spans_added, summary.gold_revisions) == (4, 2, 2, 1)
    article = session.exec(select(Article).where(Article.external_id == "a")).one()
    spans = session.exec(select(Span.label).where(Span.article_id == article.id).order_by(Span.start)).all()
    assert spans == ["ACTOR", "LOCATION"]
    (revision,) = session.exec(select(GoldRevision).where(GoldRevision.article_id == article.id)).all()
    assert [span["label"] for span in revision.spans] == ["ACTOR", "LOCATION"]


def test_a_repeated_id_whose_spans_clash_across_chunks_is_refused(session, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 1)
    records = [
        {"id": "a", "text": TEXT, "spans": [{"start": 0, "end": 16, "label": "ACTOR"}]},
        {"id": "a", "text": TEXT, "spans": [{"start": 8, "end": 16, "label": "ACTOR"}]},
    ]
    path = write_jsonl(tmp_path / "a.jsonl", records)

    with pytest.raises(BadImport) as refused:
        import_paths(session, [path])

    assert (refused.value.line, "overlaps the [0, 16) ACTOR span already there" in str(refused.value)) == (
        2,
        True,
    )
    assert all_rows(session.get_bind()) == (0, 0, 0, 0)


def test_api_records_stream_in_chunks_too(session, small_chunks):
    items = [{"id": f"api-{number}", "text": TEXT, "spans": [ACTOR]} for number in range(5)]

    summary = import_records(session, items)

    assert (summary.new, summary.spans_added, summary.gold_revisions) == (5, 5, 5)


# --- all or nothing -------------------------------------------------------------------


class Interrupted(Exception):
    pass


POINTS = [("started", 0), ("chunk", 1), ("chunk", 3), ("committing", 4)]


@pytest.mark.parametrize(("stage", "chunks"), POINTS)
@pytest.mark.parametrize("error", [Interrupted, KeyboardInterrupt])
def test_an_import_interrupted_anywhere_leaves_nothing(
    session, engine, tmp_path, small_chunks, monkeypatch, stage, chunks, error
):
    stored = make_article(session, external_id="n0000", text=f"{TEXT} Report 0.")
    before = all_rows(engine)
    path = corpus(tmp_path, 7, spans=[ACTOR, LOCATION])

    def interrupt(_batch_id: int) -> None:
        raise error

    stop_at(monkeypatch, stage, chunks, interrupt)

    with pytest.raises(error):
        import_paths(session, [path])

    assert all_rows(engine) == before == (1, 0, 0, 0)
    assert session.exec(select(Span).where(Span.article_id == stored.id)).all() == []
    assert not list(tmp_path.glob("*.lock"))


def test_the_write_fails_and_leaves_nothing(session, engine, tmp_path, small_chunks, monkeypatch):
    path = corpus(tmp_path, 7)
    calls = []
    real = importer.import_rows.insert_spans

    def failing(session_, rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(session_, rows)

    monkeypatch.setattr(importer.import_rows, "insert_spans", failing)

    with pytest.raises(RuntimeError, match="disk full"):
        import_paths(session, [path])

    assert all_rows(engine) == (0, 0, 0, 0)


# --- crashes ----------------------------------------------------------------------------


def crash_at(monkeypatch, stage: str, chunks: int) -> None:
    """Make the import stop there as a killed process would: without cleaning up."""

    def die(_batch_id: int) -> None:
        raise Interrupted

    stop_at(monkeypatch, stage, chunks, die)
    monkeypatch.setattr(importer, "_give_up", lambda session, running: None)


def test_the_next_import_cleans_up_a_crashed_one_and_imports_its_articles_as_new(
    session, engine, tmp_path, small_chunks, monkeypatch
):
    path = corpus(tmp_path, 7)
    crash_at(monkeypatch, "chunk", 2)
    with pytest.raises(Interrupted):
        import_paths(session, [path])
    assert all_rows(engine)[0] == 4 and visible_count(engine) == 0
    monkeypatch.undo()

    summary = import_paths(session, [path])

    assert (summary.new, summary.unchanged) == (7, 0)
    assert visible_count(engine) == 7
    batches = session.exec(select(ImportBatch.id, ImportBatch.state)).all()
    assert batches == [(summary.batch_id, BatchState.COMMITTED.value)]


def test_a_batch_whose_owner_lives_is_left_alone_until_its_lease_runs_out(session, engine):
    running = import_batches.start(session, channel="cli", origin="gold", files=["x"], user_id=None)
    try:
        with fresh(engine) as other:
            assert import_batches.crashed(other) == []
            batch = other.get(ImportBatch, running.id)
            batch.heartbeat_at = batch.heartbeat_at - import_batches.LEASE * 2
            other.commit()
            assert [found.id for found in import_batches.clean_up_crashed(other)] == [running.id]
        with pytest.raises(import_batches.BatchLost):
            import_batches.beat(session, running)
    finally:
        running.release()


def test_an_import_refuses_articles_that_a_running_import_is_writing(session, engine, tmp_path):
    running = import_batches.start(session, channel="cli", origin="gold", files=["x"], user_id=None)
    try:
        session.add(Article(external_id="a", text=TEXT, content_hash="0" * 64, import_batch_id=running.id))
        session.commit()
        path = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": TEXT}, {"id": "b", "text": TEXT}])

        with pytest.raises(
            BadImport, match=f"article 'a' is being written by import {running.id}, which is still"
        ):
            import_paths(session, [path])

        assert visible_count(engine) == 0
    finally:
        running.release()


# --- edits go on while an import writes ---------------------------------------------


def test_no_edit_fails_while_an_import_runs(app, db_session, tmp_path, monkeypatch):
    from tests.web.conftest import TEST_CSRF
    from tests.web.review_helpers import at, hx_post, make_review_article

    monkeypatch.setattr(importer, "WRITE_ARTICLES", 250)
    article = make_review_article(db_session)
    make_user(db_session, username="ann", password="secret-pw")
    path = corpus(tmp_path, 3000)
    start, end = at("Monday")
    edits: list[int] = []
    failures: list[str] = []
    importing = threading.Event()
    edited = threading.Condition()

    def edit() -> None:
        try:
            edit_until_imported()
        except Exception as error:  # reported by the assertion below, not lost with the thread
            failures.append(repr(error))
        with edited:
            edited.notify_all()

    def edit_until_imported() -> None:
        # A client of its own: the test's client belongs to the test's thread.
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["csrf_token"] = TEST_CSRF
        form = {"username": "ann", "password": "secret-pw", "csrf_token": TEST_CSRF}
        assert client.post("/auth/login", data=form).status_code == 303
        with client.session_transaction() as cookie:
            cookie["csrf_token"] = TEST_CSRF
        assert client.get("/articles/helmand%2F1").status_code == 200
        version = 0
        while importing.is_set():
            for url, fields in (("spans", {"start": start, "end": end, "label": "ACTOR"}), ("undo", {})):
                response = hx_post(client, f"/review/{article.id}/{url}", version=version, **fields)
                if response.status_code != 200:
                    failures.append(f"{url}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                    return
                version += 1
                with edited:
                    edits.append(version)
                    edited.notify_all()

    def wait_for_an_edit(_stage: str, _batch_id: int, _chunks: int) -> None:
        # Each chunk waits for an edit made after it: edits and writes interleave for sure.
        with edited:
            seen = len(edits)
            edited.wait_for(lambda: len(edits) > seen or failures, timeout=60)

    monkeypatch.setattr(importer, "_checkpoint", wait_for_an_edit)
    importing.set()
    editor = threading.Thread(target=edit)
    editor.start()
    try:
        with Session(app.extensions["annotator.engine"], expire_on_commit=False) as session:
            summary = import_paths(session, [path])
    finally:
        importing.clear()
        editor.join()

    assert failures == []
    assert summary.new == 3000
    # One edit at least after each of the 12 chunks, and after the start.
    assert len(edits) >= 3000 // 250 + 1


def test_the_checking_pass_reports_the_records_it_has_checked(session, tmp_path, monkeypatch):
    """A long first pass says how far it got; the writes' progress comes after it, with the total."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 3)
    calls: list[tuple] = []
    import_paths(
        session,
        [corpus(tmp_path, 7)],
        origin="model",
        checking=lambda records: calls.append(("checked", records)),
        progress=lambda done, total: calls.append(("written", done, total)),
    )
    checked = [call for call in calls if call[0] == "checked"]
    assert checked == [("checked", 3), ("checked", 6), ("checked", 7)]
    assert calls.index(("checked", 7)) < calls.index(("written", 0, 7))
    assert calls[-1] == ("written", 7, 7)
