"""Measure API article reads over HTTP: the app under gunicorn on 127.0.0.1, SQLite and PostgreSQL.

Fills a fresh database with --articles articles (default 10,000) of 600 to 800
words made of the seed gold's paragraphs (bench/curation.py's corpus), each
pre-annotated with about 40 model spans; every other article also has an
annotator's accepted version (so it has gold) and every tenth a prediction
pushed under the source "crf". External ids hold a slash ("bench/000123"), so
every read URL-encodes one.

Then serves the app with gunicorn (--workers, default 1: the requests are
sequential) on a free port of 127.0.0.1 and makes --requests (default 1,000)
sequential requests of each kind, one connection each (gunicorn's sync
workers close it after every answer), interleaved kind by kind so that every
kind sees the same load on the machine:

- baseline: GET /healthz (no database, no token);
- GET /api/v1/me with a reviewer's token (authentication alone);
- GET /api/v1/articles/<id> of a random article (text, model spans, gold,
  every annotator's version);
- GET /api/v1/articles?after=<random>&limit=100, a page of the list with
  every annotator's status and has_gold.

Prints p50 and p99 (ms, client side: connect, request, whole body) and each
p50's ratio to the baseline's, with the load average before and after.
Nothing is asserted.

    .venv/bin/python bench/api_reads.py [--articles 10000] [--requests 1000] [--workers 1] [--postgres [URL]]

SQLite in a temporary folder by default; --postgres also measures PostgreSQL, in
a database of its own created on the server of URL (default
postgresql://postgres@127.0.0.1:5432/test) and dropped after. Only 127.0.0.1
is accepted.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's annotator, whatever is installed
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench folder is no package

from curation import CORPUS_SPANS, _paragraphs, loadavg, make_text, sqlite_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402
from web import postgres_database  # noqa: E402

from annotator.models import AnnotationState, Article, Prediction, Span, User, utcnow  # noqa: E402
from annotator.services.api_tokens import create_token  # noqa: E402
from annotator.services.users import create_user  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PAGE = 100
KINDS = (
    "baseline: GET /healthz",
    "GET /api/v1/me",
    "GET /api/v1/articles/<id>",
    "GET /api/v1/articles (page)",
)


# --- the data ----------------------------------------------------------------------------------


def fill(engine: Engine, articles: int) -> dict:
    """Write the corpus with bulk inserts; return the external ids and the span count."""
    rng = random.Random(20261202)
    paragraphs = _paragraphs()
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    external_ids, spans_written = [], 0
    with engine.begin() as connection:
        # No explicit id: PostgreSQL's sequence must hand out the next user's.
        ann = connection.execute(
            insert(User.__table__)
            .values(username="ann", password_hash="!", role="annotator", created_at=now)
            .returning(User.__table__.c.id)
        ).scalar_one()
        for first in range(0, articles, 1000):
            rows, spans, states, predictions = [], [], [], []
            for number in range(first + 1, min(articles, first + 1000) + 1):
                text, base = make_text(paragraphs, rng, words=rng.randint(600, 800))
                if len(base) > CORPUS_SPANS:
                    base = sorted(rng.sample(base, CORPUS_SPANS), key=lambda s: (s["start"], s["end"]))
                external_id = f"bench/{number:06d}"
                external_ids.append(external_id)
                rows.append(
                    {
                        "id": number,
                        "external_id": external_id,
                        "text": text,
                        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                        "meta": {"title": f"Bench article {number}", "source": "bench"},
                        "imported_at": now,
                        "preannotated_with": "bench",
                    }
                )
                spans += [
                    {
                        **s,
                        "article_id": number,
                        "origin": "model",
                        "owner_id": None,
                        "source": "ner@bench",
                        **stamps,
                    }
                    for s in base
                ]
                if number % 2 == 0:
                    spans += [
                        {
                            **s,
                            "article_id": number,
                            "origin": "annotator",
                            "owner_id": ann,
                            "source": None,
                            **stamps,
                        }
                        for s in base
                    ]
                    states.append(
                        {"article_id": number, "user_id": ann, "status": "accepted", "version": 1, **stamps}
                    )
                if number % 10 == 0:
                    pushed = base[::2]
                    spans += [
                        {
                            **s,
                            "article_id": number,
                            "origin": "model",
                            "owner_id": None,
                            "source": "api:crf",
                            **stamps,
                        }
                        for s in pushed
                    ]
                    predictions.append(
                        {"article_id": number, "source": "crf", "spans": len(pushed), "pushed_at": now}
                    )
            connection.execute(insert(Article.__table__), rows)
            connection.execute(insert(Span.__table__), spans)
            if states:
                connection.execute(insert(AnnotationState.__table__), states)
            if predictions:
                connection.execute(insert(Prediction.__table__), predictions)
            spans_written += len(spans)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return {"external_ids": external_ids, "spans": spans_written}


def reviewer_token(engine: Engine) -> str:
    with Session(engine) as session:
        user = create_user(session, "rev", "bench-reviewer-pw", role="reviewer")
        _, secret = create_token(session, user, "bench")
        session.commit()
    return secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "annotator:create_app()",
        ],
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = get(port, "/healthz")
            if status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 60 s")


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- timing ------------------------------------------------------------------------------------


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(port: int, token: str, external_ids: list[str], requests: int, rng: random.Random) -> dict:
    auth = {"Authorization": f"Bearer {token}"}
    last_cursor = max(0, len(external_ids) - PAGE)

    def paths():
        return {
            KINDS[0]: ("/healthz", {}),
            KINDS[1]: ("/api/v1/me", auth),
            KINDS[2]: (f"/api/v1/articles/{quote(rng.choice(external_ids), safe='')}", auth),
            KINDS[3]: (f"/api/v1/articles?after={rng.randint(0, last_cursor)}&limit={PAGE}", auth),
        }

    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    sizes: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for round_ in range(requests + 20):
        for kind, (path, headers) in paths().items():
            started = time.perf_counter()
            status, body = get(port, path, headers)
            took = (time.perf_counter() - started) * 1000
            if status != 200:
                sys.exit(f"{path}: {status} {body[:300]!r}")
            if round_ >= 20:  # the first rounds warm the worker up
                times[kind].append(took)
                sizes[kind].append(len(body))
    return {"times": times, "sizes": sizes}


def report(figures: dict) -> None:
    base = statistics.median(figures["times"][KINDS[0]])
    print(f"    {'request':<30} {'p50 ms':>8} {'p99 ms':>8} {'p50 / baseline':>15} {'answer':>10}")
    for kind in KINDS:
        samples = figures["times"][kind]
        p50 = statistics.median(samples)
        size = statistics.median(figures["sizes"][kind])
        print(
            f"    {kind:<30} {p50:>8.2f} {percentile(samples, 0.99):>8.2f} {p50 / base:>14.1f}x {size / 1024:>8.1f} KB"
        )


def bench(name: str, engine: Engine, url: str, options) -> None:
    started = time.perf_counter()
    made = fill(engine, options.articles)
    token = reviewer_token(engine)
    engine.dispose()
    print(
        f"{name}: {options.articles:,} articles, {made['spans']:,} spans "
        f"({time.perf_counter() - started:.1f} s to fill); gunicorn -w {options.workers}"
    )
    port = free_port()
    server = start_gunicorn(url, port, options.workers)
    try:
        article = json.loads(
            get(
                port,
                f"/api/v1/articles/{quote(made['external_ids'][9], safe='')}",
                {"Authorization": f"Bearer {token}"},
            )[1]
        )
        print(
            f"  one article: {len(article['text'].split())} words, {len(article['spans']['model'])} model spans, "
            f"{sum(len(spans) for spans in article['spans']['annotators'].values())} annotator spans, "
            f"{len(article['spans']['gold'] or [])} gold spans"
        )
        print(f"  load average before measuring: {loadavg()} ({os.cpu_count()} CPUs)")
        figures = measure(port, token, made["external_ids"], options.requests, random.Random(7))
        print(f"  load average after measuring: {loadavg()}")
        print(f"  {options.requests:,} sequential requests of each kind, interleaved:")
        report(figures)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000, help="articles (default 10000)")
    parser.add_argument("--requests", type=int, default=1_000, help="requests of each kind (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (default 1)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES_URL,
        help=f"benchmark PostgreSQL too, at URL (default {DEFAULT_POSTGRES_URL})",
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, sqlite_database(Path(folder)) as (engine, url):
        bench("SQLite", engine, url, options)
    if options.postgres:
        database = postgres_database(options.postgres)
        if database is None:
            return
        with database as (engine, url):
            bench("PostgreSQL", engine, url, options)


if __name__ == "__main__":
    main()
