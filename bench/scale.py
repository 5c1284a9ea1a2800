"""Measure annotator as the corpus grows to a million articles: pages, edits, list, search, import, export.

For each size of --sizes (default 10,000 and 1,000,000) the benchmark:

1. writes a corpus of news-like articles as one JSONL file (600 to 800 words
   made of the seed gold's paragraphs, at most 40 spans each, the shape
   doccano and Label Studio were measured with), kept in --work-dir and
   reused by later runs of the same size;
2. imports it into a fresh database with ``annotator import --origin model``
   (a child process: wall time, and its peak RSS from wait4);
3. serves the database with gunicorn (one sync worker: the client is
   sequential) on a free port of 127.0.0.1 and logs an annotator in through
   the login form, then makes --requests requests of each kind, one
   connection each, interleaved kind by kind so every kind sees the same
   machine:
   - first visit: GET /articles/<id> of an article never opened (creates the
     annotator's state and copies the model spans);
   - revisit: the same article again;
   - delete: an htmx POST deleting its first span; add: putting it back;
   - list page: the article list from a random place in the corpus;
   - search, common word: the first 100 articles holding a word most articles hold;
   - search, id prefix: the articles whose id starts with a random 5-digit prefix;
4. exports the model spans as the casualty CSV with ``annotator export`` (wall
   time, peak RSS; every article and span is checked and read as for any format,
   and the file stays small where JSONL would take 60 GB for the million).

It prints p50 and p99 (client side: connect, request, whole answer) per kind
and size, each p50's ratio to the smallest size's p50 from the same run, the
issue's targets, and the load average with every figure. Nothing is asserted.

    .venv/bin/python bench/scale.py [--sizes 10000,1000000] [--requests 500] [--work-dir DIR] [--postgres [URL]] [--warm]

Before the requests it prints how much of the SQLite file the operating
system's page cache holds (util-linux's fincore): a list page from a random
place at a million reads pages from all over a 12 GB file, and a page from the
disk costs far more than one from memory. --warm reads the file once first,
as a server that has run a while has it cached; without it, the cache is as
the import or the last run left it.

SQLite in --work-dir by default (the databases are deleted after each size
unless --keep; --reuse measures a kept database again, with the import
figures of the run that made it); --postgres measures PostgreSQL instead, in a database of its
own created on URL's server (default postgresql://postgres@127.0.0.1:5432/test)
and dropped after. Only 127.0.0.1 is accepted. The million takes about an hour
on a 2-core machine and some 12 GB of disk; keep it out of CI.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's annotator, whatever is installed
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench folder is no package

from api_reads import free_port, start_gunicorn  # noqa: E402
from curation import CORPUS_SPANS, _paragraphs, make_text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from annotator.db import make_engine, normalize_url  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "scale-bench-password"
WARM_UP = 20
# The targets.
PAGE_P99_MS = 30.0
EDIT_P99_MS = 20.0
SEARCH_WORD_P99_MS = 50.0
SEARCH_ID_P99_MS = 30.0
GROWTH_P50 = 1.3
IMPORT_RSS_MB = 1024
# Words nearly every article holds, found in the seed paragraphs; the search asks for the first.
COMMON_WORDS = ("killed", "said", "province")

KINDS = (
    "first visit",
    "revisit",
    "delete span",
    "add span",
    "list page",
    "search: common word",
    "search: id prefix",
)
PAGES = ("first visit", "revisit", "list page")
EDITS = ("delete span", "add span")

FIRST_MARK = re.compile(r'<mark data-span-id="(\d+)" data-label="(\w+)" data-start="(\d+)" data-end="(\d+)"')
VERSION = re.compile(r'id="status" class="status-box" data-version="(\d+)"')
ARTICLE_ID = re.compile(r"/review/(\d+)/")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def loadavg() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def external_id(number: int) -> str:
    return f"scale-{number:07d}"


# --- the corpus and the database ------------------------------------------------------------


def write_corpus(path: Path, size: int) -> None:
    """Write ``size`` articles as JSONL to ``path`` (through a temporary name: a killed run leaves none)."""
    rng = random.Random(size)
    paragraphs = _paragraphs()
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for number in range(1, size + 1):
            text, spans = make_text(paragraphs, rng, words=rng.randint(600, 800))
            if len(spans) > CORPUS_SPANS:
                spans = sorted(rng.sample(spans, CORPUS_SPANS), key=lambda s: (s["start"], s["end"]))
            record = {"id": external_id(number), "text": text, "spans": spans, "title": f"Article {number}"}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if number % 100_000 == 0:
                print(f"    corpus: {number:,} of {size:,} articles written", flush=True)
    partial.rename(path)


def corpus(work: Path, size: int) -> Path:
    path = work / f"corpus-{size}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        write_corpus(path, size)
        print(
            f"  corpus written in {time.perf_counter() - started:.0f} s: {path} ({path.stat().st_size / 2**20:,.0f} MiB)"
        )
    return path


def annotator_command(url: str, *args: str, stdin: str | None = None) -> tuple[float, float, str]:
    """Run ``annotator ARGS`` against ``url``; return its wall seconds, peak RSS in MiB and output."""
    env = {**os.environ, "ANNOTATOR_DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(Path(sys.executable).with_name("annotator")), *args],
            env=env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if stdin is not None:
            child.stdin.write(stdin)
        child.stdin.close()
        # wait4, not wait: it gives this child's own resource usage, its peak RSS included.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    if child.returncode:
        sys.exit(f"annotator {' '.join(args)} failed ({child.returncode}):\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text


def analyze(url: str) -> None:
    """Give the database the statistics autovacuum would (as every benchmark here does)."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


