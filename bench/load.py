"""Load the app with N simulated annotators over HTTP: gunicorn on 127.0.0.1, SQLite and PostgreSQL.

Fills a fresh database with --articles articles (default 2,000) of 600 to 800
words and about 40 model spans each, creates --annotators users (default 20)
and serves the app with gunicorn (--workers sync workers, default 4, as the
README deploys it) on a free port of 127.0.0.1. Each simulated annotator is a
thread of this process, logged in as its own user through the login form, with
its own cookie and CSRF token, and works on its own share of the articles (so
no two of them ever want the same one) for --duration seconds (default 60),
after --warmup seconds (default 5) of the same work unmeasured:

- opens an article (GET /articles/<id>, the whole page: a first visit copies
  the model's spans, a later one only reads);
- on two of its spans in turn, makes the edits the browser sends as htmx POSTs
  with the CSRF header and the version read from the last answer: relabel,
  relabel back, grow by a token, shrink back, delete, add again, undo, undo;
- then moves on to its next article.

Two paces:

- ``--pace realistic``: a random think time of 1 to 3 s before every request
  (about one action every 2 s per annotator). Prints p50 and p99 of edits and
  of pages, client side (connect, request, whole answer), against the targets
  edit p99 <= 50 ms and page p99 <= 100 ms on this machine, load generator
  included.
- ``--pace saturate``: no think time. Prints edits/s and the server's CPU time
  per edit: the gunicorn master's and workers' user+system time
  (/proc/<pid>/stat) over the run, divided by the edits acknowledged. On
  PostgreSQL also the CPU time of the database's backend processes (found in
  pg_stat_activity, read in /proc while the run lasts), apart and summed. The
  pages opened between edits are part of the load, so "per edit" carries
  their share; per request is printed too.

Afterwards every annotator's acknowledged edits (2xx answers) are checked
against the database: for each of its articles, the version it last saw
acknowledged is the state's version, and the edit log (span_edit) holds
exactly the edits it was told were saved and not undone. The count of lost
edits must be 0 (the exit status is 1 otherwise). The load average is printed
with every figure.

    .venv/bin/python bench/load.py [--pace realistic|saturate] [--annotators 20] [--duration 60]
        [--articles 2000] [--workers 4] [--backend both|sqlite|postgresql] [--postgres URL]
        [--app-dir PATH]

``--app-dir`` serves (and fills the database with the models and migrations of)
another checkout, for a before/after comparison on the same machine, e.g.
``git worktree add /tmp/before 3fd5c6a`` then ``--app-dir /tmp/before``; this
script imports nothing of its own folder. PostgreSQL: the benchmark creates a
database of its own on the server of --postgres (default
postgresql://postgres@127.0.0.1:5432/test) and drops it after; only 127.0.0.1
is accepted.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode


def _app_dir() -> Path:
    """Return the checkout to serve: --app-dir, else the one holding this script (read before importing it)."""
    for index, arg in enumerate(sys.argv):
        if arg == "--app-dir" and index + 1 < len(sys.argv):
            return Path(sys.argv[index + 1]).resolve()
        if arg.startswith("--app-dir="):
            return Path(arg.split("=", 1)[1]).resolve()
    return Path(__file__).resolve().parent.parent


APP_DIR = _app_dir()
sys.path.insert(0, str(APP_DIR))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlmodel import Session  # noqa: E402

from annotator.db import make_engine, normalize_url, upgrade  # noqa: E402
from annotator.models import Article, Span, utcnow  # noqa: E402
from annotator.services import users  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
EDIT_P99_TARGET_MS = 50.0
PAGE_P99_TARGET_MS = 100.0
PASSWORD = "load-bench-password"
TIMEOUT_S = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# --- the corpus -------------------------------------------------------------------------------

ACTORS = ["Taliban", "NATO", "Afghan security forces", "U.S. forces", "Interior Ministry", "Hamid Karzai"]
PLACES = ["Kabul", "Kandahar", "Helmand province", "Kunduz", "Sangin district", "Ghazni", "Herat"]
CASUALTIES = ["at least 35 civilians", "nine soldiers", "dozens of people", "two policemen"]
SLOTS = {"ACTOR": ACTORS, "LOCATION": PLACES, "CASUALTY": CASUALTIES}
TEMPLATES = [
    "{ACTOR} fighters attacked a checkpoint in {LOCATION} on Monday, killing {CASUALTY}, officials said.",
    "A spokesman for the {ACTOR} said the operation near {LOCATION} would continue for several weeks.",
    "The clashes in {LOCATION} wounded {CASUALTY} and forced hundreds of families from their homes.",
    "{ACTOR} and {ACTOR} met in {LOCATION} to discuss the security of the roads.",
]
FILLER = [
    "Residents described a tense night as gunfire echoed through the streets and shops stayed closed.",
    "Officials said it was too early to say how long the fighting would last or what it would cost.",
    "Local elders called for talks, saying that years of fighting had left the area exhausted and poor.",
]


def make_text(rng: random.Random) -> tuple[str, list[dict]]:
    """Return an article of 600 to 800 words and its spans (about 40 of them)."""
    words = rng.randint(600, 800)
    parts: list[str] = []
    spans: list[dict] = []
    length = count = 0
    while count < words:
        sentence = rng.choice(TEMPLATES) if rng.random() < 0.8 else rng.choice(FILLER)
        count += len(sentence.split())
        for index, piece in enumerate(sentence.replace("}", "{").split("{")):
            if index % 2 == 1:
                surface = rng.choice(SLOTS[piece])
                spans.append({"start": length, "end": length + len(surface), "label": piece, "attrs": {}})
                piece = surface
            parts.append(piece)
            length += len(piece)
        parts.append("\n\n" if rng.random() < 0.2 else " ")
        length += len(parts[-1])
    if len(spans) > 40:
        spans = sorted(rng.sample(spans, 40), key=lambda span: span["start"])
    return "".join(parts), spans


def fill(engine: Engine, articles: int, annotators: int) -> int:
    """Write the articles with their model spans and the annotators; return the number of spans."""
    rng = random.Random(20261203)
    now = utcnow()
    written = 0
    with engine.begin() as connection:
        for first in range(1, articles + 1, 500):
            rows, spans = [], []
            for number in range(first, min(articles, first + 499) + 1):
                body, article_spans = make_text(rng)
                rows.append(
                    {
                        "id": number,
                        "external_id": f"load-{number:06d}",
                        "text": body,
                        "content_hash": hashlib.sha256(body.encode()).hexdigest(),
                        "meta": {},
                        "imported_at": now,
                        "preannotated_with": "bench",
                    }
                )
                spans += [
                    {
                        **span,
                        "article_id": number,
                        "origin": "model",
                        "source": "ner@bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for span in article_spans
                ]
            connection.execute(insert(Article.__table__), rows)
            connection.execute(insert(Span.__table__), spans)
            written += len(spans)
    if engine.dialect.name == "postgresql":
        # Explicit ids: move the sequence past them, as an import would have.
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('article', 'id'), max(id)) FROM article"
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    # Each login checks one password; its KDF's cost is not what this measures.
    users.PASSWORD_METHOD = "scrypt:1024:8:1"
    with Session(engine) as session:
        for number in range(annotators):
            users.create_user(session, annotator_name(number), PASSWORD)
    return written


def annotator_name(number: int) -> str:
    return f"load{number:03d}"


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "load-bench-secret",
        "PYTHONPATH": str(APP_DIR),
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
        cwd=APP_DIR,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/healthz").status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within 60 s")


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]
    cookie: str | None


def request(
    port: int, method: str, path: str, *, form: dict | None = None, headers: dict | None = None
) -> Answer:
    """Send one request on a connection of its own (gunicorn's sync workers close it after each answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        body = urlencode(form) if form is not None else None
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        cookie = None
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                cookie = value.split(";", 1)[0]
        return Answer(response.status, response.read().decode(), dict(response.getheaders()), cookie)
    finally:
        connection.close()


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """Return a process's user+system CPU time (with its reaped children's, when asked), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")": state is field 3 of proc(5); utime, stime, cutime, cstime are fields 14 to 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def gunicorn_cpu(master: int) -> float:
    """Return the CPU time of the gunicorn master, its workers, and any worker that exited."""
    return cpu_seconds(master, children=True) + sum(cpu_seconds(pid) for pid in children_of(master))


class BackendWatch(threading.Thread):
    """Sample the CPU time of a PostgreSQL database's backends (same machine) every half second."""

    def __init__(self, engine: Engine, database: str):
        super().__init__(daemon=True)
        self.engine, self.database = engine, database
        self.own_pid: int | None = None
        self.start_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def sample(self, connection) -> None:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"),
            {"db": self.database},
        ).scalars()
        with self.lock:
            for pid in pids:
                cpu = cpu_seconds(pid)
                if cpu:
                    self.last_cpu[pid] = max(cpu, self.last_cpu.get(pid, 0.0))

    def mark_start(self) -> None:
        with self.engine.connect() as connection:
            self.sample(connection)
        with self.lock:
            self.start_cpu = dict(self.last_cpu)

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self.stop.wait(0.5):
                self.sample(connection)
                connection.rollback()

    def used(self) -> float:
        """Return the backends' CPU seconds since mark_start (a backend started since then from zero)."""
        with self.engine.connect() as connection:
            self.sample(connection)
        with self.lock:
            return sum(cpu - self.start_cpu.get(pid, 0.0) for pid, cpu in self.last_cpu.items())


