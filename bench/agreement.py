"""Time `annotator agreement --json` against computing the same figures with nervaluate, scikit-learn and krippendorff.

Builds N articles (default 10,000) of 600 to 800 words from the seed gold's
paragraphs (as bench/export.py does), each with about 40 spans, and three
annotators' accepted versions derived from those spans with random changes:
dropped spans, shifted boundaries, relabelled spans, changed casualty
attributes and a few spans of their own. In one article of twenty one of the
three has not accepted it (a missing value for alpha). The pre-annotator's
spans are a noisier version of the same. All of it goes into a fresh SQLite
database (and, with --postgres, a fresh PostgreSQL database on 127.0.0.1).
Then, per database, in one run:

- annotator: ``annotator agreement --json`` run in process through the
  command line (the schema check, reading the database in chunks,
  tokenizing, every figure, and the JSON);
- reference: the same figures from the libraries called directly, on the
  same data read from the same database (a few whole-table queries, timed
  apart): nervaluate per pair (its per-document indices give the per-article
  F1 and the casualty matches) and per annotator against the model,
  scikit-learn's ``cohen_kappa_score`` per pair, and ``krippendorff.alpha``
  overall and per label, on token labels built with numpy from spaCy's
  English tokenizer.

spaCy's tokenizer is loaded before both clocks start. Asserts that both give
the same figures, then prints both times, their ratio (above 1.0: annotator is
faster) and the load average. It then times the team dashboard's server time
(GET /team/ as a reviewer, through the test client): p50 and p99 over
--dashboard-requests requests, next to a bare route of the same app.

    PYTHONPATH=. .venv/bin/python bench/agreement.py [--n 10000] [--postgres [URL]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
from nervaluate import Evaluator
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from annotator import create_app
from annotator.cli import main as cli
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS
from annotator.models import AnnotationState, Article, Span, User, utcnow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import seed_paragraphs  # noqa: E402  (the bench folder is no package)
from web import DEFAULT_POSTGRES_URL, postgres_database, sqlite_database  # noqa: E402

ANNOTATORS = ("ann", "bob", "cy")
SPANS_PER_ARTICLE = 40


# --- the data ----------------------------------------------------------------------------------


def make_article(paragraphs, rng: random.Random) -> tuple[str, list[dict]]:
    """Return a text of 600 to 800 words of seed paragraphs and about 40 of their spans."""
    words = rng.randint(600, 800)
    text, spans = "", []
    while len(text.split()) < words:
        paragraph, paragraph_spans = rng.choice(paragraphs)
        if text:
            text += "\n\n"
        spans.extend(
            {**s, "start": s["start"] + len(text), "end": s["end"] + len(text)} for s in paragraph_spans
        )
        text += paragraph
    if len(spans) > SPANS_PER_ARTICLE:
        spans = rng.sample(spans, SPANS_PER_ARTICLE)
    spans.sort(key=lambda s: (s["start"], s["end"]))
    return text, [{**s, "attrs": s.get("attrs") or {}} for s in spans]


def perturb(text: str, base: list[dict], rng: random.Random, *, noise: float) -> list[dict]:
    """Return ``base`` with spans dropped, boundaries shifted, labels and attributes changed, spans added."""
    spans = []
    for index, span in enumerate(base):
        roll = rng.random() / noise
        span = dict(span)
        if roll < 0.05:
            continue
        if roll < 0.12:
            # Move one boundary by a word's worth of characters, staying clear of the neighbours.
            before = spans[-1]["end"] if spans else 0
            after = base[index + 1]["start"] if index + 1 < len(base) else len(text)
            if rng.random() < 0.5:
                span["start"] = min(max(before, span["start"] + rng.randint(-6, 6)), span["end"] - 1)
            else:
                span["end"] = max(min(after, span["end"] + rng.randint(-6, 6)), span["start"] + 1)
        elif roll < 0.16:
            span["label"] = rng.choice([label for label in LABELS if label != span["label"]])
            span["attrs"] = {}
        elif roll < 0.20 and span["label"] == CASUALTY:
            count = span["attrs"].get("count")
            span["attrs"] = {**span["attrs"], "count": (count or 0) + 1}
        spans.append(span)
    for _ in range(rng.randint(0, round(3 * noise))):  # spans of their own, where nothing is marked
        start = rng.randrange(len(text) - 12)
        end = start + rng.randint(3, 12)
        if all(end <= s["start"] or s["end"] <= start for s in spans):
            spans.append({"start": start, "end": end, "label": rng.choice(LABELS[:2]), "attrs": {}})
    spans.sort(key=lambda s: (s["start"], s["end"]))
    return spans


def fill(engine: Engine, n: int) -> tuple[int, int]:
    """Insert n articles, the three annotators' versions and the model's spans; return (spans, states)."""
    rng = random.Random(20240601)
    paragraphs = [(paragraph, spans) for paragraph, spans in seed_paragraphs() if paragraph.strip()]
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as connection:
        connection.execute(
            insert(User.__table__),
            [
                {"username": name, "password_hash": "!", "role": "annotator", "created_at": now}
                for name in ANNOTATORS
            ],
        )
        spans_written = states_written = 0
        for first in range(1, n + 1, 1000):
            articles, spans, states = [], [], []
            for number in range(first, min(n, first + 999) + 1):
                text_, base = make_article(paragraphs, rng)
                articles.append(
                    {
                        "id": number,
                        "external_id": f"bench-{number:06d}",
                        "text": text_,
                        "content_hash": hashlib.sha256(text_.encode("utf-8")).hexdigest(),
                        "meta": {},
                        "imported_at": now,
                        "preannotated_with": "bench",
                    }
                )
                spans.extend(
                    {**s, "article_id": number, "origin": "model", "owner_id": None, **stamps}
                    for s in perturb(text_, base, rng, noise=2.0)
                )
                pending = rng.choice(ANNOTATORS) if rng.random() < 0.05 else None
                for user_id, name in enumerate(ANNOTATORS, 1):
                    spans.extend(
                        {**s, "article_id": number, "origin": "annotator", "owner_id": user_id, **stamps}
                        for s in perturb(text_, base, rng, noise=1.0)
                    )
                    status = "in_progress" if name == pending else "accepted"
                    states.append(
                        {"article_id": number, "user_id": user_id, "status": status, "version": 1, **stamps}
                    )
            connection.execute(insert(Article.__table__), articles)
            connection.execute(insert(Span.__table__), spans)
            connection.execute(insert(AnnotationState.__table__), states)
            spans_written += len(spans)
            states_written += len(states)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return spans_written, states_written


# --- the reference: the libraries called directly ---------------------------------------------------


def read_everything(engine: Engine):
    """Return texts, accepted versions and model spans, in a few whole-table queries."""
    with engine.connect() as connection:
        names = dict(connection.execute(text("SELECT id, username FROM user_account")).all())
        accepted = defaultdict(dict)
        for article_id, user_id in connection.execute(
            text("SELECT article_id, user_id FROM annotation_state WHERE status = 'accepted'")
        ):
            accepted[article_id][user_id] = []
        shared = {article_id: by for article_id, by in accepted.items() if len(by) >= 2}
        texts = {}
        for article_id, external_id, body in connection.execute(
            text("SELECT id, external_id, text FROM article")
        ):
            if article_id in shared:
                texts[article_id] = (external_id, body)
        model = defaultdict(list)
        for article_id, owner_id, start, end, label, attrs, origin in connection.execute(
            text('SELECT article_id, owner_id, start, "end", label, attrs, origin FROM span')
        ):
            if article_id not in shared:
                continue
            if isinstance(attrs, str):  # SQLite hands JSON back as text
                attrs = json.loads(attrs)
            span = {"start": start, "end": end, "label": label, "attrs": attrs or {}}
            if origin == "model":
                model[article_id].append(span)
            elif origin == "annotator" and owner_id in shared[article_id]:
                shared[article_id][owner_id].append(span)
    versions = {
        article_id: {
            names[user_id]: sorted(spans, key=lambda s: (s["start"], s["end"]))
            for user_id, spans in by.items()
        }
        for article_id, by in sorted(shared.items())
    }
    model = {
        article_id: sorted(spans, key=lambda s: (s["start"], s["end"])) for article_id, spans in model.items()
    }
    return versions, texts, model


def entities(spans):
    # nervaluate's spans end on their last character; ours one past it.
    return [{"label": s["label"], "start": s["start"], "end": s["end"] - 1} for s in spans]


def f1_or_perfect(result) -> float:
    """Return nervaluate's F1, or 1.0 where neither side has a span (two empty versions agree)."""
    return 1.0 if result.possible == result.actual == 0 else result.f1


