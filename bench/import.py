"""Measure how fast the importer stores articles, on SQLite and on PostgreSQL.

Generates N news-like articles (2-4 KB, a few spans each) as one JSONL file,
imports it with ``import_paths`` into a fresh database per backend, imports it
again (everything unchanged), and compares with a bare SQLAlchemy Core
executemany INSERT of the same rows into another fresh database.

Then, per backend, the import runs again into a fresh database in a child
process, which reports its peak RSS (against its RSS before importing and the
file's size), while this process edits one article through Flask's test
client (an add and its undo, over and over): the longest wait of an edit
during the import, p50 and p99, and how many edits failed, against the same
edits with no import running.

    .venv/bin/python bench/import.py [--n 10000] [--dense]

--dense gives each article about 40 spans (the issue's shape) instead of a few.

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
import re
import secrets
import statistics
import subprocess
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's annotator, whatever is installed

from annotator import create_app  # noqa: E402
from annotator.db import make_engine, normalize_url, upgrade  # noqa: E402
from annotator.models import Article, Span, utcnow  # noqa: E402
from annotator.services import users  # noqa: E402
from annotator.services.importer import import_paths  # noqa: E402

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


def make_article(rng: random.Random, number: int, *, dense: bool = False) -> dict:
    """Return one gold-format record of 2-4 KB with a few spans (``dense``: about 40, the issue's shape)."""
    size = rng.randint(2000, 4000)
    parts: list[str] = []
    spans = []
    length = 0
    while length < size:
        sentence = rng.choice(TEMPLATES) if dense or rng.random() < 0.1 else rng.choice(FILLER)
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


def write_corpus(path: Path, n: int, *, dense: bool = False) -> list[dict]:
    rng = random.Random(20151001)
    records = [make_article(rng, number, dense=dense) for number in range(n)]
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


# The child process: imports the file and prints its timings and RSS (ru_maxrss is in KiB on Linux).
CHILD = """
import json, resource, sys, time
from pathlib import Path
from sqlmodel import Session
from annotator.db import make_engine
from annotator.services.importer import import_paths

engine = make_engine(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with Session(engine, expire_on_commit=False) as session:
    summary = import_paths(session, [Path(sys.argv[2])])
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "rss_before_kib": before,
    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "commit_seconds": summary.commit_seconds,
    "described": summary.describe(),
}))
"""
EDITOR = "import-editor"
EDITOR_PASSWORD = "bench-editor-password"
EDIT_TEXT = "Taliban fighters attacked Kabul on Monday, officials said."
CSRF = "bench-csrf-token"
HTMX = {"HX-Request": "true", "X-CSRF-Token": CSRF}
VERSION = re.compile(r'name="version" value="(\d+)"')


class Editor:
    """An annotator editing one article through Flask's test client: an add, then its undo, again and again."""

    def __init__(self, engine: Engine, url: str) -> None:
        with Session(engine) as session:
            users.create_user(session, EDITOR, EDITOR_PASSWORD)
            session.add(
                Article(
                    external_id="edit-target",
                    text=EDIT_TEXT,
                    content_hash=hashlib.sha256(EDIT_TEXT.encode("utf-8")).hexdigest(),
                    meta={},
                )
            )
            session.commit()
        self.app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
        self.client = self.app.test_client()
        with self.client.session_transaction() as cookie:
            cookie["csrf_token"] = CSRF
        form = {"username": EDITOR, "password": EDITOR_PASSWORD, "csrf_token": CSRF}
        assert self.client.post("/auth/login", data=form).status_code == 303
        with self.client.session_transaction() as cookie:
            cookie["csrf_token"] = CSRF
        self.article_id = None
        self.version = self._reload()
        self.failures = 0

    def _reload(self) -> int:
        """Open the article; return its working copy's version."""
        response = self.client.get("/articles/edit-target")
        html = response.get_data(as_text=True)
        if self.article_id is None:
            self.article_id = int(re.search(r"/review/(\d+)/", html).group(1))
        return int(VERSION.search(html).group(1))

    def edit(self) -> float:
        """Make one edit; return how long it took (a failed one counts, and the page is reloaded)."""
        if self.version % 2 == 0:
            action, form = "spans", {"start": 0, "end": 7, "label": "ACTOR"}
        else:
            action, form = "undo", {}
        started = time.perf_counter()
        response = self.client.post(
            f"/review/{self.article_id}/{action}", data={**form, "version": self.version}, headers=HTMX
        )
        took = time.perf_counter() - started
        if response.status_code == 200:
            self.version += 1
        else:
            self.failures += 1
            self.version = self._reload()
        return took

    def close(self) -> None:
        self.app.extensions["annotator.engine"].dispose()


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """Return the median, 99th percentile and maximum of ``samples`` (seconds), in milliseconds."""
    p99 = statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]
    return statistics.median(samples) * 1000, p99 * 1000, max(samples) * 1000


