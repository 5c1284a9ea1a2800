"""Token boundaries of spaCy's English tokenizer, for snapping and resizing spans.

Only the rule-based tokenizer of ``spacy.blank("en")``: no model load, so the
web app can call it on every edit.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right

Bounds = tuple[tuple[int, int], ...]


@functools.cache
def _tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


@functools.lru_cache(maxsize=256)
def token_bounds(text: str) -> Bounds:
    """Return the ``(start, end)`` character offsets of the non-whitespace tokens of ``text``."""
    return tuple((token.idx, token.idx + len(token)) for token in _tokenizer()(text) if not token.is_space)


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