def document_f1(indices, documents: int) -> list[float]:
    """Return each document's strict F1 from nervaluate's per-document indices, as nervaluate computes F1."""
    counts = np.zeros((documents, 5), dtype=np.int64)
    for column, found in enumerate(
        (
            indices.correct_indices,
            indices.incorrect_indices,
            indices.partial_indices,
            indices.missed_indices,
            indices.spurious_indices,
        )
    ):
        for document, _ in found:
            counts[document, column] += 1
    f1s = []
    for correct, incorrect, partial, missed, spurious in counts.tolist():
        possible, actual = correct + incorrect + partial + missed, correct + incorrect + partial + spurious
        if possible == actual == 0:
            f1s.append(1.0)
            continue
        precision = correct / actual if actual else 0
        recall = correct / possible if possible else 0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0)
    return f1s


def token_labels(tokenizer, versions, texts, names):
    """Return annotators × tokens: 0 for O, 1 + the label's index, nan where an annotator did not accept."""
    rows = {name: [] for name in names}
    article_ids = list(versions)
    docs = tokenizer.pipe((texts[article_id][1] for article_id in article_ids), batch_size=256)
    for article_id, doc in zip(article_ids, docs, strict=True):
        starts = np.array([token.idx for token in doc if not token.is_space], dtype=np.int64)
        for name in names:
            spans = versions[article_id].get(name)
            if spans is None:
                rows[name].append(np.full(len(starts), np.nan))
                continue
            labels = np.zeros(len(starts))
            for span in spans:
                labels[np.searchsorted(starts, span["start"]) : np.searchsorted(starts, span["end"])] = (
                    LABELS.index(span["label"]) + 1
                )
            rows[name].append(labels)
    return np.array([np.concatenate(rows[name]) for name in names])


