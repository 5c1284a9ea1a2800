"""Fixtures for the nlp tests: one real pipeline per session, gold records, small hand-made components."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy

from annotator.nlp import load_pipeline
from annotator.nlp.entities import ConflictEntities
from annotator.nlp.resources import DATA_DIR, default_force_patterns, read_list, read_toml

TESTS = Path(__file__).resolve().parent.parent
SEED_GOLD = sorted((TESTS / "data").glob("*.jsonl"))
HELDOUT = Path(__file__).resolve().parent / "data" / "heldout.jsonl"
# Written after the rules were tuned; scored blind once (micro F1 0.958) before
# the fixes its errors suggested.
HELDOUT_BLIND = HELDOUT.with_name("heldout2.jsonl")
# Written for issue 13 before the rules were tuned on it: military press
# releases, wire copy, UN and NGO reports, local news from Nigeria, Somalia,
# Syria and Yemen. The rules were tuned on it (micro F1 0.859 before, 1.000 after).
STYLES = HELDOUT.with_name("styles.jsonl")
# Written with it and never tuned on: scored once before tuning (0.824) and once
# after (0.923). Each article carries a tally counted by hand.
HELDOUT_TALLY = HELDOUT.with_name("heldout3.jsonl")
SEEDS = TESTS.parent / "seeds"


def read_gold(paths) -> list[dict]:
    """Return the gold records of JSON-lines files."""
    return [
        json.loads(line)
        for path in paths
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="session")
def nlp():
    """The full pipeline on the configured model, loaded once (tests using it are marked ``model``)."""
    return load_pipeline()


@pytest.fixture(scope="session")
def annotate(nlp):
    """Return a function from text to its predicted span dicts, each with its ``text``."""
    from annotator.nlp import doc_to_spans

    def run(text: str) -> list[dict]:
        spans = doc_to_spans(nlp(text))
        for span in spans:
            span["text"] = text[span["start"] : span["end"]]
        return spans

    return run


@pytest.fixture(scope="session")
def blank():
    """A blank English pipeline: tokenizer only, for hand-built docs."""
    return spacy.blank("en")


@pytest.fixture(scope="session")
def small_entities(blank):
    """The entity assembler with a small gazetteer, built without GeoNames."""
    lexicon = read_toml("entities")
    data = {
        "places": [
            {"name": "Helmand", "kind": "province", "strong": True, "suffix": False},
            {"name": "Kabul", "kind": "capital", "strong": True, "suffix": False},
            {"name": "Reg", "kind": "district", "strong": True, "suffix": True},
            {"name": "Mosul", "kind": "city", "strong": True, "suffix": False},
            {"name": "Syria", "kind": "country", "strong": True, "suffix": False},
        ],
        "actors": [
            {"name": "Taliban", "kind": "armed"},
            {"name": "ANSF", "kind": "state"},
            {"name": "al-Shabaab", "kind": "armed"},
        ],
        "forces": default_force_patterns(lexicon),
        "titles": read_list(DATA_DIR / "titles.txt"),
        "agencies": read_list(DATA_DIR / "agencies.txt"),
        "lexicon": lexicon,
    }
    return ConflictEntities(blank, data=data)
