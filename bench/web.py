"""Measure the server time of the review UI: an article page and a span edit, on SQLite and PostgreSQL.

Fills a fresh database per backend with N news-like articles (2-4 KB, about
eight model spans each), logs an annotator in, and times requests made through
Flask's test client, in process (so no network, no browser):

- page, first visit: GET /articles/<id> of an article not opened before (creates
  the annotator's state and copies the model spans, then renders);
- page, revisit: the same pages again;
- edit: htmx POSTs of span edits (relabel, resize, delete, add, undo) answered
  with their fragments.

After filling, the database gets the statistics (and PostgreSQL the
visibility map) that autovacuum would give it: ANALYZE, and VACUUM ANALYZE on
PostgreSQL. Without it PostgreSQL counts the articles with a sequential scan.

Baselines from the same run and database: a bare Flask app returning a static
string, a static route inside the app (login guard, user lookup and CSRF check
included), and the raw queries a page needs (article, state, spans).

    .venv/bin/python bench/web.py [--n 10000] [--requests 1000]

PostgreSQL: the server named by ANNOTATOR_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); the benchmark creates its own
database there and drops it after. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from annotator import create_app
from annotator.db import make_engine, normalize_url, upgrade
from annotator.models import AnnotationState, Article, Span, utcnow
from annotator.services import users

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PAGE_P99_TARGET_MS = 30.0
EDIT_P99_TARGET_MS = 20.0
CSRF = "bench-csrf-token"
HTMX = {"HX-Request": "true", "X-CSRF-Token": CSRF}

ACTORS = ["Taliban", "NATO", "Afghan security forces", "U.S. forces", "Interior Ministry", "Hamid Karzai"]
PLACES = ["Kabul", "Kandahar", "Helmand province", "Kunduz", "Sangin district", "Ghazni", "Herat"]
CASUALTIES = [
    (
        "at least 35 civilians",
        {"count": 35, "qualifier": "at_least", "outcome": "killed", "group": "civilian"},
    ),
    ("nine soldiers", {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}),
    (
        "dozens of people",
        {"count": None, "qualifier": "vague", "outcome": "killed", "group": "mixed_or_unknown"},
    ),
]
TEMPLATES = [
    "{ACTOR} fighters attacked a checkpoint in {LOCATION} on Monday, killing {CASUALTY}, officials said.",
    "A spokesman for the {ACTOR} said the operation near {LOCATION} would continue for several weeks.",
    "The clashes in {LOCATION} wounded {CASUALTY} and forced hundreds of families from their homes.",
]
FILLER = [
    "Residents described a tense night as gunfire echoed through the streets and shops stayed closed.",
    "Officials said it was too early to say how long the fighting would last or what it would cost.",
    "Local elders called for talks, saying that years of fighting had left the area exhausted and poor.",
]
# The edits made on each article, in order; together they leave it as it was.
EDIT_CYCLE = ["relabel", "relabel back", "grow end", "shrink end", "delete", "add", "undo", "undo"]


def make_text(rng: random.Random) -> tuple[str, list[dict]]:
    """Return a 2-4 KB article and its spans (about a third of the sentences carry entities)."""
    size = rng.randint(2000, 4000)
    parts: list[str] = []
    spans: list[dict] = []
    length = 0
    while length < size:
        sentence = rng.choice(TEMPLATES) if rng.random() < 0.35 else rng.choice(FILLER)
        for index, piece in enumerate(sentence.replace("}", "{").split("{")):
            if index % 2 == 0:
                parts.append(piece)
                length += len(piece)
                continue
            attrs = {}
            if piece == "ACTOR":
                surface = rng.choice(ACTORS)
            elif piece == "LOCATION":
                surface = rng.choice(PLACES)
            else:
                surface, attrs = rng.choice(CASUALTIES)
            spans.append({"start": length, "end": length + len(surface), "label": piece, "attrs": attrs})
            parts.append(surface)
            length += len(surface)
        parts.append("\n\n" if rng.random() < 0.25 else " ")
        length += len(parts[-1])
    return "".join(parts), spans


def fill(engine: Engine, n: int) -> int:
    """Insert n articles with their model spans; return the number of spans."""
    rng = random.Random(20151001)
    now = utcnow()
    articles, spans = [], []
    for number in range(1, n + 1):
        text, article_spans = make_text(rng)
        articles.append(
            {
                "id": number,
                "external_id": f"bench-{number:06d}",
                "text": text,
                "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "meta": {},
                "imported_at": now,
            }
        )
        spans.extend(
            {
                **span,
                "article_id": number,
                "origin": "model",
                "source": "bench",
                "created_at": now,
                "updated_at": now,
            }
            for span in article_spans
        )
    with engine.begin() as connection:
        connection.execute(insert(Article.__table__), articles)
        connection.execute(insert(Span.__table__), spans)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    return len(spans)


def summary(samples: list[float]) -> tuple[float, float]:
    """Return the median and the 99th percentile of ``samples`` (seconds), in milliseconds."""
    return statistics.median(samples) * 1000, statistics.quantiles(samples, n=100)[98] * 1000


def timed(call: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def check(response, status: int = 200):
    if response.status_code != status:
        sys.exit(
            f"unexpected {response.status_code} for {response.request.path}: {response.get_data(as_text=True)}"
        )
    return response


def log_in(app: Flask, username: str, password: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF
    check(
        client.post("/auth/login", data={"username": username, "password": password, "csrf_token": CSRF}), 303
    )
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF
    return client


def bare_flask(times: int) -> list[float]:
    app = Flask("bare")
    app.add_url_rule("/", "bare", lambda: "ok")
    client = app.test_client()
    return timed(lambda: client.get("/"), times)


def raw_page_queries(engine: Engine, user_id: int, times: int) -> list[float]:
    """Time the queries a page needs, by hand: the article, the user's state, the spans."""
    with Session(engine) as session:

        def query(external_id: str) -> None:
            article = session.exec(select(Article).where(Article.external_id == external_id)).one()
            session.exec(
                select(AnnotationState).where(
                    AnnotationState.article_id == article.id, AnnotationState.user_id == user_id
                )
            ).first()
            session.exec(
                select(Span.id, Span.start, Span.end, Span.label, Span.attrs)
                .where(Span.article_id == article.id, Span.origin == "annotator", Span.owner_id == user_id)
                .order_by(Span.start)
            ).all()
            session.rollback()

        numbers = iter(range(1, times + 1))
        return timed(lambda: query(f"bench-{next(numbers):06d}"), times)


