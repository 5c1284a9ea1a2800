"""Measure the server time of the curation (adjudication) view: opening it, and answering its candidates.

Builds, in a fresh database, three annotators' accepted versions (spans of
origin "annotator", owner set, AnnotationState accepted) of:

- one long article of about --chars characters (default 50,000) made of the
  seed gold's paragraphs, with --long-spans spans (default 300) per version,
  and --fresh copies of it (same text and versions) to time first openings on;
- a corpus of --articles articles (default 10,000) of 600 to 800 words with
  about 40 spans per version, written with bulk inserts.

The versions mostly agree: about 70 % of the spans are the same in all three;
at the rest one or two annotators differ by a boundary (a word more or
less), a label, a CASUALTY attribute, or leave the span out. Each version
gets a few spans of its own so that it has its full count. Every CASUALTY
span carries complete attributes.

A reviewer logs in and requests go through Flask's test client, in process
(no network, no browser), as in bench/web.py; the times are the server's:

- open, first visit: GET /curate/<id> of an article never opened (it merges
  the versions and saves the draft);
- open, revisit: the same GET again;
- accept: the htmx POST /curate/<id>/candidates accept=<key> of an open
  candidate (its key and the draft version read from the page), answered with
  the fragments; then reject (of another open candidate) and undo;
- on the long article, accept and undo alternate on the same draft (so the
  draft stays as opened), and a run of accepts one after another fills a
  fresh copy's draft.

Baseline from the same run and database: the review page of the same article
as the reviewer sees an annotator's version (GET /articles/<external
id>?annotator=ann). Every p50 is printed with its ratio to the baseline's.
Nothing is asserted: the issue's targets (open < 150 ms, accept < 50 ms on the
long article) are printed next to the figures.

    .venv/bin/python bench/curation.py [--articles 10000] [--sample 200] [--repeat 50] [--postgres [URL]] [--profile]

SQLite in a temporary folder by default; --postgres uses the database named by
URL (default postgresql://postgres@127.0.0.1:5432/test_bench), dropping and
re-creating its public schema before and after. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import gc
import hashlib
import io
import os
import pstats
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's annotator, whatever is installed
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench folder is no package

from export import seed_paragraphs  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from annotator import create_app  # noqa: E402
from annotator.db import make_engine, normalize_url, upgrade  # noqa: E402
from annotator.labels import CASUALTY, GROUPS, LABELS, OUTCOMES, missing_attributes  # noqa: E402
from annotator.models import AnnotationState, Article, Span, User, utcnow  # noqa: E402
from annotator.services import users  # noqa: E402
from annotator.services.settings import set_setting  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test_bench"
OPEN_TARGET_MS = 150.0
ACTION_TARGET_MS = 50.0
CSRF = "bench-csrf-token"
HTMX = {"HX-Request": "true", "X-CSRF-Token": CSRF}
ANNOTATORS = ("ann", "bob", "cy")
REVIEWER = "rev"
AGREE = 0.70  # the share of spans every version has exactly
CORPUS_SPANS = 40

OPEN_CANDIDATE = re.compile(r'<li [^>]*class="candidate[^"]*" data-key="([^"]+)"[^>]*\sdata-open[\s>]')
# Every candidate entry, with whether it is open: an edit's answer carries only the entries it changed.
ENTRY = re.compile(r'<li [^>]*class="candidate[^"]*" data-key="([^"]+)"([^>]*)>')
CANDIDATE = re.compile(r'<li [^>]*class="candidate[ "]')
VERSION = re.compile(r'<section id="status"[^>]*data-version="(\d+)"')
DRAFT_SPANS = re.compile(r"(\d+) spans? in the draft")


# --- the data ----------------------------------------------------------------------------------


def _paragraphs() -> list[tuple[str, list[dict]]]:
    found = []
    for paragraph, spans in seed_paragraphs():
        if not paragraph.strip():
            continue
        complete = []
        for span in spans:
            attrs = dict(span.get("attrs") or {})
            if span["label"] == CASUALTY and missing_attributes(CASUALTY, attrs):
                attrs = {"count": 3, "qualifier": "exact", "outcome": "killed", "group": "civilian", **attrs}
            complete.append(
                {"start": span["start"], "end": span["end"], "label": span["label"], "attrs": attrs}
            )
        found.append((paragraph, complete))
    return found


def make_text(paragraphs, rng: random.Random, *, chars: int = 0, words: int = 0) -> tuple[str, list[dict]]:
    """Return seed paragraphs joined until the text has ``chars`` characters or ``words`` words, with their spans."""
    text, spans = "", []
    while (chars and len(text) < chars) or (words and len(text.split()) < words):
        paragraph, paragraph_spans = rng.choice(paragraphs)
        if text:
            text += "\n\n"
        spans.extend(
            {**s, "start": s["start"] + len(text), "end": s["end"] + len(text)} for s in paragraph_spans
        )
        text += paragraph
    spans.sort(key=lambda s: (s["start"], s["end"]))
    return text, spans


def _complete_attrs(rng: random.Random) -> dict:
    if rng.random() < 0.15:
        return {
            "count": None,
            "qualifier": "vague",
            "outcome": rng.choice(OUTCOMES),
            "group": rng.choice(GROUPS),
        }
    return {
        "count": rng.randint(1, 60),
        "qualifier": rng.choice(("exact", "at_least", "about")),
        "outcome": rng.choice(OUTCOMES),
        "group": rng.choice(GROUPS),
    }


def _other_attrs(attrs: dict, rng: random.Random) -> dict:
    """Return CASUALTY attributes that differ from ``attrs`` in one respect, still complete."""
    changed = dict(attrs)
    what = rng.choice(("count", "outcome", "group"))
    if what == "count":
        changed.update(count=(attrs.get("count") or 0) + rng.randint(1, 5), qualifier="exact")
    else:
        values = OUTCOMES if what == "outcome" else GROUPS
        changed[what] = rng.choice([value for value in values if value != attrs.get(what)])
    return changed


def _reboundary(text: str, span: dict, before: int, after: int, rng: random.Random) -> dict | None:
    """Return the span a word longer or shorter at one end (staying within ``before``..``after``), or None."""
    start, end = span["start"], span["end"]
    moves = []
    grown = re.match(r"[ ]+[A-Za-z0-9'-]+", text[end:after])
    if grown:
        moves.append((start, end + grown.end()))
    earlier = re.search(r"[A-Za-z0-9'-]+[ ]+$", text[before:start])
    if earlier:
        moves.append((before + earlier.start(), end))
    inner = text[start:end]
    if " " in inner:
        moves.append((start + inner.index(" ") + 1, end))
        moves.append((start, start + inner.rindex(" ")))
    if not moves:
        return None
    new_start, new_end = rng.choice(moves)
    return {**span, "start": new_start, "end": new_end}


def make_versions(text: str, base: list[dict], size: int, rng: random.Random) -> dict[str, list[dict]]:
    """Return each annotator's version: ``base`` with realistic disagreements, topped up to ``size`` spans."""
    versions: dict[str, list[dict]] = {name: [] for name in ANNOTATORS}
    for index, span in enumerate(base):
        if rng.random() < AGREE:
            for name in ANNOTATORS:
                versions[name].append(span)
            continue
        kind = rng.choices(("boundary", "label", "attributes", "missing"), weights=(35, 25, 15, 25))[0]
        if kind == "attributes" and span["label"] != CASUALTY:
            kind = "label"
        changed = None
        if kind == "boundary":
            before = base[index - 1]["end"] if index else 0
            after = base[index + 1]["start"] if index + 1 < len(base) else len(text)
            changed = _reboundary(text, span, before, after, rng)
        elif kind == "label":
            label = rng.choice([label for label in LABELS if label != span["label"]])
            changed = {**span, "label": label, "attrs": _complete_attrs(rng) if label == CASUALTY else {}}
        elif kind == "attributes":
            changed = {**span, "attrs": _other_attrs(span["attrs"], rng)}
        odd = set(rng.sample(ANNOTATORS, rng.choice((1, 1, 2))))
        for name in ANNOTATORS:
            if name not in odd:
                versions[name].append(span)
            elif changed is not None:
                versions[name].append(changed)
    taken = sorted((s["start"], s["end"]) for s in base)
    starts = [start for start, _ in taken]
    words = [m.span() for m in re.finditer(r"\b[A-Z][a-z]{3,}\b", text)]
    for name, spans in versions.items():
        spans.sort(key=lambda s: (s["start"], s["end"]))
        kept = []
        for span in spans:  # a changed boundary may meet a neighbour's: the first one stays
            if kept and kept[-1]["end"] > span["start"]:
                continue
            kept.append(span)
        rng.shuffle(words)
        for start, end in words:  # spans of their own, where nothing is marked
            if len(kept) >= size:
                break
            index = bisect.bisect_left(starts, end)
            if index and taken[index - 1][1] > start:
                continue
            if any(s["start"] < end and start < s["end"] for s in kept):
                continue
            kept.append({"start": start, "end": end, "label": rng.choice(LABELS[:2]), "attrs": {}})
            kept.sort(key=lambda s: (s["start"], s["end"]))
        versions[name] = kept
    return versions


