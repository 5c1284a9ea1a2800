"""Measure the memory and time of every export format, over HTTP and on the command line, at N and N/10 articles.

Builds two SQLite databases with bulk inserts: N gold articles (default
100,000) and a tenth as many (the baseline size), each article about
--words words long (default 200) with a gold span about every 15 words
(ACTOR, LOCATION, CASUALTY with attributes) and its gold revision. Each
article also carries a few words no other article has (a reporter's name, a
reference number), as the names and numbers of a real corpus do: spaCy's
vocabulary grows with distinct words, so an export that kept one vocabulary
would grow with the corpus.

For each database:
- HTTP: it starts the app under gunicorn on 127.0.0.1 (one gthread worker,
  as the README recommends for long downloads), creates an admin's API
  token, and downloads ``GET /api/v1/export`` in every format (whole, and
  with ``--split``, a 0.2 dev split as a tar), reading the body in 64 KB
  pieces and throwing it away, while the worker's VmRSS is sampled every
  20 ms. "before" is the worker's RSS before the download (after a warm-up
  export of one article in each format, then after the previous download).
- CLI: it runs ``annotator export --format F -o FILE`` (and ``--split``) in a
  process of its own and reads its peak RSS (VmHWM) while it runs.

Prints, per export: the size, the time, RSS before -> peak, the growth, and
the load average; then, per export, the ratio of the peak growth at N to
that at N/10 (about 1: flat; about 10: memory grows with the corpus) and of
the times (about 10: linear time).

    .venv/bin/python bench/export_memory.py [--n 100000] [--words 200] [--formats jsonl,spacy,conll,csv]
        [--no-split] [--no-cli]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session

from annotator.db import make_engine, upgrade
from annotator.models import Article, GoldRevision, Span, utcnow
from annotator.services import users
from annotator.services.api_tokens import create_token

REPO = Path(__file__).resolve().parent.parent
ACTORS = ["Taliban", "NATO", "Afghan security forces", "U.S. forces", "Interior Ministry"]
PLACES = ["Kabul", "Kandahar", "Helmand province", "Kunduz", "Sangin district", "Ghazni"]
CASUALTIES = [
    (
        "at least 35 civilians",
        {"count": 35, "qualifier": "at_least", "outcome": "killed", "group": "civilian"},
    ),
    ("nine soldiers", {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}),
    (
        "dozens of people",
        {"count": None, "qualifier": "vague", "outcome": "wounded", "group": "mixed_or_unknown"},
    ),
]
# Each sentence is about 15 words with one span.
SENTENCES = [
    ("ACTOR", "{} fighters attacked a checkpoint on Monday morning, officials said in a short statement."),
    ("LOCATION", "Residents of {} described a tense night as gunfire echoed through the streets."),
    ("CASUALTY", "The explosion near the market killed {}, according to the provincial governor's office."),
]
SAMPLE_EVERY_S = 0.02


def make_article_text(rng: random.Random, words: int) -> tuple[str, list[dict]]:
    """Return a text of about ``words`` words, in paragraphs, and its gold spans."""
    text, spans = "", []
    while len(text) < words * 6:
        label, sentence = rng.choice(SENTENCES)
        if label == "ACTOR":
            surface, attrs = rng.choice(ACTORS), {}
        elif label == "LOCATION":
            surface, attrs = rng.choice(PLACES), {}
        else:
            surface, attrs = rng.choice(CASUALTIES)
        if text:
            text += "\n\n" if rng.random() < 0.2 else " "
        start = len(text) + sentence.index("{}")
        spans.append({"start": start, "end": start + len(surface), "label": label, "attrs": attrs})
        text += sentence.format(surface)
    # Words of this article only: a reporter's name and a reference, as a real corpus has.
    name = "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(4)).title()
    text += f"\n\nReporting by {name} in {rng.choice(PLACES)}; ref. {rng.randrange(10**9):09d}-{rng.randrange(10**6)}."
    return text, spans


def fill(url: str, n: int, words: int) -> tuple[int, str]:
    """Create the schema, insert ``n`` gold articles in batches and an admin; return the spans and a token."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(20260101)
    now = utcnow()
    total = 0
    batch = 5000
    for first in range(1, n + 1, batch):
        articles, spans, revisions = [], [], []
        for number in range(first, min(first + batch, n + 1)):
            text, article_spans = make_article_text(rng, words)
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
                {**span, "article_id": number, "origin": "gold", "created_at": now, "updated_at": now}
                for span in article_spans
            )
            revisions.append(
                {
                    "article_id": number,
                    "revision": 1,
                    "action": "import",
                    "created_at": now,
                    "spans": article_spans,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(Article.__table__), articles)
            connection.execute(insert(Span.__table__), spans)
            connection.execute(insert(GoldRevision.__table__), revisions)
        total += len(spans)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    with Session(engine) as session:
        admin = users.create_user(session, "bench", "bench-password-1", role="admin")
        _, secret = create_token(session, admin, "bench")
        # One article of the admin's own: exporting it warms the server up (spaCy's tokenizer, the writers).
        session.add(Span(article_id=1, start=0, end=7, label="ACTOR", origin="annotator", owner_id=admin.id))
        session.commit()
    engine.dispose()
    return total, secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def worker_of(master: int) -> int:
    """Return the pid of the gunicorn master's one worker, once it has started."""
    for _ in range(200):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("gunicorn started no worker")


def wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def download(port: int, token: str, path: str, worker: int) -> dict:
    """Download ``path``, discarding the body; return its size, time and the worker's RSS before and at peak."""
    before = rss_kb(worker)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(worker))
            time.sleep(SAMPLE_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    first_byte = None
    size = 0
    while chunk := response.read(1 << 16):
        first_byte = first_byte or time.perf_counter() - started
        size += len(chunk)
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return {
        "size": size,
        "took": took,
        "first_byte": first_byte or took,
        "before": before,
        "peak": max(peak[0], rss_kb(worker)),
        "written": response.getheader("X-Export-Written"),
        "load": loadavg(),
    }


def serve_and_measure(url: str, token: str, formats: list[str], variants: list[tuple[str, bool]]) -> list:
    port = free_port()
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(REPO),
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "2",
            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "annotator:create_app()",
        ],
        cwd=REPO,
        env=env,
    )  # fmt: skip
    try:
        worker = worker_of(server.pid)
        wait_until_up(port)
        for format_ in formats:
            download(port, token, f"/api/v1/export?origin=annotator:bench&format={format_}", worker)
        results = []
        for format_, split in variants:
            query = f"origin=gold&format={format_}" + ("&dev=0.2" if split else "")
            results.append((format_, split, download(port, token, f"/api/v1/export?{query}", worker)))
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_cli(url: str, format_: str, split: bool, folder: Path) -> dict:
    """Run ``annotator export`` in a process of its own; return its time and peak RSS (VmHWM)."""
    output = folder / f"cli-{format_}-{'split' if split else 'whole'}"
    env = {
        **os.environ,
        "ANNOTATOR_DATABASE_URL": url,
        "ANNOTATOR_SECRET_KEY": "bench-secret",
        "PYTHONPATH": str(REPO),
    }
    command = [
        str(Path(sys.executable).with_name("annotator")),
        "export",
        "--format",
        format_,
        "-o",
        str(output),
    ]
    if split:
        command += ["--split", "dev=0.2"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, rss_kb(process.pid, "VmHWM"))
        except (OSError, LookupError):  # the process ended between poll and read
            break
        time.sleep(SAMPLE_EVERY_S)
    _, err = process.communicate()
    took = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"annotator export failed: {err.decode()[-500:]}")
    size = sum(
        each.stat().st_size
        for each in ([output] if output.is_file() else output.rglob("*"))
        if each.is_file()
    )
    return {"size": size, "took": took, "first_byte": None, "before": None, "peak": peak, "load": loadavg()}


