"""Measure the DocBin export against building the same DocBin directly with spaCy.

Builds N gold articles (default 10,000) by shuffling the paragraphs of the
seed gold (tests/data/*.jsonl) with their spans, imports them into a fresh
SQLite database (or --database-url), then times, in one run:

- baseline: from the documents already in memory, ``spacy.blank("en")``
  tokenizes each text, ``doc.char_span`` aligns the spans, which become
  ``doc.ents`` and ``doc.spans["sc"]`` with the casualty attributes in the
  user data; the DocBin is written to a file;
- annotator: ``export(session, "gold", path, format_="spacy")``, reading the
  gold from the database in chunks and writing the same DocBin.

Each is run --repeat times (default 2), alternating, and the best time
counts, so that a busy machine distorts the ratio less. Prints docs/s for
each and the ratio annotator / baseline time (1.0: as fast as spaCy alone;
above: slower by that factor). --formats adds the other formats, timed once.

    .venv/bin/python bench/export.py [--n 10000] [--repeat 2] [--formats] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, SQLModel

from annotator.db import make_engine
from annotator.services.export import export
from annotator.services.importer import import_paths

REPO = Path(__file__).resolve().parent.parent
SEED_GOLD = sorted((REPO / "tests" / "data").glob("*.jsonl"))
PARAGRAPH = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]*)*")


def seed_paragraphs() -> list[tuple[str, list[dict]]]:
    """Return each paragraph of the seed gold with its spans, offsets relative to the paragraph."""
    paragraphs = []
    for path in SEED_GOLD:
        for line in path.read_text(encoding="utf-8").splitlines():
            document = json.loads(line)
            for match in PARAGRAPH.finditer(document["text"]):
                start, end = match.span()
                spans = [
                    {**span, "start": span["start"] - start, "end": span["end"] - start}
                    for span in document["spans"]
                    if start <= span["start"] and span["end"] <= end
                ]
                paragraphs.append((match.group(), spans))
    return paragraphs


def make_documents(n: int, *, seed: int = 7) -> list[dict]:
    """Return ``n`` gold documents of 6 to 14 shuffled seed paragraphs each, spans shifted along."""
    paragraphs = seed_paragraphs()
    rng = random.Random(seed)
    documents = []
    for index in range(n):
        text, spans = "", []
        for paragraph, paragraph_spans in rng.sample(paragraphs, rng.randint(6, 14)):
            if text:
                text += "\n\n"
            spans.extend(
                {**span, "start": span["start"] + len(text), "end": span["end"] + len(text)}
                for span in paragraph_spans
            )
            text += paragraph
        documents.append({"id": f"bench_{index:05d}", "text": text, "spans": spans})
    return documents


def build_directly(documents: list[dict], path: Path) -> None:
    """The baseline: the DocBin built with spaCy alone from documents in memory."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    docbin = DocBin(store_user_data=True)
    for document in documents:
        doc = nlp.make_doc(document["text"])
        ents = []
        for span in document["spans"]:
            ent = doc.char_span(span["start"], span["end"], label=span["label"], alignment_mode="strict")
            ents.append(ent)
            if span.get("attrs"):
                doc.user_data[("._.", "attrs", span["start"], span["end"])] = span["attrs"]
        doc.ents = ents
        doc.spans["sc"] = ents
        doc.user_data["id"] = document["id"]
        docbin.add(doc)
    path.write_bytes(docbin.to_bytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of articles")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best time counts")
    parser.add_argument("--formats", action="store_true", help="time jsonl, conll and csv as well")
    parser.add_argument("--database-url", default=None, help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    documents = make_documents(args.n)
    spans = sum(len(document["spans"]) for document in documents)
    print(
        f"{args.n} articles, {spans} spans, {sum(len(d['text']) for d in documents) / 1e6:.1f} M characters"
    )
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        source = folder / "gold.jsonl"
        source.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
        with Session(engine) as session:
            import_paths(session, [source], origin="gold")
            import spacy

            spacy.blank("en")  # imports and language data loaded outside both timings

            baseline = ours = float("inf")
            for _ in range(args.repeat):
                started = time.perf_counter()
                build_directly(documents, folder / "direct.spacy")
                baseline = min(baseline, time.perf_counter() - started)

                started = time.perf_counter()
                summary = export(session, "gold", folder / "export.spacy", format_="spacy")
                ours = min(ours, time.perf_counter() - started)
                assert sum(summary.written.values()) == args.n, summary.describe()

            print(f"baseline  spaCy DocBin from memory  {baseline:7.2f} s  {args.n / baseline:8.0f} docs/s")
            print(f"annotator export --format spacy     {ours:7.2f} s  {args.n / ours:8.0f} docs/s")
            print(f"ratio annotator / baseline time: {ours / baseline:.2f}")
            size = (folder / "export.spacy").stat().st_size, (folder / "direct.spacy").stat().st_size
            print(f"file sizes: export {size[0] / 1e6:.1f} MB, direct {size[1] / 1e6:.1f} MB")
            if args.formats:
                for format_ in ("jsonl", "conll", "csv"):
                    started = time.perf_counter()
                    export(session, "gold", folder / f"export.{format_}", format_=format_)
                    took = time.perf_counter() - started
                    print(
                        f"annotator export --format {format_:<6}    {took:7.2f} s  {args.n / took:8.0f} docs/s"
                    )
        engine.dispose()


if __name__ == "__main__":
    main()