def edit_requests(client, article_id: int, span: dict) -> Iterator[tuple[str, dict]]:
    """Yield (url, form) of the edit cycle on one span, starting at version 0."""
    other = "LOCATION" if span["label"] != "LOCATION" else "ACTOR"
    forms = {
        "relabel": ("label", {"span": span["id"], "label": other}),
        "relabel back": ("label", {"span": span["id"], "label": span["label"]}),
        "grow end": ("resize", {"span": span["id"], "move": "grow-end"}),
        "shrink end": ("resize", {"span": span["id"], "move": "shrink-end"}),
        "delete": ("delete", {"span": span["id"]}),
        "add": ("spans", {"start": span["start"], "end": span["end"], "label": span["label"]}),
        "undo": ("undo", {}),
    }
    for version, step in enumerate(EDIT_CYCLE):
        action, form = forms[step]
        yield f"/review/{article_id}/{action}", {**form, "version": version}


FIRST_MARK = re.compile(r'<mark data-span-id="(\d+)" data-label="(\w+)" data-start="(\d+)" data-end="(\d+)"')


def bench(name: str, engine: Engine, url: str, n: int, times: int) -> bool:
    started = time.perf_counter()
    spans = fill(engine, n)
    print(f"{name}: {n} articles, {spans} model spans ({time.perf_counter() - started:.1f} s to fill)")
    with Session(engine) as session:
        user = users.create_user(session, "bench", "bench-password")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
    app.add_url_rule("/bench/static", "bench_static", lambda: "ok")
    client = log_in(app, "bench", "bench-password")

    warm = 20  # articles n-warm+1..n warm up the caches, the tokenizer and the connection pool
    for number in range(n - warm + 1, n + 1):
        html = check(client.get(f"/articles/bench-{number:06d}")).get_data(as_text=True)
        span_id, label, start, end = FIRST_MARK.search(html).groups()
        span = {"id": span_id, "label": label, "start": start, "end": end}
        for path, form in edit_requests(client, number, span):
            check(client.post(path, data=form, headers=HTMX))

    results = {
        "baseline: bare Flask app, static string": bare_flask(times),
        "baseline: static route in this app (login, CSRF)": timed(lambda: client.get("/bench/static"), times),
        "baseline: raw queries of a page": raw_page_queries(engine, user.id, times),
    }
    numbers = iter(range(1, times + 1))
    pages: dict[int, str] = {}

    def first_visit() -> None:
        number = next(numbers)
        pages[number] = check(client.get(f"/articles/bench-{number:06d}")).get_data(as_text=True)

    results["page: first visit (copies model spans)"] = timed(first_visit, times)
    numbers = iter(range(1, times + 1))
    results["page: revisit"] = timed(lambda: check(client.get(f"/articles/bench-{next(numbers):06d}")), times)

    edits = []
    for number in range(1, times // len(EDIT_CYCLE) + 2):
        span_id, label, start, end = FIRST_MARK.search(pages[number]).groups()
        span = {"id": span_id, "label": label, "start": start, "end": end}
        edits.extend(edit_requests(client, number, span))
    edits = iter(edits[:times])

    def edit() -> None:
        path, form = next(edits)
        check(client.post(path, data=form, headers=HTMX))

    results["edit: htmx span edit, fragments back"] = timed(edit, times)
    app.extensions["annotator.engine"].dispose()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"  {'':50} {'median':>9} {'p99':>9}   ({times} requests each; load average {load} on {os.cpu_count()} CPUs)"
    )
    for what, samples in results.items():
        median, p99 = summary(samples)
        print(f"  {what:50} {median:7.2f}ms {p99:7.2f}ms")
    page_p99 = max(summary(results[key])[1] for key in results if key.startswith("page"))
    edit_p99 = summary(results["edit: htmx span edit, fragments back"])[1]
    page_ok, edit_ok = page_p99 < PAGE_P99_TARGET_MS, edit_p99 < EDIT_P99_TARGET_MS
    print(
        f"  targets: page p99 {page_p99:.1f} ms < {PAGE_P99_TARGET_MS:.0f} ms {'ok' if page_ok else 'MISSED'}; "
        f"edit p99 {edit_p99:.1f} ms < {EDIT_P99_TARGET_MS:.0f} ms {'ok' if edit_ok else 'MISSED'}"
    )
    return page_ok and edit_ok