@contextmanager
def sqlite_database(work: Path, size: int, keep: bool, reuse: bool):
    path = work / f"scale-{size}.sqlite3"
    if not (reuse and path.exists()):
        for leftover in work.glob(f"scale-{size}.sqlite3*"):
            leftover.unlink()
    try:
        yield f"sqlite:///{path}"
    finally:
        if not keep:
            for leftover in work.glob(f"scale-{size}.sqlite3*"):
                leftover.unlink()


@contextmanager
def postgres_database(server_url: str, size: int):
    url = make_url(normalize_url(server_url))
    if url.host not in ("127.0.0.1", None):
        sys.exit(f"refusing to benchmark on {url.host}: only 127.0.0.1 is allowed")
    url = url.set(host="127.0.0.1")
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    name = f"annotator_bench_scale_{size}_{os.getpid()}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """A browser's cookie jar and CSRF token over one-shot loopback connections (gunicorn's sync workers close each)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.csrf = ""

    def request(
        self, method: str, path: str, form: dict | None = None, htmx: bool = False
    ) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers.update({"HX-Request": "true", "X-CSRF-Token": self.csrf})
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            cookie = response.getheader("Set-Cookie")
            if cookie:
                self.cookie = cookie.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()

    def log_in(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/auth/login")
        self.csrf = CSRF.search(page).group(1)
        status, page = self.request(
            "POST", "/auth/login", {"username": username, "password": password, "csrf_token": self.csrf}
        )
        if status != 303:
            sys.exit(f"login failed: {status} {page[:300]}")
        status, page = self.request("GET", "/articles/")
        self.csrf = CSRF.search(page).group(1)


# --- the requests ------------------------------------------------------------------------------


def list_path(rng: random.Random, size: int) -> str:
    """A page of the article list starting at a random place (keyset: after an article's id)."""
    return f"/articles/?after={rng.randint(0, max(0, size - 100))}"


def search_path(query: str) -> str:
    return f"/articles/?{urlencode({'q': query})}"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    client: Client, size: int, requests: int, rng: random.Random, taken: set[int]
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    # Articles an earlier run on a kept database opened are held by its annotator: read-only here.
    numbers = [
        number
        for number in rng.sample(range(1, size + 1), requests + WARM_UP + len(taken))
        if number not in taken
    ]
    numbers = numbers[: requests + WARM_UP]

    def timed(kind: str, method: str, path: str, form: dict | None = None, htmx: bool = False) -> str:
        started = time.perf_counter()
        status, body = client.request(method, path, form, htmx)
        took = (time.perf_counter() - started) * 1000
        if status != 200:
            sys.exit(f"{kind}: {method} {path} {form}: {status} {re.sub(r'<[^>]+>', '', body)[-1500:]!r}")
        if record:
            times[kind].append(took)
        return body

    for round_, number in enumerate(numbers):
        record = round_ >= WARM_UP
        page_path = f"/articles/{quote(external_id(number), safe='')}"
        page = timed("first visit", "GET", page_path)
        timed("revisit", "GET", page_path)
        article_id = ARTICLE_ID.search(page).group(1)
        version = int(VERSION.search(page).group(1))
        span_id, label, start, end = FIRST_MARK.search(page).groups()
        timed(
            "delete span", "POST", f"/review/{article_id}/delete", {"span": span_id, "version": version}, True
        )
        timed(
            "add span",
            "POST",
            f"/review/{article_id}/spans",
            {"start": start, "end": end, "label": label, "version": version + 1},
            True,
        )
        timed("list page", "GET", list_path(rng, size))
        timed("search: common word", "GET", search_path(COMMON_WORDS[0]))
        timed("search: id prefix", "GET", search_path(external_id(rng.randint(1, size))[:11]))
    return times


# --- one size, and the report --------------------------------------------------------------------


def import_corpus(url: str, size: int, work: Path, reuse: bool) -> tuple[float, float, str]:
    """Import the corpus of ``size`` (or, with ``reuse``, take a kept database's import figures)."""
    figures = work / f"scale-{size}.imported.json"
    if reuse and figures.exists():
        kept = json.loads(figures.read_text())
        print(
            f"  import: reusing the kept database, imported in {kept['seconds']:,.0f} s (load average then {kept['load']})"
        )
        return kept["seconds"], kept["rss"], kept["load"]
    figures.unlink(missing_ok=True)
    path = corpus(work, size)
    print(f"  load average before importing: {loadavg()}", flush=True)
    annotator_command(url, "db", "upgrade")
    seconds, rss, output = annotator_command(url, "import", str(path), "--origin", "model")
    load = loadavg()
    print(f"  import: {seconds:,.0f} s, peak RSS {rss:,.0f} MiB (load average {load})")
    if output.strip():
        print("    " + output.strip().splitlines()[-1])
    analyze(url)
    figures.write_text(json.dumps({"seconds": seconds, "rss": rss, "load": load}))
    return seconds, rss, load


def mark_preannotated(url: str) -> None:
    """Mark the articles pre-annotated, as ``annotator preannotate`` would, so the model export has them all.

    Imported model spans alone do not make an article pre-annotated (the export
    of --origin model takes the articles a model ran on).
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE article SET preannotated_with = 'scale-bench' WHERE preannotated_with IS NULL"
            )
    finally:
        engine.dispose()


def opened_articles(url: str) -> set[int]:
    """Return the numbers of the articles an annotator opened (on a kept database, earlier runs did)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT DISTINCT article.external_id FROM annotation_state JOIN article ON article.id = article_id"
            )
            return {int(external_id.rsplit("-", 1)[1]) for (external_id,) in rows}
    finally:
        engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """Return the file of an SQLite URL (None for another database)."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.drivername.startswith("sqlite") and parsed.database else None


def warm_up(path: Path) -> None:
    """Read the database file once, so its pages are in the operating system's cache (as a busy server's are)."""
    with open(path, "rb", buffering=0) as database:
        while database.read(16 * 2**20):
            pass


def cached_share(path: Path) -> str:
    """Return how much of ``path`` the page cache holds, from util-linux's fincore ('' without it)."""
    try:
        resident = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return (
        f"{int(resident) / max(path.stat().st_size, 1):.0%} of the {path.stat().st_size / 2**30:.1f} GiB file"
    )


