"""Token boundaries of spaCy's English tokenizer, for snapping and resizing spans.

Only the rule-based tokenizer of ``spacy.blank("en")``: no model load, so the
web app can call it on every edit. Two adjustments:

- A boundary inside a grapheme cluster (between the two halves of a flag, or
  inside an emoji joined with ZWJ) is no boundary here: spaCy splits such
  clusters, but a span edge there would cut a character a reader sees as one.
  Dropping boundaries keeps every remaining one a spaCy token boundary, so
  spans still align with spaCy's tokens on export.
- An edit needs only the tokens near it. spaCy tokenizes each run of
  non-whitespace on its own, so a window of the text cut at whitespace gives
  exactly the tokens the whole text gives there (a test checks this); a long
  article is not tokenized whole on every edit.
"""

from __future__ import annotations

import functools
import gc
import re
from bisect import bisect_left, bisect_right

import regex

Bounds = tuple[tuple[int, int], ...]

# Characters on each side of an edit that are tokenized at first; doubled until a token lies beyond.
NEAR = 256
# How far a window edge may move to reach whitespace before the whole text is tokenized instead.
MAX_WORD = 4096
_GRAPHEME = regex.compile(r"\X")
_SPACE = re.compile(r"\s")


@functools.cache
def _tokenizer():
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    # spaCy leaves hundreds of thousands of long-lived objects behind, and each full garbage
    # collection scanned them all: one edit in a hundred took 100 ms more. They live as long
    # as the process, so move them (and all else loaded by now) out of the collector's sight.
    gc.freeze()
    return tokenizer


def _tokenize(text: str, offset: int = 0) -> list[tuple[int, int]]:
    return [
        (offset + token.idx, offset + token.idx + len(token))
        for token in _tokenizer()(text)
        if not token.is_space
    ]


def _keep_graphemes_whole(text: str, bounds: list[tuple[int, int]], offset: int = 0) -> Bounds:
    """Merge adjacent tokens whose shared edge falls inside a grapheme cluster of ``text``."""
    if text.isascii():  # every ASCII boundary between two tokens is a grapheme boundary
        return tuple(bounds)
    edges = {offset + match.end() for match in _GRAPHEME.finditer(text)}
    merged: list[tuple[int, int]] = []
    for start, end in bounds:
        if merged and merged[-1][1] == start and start not in edges:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


@functools.lru_cache(maxsize=256)
def token_bounds(text: str) -> Bounds:
    """Return the ``(start, end)`` character offsets of the non-whitespace tokens of ``text``."""
    return _keep_graphemes_whole(text, _tokenize(text))


def _to_space_before(text: str, position: int) -> int | None:
    """Return the last offset at or before ``position`` that starts the text or follows whitespace."""
    low = max(0, position - MAX_WORD)
    for cursor in range(position, low - 1, -1):
        if cursor == 0 or text[cursor - 1].isspace():
            return cursor
    return None


def _to_space_after(text: str, position: int) -> int | None:
    """Return the first offset at or after ``position`` that ends the text or starts whitespace."""
    if position >= len(text):
        return len(text)
    found = _SPACE.search(text, position, min(len(text), position + MAX_WORD))
    if found is not None:
        return found.start()
    return len(text) if len(text) - position <= MAX_WORD else None


def token_bounds_near(text: str, start: int, end: int) -> Bounds:
    """Return the token bounds of ``text`` around ``[start, end)``, as ``token_bounds(text)`` has them there.

    The result holds every token overlapping ``[start, end)`` and at least one
    token on each side of it, when the text has one.
    """
    near = NEAR
    while True:
        low = _to_space_before(text, max(0, start - near))
        high = _to_space_after(text, min(len(text), end + near))
        if low is None or high is None:  # no whitespace in sight: a word thousands of characters long
            return token_bounds(text)
        window = text[low:high]
        bounds = _keep_graphemes_whole(window, _tokenize(window, low), low)
        before = low == 0 or (bounds and bounds[0][1] <= start)
        after = high == len(text) or (bounds and bounds[-1][0] >= end)
        if before and after:
            return bounds
        near *= 4


def snap(bounds: Bounds, start: int, end: int) -> tuple[int, int] | None:
    """Widen ``[start, end)`` to the tokens it touches; None when it touches none (only whitespace)."""
    ends = [token_end for _, token_end in bounds]
    first = bisect_right(ends, start)  # the first token ending after start
    if first == len(bounds) or bounds[first][0] >= end:
        return None
    starts = [token_start for token_start, _ in bounds]
    last = bisect_left(starts, end) - 1  # the last token starting before end
    return bounds[first][0], bounds[last][1]


def previous_start(bounds: Bounds, offset: int) -> int | None:
    """Return the start of the last token starting before ``offset``, or None."""
    index = bisect_left([token_start for token_start, _ in bounds], offset) - 1
    return bounds[index][0] if index >= 0 else None


def next_start(bounds: Bounds, offset: int) -> int | None:
    """Return the start of the first token starting after ``offset``, or None."""
    index = bisect_right([token_start for token_start, _ in bounds], offset)
    return bounds[index][0] if index < len(bounds) else None


def previous_end(bounds: Bounds, offset: int) -> int | None:
    """Return the end of the last token ending before ``offset``, or None."""
    index = bisect_left([token_end for _, token_end in bounds], offset) - 1
    return bounds[index][1] if index >= 0 else None


def next_end(bounds: Bounds, offset: int) -> int | None:
    """Return the end of the first token ending after ``offset``, or None."""
    index = bisect_right([token_end for _, token_end in bounds], offset)
    return bounds[index][1] if index < len(bounds) else None
