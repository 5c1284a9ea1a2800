"""Exact-span accuracy against the hand-made gold: the seed articles and the held-out set."""

from __future__ import annotations

import pytest

from annotator.nlp import predict
from annotator.nlp.evaluate import score
from annotator.nlp.tally import tally
from tests.nlp.conftest import HELDOUT, HELDOUT_BLIND, HELDOUT_TALLY, SEED_GOLD, STYLES, read_gold
from tests.nlp.make_heldout import parse_file


@pytest.fixture(scope="module")
def seed_scores(nlp):
    gold = read_gold(SEED_GOLD)
    return score(gold, predict([record["text"] for record in gold], nlp=nlp))


@pytest.fixture(
    scope="module",
    params=[HELDOUT, HELDOUT_BLIND, STYLES, HELDOUT_TALLY],
    ids=["heldout", "heldout2", "styles", "heldout3"],
)
def heldout_scores(nlp, request):
    gold = read_gold([request.param])
    return score(gold, predict([record["text"] for record in gold], nlp=nlp))


@pytest.mark.model
def test_seed_gold_reaches_the_span_goal(seed_scores):
    assert seed_scores.micro.f1 >= 0.85, seed_scores.table()


@pytest.mark.model
@pytest.mark.parametrize("label", ["ACTOR", "LOCATION", "CASUALTY"])
def test_seed_gold_each_label_is_useful(seed_scores, label):
    assert seed_scores.labels[label].f1 >= 0.80, seed_scores.table()


@pytest.mark.model
@pytest.mark.parametrize("attribute", ["count", "qualifier", "outcome", "group"])
def test_seed_gold_casualty_attributes(seed_scores, attribute):
    assert seed_scores.matched_casualties >= 10
    assert seed_scores.attribute_accuracy(attribute) >= 0.90, seed_scores.table()


@pytest.mark.model
def test_heldout_articles_reach_the_floor(heldout_scores):
    assert heldout_scores.micro.f1 >= 0.80, heldout_scores.table()
    for label in ("ACTOR", "LOCATION", "CASUALTY"):
        assert heldout_scores.labels[label].f1 >= 0.75, heldout_scores.table()


@pytest.mark.model
@pytest.mark.parametrize("attribute", ["count", "qualifier", "outcome", "group"])
def test_heldout_casualty_attributes(heldout_scores, attribute):
    assert heldout_scores.attribute_accuracy(attribute) >= 0.85, heldout_scores.table()


@pytest.mark.model
def test_tallies_of_the_held_back_articles_match_most_hand_counts(nlp):
    """The tally of the gold spans (the rules alone) and of the predicted spans (the whole chain), every total."""
    gold = read_gold([HELDOUT_TALLY])
    predicted = list(predict([record["text"] for record in gold], nlp=nlp))

    def matches(spans_of) -> float:
        hits = 0
        for record, spans in zip(gold, spans_of, strict=True):
            counted = tally(spans, text=record["text"]).to_json()
            hits += all(counted[o]["total"] == record["tally"][o]["total"] for o in counted)
        return hits / len(gold)

    assert matches([record["spans"] for record in gold]) >= 0.75
    assert matches(predicted) >= 0.6


@pytest.mark.parametrize("path", [HELDOUT, HELDOUT_BLIND], ids=lambda path: path.stem)
def test_heldout_jsonl_matches_its_marked_up_source(path):
    assert parse_file(path.with_suffix(".md")) == read_gold([path])