def describe(kind: str, format_: str, split: bool) -> str:
    return f"{kind} {format_}{' split' if split else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles in the large database")
    parser.add_argument("--words", type=int, default=200, help="about this many words per article")
    parser.add_argument("--formats", default="jsonl,spacy,conll,csv", help="formats to export, in order")
    parser.add_argument("--no-split", action="store_true", help="leave out the exports with a 0.2 dev split")
    parser.add_argument("--no-cli", action="store_true", help="leave out the command line's exports")
    args = parser.parse_args()
    formats = args.formats.split(",")
    variants = [
        (format_, split) for split in ([False] if args.no_split else [False, True]) for format_ in formats
    ]
    with tempfile.TemporaryDirectory() as folder:
        sizes = [max(args.n // 10, 1), args.n]
        databases = []
        for n in sizes:
            url = f"sqlite:///{Path(folder) / f'bench-{n}.sqlite3'}"
            started = time.perf_counter()
            spans, token = fill(url, n, args.words)
            print(
                f"{n} articles of about {args.words} words, {spans} gold spans ({time.perf_counter() - started:.0f} s to fill)"
            )
            databases.append((n, url, token))
        print(f"load average before measuring: {loadavg()} ({os.cpu_count()} CPUs)")
        print(
            f"{'articles':>9} {'export':18} {'size':>9} {'time':>8} {'1st byte':>9} {'RSS before -> peak':>19} {'growth':>8}  load average"
        )
        growth: dict[tuple[str, str, bool], dict[int, tuple[float, float]]] = {}
        for n, url, token in databases:
            measured = [("http", *each) for each in serve_and_measure(url, token, formats, variants)]
            if not args.no_cli:
                measured += [("cli", f, split, run_cli(url, f, split, Path(folder))) for f, split in variants]
            for kind, format_, split, result in measured:
                if kind == "http":
                    expected = str(n) if not split else None
                    assert expected is None or result["written"] == expected, result
                # The command line's growth is over a bare Python (its peak includes spaCy's import).
                before = result["before"]
                grown = result["peak"] - (before or 0)
                growth.setdefault((kind, format_, split), {})[n] = (grown, result["took"])
                first = f"{result['first_byte']:8.1f}s" if result["first_byte"] is not None else f"{'':9}"
                rss = (
                    f"{before / 1024:7.0f}MB -> {result['peak'] / 1024:5.0f}MB"
                    if before is not None
                    else f"{'peak':>10} {result['peak'] / 1024:5.0f}MB"
                )
                print(
                    f"{n:>9} {describe(kind, format_, split):18} {result['size'] / 1e6:7.1f}MB {result['took']:7.1f}s "
                    f"{first} {rss:>19} {grown / 1024:6.0f}MB  {result['load']}"
                )
        print(f"load average after measuring: {loadavg()}")
        small, large = sizes
        print(f"\nN = {large} against N/10 = {small} (memory: about 1 is flat; time: about 10 is linear)")
        print(f"{'export':18} {'peak growth x':>14} {'time x':>8}")
        for (kind, format_, split), by_size in growth.items():
            (small_growth, small_time), (large_growth, large_time) = by_size[small], by_size[large]
            # A growth under 1 MB is noise: count it as 1 MB.
            ratio = max(large_growth, 1024) / max(small_growth, 1024)
            print(
                f"{describe(kind, format_, split):18} {ratio:14.2f} {large_time / max(small_time, 1e-9):8.1f}"
            )


if __name__ == "__main__":
    main()