def reference(versions, texts, model, tokenizer) -> dict:
    """Return the figures ``annotator agreement`` gives, each from nervaluate, scikit-learn or krippendorff."""
    names = sorted({name for by in versions.values() for name in by})
    found = {
        "pairwise": {},
        "per_article": defaultdict(list),
        "casualty": [0, dict.fromkeys(CASUALTY_ATTRIBUTES, 0)],
    }
    timings = defaultdict(float)
    started = time.perf_counter()
    matrix = token_labels(tokenizer, versions, texts, names)
    timings["tokens and labels"] += time.perf_counter() - started
    for first, second in combinations(names, 2):
        shared = [article_id for article_id, by in versions.items() if first in by and second in by]
        started = time.perf_counter()
        result = Evaluator(
            [entities(versions[a][first]) for a in shared],
            [entities(versions[a][second]) for a in shared],
            tags=list(LABELS),
            loader="dict",
        ).evaluate()
        pair = {
            "articles": len(shared),
            **{
                ours: {
                    "micro": f1_or_perfect(result["overall"][scheme]),
                    **{label: f1_or_perfect(result["entities"][label][scheme]) for label in LABELS},
                }
                for ours, scheme in (("strict", "strict"), ("lenient", "ent_type"))
            },
        }
        for article_id, f1 in zip(
            shared, document_f1(result["overall_indices"]["strict"], len(shared)), strict=True
        ):
            found["per_article"][article_id].append(f1)
        # Strict matches of CASUALTY spans: the first side's span has the same offsets and label.
        for document, index in result["overall_indices"]["strict"].correct_indices:
            mine = versions[shared[document]][second][index]
            if mine["label"] != CASUALTY:
                continue
            theirs = next(
                s
                for s in versions[shared[document]][first]
                if (s["start"], s["end"]) == (mine["start"], mine["end"])
            )
            found["casualty"][0] += 1
            for name in CASUALTY_ATTRIBUTES:
                found["casualty"][1][name] += mine["attrs"].get(name) == theirs["attrs"].get(name)
        timings["nervaluate"] += time.perf_counter() - started
        started = time.perf_counter()
        one, other = matrix[names.index(first)], matrix[names.index(second)]
        both = ~np.isnan(one) & ~np.isnan(other)
        pair["cohen_kappa"] = cohen_kappa_score(one[both].astype(np.int8), other[both].astype(np.int8))
        timings["scikit-learn"] += time.perf_counter() - started
        found["pairwise"][f"{first}|{second}"] = pair
    started = time.perf_counter()
    found["vs_model"] = {}
    for name in names:
        seen = [a for a, by in versions.items() if name in by and a in model]
        result = Evaluator(
            [entities(versions[a][name]) for a in seen],
            [entities(model[a]) for a in seen],
            tags=list(LABELS),
            loader="dict",
        ).evaluate()
        found["vs_model"][name] = f1_or_perfect(result["overall"]["strict"])
    timings["nervaluate"] += time.perf_counter() - started
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NaN here would be a broken benchmark, not a figure
        found["krippendorff_alpha"] = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="nominal"
        )
        found["label_alpha"] = {
            label: krippendorff.alpha(
                reliability_data=np.where(np.isnan(matrix), np.nan, matrix == index + 1),
                level_of_measurement="nominal",
            )
            for index, label in enumerate(LABELS)
        }
    timings["krippendorff"] += time.perf_counter() - started
    found["per_article"] = {texts[a][0]: float(np.mean(f1s)) for a, f1s in found["per_article"].items()}
    found["timings"] = timings
    return found


