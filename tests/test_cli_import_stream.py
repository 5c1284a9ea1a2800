"""`annotator import` killed with SIGKILL at several points: nothing visible, and the next run imports everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from annotator.cli import main
from annotator.models import Article, ImportBatch, Span
from annotator.services import import_batches
from annotator.services.visibility import visible_articles
from tests.conftest import REPO

TEXT = "Taliban fighters attacked Kabul."

# Runs the command line in a process of its own, which kills itself with SIGKILL when the
# import reaches a stage (after a number of chunks): no cleanup, no exception handler runs.
KILLED_IMPORT = """
import os, signal, sys
from annotator.services import importer

stage, chunks = sys.argv[1], int(sys.argv[2])
importer.WRITE_ARTICLES = 2

def checkpoint(at, batch_id, done):
    if at == stage and done == chunks:
        os.kill(os.getpid(), signal.SIGKILL)

importer._checkpoint = checkpoint
from annotator.cli import main
main(sys.argv[3:], prog_name="annotator")
"""


def corpus(tmp_path):
    path = tmp_path / "articles.jsonl"
    records = [
        {"id": f"k{number}", "text": f"{TEXT} {number}", "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]}
        for number in range(7)
    ]
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def stored_after_some_time(engine) -> tuple[int, int]:
    """Return how many articles are stored, and how many of them are visible."""
    with Session(engine) as session:
        return (
            session.exec(select(func.count()).select_from(Article)).one(),
            session.exec(select(func.count()).select_from(Article).where(visible_articles())).one(),
        )


def killed_import(database_url: str, stage: str, chunks: int, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": database_url,
        "ANNOTATOR_SECRET_KEY": "k",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, stage, str(chunks), "import", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def wait_until_found_crashed(engine) -> None:
    """Wait for PostgreSQL to notice the killed client and drop its lock (SQLite's goes with the process)."""
    for _ in range(200):
        with Session(engine) as session:
            if import_batches.crashed(session):
                return
        time.sleep(0.05)
    raise AssertionError("the killed import's batch was never found crashed")


@pytest.mark.parametrize(("stage", "chunks"), [("started", 0), ("chunk", 1), ("chunk", 3), ("committing", 4)])
def test_an_import_killed_anywhere_leaves_nothing_visible_and_a_rerun_imports_everything(
    runner, app, database_url, tmp_path, stage, chunks
):
    engine = app.extensions["annotator.engine"]
    path = corpus(tmp_path)

    done = killed_import(database_url, stage, chunks, str(path))

    assert done.returncode == -signal.SIGKILL, done.stderr
    stored, visible = stored_after_some_time(engine)
    assert visible == 0
    assert stored == {"started": 0, "chunk": 2 * chunks, "committing": 7}[stage]
    wait_until_found_crashed(engine)

    result = runner.invoke(main, ["import", str(path)])

    assert result.exit_code == 0, result.output
    assert "1 file: 7 new articles, 0 unchanged, 0 rejected; 7 spans added" in result.output
    assert stored_after_some_time(engine) == (7, 7)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Span)).one() == 7
        assert len(session.exec(select(ImportBatch)).all()) == 1
    assert not list(tmp_path.glob("*.lock"))


def test_cleanup_deletes_what_a_killed_import_wrote(runner, app, database_url, tmp_path):
    engine = app.extensions["annotator.engine"]
    done = killed_import(database_url, "chunk", 2, str(corpus(tmp_path)))
    assert done.returncode == -signal.SIGKILL, done.stderr
    wait_until_found_crashed(engine)

    result = runner.invoke(main, ["import", "--cleanup"])

    assert result.exit_code == 0, result.output
    assert "Deleted import 1 (interrupted): 4 articles it had written." in result.output
    assert stored_after_some_time(engine) == (0, 0)
    with Session(engine) as session:
        assert session.exec(select(ImportBatch)).all() == []


def test_cleanup_with_nothing_to_do_says_so(runner):
    result = runner.invoke(main, ["import", "--cleanup"])

    assert result.exit_code == 0, result.output
    assert "No interrupted import found." in result.output
