"""Measure how long the import page takes to import one large upload, for gunicorn's --timeout.

Generates N news-like articles (as bench/import.py does: 2-4 KB, a few spans
each) as one JSONL file, logs in as an admin and posts the file to
/admin/import/ through the WSGI app, as a gunicorn worker behind a buffering
proxy receives it: the time is the worker's (reading the multipart body,
checking every record, writing, committing), without the network.

    .venv/bin/python bench/upload.py [--n 20000] [--corpus FILE.jsonl]

With --corpus (a file bench/import.py's generator wrote, say), nothing is
generated, so the peak RSS printed is the upload's own (plus the app's).

PostgreSQL: the server named by ANNOTATOR_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), in a database of its own that is
dropped after. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import tempfile
import time
from pathlib import Path

from sqlmodel import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from annotator import create_app
from annotator.services.settings import set_setting
from annotator.services.users import create_user

_spec = importlib.util.spec_from_file_location("bench_import", Path(__file__).with_name("import.py"))
bench_import = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_import)

PASSWORD = "bench-password-long"


def timed_upload(database_url: str, corpus: Path) -> tuple[float, int, str]:
    """Upload ``corpus`` once; return the seconds taken, the HTTP status and the result's summary line."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    engine = app.extensions["annotator.engine"]
    with Session(engine) as session:
        create_user(session, "bench-admin", PASSWORD, role="admin")
        set_setting(session, "upload_limit_mb", "1000")
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page)[1]
    client.post("/auth/login", data={"username": "bench-admin", "password": PASSWORD, "csrf_token": csrf})
    page = client.get("/admin/import/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    with corpus.open("rb") as handle:
        values = MultiDict([("origin", "gold"), ("csrf_token", csrf)])
        values.add("files", FileStorage(handle, corpus.name))
        boundary, body = encode_multipart(values)
    started = time.perf_counter()
    response = client.post(
        "/admin/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    seconds = time.perf_counter() - started
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))
    found = re.search(r"Imported .*? added[^.]*\.", text)
    engine.dispose()
    return seconds, response.status_code, found[0] if found else text[:300]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles to generate (default 20000)")
    parser.add_argument("--corpus", type=Path, help="upload this JSONL file instead of generating one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        folder = Path(folder)
        corpus = args.corpus or folder / "corpus.jsonl"
        if args.corpus is None:
            records = bench_import.write_corpus(corpus, args.n)
            del records
        megabytes = corpus.stat().st_size / 2**20
        articles = sum(1 for line in corpus.open(encoding="utf-8") if line.strip())
        print(f"{articles} articles, {megabytes:.1f} MiB of JSONL, uploaded as one file")
        print(
            f"  peak RSS before the upload: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )
        backends = [("SQLite", lambda: _sqlite(folder))]
        postgres = bench_import.postgres_databases(
            os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", bench_import.DEFAULT_POSTGRES_URL)
        )
        if postgres is not None:
            backends.append(("PostgreSQL", postgres))
        for name, database in backends:
            with database() as engine:
                url = engine.url.render_as_string(hide_password=False)
                engine.dispose()
                seconds, status, summary = timed_upload(url, corpus)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{name}: {seconds:.1f} s ({megabytes / seconds:.1f} MiB/s), HTTP {status}: {summary}")
            print(f"  peak RSS of the process so far: {peak:.0f} MiB")


def _sqlite(folder: Path):
    return bench_import.sqlite_database(folder)


if __name__ == "__main__":
    main()
