"""Long texts are cut into pieces at whitespace and their spans moved back to offsets in the whole text."""

from __future__ import annotations

import random

import pytest

from annotator.nlp import PIECE_LENGTH, piece_bounds, pipe_spans, predict
from tests.phrase_ruler import expected_spans, phrase_ruler

SENTENCE = "Taliban fighters attacked Kabul."


def pieces(text: str, max_length: int) -> list[str]:
    return [text[start:end] for start, end in piece_bounds(text, max_length=max_length)]


def random_text(rng: random.Random, length: int) -> str:
    """Return words of 1 to 12 letters or punctuation, between spaces, line breaks and blank lines."""
    parts = []
    while sum(map(len, parts)) < length:
        parts.append(
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyzKT.,'-") for _ in range(rng.randint(1, 12)))
        )
        parts.append(rng.choice([" ", " ", " ", " ", "  ", "\n", "\n\n", ". ", "\t", " \n \n"]))
    return "".join(parts)


def word_offsets(nlp, text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Return where the tokenizer's non-whitespace tokens lie, shifted by ``offset``."""
    return [
        (offset + token.idx, offset + token.idx + len(token))
        for token in nlp.make_doc(text)
        if not token.is_space
    ]


@pytest.mark.parametrize("seed", range(20))
def test_pieces_join_back_to_the_text_and_cut_only_after_whitespace(blank, seed):
    rng = random.Random(seed)
    text = random_text(rng, rng.randint(500, 5000))
    # At least twice the longest word and separator, so every cut finds whitespace.
    max_length = rng.randint(30, 400)

    bounds = piece_bounds(text, max_length=max_length)

    assert "".join(text[start:end] for start, end in bounds) == text
    assert [end for _, end in bounds[:-1]] == [start for start, _ in bounds[1:]]
    assert all(end - start <= max_length for start, end in bounds)
    # Every piece but the last fills at least half its room and ends on whitespace.
    assert all(end - start >= max_length // 2 and text[end - 1].isspace() for start, end in bounds[:-1])
    # So the tokenizer finds the same words in the pieces as in the whole text.
    assert [span for start, end in bounds for span in word_offsets(blank, text[start:end], start)] == (
        word_offsets(blank, text)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A blank line beats a line break, a sentence end and a space later on.
        ("First paragraph.\n\nSecond line\nthird. Fourth words", ["First paragraph.\n\n", "Second line\n"]),
        # A line break beats a sentence end and spaces after it.
        ("One sentence. Two\nthree four five six", ["One sentence. Two\n", "three four five six"]),
        # A sentence end beats a space after it.
        ("Seven killed. Police said twenty", ["Seven killed. ", "Police said twenty"]),
        # A closing quote stays with its sentence.
        ('He said "no." Then it went on', ['He said "no." ', "Then it went on"]),
        # Whitespace last: the cut follows all of it.
        ("aaaa bbbbbbbb   cccccccccccc", ["aaaa bbbbbbbb   ", "cccccccccccc"]),
    ],
)
def test_pieces_end_at_the_strongest_boundary(text, expected):
    assert pieces(text, 20)[: len(expected)] == expected


def test_a_run_without_whitespace_is_cut_where_the_room_ends():
    text = "x" * 45

    assert pieces(text, 20) == ["x" * 20, "x" * 20, "x" * 5]


@pytest.mark.parametrize("text", ["", "Short.", "x" * PIECE_LENGTH])
def test_a_text_that_fits_is_one_piece(text):
    assert piece_bounds(text) == [(0, len(text))]


def test_max_length_below_two_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        piece_bounds("some text", max_length=1)


@pytest.fixture(scope="module")
def ruler():
    return phrase_ruler()


def as_tuples(spans: list[dict]) -> list[tuple[int, int, str]]:
    return [(span["start"], span["end"], span["label"]) for span in spans]


@pytest.mark.parametrize("separator", ["\n\n", "\n", " "])
def test_spans_of_every_piece_land_at_their_offsets_in_the_text(ruler, separator):
    text = separator.join(f"Report {number}: {SENTENCE}" for number in range(200))

    [(spans, context)] = pipe_spans(ruler, [(text, "long")], piece_length=300)

    assert context == "long"
    assert len(piece_bounds(text, max_length=300)) > 20
    assert as_tuples(spans) == expected_spans(text)
    assert len(spans) == 400


def test_spans_cut_by_a_hard_cut_are_lost_never_misplaced(ruler):
    # Without whitespace the text is cut wherever the room ends, through words.
    text = "Kabul," * 1000

    [(spans, _)] = pipe_spans(ruler, [(text, None)], piece_length=1001)

    assert 0 < len(spans) < 1000
    assert all(text[span["start"] : span["end"]] == "Kabul" for span in spans)
    assert as_tuples(spans) == sorted(set(as_tuples(spans)))
    assert all(left["end"] <= right["start"] for left, right in zip(spans, spans[1:], strict=False))


def test_texts_come_back_in_order_with_their_contexts(ruler):
    texts = [(SENTENCE, 1), ("", 2), (f"{SENTENCE}\n\n" * 100, 3), ("Nothing here.", 4), (SENTENCE, 5)]

    results = list(pipe_spans(ruler, texts, piece_length=200, batch_size=3))

    assert [context for _, context in results] == [1, 2, 3, 4, 5]
    assert [len(spans) for spans, _ in results] == [2, 0, 200, 0, 2]


def test_a_text_longer_than_spacys_max_length_is_predicted_in_pieces(ruler):
    text = f"{SENTENCE}\n\n" * (ruler.max_length // len(SENTENCE))
    assert len(text) > ruler.max_length

    [spans] = predict([text], nlp=ruler)

    assert as_tuples(spans) == expected_spans(text)