@contextmanager
def sqlite_database(folder: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{folder / f'bench-{secrets.token_hex(4)}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine, url
    finally:
        engine.dispose()


def postgres_database(server_url: str) -> AbstractContextManager[tuple[Engine, str]] | None:
    """Return a fresh PostgreSQL database on ``server_url`` (dropped on exit), or None when it does not answer."""
    url = make_url(normalize_url(server_url))
    if url.host not in ("127.0.0.1", None):
        sys.exit(f"refusing to benchmark on {url.host}: only 127.0.0.1 is allowed")
    url = url.set(host="127.0.0.1")
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as error:
        print(f"PostgreSQL: skipped, {url.render_as_string()} does not answer ({error.orig})")
        admin.dispose()
        return None

    @contextmanager
    def database() -> Iterator[tuple[Engine, str]]:
        name = f"annotator_bench_web_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        database_url = url.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(database_url)
        try:
            upgrade(engine)
            yield engine, database_url
        finally:
            engine.dispose()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    return database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles in the database (default 10000)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement (default 1000)")
    args = parser.parse_args()
    if args.n < args.requests + 20:
        sys.exit("--n must exceed --requests by at least 20 (the warm-up articles)")
    # Logging in once per backend; the KDF's cost is not what this measures.
    users.PASSWORD_METHOD = "scrypt:1024:8:1"
    ok = True
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        with sqlite_database(Path(folder)) as (engine, url):
            ok &= bench("SQLite", engine, url, args.n, args.requests)
    postgres = postgres_database(os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    if postgres is not None:
        with postgres as (engine, url):
            ok &= bench("PostgreSQL", engine, url, args.n, args.requests)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