def assert_same(ours: dict, theirs: dict) -> None:
    def close(one: float, other: float) -> bool:
        return math.isclose(one, other, rel_tol=1e-9, abs_tol=1e-12)

    for key, pair in theirs["pairwise"].items():
        got = ours["pairwise"][key]
        assert got["articles"] == pair["articles"], key
        assert close(got["cohen_kappa"], pair["cohen_kappa"]), (key, got["cohen_kappa"], pair["cohen_kappa"])
        for scheme in ("strict", "lenient"):
            assert close(got[scheme]["micro"]["f1"], pair[scheme]["micro"]), (key, scheme)
            for label in LABELS:
                assert close(got[scheme]["per_label"][label]["f1"], pair[scheme][label]), (key, scheme, label)
    assert close(ours["overall"]["krippendorff_alpha"], theirs["krippendorff_alpha"])
    for label in LABELS:
        assert close(
            ours["overall"]["per_label"][label]["krippendorff_alpha"], theirs["label_alpha"][label]
        ), label
    per_article = {article["id"]: article["strict_f1"] for article in ours["per_article"]}
    assert set(per_article) == set(theirs["per_article"])
    for key, f1 in theirs["per_article"].items():
        assert close(per_article[key], f1), key
    matched, equal = theirs["casualty"]
    assert ours["casualty_attrs"]["matched"] == matched
    for name in CASUALTY_ATTRIBUTES:
        assert close(ours["casualty_attrs"][name], equal[name] / matched), name
    for name, f1 in theirs["vs_model"].items():
        assert close(ours["vs_model"][name], f1), name


# --- timing ------------------------------------------------------------------------------------


DASHBOARD_REQUESTS = 50


