"""A blank spaCy pipeline that tags two fixed phrases: a model whose every span a test can predict."""

from __future__ import annotations

import spacy
from spacy.language import Language

PHRASES = (("Taliban fighters", "ACTOR"), ("Kabul", "LOCATION"))


def phrase_ruler() -> Language:
    """Return a blank English pipeline whose entity ruler tags each of ``PHRASES``, standing in for the model."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(
        [{"label": label, "pattern": phrase} for phrase, label in PHRASES]
    )
    return nlp


def expected_spans(text: str) -> list[tuple[int, int, str]]:
    """Return where ``PHRASES`` occur in ``text``, as the ruler should tag them."""
    found = []
    for phrase, label in PHRASES:
        start = text.find(phrase)
        while start >= 0:
            found.append((start, start + len(phrase), label))
            start = text.find(phrase, start + 1)
    return sorted(found)
