"""The dev set (styles) and the blind set (heldout3): each JSONL matches its source, spans are well formed."""

from __future__ import annotations

import json

import pytest

from tests.nlp.conftest import HELDOUT, read_gold
from tests.nlp.make_heldout import parse_file

# Dev set: the rules may be tuned on it. Blind set: written before tuning, never tuned on.
STYLES = HELDOUT.with_name("styles.jsonl")
HELDOUT3 = HELDOUT.with_name("heldout3.jsonl")
SEED_TALLIES = HELDOUT.with_name("seed_tallies.json")
SETS = [STYLES, HELDOUT3]
OUTCOMES = ("killed", "wounded", "killed_or_wounded")
GROUPS = {"civilian", "security", "militant", "mixed_or_unknown"}


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_set_jsonl_matches_its_marked_up_source(path):
    assert parse_file(path.with_suffix(".md")) == read_gold([path])


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_set_spans_follow_tokens_without_edges_or_overlaps(path, blank):
    for record in read_gold([path]):
        doc, end = blank(record["text"]), 0
        for span in record["spans"]:
            tokens = doc.char_span(span["start"], span["end"])
            assert tokens is not None, (record["id"], record["text"][span["start"] : span["end"]])
            for token in (tokens[0], tokens[-1]):
                assert not (token.is_space or token.is_punct), (record["id"], tokens.text)
            assert span["start"] >= end, (record["id"], tokens.text)
            end = span["end"]


def _check_tally(tally):
    assert set(tally) == set(OUTCOMES)
    for outcome in tally.values():
        assert set(outcome) == {"total", "lower_bound", "reported", "by_group"}
        assert set(outcome["by_group"]) <= GROUPS
        if not outcome["reported"]:
            assert outcome == {"total": 0, "lower_bound": False, "reported": False, "by_group": {}}
        assert outcome["total"] == sum(outcome["by_group"].values())


def test_blind_set_articles_carry_a_full_hand_tally():
    records = read_gold([HELDOUT3])
    assert len(records) == 12
    for record in records:
        _check_tally(record["tally"])


def test_seed_hand_tallies_are_complete():
    tallies = json.loads(SEED_TALLIES.read_text(encoding="utf-8"))
    assert set(tallies) == {"000_68d2cfd5747fc1ec", "001_142b807c3f101f15"}
    for entry in tallies.values():
        assert entry["why"]
        _check_tally(entry["tally"])