def fill(engine: Engine, *, chars: int, long_spans: int, fresh: int, articles: int) -> dict:
    """Write the long article, its fresh copies, the corpus and the versions; return what was written."""
    rng = random.Random(20261202)
    paragraphs = _paragraphs()
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    long_text, long_base = make_text(paragraphs, rng, chars=chars)
    chosen = sorted(rng.sample(range(len(long_base)), min(long_spans, len(long_base))))
    long_base = [long_base[index] for index in chosen]
    long_versions = make_versions(long_text, long_base, long_spans, rng)

    def article(number: int, external_id: str, text: str) -> dict:
        return {
            "id": number,
            "external_id": external_id,
            "text": text,
            "content_hash": hashlib.sha256(f"{external_id}\n{text}".encode()).hexdigest(),
            "meta": {},
            "imported_at": now,
        }

    def version_rows(number: int, versions: dict[str, list[dict]]) -> tuple[list[dict], list[dict]]:
        spans, states = [], []
        for user_id, name in enumerate(ANNOTATORS, 1):
            spans.extend(
                {
                    **s,
                    "article_id": number,
                    "origin": "annotator",
                    "owner_id": user_id,
                    "source": None,
                    **stamps,
                }
                for s in versions[name]
            )
            states.append(
                {
                    "article_id": number,
                    "user_id": user_id,
                    "status": "accepted",
                    "version": 1,
                    "claimed_at": now,
                    **stamps,
                }
            )
        return spans, states

    written = {"spans": 0, "states": 0}
    with engine.begin() as connection:
        connection.execute(
            insert(User.__table__),
            [
                {"username": name, "password_hash": "!", "role": "annotator", "created_at": now}
                for name in ANNOTATORS
            ],
        )

        def write(rows_articles, rows_spans, rows_states) -> None:
            connection.execute(insert(Article.__table__), rows_articles)
            connection.execute(insert(Span.__table__), rows_spans)
            connection.execute(insert(AnnotationState.__table__), rows_states)
            written["spans"] += len(rows_spans)
            written["states"] += len(rows_states)

        long_rows, spans, states = [], [], []
        for number in range(1, fresh + 2):
            long_rows.append(
                article(number, "long" if number == 1 else f"long-copy-{number - 1:03d}", long_text)
            )
            more_spans, more_states = version_rows(number, long_versions)
            spans += more_spans
            states += more_states
        write(long_rows, spans, states)
        first_corpus = fresh + 2
        corpus_spans = 0
        for first in range(0, articles, 1000):
            rows, spans, states = [], [], []
            for offset in range(first, min(articles, first + 1000)):
                number = first_corpus + offset
                text, base = make_text(paragraphs, rng, words=rng.randint(600, 800))
                if len(base) > CORPUS_SPANS:
                    base = sorted(rng.sample(base, CORPUS_SPANS), key=lambda s: (s["start"], s["end"]))
                rows.append(article(number, f"bench-{offset + 1:06d}", text))
                more_spans, more_states = version_rows(number, make_versions(text, base, CORPUS_SPANS, rng))
                spans += more_spans
                states += more_states
            corpus_spans += len(spans)
            write(rows, spans, states)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return {
        "long_chars": len(long_text),
        "long_versions": {name: len(spans) for name, spans in long_versions.items()},
        "corpus_ids": list(range(first_corpus, first_corpus + articles)),
        "corpus_spans": corpus_spans,
        **written,
    }


