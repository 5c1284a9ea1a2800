"""`annotator` stopped with SIGTERM (kill, a scheduler's timeout) cleans up as after Ctrl-C: no partial file, no half import."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from sqlalchemy import func
from sqlmodel import Session, select

from annotator.cli import main
from annotator.models import Article, ImportBatch
from tests.conftest import REPO

# Runs the command line in a process of its own that sends itself SIGTERM at one point: once an
# export has written into its hidden file, or once an import has written its first chunk.
TERMINATED = """
import contextlib, os, signal, sys
from annotator.services import export, importer

def terminate():
    os.kill(os.getpid(), signal.SIGTERM)

if sys.argv[1] == "export":
    atomic = export._atomic

    @contextlib.contextmanager
    def writing_then_terminated(path, *, binary):
        with atomic(path, binary=binary) as out:
            out.write(b"partial" if binary else "partial")
            out.flush()
            terminate()
            yield out

    export._atomic = writing_then_terminated
else:
    importer.WRITE_ARTICLES = 2

    def checkpoint(at, batch_id, done):
        if at == "chunk" and done == 1:
            terminate()

    importer._checkpoint = checkpoint

from annotator.cli import main
main(sys.argv[1:], prog_name="annotator")
"""


def terminated(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": database_url,
        "ANNOTATOR_SECRET_KEY": "k",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-c", TERMINATED, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def corpus(tmp_path, n: int = 7):
    path = tmp_path / "articles.jsonl"
    records = [
        {"id": f"t{number}", "text": f"Taliban fighters attacked Kabul {number}.", "spans": []}
        for number in range(n)
    ]
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def test_an_export_stopped_with_sigterm_leaves_no_file_behind(runner, database_url, tmp_path):
    imported = runner.invoke(main, ["import", str(corpus(tmp_path)), "--origin", "model"])
    assert imported.exit_code == 0, imported.output
    out = tmp_path / "out"
    out.mkdir()

    done = terminated(
        database_url, "export", "--origin", "model", "--format", "jsonl", "-o", str(out / "m.jsonl")
    )

    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    assert list(out.iterdir()) == []


def test_an_import_stopped_with_sigterm_deletes_what_it_wrote(app, database_url, tmp_path):
    done = terminated(database_url, "import", str(corpus(tmp_path)))

    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr
    with Session(app.extensions["annotator.engine"]) as session:
        # Not merely invisible: the chunk written before the signal is gone, and so is its batch.
        assert session.exec(select(func.count()).select_from(Article)).one() == 0
        assert session.exec(select(func.count()).select_from(ImportBatch)).one() == 0
