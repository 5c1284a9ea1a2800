"""Measure `annotator evaluate` against nervaluate on the same documents, and check they agree.

Builds N gold documents (default 10,000) from the seed gold's paragraphs
(as bench/export.py does) and a prediction for each: the gold spans with
some dropped, some cut short or widened, some relabelled, and some spurious
ones added. Then times, in one run:

- in memory: ``evaluate(gold, predicted)`` against
  ``nervaluate.Evaluator(true, pred, tags, loader="dict").evaluate()``
  (nervaluate's input lists are built before its clock starts);
- from files: ``evaluate_sources(None, "gold.jsonl", "pred.jsonl")``, what
  ``annotator evaluate --gold gold.jsonl --pred pred.jsonl`` runs (reading
  and checking both files), against reading the same files with ``json``
  and running nervaluate.

Asserts that every count and score agrees, then prints docs/s and the
ratio nervaluate / annotator time (above 1.0: annotator is faster).

    .venv/bin/python bench/evaluate.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from nervaluate import Evaluator

from annotator.labels import LABELS
from annotator.services.evaluate import SCHEMES, evaluate, evaluate_sources
from annotator.services.gold import Document

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export import make_documents  # noqa: E402  (the bench folder is no package)

FIELDS = ("correct", "incorrect", "partial", "missed", "spurious", "precision", "recall", "f1")


def predict(gold: dict, rng: random.Random) -> dict:
    """Return a plausible prediction for ``gold``: its spans, with mistakes of every kind."""
    spans = []
    for span in gold["spans"]:
        roll = rng.random()
        if roll < 0.10:
            continue  # missed
        span = {"start": span["start"], "end": span["end"], "label": span["label"]}
        if roll < 0.20 and span["end"] - span["start"] > 3:
            span["end"] -= rng.randint(1, 3)  # cut short: partial
        elif roll < 0.25:
            span["label"] = rng.choice([label for label in LABELS if label != span["label"]])
        spans.append(span)
    text = gold["text"]
    for _ in range(rng.randint(0, 3)):  # spurious spans on free words
        start = rng.randrange(len(text) - 10)
        end = start + rng.randint(2, 9)
        if all(end <= span["start"] or span["end"] <= start for span in spans):
            spans.append({"start": start, "end": end, "label": rng.choice(LABELS)})
    spans.sort(key=lambda span: (span["start"], span["end"]))
    return {"id": gold["id"], "text": text, "spans": spans}


def nervaluate_lists(documents: list[dict]) -> list[list[dict]]:
    # nervaluate's spans end on their last character; ours one past it.
    return [
        [
            {"label": span["label"], "start": span["start"], "end": span["end"] - 1}
            for span in sorted(
                document["spans"], key=lambda span: (span["start"], span["end"], span["label"])
            )
        ]
        for document in documents
    ]


def check_same(ours, theirs) -> None:
    for scheme in SCHEMES:
        for name in FIELDS:
            assert getattr(ours.micro[scheme], name) == getattr(theirs["overall"][scheme], name), (
                scheme,
                name,
            )
            for label in LABELS:
                assert getattr(ours.per_label[label][scheme], name) == getattr(
                    theirs["entities"][label][scheme], name
                ), (label, scheme, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of documents")
    args = parser.parse_args()
    gold = make_documents(args.n)
    rng = random.Random(11)
    predicted = [predict(document, rng) for document in gold]
    spans = (
        sum(len(document["spans"]) for document in gold),
        sum(len(document["spans"]) for document in predicted),
    )
    print(f"{args.n} documents, {spans[0]} gold spans, {spans[1]} predicted spans")

    # In memory.
    gold_documents = [Document(d["id"], d["text"], d["spans"]) for d in gold]
    predicted_documents = [Document(d["id"], d["text"], d["spans"]) for d in predicted]
    true_lists, pred_lists = nervaluate_lists(gold), nervaluate_lists(predicted)
    started = time.perf_counter()
    theirs = Evaluator(true_lists, pred_lists, tags=list(LABELS), loader="dict").evaluate()
    nervaluate_memory = time.perf_counter() - started
    started = time.perf_counter()
    ours = evaluate(gold_documents, predicted_documents)
    ours_memory = time.perf_counter() - started
    check_same(ours, theirs)

    # From files, as the command reads them.
    with tempfile.TemporaryDirectory() as folder:
        paths = Path(folder) / "gold.jsonl", Path(folder) / "pred.jsonl"
        for path, documents in zip(paths, (gold, predicted), strict=True):
            path.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
        started = time.perf_counter()
        read = [
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] for path in paths
        ]
        theirs = Evaluator(
            nervaluate_lists(read[0]), nervaluate_lists(read[1]), tags=list(LABELS), loader="dict"
        ).evaluate()
        nervaluate_files = time.perf_counter() - started
        started = time.perf_counter()
        ours = evaluate_sources(None, str(paths[0]), str(paths[1]))
        json.dumps(ours.to_dict())
        ours_files = time.perf_counter() - started
        check_same(ours, theirs)

    print("all counts and scores agree with nervaluate (4 schemes, micro and per label)")
    print(f"in memory   nervaluate {nervaluate_memory:7.2f} s {args.n / nervaluate_memory:8.0f} docs/s")
    print(f"in memory   annotator  {ours_memory:7.2f} s {args.n / ours_memory:8.0f} docs/s")
    print(f"ratio nervaluate / annotator time, in memory: {nervaluate_memory / ours_memory:.1f}")
    print(f"from files  nervaluate {nervaluate_files:7.2f} s {args.n / nervaluate_files:8.0f} docs/s")
    print(f"from files  annotator  {ours_files:7.2f} s {args.n / ours_files:8.0f} docs/s")
    print(f"ratio nervaluate / annotator time, from files: {nervaluate_files / ours_files:.1f}")
    print(f"strict micro F1 {ours.micro['strict'].f1:.3f}, partial micro F1 {ours.micro['partial'].f1:.3f}")


if __name__ == "__main__":
    main()
