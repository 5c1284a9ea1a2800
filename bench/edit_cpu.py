"""Measure the app's CPU time per span edit and per page in process, on PostgreSQL (or SQLite).

The same work as ``bench/load.py --pace saturate`` for one annotator, without
gunicorn and sockets: Flask's test client opens an article (the whole page),
then on two of its spans sends the htmx edits the browser sends (relabel,
relabel back, grow, shrink, delete, add, undo, undo), then opens the next
article. The figure is this process's CPU time (``time.process_time``, so
PostgreSQL's own work is left out) over the run divided by the edits
acknowledged: pages are part of the load, so "per edit" carries their share,
as in bench/load.py. Per page and per edit request apart are printed too, and
the baseline of the same run: a bare request (GET /healthz, no database). The
test client's own work (building the WSGI environ, reading the answer) is in
every figure alike. It is steadier than a load run on a busy machine.

    .venv/bin/python bench/edit_cpu.py [--cycles 300] [--backend postgresql|sqlite]
        [--app-dir PATH] [--compare PATH] [--profile FILE]

``--app-dir`` measures another checkout (see bench/load.py); ``--compare PATH``
first measures the checkout at PATH in a subprocess, then this one, and prints
the ratio (this / that) of each figure. ``--profile FILE`` runs cProfile over
the measured cycles, writes its stats to FILE and prints the 40 costliest
functions by their own time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (puts the served checkout, --app-dir, first on sys.path)

from annotator import create_app  # noqa: E402

HTMX = {"HX-Request": "true"}


def log_in(app, username: str):
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = load.CSRF_INPUT.search(page).group(1)
    answer = client.post(
        "/auth/login", data={"username": username, "password": load.PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        sys.exit(f"{username} could not log in: {answer.status_code}")
    return client


class Counter:
    def __init__(self):
        self.edits = self.pages = self.refused = 0
        self.edit_cpu = self.page_cpu = 0.0


def cycle(client, counter: Counter, rng: random.Random, article_id: int) -> None:
    """Open the article, then run bench/load.py's edit cycle on two of its spans."""
    started = time.process_time()
    answer = client.get(f"/articles/load-{article_id:06d}")
    counter.page_cpu += time.process_time() - started
    if answer.status_code != 200:
        sys.exit(f"page {article_id}: {answer.status_code}")
    counter.pages += 1
    html = answer.get_data(as_text=True)
    csrf = load.CSRF_HEADER.search(html).group(1)
    version = int(load.VERSION.search(html).group(1))
    marks = load.MARK.findall(html)
    for span_id, label, start, end in rng.sample(marks, min(2, len(marks))):
        other = "LOCATION" if label != "LOCATION" else "ACTOR"
        steps = [
            ("label", {"span": span_id, "label": other}),
            ("label", {"span": span_id, "label": label}),
            ("resize", {"span": span_id, "move": "grow-end"}),
            ("resize", {"span": span_id, "move": "shrink-end"}),
            ("delete", {"span": span_id}),
            ("spans", {"start": start, "end": end, "label": label}),
            ("undo", {}),
            ("undo", {}),
        ]
        skip = False
        for action, form in steps:
            if skip:
                skip = False
                continue
            started = time.process_time()
            answer = client.post(
                f"/review/{article_id}/{action}",
                data={**form, "version": version},
                headers={**HTMX, "X-CSRF-Token": csrf},
            )
            counter.edit_cpu += time.process_time() - started
            if 400 <= answer.status_code < 500:
                counter.refused += 1
                skip = action == "resize"
                if action != "resize":
                    break
                continue
            if answer.status_code != 200:
                sys.exit(f"edit {action} on {article_id}: {answer.status_code}")
            counter.edits += 1
            version = int(load.VERSION.search(answer.get_data(as_text=True)).group(1))


def measure(engine, url: str, options) -> dict:
    load.fill(engine, options.articles, 1)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "edit-cpu-secret"})
    client = log_in(app, load.annotator_name(0))
    rng = random.Random(options.seed)
    articles = iter(range(1, options.articles + 1))
    warm = Counter()
    for _ in range(options.warmup):
        cycle(client, warm, rng, next(articles))
    counter = Counter()
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(options.cycles):
        cycle(client, counter, rng, next(articles))
    if profiler:
        profiler.disable()
    used = time.process_time() - started
    # The baseline of this run: a request that touches no database (Flask, the test client).
    started = time.process_time()
    for _ in range(1000):
        client.get("/healthz")
    bare = (time.process_time() - started) * 1000 / 1000
    app.extensions["annotator.engine"].dispose()
    if profiler:
        profiler.dump_stats(options.profile)
        pstats.Stats(options.profile).sort_stats("tottime").print_stats(40)
        pstats.Stats(options.profile).sort_stats("cumulative").print_stats(60)
    return {
        "per edit": used * 1000 / counter.edits,
        "per page request": counter.page_cpu * 1000 / counter.pages,
        "per edit request": counter.edit_cpu * 1000 / counter.edits,
        "bare request": bare,
        "edits": counter.edits,
        "pages": counter.pages,
        "refused": counter.refused,
        "load": load.loadavg(),
    }


def run(options) -> dict:
    if options.backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder, load.sqlite_database(Path(folder)) as (engine, url):
            return measure(engine, url, options)
    with load.postgres_database(options.postgres) as database:
        if database is None:
            sys.exit("PostgreSQL does not answer")
        return measure(*database, options)


def show(name: str, figures: dict) -> None:
    print(
        f"  {name}: {figures['per edit']:.2f} ms CPU per edit (page share included), "
        f"{figures['per edit request']:.2f} ms per edit request, {figures['per page request']:.2f} ms per page; "
        f"{figures['edits']} edits, {figures['pages']} pages, {figures['refused']} refused "
        f"(load average {figures['load']})"
    )
    print(
        f"    baseline of the same run: {figures['bare request']:.2f} ms per bare request (GET /healthz, no "
        f"database); an edit request is {figures['per edit request'] / figures['bare request']:.1f}x that"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300, help="articles opened and edited (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="cycles before measuring (default 20)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres", default=load.DEFAULT_POSTGRES_URL)
    parser.add_argument("--app-dir", help="the checkout to measure (default: this script's)")
    parser.add_argument("--compare", help="a checkout to measure first, as the baseline")
    parser.add_argument("--profile", help="write cProfile stats of the measured cycles here")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    options.articles = options.cycles + options.warmup
    baseline = None
    if options.compare:
        command = [sys.executable, __file__, "--json", "--app-dir", options.compare]
        command += ["--cycles", str(options.cycles), "--warmup", str(options.warmup)]
        command += ["--backend", options.backend, "--postgres", options.postgres, "--seed", str(options.seed)]
        env = {**os.environ, "PYTHONPATH": options.compare}
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        baseline = json.loads(output.strip().splitlines()[-1])
    figures = run(options)
    if options.json:
        print(json.dumps(figures))
        return
    print(f"{options.backend}, in process, {options.cycles} cycles ({load.APP_DIR}):")
    if baseline is not None:
        show(f"baseline {options.compare}", baseline)
    show("this checkout" if not options.app_dir else options.app_dir, figures)
    if baseline is not None:
        ratios = ", ".join(
            f"{key} {figures[key] / baseline[key]:.2f}x"
            for key in ("per edit", "per edit request", "per page request")
        )
        print(f"  ratio to the baseline: {ratios} (load average {load.loadavg()})")


if __name__ == "__main__":
    main()
