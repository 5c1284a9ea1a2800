"""Measure how fast the importer stores articles, on SQLite and on PostgreSQL.

Generates N news-like articles (2-4 KB, a few spans each) as one JSONL file,
imports it with ``import_paths`` into a fresh database per backend, imports it
again (everything unchanged), and compares with a bare SQLAlchemy Core
executemany INSERT of the same rows into another fresh database.

    .venv/bin/python bench/import.py [--n 10000]

PostgreSQL: the server named by ANNOTATOR_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test); the benchmark creates its own
databases there and drops them after. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from annotator.db import make_engine, normalize_url, upgrade
from annotator.models import Article, Span, utcnow
from annotator.services.importer import import_paths

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

PLACES = [
    "Kabul",
    "Kandahar",
    "Helmand province",
    "Kunduz",
    "Sangin district",
    "Ghazni",
    "Herat",
    "Jalalabad",
]
ACTORS = ["Taliban", "NATO", "Afghan security forces", "U.S. forces", "Interior Ministry", "Hamid Karzai"]
CASUALTIES = [
    (
        "at least 35 civilians",
        {"count": 35, "qualifier": "at_least", "outcome": "killed", "group": "civilian"},
    ),
    ("nine soldiers", {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}),
    ("13 policemen", {"count": 13, "qualifier": "exact", "outcome": "wounded", "group": "security"}),
    (
        "dozens of people",
        {"count": None, "qualifier": "vague", "outcome": "killed", "group": "mixed_or_unknown"},
    ),
]
# Sentences with slots; each filled slot becomes a span.
TEMPLATES = [
    "{ACTOR} fighters attacked a checkpoint in {LOCATION} on Monday, killing {CASUALTY}, officials said.",
    "A spokesman for the {ACTOR} said the operation near {LOCATION} would continue for several weeks.",
    "The clashes in {LOCATION} wounded {CASUALTY} and forced hundreds of families from their homes.",
    "{ACTOR} said the attack on the district centre had been repelled after a battle that lasted hours.",
]
FILLER = [
    "Residents described a tense night as gunfire echoed through the streets and shops stayed closed.",
    "Officials said it was too early to say how long the fighting would last or what it would cost.",
    "The government has promised more help for the families of those who lost their homes this year.",
    "Local elders called for talks, saying that years of fighting had left the area exhausted and poor.",
    "Aid groups warned that the roads to the provincial capital remained unsafe for supply convoys.",
]


def make_article(rng: random.Random, number: int) -> dict:
    """Return one gold-format record of 2-4 KB with a few spans."""
    size = rng.randint(2000, 4000)
    parts: list[str] = []
    spans = []
    length = 0
    while length < size:
        sentence = rng.choice(TEMPLATES) if rng.random() < 0.1 else rng.choice(FILLER)
        pieces = sentence.replace("}", "{").split("{")
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                parts.append(piece)
                length += len(piece)
                continue
            attrs = None
            if piece == "ACTOR":
                surface = rng.choice(ACTORS)
            elif piece == "LOCATION":
                surface = rng.choice(PLACES)
            else:
                surface, attrs = rng.choice(CASUALTIES)
            span = {"start": length, "end": length + len(surface), "label": piece}
            if attrs:
                span["attrs"] = attrs
            spans.append(span)
            parts.append(surface)
            length += len(surface)
        parts.append("\n\n" if rng.random() < 0.25 else " ")
        length += len(parts[-1])
    return {"id": f"bench-{number:06d}", "text": "".join(parts), "source": "bench", "spans": spans}


def write_corpus(path: Path, n: int) -> list[dict]:
    rng = random.Random(20151001)
    records = [make_article(rng, number) for number in range(n)]
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return records


def bare_insert(engine: Engine, records: list[dict]) -> float:
    """Insert the same articles and spans with plain executemany; return the seconds taken."""
    now = utcnow()
    articles = [
        {
            "id": number,
            "external_id": record["id"],
            "text": record["text"],
            "content_hash": hashlib.sha256(record["text"].encode("utf-8")).hexdigest(),
            "meta": {"source": record["source"]},
            "imported_at": now,
        }
        for number, record in enumerate(records, start=1)
    ]
    spans = [
        {
            "article_id": number,
            "start": span["start"],
            "end": span["end"],
            "label": span["label"],
            "attrs": span.get("attrs") or {},
            "origin": "gold",
            "owner_id": None,
            "created_at": now,
            "updated_at": now,
        }
        for number, record in enumerate(records, start=1)
        for span in record["spans"]
    ]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Article.__table__), articles)
        connection.execute(insert(Span.__table__), spans)
    return time.perf_counter() - started


def timed_import(engine: Engine, corpus: Path) -> tuple[float, str]:
    with Session(engine, expire_on_commit=False) as session:
        started = time.perf_counter()
        summary = import_paths(session, [corpus])
        return time.perf_counter() - started, summary.describe()


@contextmanager
def sqlite_database(folder: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{folder / f'bench-{secrets.token_hex(4)}.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def postgres_databases(server_url: str) -> Callable[[], AbstractContextManager[Engine]] | None:
    """Return a factory of fresh PostgreSQL databases on ``server_url``, or None when it does not answer."""
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
    def database() -> Iterator[Engine]:
        name = f"annotator_bench_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database


def bench(
    name: str, database: Callable[[], AbstractContextManager[Engine]], corpus: Path, records: list[dict]
) -> None:
    n = len(records)
    with database() as engine:
        first, described = timed_import(engine, corpus)
        again, described_again = timed_import(engine, corpus)
    with database() as engine:
        bare = bare_insert(engine, records)
    print(f"{name}:")
    print(f"  import       {n / first:8.0f} articles/s  ({first:.2f} s: {described})")
    print(f"  re-import    {n / again:8.0f} articles/s  ({again:.2f} s: {described_again})")
    print(f"  bare insert  {n / bare:8.0f} articles/s  ({bare:.2f} s, Core executemany of the same rows)")
    print(f"  ratio import / bare insert: {bare / first:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles to generate (default 10000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        folder = Path(folder)
        corpus = folder / "corpus.jsonl"
        records = write_corpus(corpus, args.n)
        spans = sum(len(record["spans"]) for record in records)
        megabytes = corpus.stat().st_size / 1e6
        print(f"{args.n} articles, {spans} spans, {megabytes:.1f} MB of JSONL")
        bench("SQLite", lambda: sqlite_database(folder), corpus, records)
        postgres = postgres_databases(os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        if postgres is not None:
            bench("PostgreSQL", postgres, corpus, records)


if __name__ == "__main__":
    main()