# --- the simulated annotators ------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_HEADER = re.compile(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'')
VERSION = re.compile(r'id="status"[^>]*data-version="(\d+)"')
MARK = re.compile(r'<mark data-span-id="(\d+)" data-label="(\w+)" data-start="(\d+)" data-end="(\d+)"')
SELECTED = re.compile(r'<mark data-span-id="(\d+)"[^>]*class="selected"')


@dataclass
class Seen:
    """One annotator's article as it saw it acknowledged: the version, and the edit log it expects."""

    version: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    uncertain: bool = False


@dataclass
class Annotator:
    number: int
    articles: list[int]
    cookie: str = ""
    csrf: str = ""
    seen: dict[int, Seen] = field(default_factory=dict)
    pages: list[tuple[float, float]] = field(default_factory=list)  # (started at, seconds)
    edits: list[tuple[float, float]] = field(default_factory=list)
    refused: int = 0
    errors: list[str] = field(default_factory=list)


class Refused(Exception):
    """A 4xx answer to an edit: nothing was saved, the annotator goes on with the next one."""


class Failed(Exception):
    """A 5xx answer or no answer: the edit may or may not have been saved."""


def log_in(port: int, annotator: Annotator) -> None:
    login = request(port, "GET", "/auth/login")
    token = CSRF_INPUT.search(login.body).group(1)
    answer = request(
        port,
        "POST",
        "/auth/login",
        form={"username": annotator_name(annotator.number), "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": login.cookie or ""},
    )
    if answer.status != 303 or answer.cookie is None:
        raise SystemExit(f"{annotator_name(annotator.number)} could not log in: {answer.status}")
    annotator.cookie = answer.cookie


