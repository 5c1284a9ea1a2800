"""Turn the marked-up held-out articles of ``data/*.md`` into gold JSONL.

Run ``python tests/nlp/make_heldout.py`` after editing a ``.md`` file; the test
suite checks that each ``.jsonl`` matches its source.

A line ``@tally {JSON}`` inside a document is taken out of its text, and its
JSON (the article's hand-counted tally, see GUIDELINES.md "Article tally")
becomes the record's ``"tally"`` field.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent / "data"
LABELS = {"A": "ACTOR", "L": "LOCATION", "C": "CASUALTY"}
MARK = re.compile(r"\[\[([ALC])\|(?:([^|\]]*)\|)?([^\]]+)\]\]")
TALLY = re.compile(r"^@tally (.*)\n?", flags=re.M)


def parse_document(marked: str) -> dict:
    """Return one gold record from marked-up text (with its ``tally`` when an ``@tally`` line gives one)."""
    tallies = [json.loads(match.group(1)) for match in TALLY.finditer(marked)]
    marked = TALLY.sub("", marked).strip("\n")
    text_parts, spans, position, offset = [], [], 0, 0
    for match in MARK.finditer(marked):
        text_parts.append(marked[position : match.start()])
        offset += match.start() - position
        label, attrs, surface = LABELS[match.group(1)], match.group(2), match.group(3)
        span = {"start": offset, "end": offset + len(surface), "label": label}
        if label == "CASUALTY":
            count, qualifier, outcome, group = attrs.split(",")
            span["attrs"] = {
                "count": None if count == "-" else int(count),
                "qualifier": qualifier,
                "outcome": outcome,
                "group": group,
            }
        spans.append(span)
        text_parts.append(surface)
        offset += len(surface)
        position = match.end()
    text_parts.append(marked[position:])
    text = "".join(text_parts)
    record = {"id": "heldout_" + hashlib.sha1(text.encode()).hexdigest()[:12], "text": text, "spans": spans}
    if tallies:
        (record["tally"],) = tallies
    return record


def parse_file(path: Path) -> list[dict]:
    """Return the gold records of a marked-up file (documents split by "---" lines)."""
    source = re.sub(r"<!--.*?-->\n?", "", path.read_text(encoding="utf-8"), flags=re.S)
    documents = re.split(r"^---$", source, flags=re.M)
    return [parse_document(document.strip("\n")) for document in documents if document.strip()]


def main() -> None:
    for source in sorted(HERE.glob("*.md")):
        records = parse_file(source)
        with source.with_suffix(".jsonl").open("w", encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