def bench_size(
    url: str, size: int, work: Path, requests: int, reuse: bool, export_too: bool, warm: bool = False
) -> dict:
    import_seconds, import_rss, _ = import_corpus(url, size, work, reuse)
    mark_preannotated(url)
    database_file = sqlite_file(url)
    if database_file is not None:
        if warm:
            warm_up(database_file)
        # A list page from a random place reads pages all over the file: whether they come from
        # memory or from the disk shows in its time, so say which.
        print(
            f"  in the page cache before the requests: {cached_share(database_file) or 'unknown'}", flush=True
        )
    # A user of its own per run, so a kept database's articles are first visits again.
    username = f"ann{os.getpid()}"
    annotator_command(url, "user", "add", username, "--password-stdin", stdin=PASSWORD + "\n")
    port = free_port()
    server = start_gunicorn(url, port, 1)
    try:
        client = Client(port)
        client.log_in(username, PASSWORD)
        print(f"  load average before the requests: {loadavg()}", flush=True)
        times = measure(client, size, requests, random.Random(os.getpid()), opened_articles(url))
        print(f"  load average after the requests: {loadavg()}")
    finally:
        server.terminate()
        server.wait(timeout=60)
    export = None
    if export_too:
        # The casualty CSV: every article and span goes through the export's check and its reads,
        # as in every format, but the file stays small (JSONL, with its tokens, is some 65 KB an
        # article: 60 GB for the million).
        with tempfile.TemporaryDirectory(dir=work) as folder:
            seconds, rss, output = annotator_command(
                url, "export", "--origin", "model", "--format", "csv", "-o", str(Path(folder) / "model.csv")
            )
            written = (Path(folder) / "model.csv").stat().st_size
        print(
            f"  export (casualty csv): {seconds:,.0f} s, peak RSS {rss:,.0f} MiB, {written / 2**20:,.0f} MiB written "
            f"(load average {loadavg()})"
        )
        print("    " + " ".join(output.split()))
        export = (seconds, rss)
    return {"times": times, "import": (import_seconds, import_rss), "export": export}


