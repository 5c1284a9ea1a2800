"""Token boundaries for snapping and resizing: spaCy's, near an edit, and never inside a grapheme cluster."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.nlp import tokens
from annotator.nlp.tokens import snap, token_bounds, token_bounds_near
from tests.conftest import SEEDS

FLAG = "🇦🇫"
FAMILY = "👨\u200d👩\u200d👧"
HEALTH_WORKER = "👩🏽\u200d⚕️"


@pytest.mark.parametrize("cluster", [FLAG, FAMILY, HEALTH_WORKER, "e\u0301"])
def test_no_boundary_falls_inside_a_grapheme_cluster(cluster):
    text = f"Kabul {cluster} attack, ({cluster}) and x{cluster}y."
    edges = {match.end() for match in regex.finditer(r"\X", text)} | {0}
    for start, end in token_bounds(text):
        assert start in edges and end in edges, (text[start:end], cluster)
    # The cluster is never cut: each token holds it whole or not at all.
    for start, end in token_bounds(text):
        piece = text[start:end]
        assert piece.count(cluster[0]) == piece.count(cluster) * cluster.count(cluster[0])


def test_every_boundary_left_is_a_boundary_of_spacys_tokens():
    text = f"Flags {FLAG}{FLAG} and {FAMILY}s were seen in Helmand's Sangin-district."
    spacy_edges = {edge for bounds in tokens._tokenize(text) for edge in bounds}
    assert {edge for bounds in token_bounds(text) for edge in bounds} <= spacy_edges


def test_snapping_half_a_flag_takes_the_whole_flag():
    text = f"Crowds waved {FLAG} in Kabul."
    start = text.index(FLAG)
    assert snap(token_bounds(text), start, start + 1) == (start, start + len(FLAG))


WORDS = st.sampled_from(
    [
        "Kabul",
        "U.S.-led",
        "Taliban's",
        "(ANSF)",
        "killed,",
        "12",
        "don't",
        "e-mail",
        FLAG,
        FAMILY,
        "x" * 30,
        "...",
        "—",
    ]
)
SPACES = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n "])


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.tuples(WORDS, SPACES), min_size=1, max_size=120),
    where=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_the_tokens_near_an_edit_are_the_whole_texts_tokens_there(parts, where):
    text = "".join(word + space for word, space in parts)
    a, b = sorted(int(fraction * len(text)) for fraction in where)
    near = token_bounds_near(text, a, b)
    whole = token_bounds(text)
    assert set(near) <= set(whole)
    # Every token overlapping [a, b) is there, and one on each side when the text has one.
    assert [t for t in whole if t[0] < b and a < t[1]] == [t for t in near if t[0] < b and a < t[1]]
    if any(t[1] <= a for t in whole):
        assert any(t[1] <= a for t in near)
    if any(t[0] >= b for t in whole):
        assert any(t[0] >= b for t in near)
    # The window is contiguous: no token of the whole text is missing between its first and last.
    inside = [t for t in whole if near[0][0] <= t[0] and t[1] <= near[-1][1]] if near else []
    assert inside == list(near)


def test_tokens_near_an_edit_of_a_long_article_are_its_tokens():
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))) * 5
    whole = token_bounds(text)
    for start in range(0, len(text), 997):
        near = token_bounds_near(text, start, min(len(text), start + 20))
        first = whole.index(near[0])
        assert whole[first : first + len(near)] == near


def test_a_window_reaches_past_a_long_stretch_of_whitespace():
    text = "Kabul" + " " * 5000 + "Taliban" + "\n" * 3000 + "fighters"
    start = text.index("Taliban")
    near = token_bounds_near(text, start, start + 7)
    assert near[0] == (0, 5) and near[-1][0] == text.index("fighters")


def test_a_word_too_long_for_a_window_falls_back_to_the_whole_text():
    text = "a" * 20000 + " Kabul " + "b" * 20000
    start = text.index("Kabul")
    assert token_bounds_near(text, start, start + 5) == token_bounds(text)