def dashboard_times(app, requests: int = DASHBOARD_REQUESTS) -> dict[str, float]:
    """Return the team dashboard's server times in seconds (p50, p99) and a bare route's p50, as a reviewer sees it."""
    from sqlmodel import Session as PlainSession

    from annotator.services import users as user_service

    user_service.PASSWORD_METHOD = "scrypt:1024:8:1"  # the login is not what is measured
    with PlainSession(app.extensions["annotator.engine"]) as session:
        if user_service.get_user_by_name(session, "bench-reviewer") is None:
            user_service.create_user(session, "bench-reviewer", "pw", role="reviewer")
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = "bench"
    client.post("/auth/login", data={"username": "bench-reviewer", "password": "pw", "csrf_token": "bench"})

    def times(path: str) -> list[float]:
        found = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            found.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)
        return sorted(found)

    bare = times("/healthz")
    page = times("/team/")
    p99 = min(len(page) - 1, int(len(page) * 0.99))
    return {"p50": page[len(page) // 2], "p99": page[p99], "bare route p50": bare[len(bare) // 2]}


def bench(name: str, engine: Engine, url: str, n: int) -> None:
    started = time.perf_counter()
    spans, states = fill(engine, n)
    print(
        f"{name}: {n} articles, {states} states, {spans} spans ({time.perf_counter() - started:.1f} s to fill)"
    )
    # The versions were written directly, as an upgrade finds them: count them as the upgrade does.
    from sqlmodel import Session as CountSession

    from annotator.services.version_counts import count_everything

    started = time.perf_counter()
    with CountSession(engine) as session:
        count_everything(session)
        session.commit()
    print(
        f"  counting every accepted version for the dashboard (as at the upgrade): {time.perf_counter() - started:.1f} s"
    )
    import spacy

    from annotator.nlp.tokens import _tokenizer

    _tokenizer()  # loaded once per process, before either clock starts
    tokenizer = spacy.blank("en").tokenizer
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret"})
    runner = app.test_cli_runner()
    load_before = os.getloadavg()

    started = time.perf_counter()
    result = runner.invoke(cli, ["agreement", "--json"])
    ours_time = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    ours = json.loads(result.output)

    started = time.perf_counter()
    versions, texts, model = read_everything(engine)
    read_time = time.perf_counter() - started
    theirs = reference(versions, texts, model, tokenizer)
    reference_time = time.perf_counter() - started
    load_after = os.getloadavg()

    assert ours["articles"] == len(versions)
    assert_same(ours, theirs)
    print(
        f"  {ours['articles']} articles compared, {ours['overall']['tokens']:,} tokens; "
        f"mean pairwise F1 strict {ours['overall']['mean_pairwise_f1']['strict']:.3f}, "
        f"lenient {ours['overall']['mean_pairwise_f1']['lenient']:.3f}; "
        f"alpha {ours['overall']['krippendorff_alpha']:.3f}"
    )
    print("  every figure agrees with nervaluate, scikit-learn and krippendorff")
    print(f"  annotator agreement --json (database read included)  {ours_time:7.2f} s")
    parts = ", ".join(f"{what} {took:.2f} s" for what, took in theirs["timings"].items())
    print(f"  reference libraries (database read included)         {reference_time:7.2f} s")
    print(f"    of which: database read {read_time:.2f} s, {parts}")
    print(f"  ratio reference / annotator time: {reference_time / ours_time:.2f}")
    dashboard = dashboard_times(app)
    print(
        f"  team dashboard (GET /team/ as a reviewer, {DASHBOARD_REQUESTS} requests): "
        + ", ".join(f"{what} {took * 1000:.1f} ms" for what, took in dashboard.items())
        + f"; p50 / bare route {dashboard['p50'] / dashboard['bare route p50']:.0f}x"
    )
    print(
        "  load average (1, 5, 15 min): before "
        + " ".join(f"{load:.2f}" for load in load_before)
        + ", after "
        + " ".join(f"{load:.2f}" for load in load_after)
    )
    app.extensions["annotator.engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles (default 10000)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES_URL,
        default=None,
        metavar="URL",
        help=f"also on a fresh database of this PostgreSQL server on 127.0.0.1 (default {DEFAULT_POSTGRES_URL})",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as folder:
        with sqlite_database(Path(folder)) as (engine, url):
            bench("SQLite", engine, url, args.n)
    if args.postgres:
        postgres = postgres_database(args.postgres)
        if postgres is not None:
            with postgres as (engine, url):
                bench("PostgreSQL", engine, url, args.n)


if __name__ == "__main__":
    main()