class Run:
    def __init__(self, port: int, pace: str, deadline: float, seed: int):
        self.port, self.pace, self.deadline = port, pace, deadline
        self.seed = seed

    def think(self, rng: random.Random) -> bool:
        """Wait the think time (realistic pace); return whether there is time left for another request."""
        if self.pace == "realistic":
            time.sleep(max(0.0, min(rng.uniform(1.0, 3.0), self.deadline - time.monotonic())))
        return time.monotonic() < self.deadline

    def page(self, annotator: Annotator, article_id: int) -> str:
        started = time.perf_counter()
        answer = request(
            self.port, "GET", f"/articles/load-{article_id:06d}", headers={"Cookie": annotator.cookie}
        )
        took = time.perf_counter() - started
        if answer.status != 200:
            raise Failed(f"page {article_id}: {answer.status}")
        annotator.pages.append((started, took))
        annotator.csrf = CSRF_HEADER.search(answer.body).group(1)
        if answer.cookie:
            annotator.cookie = answer.cookie
        return answer.body

    def edit(self, annotator: Annotator, article_id: int, action: str, form: dict, logged: str | None) -> str:
        """Send one edit on the version last acknowledged; record it when acknowledged."""
        seen = annotator.seen[article_id]
        started = time.perf_counter()
        try:
            answer = request(
                self.port,
                "POST",
                f"/review/{article_id}/{action}",
                form={**form, "version": seen.version},
                headers={"Cookie": annotator.cookie, "HX-Request": "true", "X-CSRF-Token": annotator.csrf},
            )
        except OSError as error:
            seen.uncertain = True
            raise Failed(f"edit {action} on {article_id}: {error}") from error
        took = time.perf_counter() - started
        if 400 <= answer.status < 500:
            annotator.refused += 1
            raise Refused(f"{action}: {answer.status}")
        if not 200 <= answer.status < 300:
            seen.uncertain = True
            raise Failed(f"edit {action} on {article_id}: {answer.status}")
        annotator.edits.append((started, took))
        version = int(VERSION.search(answer.body).group(1))
        if version != seen.version + 1:
            annotator.errors.append(
                f"{article_id}: edit on version {seen.version} answered version {version}"
            )
        seen.version = version
        if logged is None:
            seen.log.pop()
        else:
            seen.log.append((version, logged))
        return answer.body

    def cycle(self, rng: random.Random, annotator: Annotator, article_id: int, span: tuple) -> None:
        """Relabel, relabel back, grow and shrink, delete, add again, undo twice: the span ends as it began."""
        span_id, label, start, end = span
        other = "LOCATION" if label != "LOCATION" else "ACTOR"
        steps = [
            ("label", {"span": span_id, "label": other}, "relabel"),
            ("label", {"span": span_id, "label": label}, "relabel"),
            ("resize", {"span": span_id, "move": "grow-end"}, "resize"),
            ("resize", {"span": span_id, "move": "shrink-end"}, "resize"),
            ("delete", {"span": span_id}, "delete"),
            ("spans", {"start": start, "end": end, "label": label}, "add"),
            ("undo", {}, None),
            ("undo", {}, None),
        ]
        skip = False
        for action, form, logged in steps:
            if skip:  # the grow was refused (it would overlap): no shrink either
                skip = False
                continue
            if not self.think(rng):
                return
            try:
                self.edit(annotator, article_id, action, form, logged)
            except Refused:
                skip = action == "resize"
                if action != "resize":
                    return

    def work(self, annotator: Annotator) -> None:
        rng = random.Random(self.seed * 1000 + annotator.number)
        turn = 0
        while time.monotonic() < self.deadline:
            article_id = annotator.articles[turn % len(annotator.articles)]
            turn += 1
            if not self.think(rng):
                return
            try:
                html = self.page(annotator, article_id)
                version = int(VERSION.search(html).group(1))
                seen = annotator.seen.setdefault(article_id, Seen(version=version))
                if version != seen.version:
                    annotator.errors.append(
                        f"{article_id}: page shows version {version}, expected {seen.version}"
                    )
                    seen.version, seen.uncertain = version, True
                marks = MARK.findall(html)
                for span in rng.sample(marks, min(2, len(marks))):
                    self.cycle(rng, annotator, article_id, span)
            except Failed as error:
                annotator.errors.append(str(error))


