"""Number expressions read into a count and a qualifier."""

from __future__ import annotations

import pytest

from annotator.nlp.numbers import Figure, read_count, read_figure


@pytest.mark.parametrize(
    ("text", "count", "qualifier"),
    [
        ("nine", 9, "exact"),
        ("Twelve", 12, "exact"),
        ("twenty-five", 25, "exact"),
        ("one hundred and twenty", 120, "exact"),
        ("1,800", 1800, "exact"),
        ("12,500", 12500, "exact"),
        ("40", 40, "exact"),
        ("1.5 million", 1_500_000, "exact"),
        ("a dozen", 12, "exact"),
        ("two dozen", 24, "exact"),
        ("half a dozen", 6, "exact"),
        ("at least 35", 35, "at_least"),
        ("At least 57", 57, "at_least"),
        ("more than 100", 100, "at_least"),
        ("over 300", 300, "at_least"),
        ("no fewer than eight", 8, "at_least"),
        ("about 20", 20, "about"),
        ("some 10,000", 10000, "about"),
        ("nearly 1,000", 1000, "about"),
        ("an estimated 4,000", 4000, "about"),
        ("up to 30", 30, "about"),
    ],
)
def test_read_figure_reads_counts_and_qualifiers(text, count, qualifier):
    assert read_figure(text) == Figure(count, qualifier)


@pytest.mark.parametrize(
    "text",
    [
        "dozens",
        "Scores",
        "scores",
        "hundreds",
        "thousands",
        "tens of thousands",
        "hundreds of thousands",
        "more than dozens",
    ],
)
def test_read_figure_gives_vague_quantities_no_count(text):
    assert read_figure(text) == Figure(None, "vague")


@pytest.mark.parametrize("text", ["a few", "several", "many", "the"])
def test_read_figure_rejects_what_is_no_number(text):
    assert read_figure(text) is None


@pytest.mark.parametrize(
    ("words", "count"), [(["twenty", "-", "five"], 25), (["1,000"], 1000), (["half", "a", "dozen"], 6)]
)
def test_read_count_takes_tokens(words, count):
    from annotator.nlp.numbers import default_lexicon

    assert read_count(words, lexicon=default_lexicon()) == count