# --- the databases -------------------------------------------------------------------------------


@contextmanager
def sqlite_database(folder: Path) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{folder / f'curation-{secrets.token_hex(4)}.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine, url
    finally:
        engine.dispose()


def _reset_schema(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")


@contextmanager
def postgres_database(server_url: str) -> Iterator[tuple[Engine, str]]:
    """Yield the database of ``server_url`` with a fresh public schema (emptied again on exit)."""
    url = make_url(normalize_url(server_url))
    if url.host != "127.0.0.1":
        sys.exit(f"refusing to benchmark on {url.host}: only 127.0.0.1 is allowed")
    database_url = url.render_as_string(hide_password=False)
    engine = make_engine(database_url)
    _reset_schema(engine)
    try:
        upgrade(engine)
        yield engine, database_url
    finally:
        engine.dispose()
        _reset_schema(engine)
        engine.dispose()


# --- timing --------------------------------------------------------------------------------------


class Figures:
    """Named samples (milliseconds) and response sizes (bytes), printed as a table."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self.sizes: dict[str, list[int]] = {}

    def add(self, name: str, took: float, size: int) -> None:
        self.samples.setdefault(name, []).append(took * 1000)
        self.sizes.setdefault(name, []).append(size)

    def p50(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def p99(self, name: str) -> float:
        ordered = sorted(self.samples[name])
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def print(self, baseline: str) -> None:
        print(f"    {'':46} {'n':>4} {'p50':>10} {'p99':>10} {'KB':>8}   p50/baseline")
        for name in self.samples:
            ratio = self.p50(name) / self.p50(baseline)
            size = statistics.median(self.sizes[name]) / 1024
            print(
                f"    {name:46} {len(self.samples[name]):4d} {self.p50(name):7.2f} ms {self.p99(name):7.2f} ms "
                f"{size:8.1f}   {ratio:6.2f}x"
            )


def check(response, status: int = 200):
    if response.status_code != status:
        sys.exit(
            f"unexpected {response.status_code} for {response.request.method} {response.request.path}: "
            f"{response.get_data(as_text=True)[:500]}"
        )
    return response


def log_in(app, username: str, password: str):
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = CSRF
    check(
        client.post("/auth/login", data={"username": username, "password": password, "csrf_token": CSRF}), 303
    )
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = CSRF
    return client


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    response = call()
    return time.perf_counter() - started, response


def version_of(html: str) -> int:
    return int(VERSION.search(html).group(1))


def open_keys(html: str) -> list[str]:
    return OPEN_CANDIDATE.findall(html)


class Curator:
    """The reviewer's client, timing each request into ``figures``."""

    def __init__(self, client, figures: Figures) -> None:
        self.client, self.figures = client, figures

    def get(self, name: str | None, path: str) -> str:
        took, response = timed(lambda: check(self.client.get(path)))
        if name:
            self.figures.add(name, took, len(response.get_data()))
        return response.get_data(as_text=True)

    def post(self, name: str | None, path: str, **form) -> str:
        took, response = timed(lambda: check(self.client.post(path, data=form, headers=HTMX)))
        if name:
            self.figures.add(name, took, len(response.get_data()))
        return response.get_data(as_text=True)


def describe(html: str) -> str:
    spans = DRAFT_SPANS.search(html)
    return (
        f"draft {spans.group(1) if spans else '?'} spans, {len(CANDIDATE.findall(html))} candidates, "
        f"{len(open_keys(html))} open"
    )


def bench_long(curator: Curator, ids: list[int], repeat: int) -> tuple[Figures, str]:
    """Time the long article (ids[0]) and its fresh copies (ids[1:])."""
    figures = curator.figures
    long_id, copies = ids[0], ids[1:]
    baseline = "baseline: review page (?annotator=ann)"
    for _ in range(repeat):
        curator.get(baseline, "/articles/long?annotator=ann")
    page = curator.get("open: first visit (creates the draft)", f"/curate/{long_id}")
    about = describe(page)
    for copy in copies:
        curator.get("open: first visit (creates the draft)", f"/curate/{copy}")
    for _ in range(repeat):
        page = curator.get("open: revisit", f"/curate/{long_id}")
    keys = open_keys(page)
    version = version_of(page)
    path = f"/curate/{long_id}"
    step = max(1, len(keys) // repeat)
    for index in range(repeat):
        key = keys[(index * step) % len(keys)]
        curator.post("accept (htmx; then undone)", f"{path}/candidates", version=version, accept=key)
        curator.post("undo (of the accept)", f"{path}/undo", version=version + 1)
        curator.post("reject (htmx; then undone)", f"{path}/candidates", version=version + 2, reject=key)
        html = curator.post(None, f"{path}/undo", version=version + 3)
        version += 4
        if version_of(html) != version:
            sys.exit(f"the draft is at version {version_of(html)}, expected {version}")
    if copies:  # accepts one after another, on a copy's draft, until none is open
        path = f"/curate/{copies[0]}"
        html = curator.get(None, path)
        still_open = open_keys(html)
        for _ in range(repeat):
            if not still_open:
                break
            html = curator.post(
                "accept, one after another (on a copy)",
                f"{path}/candidates",
                version=version_of(html),
                accept=still_open[0],
            )
            closed = {key for key, rest in ENTRY.findall(html) if "data-open" not in rest}
            still_open = [key for key in still_open if key not in closed]
    return figures, about


def bench_corpus(curator: Curator, ids: list[int], external: dict[int, str]) -> Figures:
    """Time first visits, revisits and one accept, reject and undo on each of ``ids``."""
    baseline = "baseline: review page (?annotator=ann)"
    pages = {}
    for article_id in ids:
        curator.get(baseline, f"/articles/{external[article_id]}?annotator=ann")
    for article_id in ids:
        pages[article_id] = curator.get("open: first visit (creates the draft)", f"/curate/{article_id}")
    for article_id in ids:
        pages[article_id] = curator.get("open: revisit", f"/curate/{article_id}")
    for article_id in ids:
        keys = open_keys(pages[article_id])
        if not keys:
            continue
        path = f"/curate/{article_id}"
        version = version_of(pages[article_id])
        html = curator.post(
            "accept (htmx)", f"{path}/candidates", version=version, accept=keys[len(keys) // 2]
        )
        closed = {key for key, rest in ENTRY.findall(html) if "data-open" not in rest}
        keys = [key for key in keys if key not in closed]
        if keys:
            curator.post("reject (htmx)", f"{path}/candidates", version=version_of(html), reject=keys[0])
            curator.post("undo (of the reject)", f"{path}/undo", version=version + 2)
    return curator.figures


PROFILE_PARTS = {
    # (file name ends with, function name): what it is, in the breakdown line
    ("templating.py", "render_template"): "render_template",
    ("curation.py", "open_curation"): "open_curation",
    ("curation.py", "accept_candidate"): "accept_candidate",
    ("curation.py", "_read_versions"): "_read_versions",
    ("curation.py", "_view"): "_view",
    ("curation.py", "_save"): "_save",
    ("curation_merge.py", "proposals"): "curation_merge.proposals",
    ("curation_merge.py", "candidates"): "curation_merge.candidates",
}


def _breakdown(stats: pstats.Stats, times: int) -> str:
    found: dict[str, tuple[int, float]] = {}
    execute = 0.0
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.stats.items():
        for (ending, name), what in PROFILE_PARTS.items():
            if filename.endswith(ending) and function == name:
                found[what] = (calls, cumulative)
        if function in ("<method 'execute' of 'sqlite3.Cursor' objects>", "execute") and (
            "sqlite3" in function or filename.endswith(("psycopg/cursor.py",))
        ):
            execute += cumulative
    parts = [
        f"{what} {took / times * 1000:.1f} ms ({calls // times}x)" for what, (calls, took) in found.items()
    ]
    return ", ".join(parts + [f"SQL execute in the driver {execute / times * 1000:.1f} ms"])


def profile(client, long_id: int, times: int = 5) -> None:
    """Print where a long-article revisit and accept spend their time: ``times`` of each under cProfile, averaged."""
    page = check(client.get(f"/curate/{long_id}")).get_data(as_text=True)
    keys, version = open_keys(page), version_of(page)

    def revisit(_: int) -> None:
        check(client.get(f"/curate/{long_id}"))

    def accept(index: int) -> None:
        check(
            client.post(
                f"/curate/{long_id}/candidates",
                data={"version": version + 2 * index, "accept": keys[index * 7 % len(keys)]},
                headers=HTMX,
            )
        )

    def undo(index: int) -> None:
        check(client.post(f"/curate/{long_id}/undo", data={"version": version + 2 * index + 1}, headers=HTMX))

    for what, call, after in (("open: revisit", revisit, None), ("accept", accept, undo)):
        profiler = cProfile.Profile()
        took = 0.0
        for index in range(times):
            started = time.perf_counter()
            profiler.enable()
            call(index)
            profiler.disable()
            took += time.perf_counter() - started
            if after:
                after(index)
        stats = pstats.Stats(profiler)
        print(
            f"\n  profile of a long-article {what} ({times} requests under cProfile, {took / times * 1000:.1f} ms each)"
        )
        print(f"    cumulative per request: {_breakdown(stats, times)}")
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            stats.stream = out
            stats.sort_stats(order).print_stats(
                r"annotator|templates|curation|\.html|json|sqlite3|psycopg", 18
            )
            body = out.getvalue()
            print(
                f"    by {order} (annotator, templates, json and driver functions; totals over {times} requests):"
            )
            print(
                "\n".join(
                    "      " + line for line in body[body.index("ncalls") - 5 :].splitlines() if line.strip()
                )
            )


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def bench(name: str, engine: Engine, url: str, options) -> None:
    started = time.perf_counter()
    made = fill(
        engine,
        chars=options.chars,
        long_spans=options.long_spans,
        fresh=options.fresh,
        articles=options.articles,
    )
    print(
        f"{name}: long article of {made['long_chars']:,} characters, versions of "
        f"{'/'.join(str(count) for count in made['long_versions'].values())} spans, {options.fresh} fresh copies; "
        f"{options.articles:,} corpus articles × 3 accepted versions, {made['corpus_spans']:,} spans "
        f"({made['spans']:,} spans and {made['states']:,} states in all; {time.perf_counter() - started:.1f} s to fill)"
    )
    users.PASSWORD_METHOD = "scrypt:1024:8:1"  # the login is not what is measured
    with Session(engine) as session:
        users.create_user(session, REVIEWER, "pw", role="reviewer")
        set_setting(session, "annotators_per_article", "3")
        set_setting(session, "merge_strategy", options.strategy)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
    client = log_in(app, REVIEWER, "pw")

    corpus = made["corpus_ids"]
    external = {article_id: f"bench-{index + 1:06d}" for index, article_id in enumerate(corpus)}
    sample = min(options.sample, max(0, len(corpus) - 3))
    sampled = [corpus[index * (len(corpus) - 3) // sample] for index in range(sample)] if sample else []
    # Warm up (templates, the tokenizer, the connection pool) on articles outside the sample.
    warm = Curator(client, Figures())
    for article_id in corpus[-3:]:
        warm.get(None, f"/articles/{external[article_id]}?annotator=ann")
        page = warm.get(None, f"/curate/{article_id}")
        keys = open_keys(page)
        if keys:
            warm.post(None, f"/curate/{article_id}/candidates", version=version_of(page), accept=keys[0])
            warm.post(None, f"/curate/{article_id}/undo", version=version_of(page) + 1)

    # What building the data left in this process is no part of a web worker's heap: freeze it, so that
    # the garbage collector's full passes during the requests walk what a worker would hold, not the
    # corpus's leftovers (a gunicorn app does the same with gc.freeze() after preloading).
    gc.collect()
    gc.freeze()
    load_before = loadavg()
    print(
        f"  load average before measuring: {load_before} ({os.cpu_count()} CPUs); strategy {options.strategy}"
    )
    long_figures, about = bench_long(
        Curator(client, Figures()), list(range(1, options.fresh + 2)), options.repeat
    )
    print(f"  long article (id 1; the copies are ids 2..{options.fresh + 1}): as opened, {about}")
    long_figures.print("baseline: review page (?annotator=ann)")
    if sampled:
        corpus_figures = bench_corpus(Curator(client, Figures()), sampled, external)
        print(
            f"  corpus: {len(sampled)} of {len(corpus):,} articles, each visited once per row (first visits on distinct articles)"
        )
        corpus_figures.print("baseline: review page (?annotator=ann)")
    open_p99 = max(
        long_figures.p99("open: first visit (creates the draft)"), long_figures.p99("open: revisit")
    )
    accept_p99 = long_figures.p99("accept (htmx; then undone)")
    print(
        f"  targets (long article): open p99 {open_p99:.1f} ms < {OPEN_TARGET_MS:.0f} ms "
        f"{'ok' if open_p99 < OPEN_TARGET_MS else 'MISSED'}; accept p99 {accept_p99:.1f} ms < {ACTION_TARGET_MS:.0f} ms "
        f"{'ok' if accept_p99 < ACTION_TARGET_MS else 'MISSED'} (not asserted)"
    )
    print(f"  load average after measuring: {loadavg()}")
    if options.profile:
        profile(client, 1)
    app.extensions["annotator.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000, help="corpus articles (default 10000)")
    parser.add_argument("--sample", type=int, default=200, help="corpus articles timed (default 200)")
    parser.add_argument(
        "--repeat", type=int, default=50, help="requests per long-article figure (default 50)"
    )
    parser.add_argument(
        "--chars", type=int, default=50_000, help="characters of the long article (default 50000)"
    )
    parser.add_argument("--long-spans", type=int, default=300, help="spans per version of the long article")
    parser.add_argument("--fresh", type=int, default=20, help="copies of the long article for first visits")
    parser.add_argument("--strategy", choices=("unanimous", "majority"), default="unanimous")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile five long-article revisits and accepts, and print where the time goes",
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES_URL,
        default=None,
        metavar="URL",
        help=f"run on this PostgreSQL database on 127.0.0.1 instead of SQLite (default {DEFAULT_POSTGRES_URL}); "
        "its public schema is dropped and re-created",
    )
    options = parser.parse_args()
    if options.postgres:
        with postgres_database(options.postgres) as (engine, url):
            bench("PostgreSQL", engine, url, options)
        return
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        with sqlite_database(Path(folder)) as (engine, url):
            bench("SQLite", engine, url, options)


if __name__ == "__main__":
    main()
