"""Read casualty figures: "nine", "1,800", "more than 100", "dozens", "at least 35".

Number words are read by text2num (a maintained parser of English number
words); digits, "a dozen" and scale words such as "1.5 million" are read here.
The word lists (qualifier phrases, vague quantities) come from
``data/casualty.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from text_to_num import text2num

from annotator.nlp.resources import read_toml

_DIGITS = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+$")
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class Figure:
    """A number expression as GUIDELINES.md reads it: ``count`` is None when vague."""

    count: int | None
    qualifier: str


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, Any]:
    """Return the casualty lexicon of ``data/casualty.toml`` (read once)."""
    return read_toml("casualty")


def qualifier_length(words: Sequence[str], *, lexicon: dict[str, Any]) -> tuple[int, str | None]:
    """Return how many leading ``words`` form a qualifier phrase, and its qualifier.

    The longest phrase wins, so "more than" is read before "more".
    """
    qualifiers = lexicon["qualifiers"]
    for size in range(min(4, len(words)), 0, -1):
        phrase = " ".join(words[:size]).lower()
        if phrase in qualifiers:
            return size, qualifiers[phrase]
    return 0, None


def read_count(words: Sequence[str], *, lexicon: dict[str, Any]) -> int | None:
    """Return the integer a number expression states, or None if it states none.

    ``words`` are the expression's tokens without qualifier: ``["1,800"]``,
    ``["twenty", "-", "five"]``, ``["1.5", "million"]``, ``["two", "dozen"]``.
    """
    numbers = lexicon["numbers"]
    words = [word.lower() for word in words if word not in ("-", "–")]
    if not words or any(word in numbers["vague"] for word in words):
        return None
    multiplier = 1
    if words[-1] in numbers["multipliers"]:
        multiplier = numbers["multipliers"][words[-1]]
        words = words[:-1]
        if not words or words == ["a"]:
            return multiplier
        if words == ["half", "a"]:
            return multiplier // 2
    if len(words) == 1 and _DIGITS.match(words[0]):
        return int(words[0].replace(",", "")) * multiplier
    if len(words) == 2 and _DECIMAL.match(words[0].replace(",", "")) and words[1] in numbers["scales"]:
        return round(float(words[0].replace(",", "")) * numbers["scales"][words[1]]) * multiplier
    try:
        return text2num(" ".join(words), "en") * multiplier
    except ValueError:
        # text2num rejects what is not a number phrase ("a few"): no count.
        return None


def is_vague(words: Sequence[str], *, lexicon: dict[str, Any]) -> bool:
    """Return whether a number expression is a vague quantity ("dozens", "scores")."""
    return any(word.lower() in lexicon["numbers"]["vague"] for word in words)


def read_figure(text: str | Sequence[str], *, lexicon: dict[str, Any] | None = None) -> Figure | None:
    """Return the count and qualifier of a number expression, or None if it is no number.

    >>> read_figure("more than 100")
    Figure(count=100, qualifier='at_least')
    """
    lexicon = lexicon or default_lexicon()
    words = text.split() if isinstance(text, str) else list(text)
    size, qualifier = qualifier_length(words, lexicon=lexicon)
    rest = words[size:]
    if is_vague(rest, lexicon=lexicon):
        return Figure(None, "vague")
    count = read_count(rest, lexicon=lexicon)
    if count is None:
        return None
    return Figure(count, qualifier or "exact")
