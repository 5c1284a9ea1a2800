"""Measure the pre-annotator against the stock spaCy pipeline on the same texts.

Builds N articles (default 1,000) by shuffling the paragraphs of the seed
articles, imports them into a fresh SQLite database, then times, in one run:

- baseline: ``spacy.load(model)`` with every component, ``list(nlp.pipe(texts))``;
- annotator: ``preannotate(session)``, database writes included.

Model loading is timed apart from both. Prints docs/s for each and the ratio
annotator / baseline (above 1.0: the pre-annotator is faster).

With ``--long CHARACTERS`` it instead stores one article that long (the seed
articles over and over, written straight to the database, as the import
refuses texts over 1,000,000 characters) and prints the seconds
``preannotate`` takes on it and the process's peak RSS. Peak RSS only grows,
so measure each length in a process of its own. ``--piece-length`` sets the
piece size (a value above the length runs the text whole, as before pieces).

With ``--parallel`` it compares two cores' worth of each, in one run:
the stock pipeline with ``nlp.pipe(n_process=2)``; ``preannotate`` with
``n_process=2`` on SQLite; and two ``annotator preannotate --shard I/2``
processes against one PostgreSQL database (a throwaway one at ``--postgres``),
timed from their start to the end of both, model loading included (each
process loads its own model; the stock model's load time is printed beside).

    .venv/bin/python bench/preannotate.py [--n 1000] [--batch-size 64] [--model NAME]
    .venv/bin/python bench/preannotate.py --long 2000000 [--piece-length N]
    .venv/bin/python bench/preannotate.py --parallel [--postgres URL]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy
from sqlmodel import Session

from annotator import resource_dir
from annotator.db import make_engine, upgrade
from annotator.models import Article
from annotator.nlp import default_model_name, load_pipeline
from annotator.services.importer import import_paths
from annotator.services.preannotate import preannotate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the bench folder is no package
from web import postgres_database  # noqa: E402


def make_texts(n: int, *, seed: int = 7) -> list[str]:
    """Return ``n`` article texts made of 6 to 14 shuffled seed paragraphs each."""
    paragraphs = [
        paragraph
        for path in sorted(resource_dir("seeds").glob("*.txt"))
        for paragraph in path.read_text(encoding="utf-8").split("\n\n")
        if paragraph.strip()
    ]
    rng = random.Random(seed)
    return ["\n\n".join(rng.sample(paragraphs, rng.randint(6, 14))) for _ in range(n)]


def write_corpus(texts: list[str], folder: Path) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir()
    for index, text in enumerate(texts):
        (corpus / f"bench_{index:05d}.txt").write_text(text, encoding="utf-8")
    return corpus


def make_long_text(length: int) -> str:
    """Return one text of ``length`` characters: the seed articles over and over, cut at the end."""
    seeds = "\n\n".join(
        path.read_text(encoding="utf-8").strip() for path in sorted(resource_dir("seeds").glob("*.txt"))
    )
    return ((seeds + "\n\n") * (length // len(seeds) + 1))[:length]


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_long(length: int, *, model: str, batch_size: int, piece_length: int | None) -> None:
    text = make_long_text(length)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        with Session(engine) as session:
            content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
            session.add(Article(external_id="long", text=text, content_hash=content_hash, meta={}))
            session.commit()
            nlp = load_pipeline(model=model)
            if piece_length and piece_length > nlp.max_length:
                nlp.max_length = piece_length
            loaded = peak_rss_mb()
            started = time.perf_counter()
            summary = preannotate(session, nlp=nlp, batch_size=batch_size, piece_length=piece_length)
            seconds = time.perf_counter() - started
        engine.dispose()
    assert summary.articles == 1, summary.describe()
    print(
        f"1 article of {length:,} characters, model {model}: {seconds:.1f} s, {summary.spans} spans; "
        f"peak RSS {peak_rss_mb():.0f} MB ({loaded:.0f} MB with the model loaded)"
    )


def _shards_on_postgres(url: str, corpus: Path, *, model: str, batch_size: int) -> tuple[float, int]:
    """Import ``corpus`` into a throwaway database at ``url``, time two shard processes; return seconds, spans."""
    from sqlmodel import func, select

    from annotator.models import Span

    database = postgres_database(url)
    if database is None:
        raise SystemExit("the shard run needs PostgreSQL")
    with database as (engine, database_url):
        with Session(engine) as session:
            import_paths(session, [corpus])
        command = [
            str(Path(sys.executable).with_name("annotator")),
            "preannotate",
            "--batch-size",
            str(batch_size),
        ]
        env = {**os.environ, "ANNOTATOR_DATABASE_URL": database_url, "ANNOTATOR_MODEL": model}
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [*command, "--shard", f"{i}/2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for i in (1, 2)
        ]
        for process in processes:
            _, err = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"a shard failed: {err.decode()[-500:]}")
        seconds = time.perf_counter() - started
        with Session(engine) as session:
            spans = session.exec(select(func.count()).select_from(Span)).one()
    return seconds, spans


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_parallel(texts: list[str], *, model: str, batch_size: int, postgres: str) -> None:
    n = len(texts)
    print(f"load average before measuring: {_load_average()} ({os.cpu_count()} CPUs)")
    started = time.perf_counter()
    stock = spacy.load(model)
    stock_load = time.perf_counter() - started
    started = time.perf_counter()
    for _doc in stock.pipe(texts, batch_size=batch_size, n_process=2):
        pass
    stock_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        corpus = write_corpus(texts, Path(folder))
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        with Session(engine) as session:
            import_paths(session, [corpus])
            nlp = load_pipeline(model=model)
            started = time.perf_counter()
            summary = preannotate(session, nlp=nlp, batch_size=batch_size, n_process=2)
            ours_seconds = time.perf_counter() - started
        engine.dispose()
        assert summary.articles == n, summary
        shard_seconds, shard_spans = _shards_on_postgres(postgres, corpus, model=model, batch_size=batch_size)
    print(f"load average after measuring: {_load_average()}")

    stock_rate = n / stock_seconds
    print(f"{'':52}{'docs/s':>8}{'seconds':>9}{'x stock':>9}")
    rows = [
        ("stock spacy.load + nlp.pipe(n_process=2)", stock_seconds),
        ("preannotate --n-process 2, SQLite (+ writes)", ours_seconds),
        ("2 x preannotate --shard I/2, PostgreSQL (+ loads)", shard_seconds),
    ]
    for label, seconds in rows:
        print(f"{label:52}{n / seconds:8.1f}{seconds:9.2f}{(n / seconds) / stock_rate:9.2f}")
    print(f"stock model load: {stock_load:.2f} s (each shard process loads its own model, inside its time)")
    print(f"spans written: {summary.spans} (n-process), {shard_spans} (shards)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of articles")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None, help="spaCy model (default: annotator's default)")
    parser.add_argument("--long", type=int, default=None, metavar="CHARACTERS", help="time one long article")
    parser.add_argument("--piece-length", type=int, default=None, help="with --long: characters per piece")
    parser.add_argument("--parallel", action="store_true", help="two processes: n_process=2 and two shards")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="with --parallel: server URL"
    )
    args = parser.parse_args()
    model = args.model or default_model_name()
    if args.long:
        bench_long(args.long, model=model, batch_size=args.batch_size, piece_length=args.piece_length)
        return
    texts = make_texts(args.n)
    if args.parallel:
        print(
            f"{args.n} articles, {sum(map(len, texts)) / args.n:.0f} characters each on average, model {model}"
        )
        bench_parallel(texts, model=model, batch_size=args.batch_size, postgres=args.postgres)
        return
    characters = sum(map(len, texts))
    print(f"{args.n} articles, {characters / args.n:.0f} characters each on average, model {model}")

    started = time.perf_counter()
    stock = spacy.load(model)
    stock_load = time.perf_counter() - started
    started = time.perf_counter()
    for _doc in stock.pipe(texts, batch_size=args.batch_size):
        pass
    stock_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(engine)
        with Session(engine) as session:
            import_paths(session, [write_corpus(texts, Path(folder))])
            started = time.perf_counter()
            nlp = load_pipeline(model=model)
            ours_load = time.perf_counter() - started
            started = time.perf_counter()
            summary = preannotate(session, nlp=nlp, batch_size=args.batch_size)
            ours_seconds = time.perf_counter() - started
        engine.dispose()
    assert summary.articles == args.n, summary

    stock_rate, ours_rate = args.n / stock_seconds, args.n / ours_seconds
    print(f"{'':34}{'docs/s':>10}{'seconds':>10}{'load s':>9}")
    print(f"{'stock spacy.load + nlp.pipe':34}{stock_rate:10.1f}{stock_seconds:10.2f}{stock_load:9.2f}")
    print(f"{'annotator preannotate (+ writes)':34}{ours_rate:10.1f}{ours_seconds:10.2f}{ours_load:9.2f}")
    print(f"ratio annotator / stock: {ours_rate / stock_rate:.2f}x  ({summary.spans} spans written)")


if __name__ == "__main__":
    main()