def report(results: dict[int, dict]) -> None:
    sizes = sorted(results)
    base = sizes[0]
    print(f"\nClient-side ms (p50 / p99), and p50 against {base:,} articles' p50 from this run:")
    header = "".join(f"{size:>22,}" for size in sizes)
    print(f"  {'request':<22}{header}   p50 ratio")
    for kind in KINDS:
        cells = ""
        for size in sizes:
            samples = results[size]["times"][kind]
            cells += f"{statistics.median(samples):>12.1f} / {percentile(samples, 0.99):>6.1f}"
        top = statistics.median(results[sizes[-1]]["times"][kind]) / statistics.median(
            results[base]["times"][kind]
        )
        print(f"  {kind:<22}{cells}   {top:>6.2f}x")
    largest = results[sizes[-1]]
    p99 = {kind: percentile(largest["times"][kind], 0.99) for kind in KINDS}
    growth = max(
        statistics.median(largest["times"][kind]) / statistics.median(results[base]["times"][kind])
        for kind in KINDS
    )
    checks = [
        ("page and list p99", max(p99[kind] for kind in PAGES), PAGE_P99_MS, "ms"),
        ("edit p99", max(p99[kind] for kind in EDITS), EDIT_P99_MS, "ms"),
        ("search p99, common word", p99["search: common word"], SEARCH_WORD_P99_MS, "ms"),
        ("search p99, id prefix", p99["search: id prefix"], SEARCH_ID_P99_MS, "ms"),
        (f"largest p50 growth over {base:,}", growth, GROWTH_P50, "x"),
        ("import peak RSS", largest["import"][1], IMPORT_RSS_MB, "MiB"),
    ]
    print(f"\nTargets at {sizes[-1]:,} articles:")
    for what, value, target, unit in checks:
        print(
            f"  {what:<32} {value:>8.1f} {unit:<3} <= {target:g} {unit:<3} {'ok' if value <= target else 'MISSED'}"
        )
    print("\nImport and export (s, peak RSS MiB):")
    for size in sizes:
        (i_s, i_rss), export = results[size]["import"], results[size]["export"]
        exported = f"export {export[0]:>7,.0f} s {export[1]:>7,.0f} MiB" if export else "export not run"
        print(f"  {size:>10,} articles: import {i_s:>7,.0f} s {i_rss:>7,.0f} MiB; {exported}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="corpus sizes, comma separated")
    parser.add_argument(
        "--requests", type=int, default=500, help="requests of each kind per size (default 500)"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where corpora and SQLite databases go (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite databases (in --work-dir)")
    parser.add_argument(
        "--no-export", action="store_true", help="leave the export out (at a million: 45 min)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the databases a --keep run left in --work-dir, not importing again",
    )
    parser.add_argument(
        "--postgres", nargs="?", const=DEFAULT_POSTGRES_URL, help="measure PostgreSQL instead of SQLite"
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="read each SQLite database file once before its requests (the cache of a server that has run a while)",
    )
    options = parser.parse_args()
    if options.reuse and (options.postgres or not options.work_dir):
        parser.error("--reuse needs --work-dir and SQLite (a PostgreSQL database is dropped after each run)")
    sizes = sorted(int(size) for size in options.sizes.split(","))
    work = options.work_dir or Path(tempfile.mkdtemp(prefix="annotator-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    engine_name = "PostgreSQL" if options.postgres else "SQLite"
    print(
        f"bench/scale.py on {engine_name}: sizes {sizes}, {options.requests} requests of each kind; {os.cpu_count()} CPUs"
    )
    results = {}
    try:
        for size in sizes:
            print(f"\n{size:,} articles:", flush=True)
            database = (
                postgres_database(options.postgres, size)
                if options.postgres
                else sqlite_database(work, size, options.keep or options.reuse, options.reuse)
            )
            with database as url:
                results[size] = bench_size(
                    url, size, work, options.requests, options.reuse, not options.no_export, options.warm
                )
    finally:
        if not options.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