def import_while_editing(engine: Engine, corpus: Path, *, baseline_edits: int = 300) -> dict:
    """Import ``corpus`` in a child process while editing in this one; return the figures."""
    url = engine.url.render_as_string(hide_password=False)
    editor = Editor(engine, url)
    try:
        quiet = [editor.edit() for _ in range(baseline_edits)]
        quiet_failures = editor.failures
        editor.failures = 0
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(corpus)], stdout=subprocess.PIPE, text=True, env=env
        )
        busy = []
        while child.poll() is None:
            busy.append(editor.edit())
        output, _ = child.communicate()
        if child.returncode != 0:
            sys.exit(f"the import failed (exit {child.returncode})")
        return {
            **json.loads(output),
            "quiet": quiet,
            "quiet_failures": quiet_failures,
            "busy": busy or [0.0],
            "busy_failures": editor.failures,
        }
    finally:
        editor.close()


def bench(
    name: str,
    database: Callable[[], AbstractContextManager[Engine]],
    corpus: Path,
    records: list[dict],
) -> None:
    n = len(records)
    with database() as engine:
        first, described = timed_import(engine, corpus)
        again, described_again = timed_import(engine, corpus)
    with database() as engine:
        bare = bare_insert(engine, records)
    print(f"{name}:  (load average {load()})")
    print(f"  import       {n / first:8.0f} articles/s  ({first:.2f} s: {described})")
    print(f"  re-import    {n / again:8.0f} articles/s  ({again:.2f} s: {described_again})")
    print(f"  bare insert  {n / bare:8.0f} articles/s  ({bare:.2f} s, Core executemany of the same rows)")
    print(f"  ratio import / bare insert: {bare / first:.2f}")
    with database() as engine:
        figures = import_while_editing(engine, corpus)
    size_mib = corpus.stat().st_size / 2**20
    peak, before = figures["peak_rss_kib"] / 1024, figures["rss_before_kib"] / 1024
    print(f"  import in a child process, with an editor:  (load average {load()})")
    print(
        f"    {n / figures['seconds']:8.0f} articles/s ({figures['seconds']:.2f} s: {figures['described']}); "
        f"the last transaction held the write lock {figures['commit_seconds'] * 1000:.0f} ms"
    )
    print(
        f"    peak RSS {peak:.0f} MiB: {peak / before:.2f}x the process before importing ({before:.0f} MiB), "
        f"{peak / size_mib:.2f}x the file ({size_mib:.1f} MiB)"
    )
    quiet, busy = percentiles(figures["quiet"]), percentiles(figures["busy"])
    print(
        f"    edits with no import:   {len(figures['quiet']):5d}, p50 {quiet[0]:6.1f} ms, p99 {quiet[1]:6.1f} ms, "
        f"longest {quiet[2]:6.1f} ms, {figures['quiet_failures']} failed"
    )
    print(
        f"    edits while importing:  {len(figures['busy']):5d}, p50 {busy[0]:6.1f} ms, p99 {busy[1]:6.1f} ms, "
        f"longest {busy[2]:6.1f} ms, {figures['busy_failures']} failed"
    )
    print(
        f"    ratio while importing / no import: p50 {busy[0] / quiet[0]:.2f}, p99 {busy[1] / quiet[1]:.2f}, "
        f"longest {busy[2] / quiet[2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles to generate (default 10000)")
    parser.add_argument("--dense", action="store_true", help="about 40 spans an article instead of a few")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        folder = Path(folder)
        corpus = folder / "corpus.jsonl"
        records = write_corpus(corpus, args.n, dense=args.dense)
        spans = sum(len(record["spans"]) for record in records)
        megabytes = corpus.stat().st_size / 1e6
        print(f"{args.n} articles, {spans} spans, {megabytes:.1f} MB of JSONL; {os.cpu_count()} CPUs")
        bench("SQLite", lambda: sqlite_database(folder), corpus, records)
        postgres = postgres_databases(os.environ.get("ANNOTATOR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        if postgres is not None:
            bench("PostgreSQL", postgres, corpus, records)


if __name__ == "__main__":
    main()
