"""The article text cut into chunks that the page can replace one at a time.

An edit changes a few characters' worth of marks, yet re-sending the whole
text of a 200,000-character article costs hundreds of kilobytes and most of
the edit's time. So the text is cut at fixed places (about every CHUNK
characters, moved forward to just after whitespace), each chunk is an element
of its own, and an edit's response carries only the chunks it touched.

The cut places depend on the text alone, so they are the same before and
after an edit. A span may cross a cut: that cut is then not used, the chunk
before it runs on to the next used cut, and the chunk after it is rendered
empty (its element stays, so a later edit can fill it again). An edit
re-renders every chunk from the used cut before its change to the used cut
after it, in both its old and its new state.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

CHUNK = 2048
# How far past a fixed place a cut may move to land after whitespace.
REACH = 256
_SPACE = re.compile(r"\s")


class Spanlike(Protocol):
    start: int
    end: int


class Segment(NamedTuple):
    """A run of the article text, inside a span or between spans."""

    # Tuples: every page and edit makes dozens of these, and a frozen dataclass is slower to make.
    text: str
    span: object | None = None


class Chunk(NamedTuple):
    index: int
    # Empty for a chunk whose text the chunk before it holds (a span crosses their cut).
    segments: tuple[Segment, ...]


@functools.lru_cache(maxsize=64)
def cuts(text: str) -> tuple[int, ...]:
    """Return where each chunk may start: 0, then about every CHUNK characters, just after whitespace."""
    found = [0]
    for place in range(CHUNK, len(text), CHUNK):
        space = _SPACE.search(text, place, min(len(text), place + REACH))
        cut = space.end() if space else place
        if found[-1] < cut < len(text):
            found.append(cut)
    return tuple(found)


def _crossed(cut_places: Sequence[int], spans: Iterable[Spanlike]) -> set[int]:
    """Return the indices of the cuts that some span strictly contains."""
    crossed = set()
    for span in spans:
        index = bisect_right(cut_places, span.start)  # the first cut after the span's start
        while index < len(cut_places) and cut_places[index] < span.end:
            crossed.add(index)
            index += 1
    return crossed


def segments(text: str, spans: Sequence[Spanlike], start: int = 0, end: int | None = None) -> list[Segment]:
    """Cut ``text[start:end]`` into runs at the edges of ``spans`` (sorted, inside the range); they join to it."""
    end = len(text) if end is None else end
    result = []
    cursor = start
    for span in spans:
        if span.start < cursor:
            continue  # overlaps the previous span (never stored by an edit): shown as plain text
        if span.start > cursor:
            result.append(Segment(text[cursor : span.start]))
        result.append(Segment(text[span.start : span.end], span))
        cursor = span.end
    if cursor < end:
        result.append(Segment(text[cursor:end]))
    return result


def chunks(
    text: str, spans: Sequence[Spanlike], *, changed: Iterable[tuple[int, int]] | None = None
) -> list[Chunk]:
    """Return the text's chunks with their segments: all of them, or those an edit of ``changed`` ranges touched.

    ``spans`` must be sorted by start. ``changed`` holds the character ranges of
    the spans an edit removed and added.
    """
    places = cuts(text)
    crossed = _crossed(places, spans)
    if changed is None:
        wanted = range(len(places))
    else:
        changed = list(changed)
        # A changed range stands for the span it was: its cuts may have been crossed before the edit.
        crossed_either = crossed | _crossed(places, [_Range(a, b) for a, b in changed])
        wanted = sorted({index for a, b in changed for index in _around(places, crossed_either, a, b)})
    starts = [span.start for span in spans]
    found = []
    for index in wanted:
        if index in crossed:
            found.append(Chunk(index, ()))
            continue
        start = places[index]
        following = next((i for i in range(index + 1, len(places)) if i not in crossed), None)
        end = places[following] if following is not None else len(text)
        inside = spans[bisect_left(starts, start) : bisect_left(starts, end)]
        found.append(Chunk(index, tuple(segments(text, inside, start, end))))
    return found


@dataclass(frozen=True)
class _Range:
    start: int
    end: int


def _around(places: Sequence[int], crossed: set[int], start: int, end: int) -> range:
    """Return the chunk indices from the used cut at or before ``start`` to the last chunk before the next used cut."""
    first = max(bisect_right(places, start) - 1, 0)
    while first > 0 and first in crossed:
        first -= 1
    last = max(bisect_right(places, max(start, end - 1)) - 1, 0)
    while last + 1 < len(places) and last + 1 in crossed:
        last += 1
    return range(first, last + 1)
