"""Measure the server time of editing one long article: the page, and each kind of span edit.

Builds a single article of about --chars characters from the seed gold
articles repeated (their gold spans as the model's, so an annotator's first
visit copies a realistic density of spans), logs an annotator in, and times
requests through Flask's test client, in process:

- page: GET of the article page (a revisit);
- resize, relabel, add, delete, undo: htmx POSTs, answered with the chunks of
  text they touched.

Baselines from the same run: a bare route inside the app (/healthz), and what
an edit used to cost before it sent only its chunks: rendering the whole text
fragment, and tokenizing the whole text. Ratios are printed against them.

    .venv/bin/python bench/long_article.py [--chars 200000] [--requests 200] [--database-url URL]

Only SQLite files and 127.0.0.1 databases are used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's annotator, whatever is installed

from annotator import create_app  # noqa: E402
from annotator.db import get_engine, upgrade  # noqa: E402
from annotator.nlp import tokens  # noqa: E402
from annotator.services import users  # noqa: E402
from annotator.services.importer import import_paths  # noqa: E402

CSRF = "bench-csrf-token"
HTMX = {"HX-Request": "true", "X-CSRF-Token": CSRF}
EDIT_TARGET_MS = 100.0


def build_article(chars: int, folder: Path) -> tuple[Path, str, list[dict]]:
    golds = [
        json.loads(line)
        for path in sorted((REPO / "tests" / "data").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    text, spans = "", []
    while len(text) < chars:
        for gold in golds:
            offset = len(text)
            text += gold["text"] + "\n\n"
            spans += [{**s, "start": s["start"] + offset, "end": s["end"] + offset} for s in gold["spans"]]
    path = folder / "long.jsonl"
    path.write_text(json.dumps({"id": "long", "text": text, "spans": spans}) + "\n", encoding="utf-8")
    return path, text, spans


def free_words(text: str, taken: list[tuple[int, int]], count: int) -> list[int]:
    """Return the starts of ``count`` six-letter stretches spread over the text that no span covers."""
    found = []
    for match in re.finditer(r"\b[a-z]{6}\b", text):
        start, end = match.span()
        if not any(a < end and start < b for a, b in taken) and (
            not found or start - found[-1] > len(text) // (count * 2)
        ):
            found.append(start)
    return found[:count]


def timed(call, repeat: int) -> list[float]:
    found = []
    for index in range(repeat):
        start = time.perf_counter()
        call(index)
        found.append((time.perf_counter() - start) * 1000)
    return found


def summary(name: str, times: list[float], baseline: float | None = None, size: int | None = None) -> str:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    line = f"{name:<28} p50 {p50:8.2f} ms   p99 {p99:8.2f} ms"
    if size is not None:
        line += f"   {size / 1024:7.1f} KB"
    if baseline:
        line += f"   p50 / baseline {p50 / baseline:6.2f}x"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    users.PASSWORD_METHOD = "scrypt:1024:8:1"  # the login is not what is measured

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        url = options.database_url or f"sqlite:///{folder / 'long.sqlite3'}"
        if "127.0.0.1" not in url and not url.startswith("sqlite"):
            raise SystemExit("only SQLite or a database on 127.0.0.1")
        path, text, spans = build_article(options.chars, folder)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        engine = get_engine(app)
        upgrade(engine)
        with Session(engine) as session:
            import_paths(session, [path], origin="model")
            users.create_user(session, "ann", "pw")
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["csrf_token"] = CSRF
        client.post("/auth/login", data={"username": "ann", "password": "pw", "csrf_token": CSRF})
        with client.session_transaction() as cookie:
            cookie["csrf_token"] = CSRF
        first = timed(lambda _: client.get("/articles/long"), 1)[0]
        tokens._tokenizer()  # load spaCy's tokenizer once, as a running server has

        load = os.getloadavg()
        print(
            f"article: {len(text):,} characters, {len(spans):,} spans; load average {load[0]:.2f} {load[1]:.2f}"
        )
        print(f"first visit (copies the spans)  {first:8.2f} ms")

        bare = timed(lambda _: client.get("/healthz"), options.requests)
        page_html = client.get("/articles/long").get_data()
        page = timed(lambda _: client.get("/articles/long"), max(20, options.requests // 10))

        # What an edit used to cost: the whole text fragment, and tokenizing the whole text.
        from flask import render_template

        from annotator.services.workspace import load_workspace

        with app.test_request_context(), Session(engine) as session:
            from flask import g

            g.user = users.get_user_by_name(session, "ann")
            ws = load_workspace(session, 1, g.user)
            whole_text = timed(lambda _: render_template("annotate/_text.html", ws=ws), 20)
            whole_size = len(render_template("annotate/_text.html", ws=ws).encode())
        whole_tokens = timed(lambda index: tokens._tokenize(text + " " * (index + 1)), 10)

        marks = [
            (int(span_id), int(start), int(end), label)
            for span_id, label, start, end in re.findall(
                r'data-span-id="(\d+)" data-label="(\w+)" data-start="(\d+)" data-end="(\d+)"',
                page_html.decode(),
            )
        ]
        ids = [span_id for span_id, _, _, _ in marks]
        labels = {span_id: label for span_id, _, _, label in marks}
        # Spans of several tokens, which shrink by one and grow back.
        long_ids = [span_id for span_id, start, end, _ in marks if " " in text[start:end]]
        taken = sorted((start, end) for _, start, end, _ in marks)
        version = [0]
        sizes: dict[str, int] = {}

        def edit(action: str, **data) -> None:
            response = client.post(f"/review/1/{action}", data={**data, "version": version[0]}, headers=HTMX)
            if response.status_code != 200:
                raise SystemExit(
                    f"{action} answered {response.status_code}: {response.get_data(as_text=True)[:300]}"
                )
            version[0] += 1
            sizes[action] = len(response.get_data())

        step = max(1, len(ids) // options.requests)
        twice = [long_ids[(index // 2 * step) % len(long_ids)] for index in range(options.requests)]
        resize = timed(
            lambda i: edit("resize", span=twice[i], move="shrink-end" if i % 2 == 0 else "grow-end"),
            options.requests,
        )
        pairs = [ids[(index // 2 * step) % len(ids)] for index in range(options.requests)]

        def relabel_one(index: int) -> None:
            span_id = pairs[index]
            other = "LOCATION" if labels[span_id] == "ACTOR" else "ACTOR"
            edit("label", span=span_id, label=other if index % 2 == 0 else labels[span_id])

        relabel = timed(relabel_one, options.requests)
        undo = timed(lambda i: edit("undo"), options.requests)
        free = free_words(text, taken, options.requests)
        add = timed(lambda i: edit("spans", start=free[i], end=free[i] + 6, label="ACTOR"), len(free))

        print(summary("bare route (/healthz)", bare))
        print(summary("page (revisit)", page, statistics.median(bare), len(page_html)))
        baseline = statistics.median(whole_text) + statistics.median(whole_tokens)
        print(summary("old edit cost: whole text", whole_text, None, whole_size))
        print(summary("old edit cost: tokenize all", whole_tokens))
        for name, times in (("resize", resize), ("relabel", relabel), ("undo", undo), ("add", add)):
            print(
                summary(
                    f"edit: {name}",
                    times,
                    baseline,
                    sizes.get({"relabel": "label", "add": "spans"}.get(name, name)),
                )
            )
        worst = max(sorted(t)[min(len(t) - 1, int(len(t) * 0.99))] for t in (resize, relabel, undo, add))
        print(
            f"edit p99 {worst:.2f} ms (target {EDIT_TARGET_MS:.0f} ms); ratios are p50 / (whole text + tokenize all)"
        )
        load = os.getloadavg()
        print(f"load average at the end {load[0]:.2f} {load[1]:.2f}")
        engine.dispose()


if __name__ == "__main__":
    main()
