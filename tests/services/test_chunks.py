"""The article text in chunks: they join up to the text, and an edit redraws every chunk it changed."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.services import chunks
from annotator.services.chunks import CHUNK, cuts

TEXT = "Taliban fighters attacked Kabul on Monday, officials said."


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    id: int = 0


def _text_of(found) -> str:
    return "".join(part.text for chunk in found for part in chunk.segments)


def _rendered(text, spans) -> dict[int, tuple]:
    """Chunk index -> what the page shows in it (text runs and the spans they are)."""
    return {
        chunk.index: tuple((part.text, part.span) for part in chunk.segments)
        for chunk in chunks.chunks(text, sorted(spans, key=lambda s: s.start))
    }


def test_segments_join_up_to_the_text():
    parts = chunks.segments(TEXT, [Mark(0, 7, 1), Mark(26, 31, 2)])
    assert "".join(part.text for part in parts) == TEXT
    assert [part.text for part in parts if part.span] == ["Taliban", "Kabul"]


def test_segments_show_an_overlapping_span_as_plain_text():
    parts = chunks.segments(TEXT, [Mark(0, 16, 1), Mark(8, 25, 2)])
    assert "".join(part.text for part in parts) == TEXT
    assert [part.span.id for part in parts if part.span] == [1]


def test_cuts_fall_just_after_whitespace_about_every_chunk():
    text = ("word " * 2000).strip()
    places = cuts(text)
    assert places[0] == 0 and len(places) == len(text) // CHUNK + 1
    assert all(text[place - 1] == " " for place in places[1:])


def test_a_short_text_is_one_chunk():
    assert [chunk.index for chunk in chunks.chunks(TEXT, [])] == [0]


def test_a_span_across_a_cut_keeps_its_chunk_whole_and_empties_the_next():
    text = "a " * 3000
    cut = cuts(text)[1]
    found = chunks.chunks(text, [Mark(cut - 2, cut + 1, 1)])
    assert _text_of(found) == text
    assert found[1].segments == ()  # its text is in chunk 0, with the whole span
    assert any(part.span for part in found[0].segments)


WORDS = st.sampled_from(["Kabul", "Taliban", "killed", "12", "x" * 40, "—"])


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(WORDS, min_size=200, max_size=1600),
    picks=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 200)), max_size=40),
    edit=st.tuples(st.integers(0, 10**6), st.integers(1, 300), st.booleans()),
)
def test_an_edit_redraws_every_chunk_whose_content_changed(words, picks, edit):
    text = " ".join(words)
    spans, taken = [], set()
    for start, length in picks:
        start %= len(text)
        end = min(len(text), start + length)
        if not taken & set(range(start, end)):
            spans.append(Mark(start, end, len(spans) + 1))
            taken |= set(range(start, end))
    before = _rendered(text, spans)
    # The edit: remove one span or add one where there is room.
    where, length, remove = edit
    if remove and spans:
        gone = spans[where % len(spans)]
        after_spans = [s for s in spans if s is not gone]
        ranges = [(gone.start, gone.end)]
    else:
        start = where % len(text)
        end = min(len(text), start + length)
        if taken & set(range(start, end)):
            return
        added = Mark(start, end, 999)
        after_spans = [*spans, added]
        ranges = [(start, end)]
    after = _rendered(text, after_spans)
    redrawn = {
        chunk.index: chunk
        for chunk in chunks.chunks(text, sorted(after_spans, key=lambda s: s.start), changed=ranges)
    }
    for index, shown in after.items():
        if shown != before.get(index):
            assert index in redrawn, index
            assert tuple((part.text, part.span) for part in redrawn[index].segments) == shown
    assert _text_of(chunks.chunks(text, sorted(after_spans, key=lambda s: s.start))) == text