def run_annotators(run: Run, annotators: list[Annotator]) -> None:
    threads = [threading.Thread(target=run.work, args=(annotator,)) for annotator in annotators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def lost_edits(engine: Engine, annotators: list[Annotator]) -> dict:
    """Compare every acknowledged edit with the database; return the counts."""
    found = {"acknowledged": 0, "lost": 0, "unacknowledged saved": 0, "version mismatches": 0, "uncertain": 0}
    with engine.connect() as connection:
        for annotator in annotators:
            user_id = connection.execute(
                text("SELECT id FROM user_account WHERE username = :name"),
                {"name": annotator_name(annotator.number)},
            ).scalar_one()
            for article_id, seen in annotator.seen.items():
                state = connection.execute(
                    text("SELECT id, version FROM annotation_state WHERE article_id = :a AND user_id = :u"),
                    {"a": article_id, "u": user_id},
                ).first()
                rows = set()
                if state is not None:
                    rows = {
                        (version, action)
                        for version, action in connection.execute(
                            text("SELECT version, action FROM span_edit WHERE state_id = :s"), {"s": state.id}
                        )
                    }
                expected = set(seen.log)
                found["acknowledged"] += len(expected)
                found["lost"] += len(expected - rows)
                db_version = state.version if state is not None else 0
                if seen.uncertain:
                    found["uncertain"] += 1
                    found["version mismatches"] += db_version < seen.version
                    continue
                found["unacknowledged saved"] += len(rows - expected)
                found["version mismatches"] += db_version != seen.version
    return found


# --- measuring ---------------------------------------------------------------------------------


def loadavg() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench(name: str, engine: Engine, url: str, options) -> bool:
    started = time.perf_counter()
    spans = fill(engine, options.articles, options.annotators)
    engine.dispose()
    print(
        f"{name}: {options.articles:,} articles, {spans:,} model spans, {options.annotators} annotators "
        f"({time.perf_counter() - started:.1f} s to fill); gunicorn -w {options.workers}; "
        f"--pace {options.pace}, {options.duration:.0f} s; app {APP_DIR}"
    )
    port = free_port()
    server = start_gunicorn(url, port, options.workers)
    watch = None
    if engine.dialect.name == "postgresql":
        watch = BackendWatch(make_engine(url), make_url(url).database)
    try:
        annotators = [
            Annotator(number, list(range(number + 1, options.articles + 1, options.annotators)))
            for number in range(options.annotators)
        ]
        for annotator in annotators:
            log_in(port, annotator)
        # Every worker loads what it loads lazily (the tokenizer, the templates) before the clock starts.
        warm = Run(port, "saturate", time.monotonic() + options.warmup, options.seed + 1)
        run_annotators(warm, annotators)
        for annotator in annotators:
            annotator.pages.clear()
            annotator.edits.clear()
            annotator.refused = 0
        print(f"  load average before: {loadavg()} ({os.cpu_count()} CPUs)")
        if watch is not None:
            watch.start()
            watch.mark_start()
        cpu_before = gunicorn_cpu(server.pid)
        client_before = time.process_time()
        wall = time.perf_counter()
        run = Run(port, options.pace, time.monotonic() + options.duration, options.seed)
        run_annotators(run, annotators)
        wall = time.perf_counter() - wall
        server_cpu = gunicorn_cpu(server.pid) - cpu_before
        client_cpu = time.process_time() - client_before
        database_cpu = watch.used() if watch is not None else None
        load = loadavg()
    finally:
        if watch is not None:
            watch.stop.set()
        server.terminate()
        server.wait(timeout=30)
    if watch is not None:
        watch.join()
        watch.engine.dispose()

    edits = [took for annotator in annotators for _, took in annotator.edits]
    pages = [took for annotator in annotators for _, took in annotator.pages]
    refused = sum(annotator.refused for annotator in annotators)
    errors = [error for annotator in annotators for error in annotator.errors]
    ok = True
    print(
        f"  {len(edits):,} edits and {len(pages):,} pages acknowledged in {wall:.1f} s; "
        f"{refused} edits refused (4xx, e.g. a grow that would overlap), {len(errors)} errors; "
        f"load average after: {load}"
    )
    for error in errors[:5]:
        print(f"    error: {error}")
    if not edits or not pages:
        print("  nothing was acknowledged")
        return False
    edit_p50, edit_p99 = statistics.median(edits) * 1000, percentile(edits, 0.99) * 1000
    page_p50, page_p99 = statistics.median(pages) * 1000, percentile(pages, 0.99) * 1000
    print(f"    {'request':<10} {'p50 ms':>8} {'p99 ms':>8}   (load average {load})")
    print(f"    {'edit':<10} {edit_p50:>8.1f} {edit_p99:>8.1f}")
    print(f"    {'page':<10} {page_p50:>8.1f} {page_p99:>8.1f}")
    if options.pace == "realistic":
        edit_ok, page_ok = edit_p99 <= EDIT_P99_TARGET_MS, page_p99 <= PAGE_P99_TARGET_MS
        print(
            f"  targets: edit p99 {edit_p99:.1f} ms <= {EDIT_P99_TARGET_MS:.0f} ms {'ok' if edit_ok else 'MISSED'}; "
            f"page p99 {page_p99:.1f} ms <= {PAGE_P99_TARGET_MS:.0f} ms {'ok' if page_ok else 'MISSED'} "
            f"(load average {load})"
        )
    else:
        requests = len(edits) + len(pages)
        print(f"  {len(edits) / wall:.1f} edits/s, {requests / wall:.1f} requests/s (load average {load})")
        print(
            f"  server CPU (gunicorn master and workers): {server_cpu * 1000 / len(edits):.2f} ms per edit, "
            f"{server_cpu * 1000 / requests:.2f} ms per request, {server_cpu:.1f} s in all "
            f"(load average {load})"
        )
        if database_cpu is not None:
            print(
                f"  PostgreSQL backends of the database: {database_cpu * 1000 / len(edits):.2f} ms per edit; "
                f"gunicorn and PostgreSQL together: {(server_cpu + database_cpu) * 1000 / len(edits):.2f} ms "
                f"per edit (load average {load})"
            )
        print(f"  the load generator (this process): {client_cpu * 1000 / requests:.2f} ms CPU per request")
    checked = lost_edits(engine, annotators)
    engine.dispose()
    print(
        f"  lost edits: {checked['lost']} of {checked['acknowledged']:,} acknowledged and not undone, warm-up included "
        f"(version mismatches {checked['version mismatches']}, saved without an acknowledgement "
        f"{checked['unacknowledged saved']}, articles left uncertain by an error {checked['uncertain']})"
    )
    ok &= checked["lost"] == 0 and checked["version mismatches"] == 0
    return ok


@contextmanager
def sqlite_database(folder: Path):
    url = f"sqlite:///{folder / f'load-{secrets.token_hex(4)}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine, url
    finally:
        engine.dispose()


@contextmanager
def postgres_database(server_url: str):
    """Yield a fresh PostgreSQL database on ``server_url``, dropped on exit (None when the server does not answer)."""
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
        yield None
        return
    name = f"annotator_bench_load_{os.getpid()}_{secrets.token_hex(4)}"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pace", choices=("realistic", "saturate"), default="realistic")
    parser.add_argument("--annotators", type=int, default=20, help="simulated annotators (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds of load before measuring, without think time (default 5)",
    )
    parser.add_argument("--articles", type=int, default=2_000, help="articles (default 2000)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES_URL, help=f"server (default {DEFAULT_POSTGRES_URL})"
    )
    parser.add_argument("--app-dir", help="the checkout to serve (default: this script's)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if options.articles < options.annotators:
        sys.exit("--articles must be at least --annotators")
    ok = True
    if options.backend in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as folder, sqlite_database(Path(folder)) as (engine, url):
            ok &= bench("SQLite", engine, url, options)
    if options.backend in ("both", "postgresql"):
        with postgres_database(options.postgres) as database:
            if database is not None:
                ok &= bench("PostgreSQL", *database, options)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
