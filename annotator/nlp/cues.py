"""What the article tally reads in a text: its sentences, its headline, and each sentence's incident cues.

A tally (``annotator.nlp.tally``) must tell a figure repeated in the same
attack from a figure of another attack, and it is recomputed after every edit,
where nothing may be parsed. So this module reads, once per article, what the
text says about incidents and keeps it as plain JSON:

- where each sentence starts (from spaCy's parse at pre-annotation, else from
  the punctuation rules below, which is what import and old articles get);
- for each sentence, the days it places events on ("On Tuesday"; a day a
  statement was made, "officials said Tuesday", is not an event's day), the
  place it opens with ("In Kaduna state, ..."), and whether it says the
  events are another incident ("In a separate attack", "Elsewhere");
- where the headline ends, when the first line is one.

The words and patterns are data, in ``data/tally.toml``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from annotator.nlp.resources import read_toml

CUES_VERSION = 1
SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])|\n\s*")
# A day right after these words is when something was said, not when it happened.
REPORTED_ON = re.compile(
    r"\b(?:said|says|told|announced|reported|added|stated|confirmed|claimed|tweeted|wrote)"
    r"(?:\s+\w+)?\s+(?:on\s+)?(?:late\s+|early\s+)?$"
)


@dataclass(frozen=True)
class SentenceCues:
    """One sentence: where it starts and what it says about its incident."""

    start: int
    days: tuple[str, ...] = ()
    place: str | None = None
    marker: str | None = None


@dataclass(frozen=True)
class Cues:
    """The incident cues of one text. ``headline_end`` is 0 when the text has no headline."""

    sentences: tuple[SentenceCues, ...]
    headline_end: int = 0
    source: str = "rules"
    _starts: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(sentence.start for sentence in self.sentences))

    def sentence_of(self, offset: int) -> int:
        """Return the index of the sentence that holds character ``offset``."""
        return max(0, bisect_right(self._starts, offset) - 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": CUES_VERSION,
            "source": self.source,
            "headline_end": self.headline_end,
            "sentences": [
                [sentence.start, list(sentence.days), sentence.place, sentence.marker]
                for sentence in self.sentences
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cues:
        sentences = tuple(
            SentenceCues(start=start, days=tuple(days), place=place, marker=marker)
            for start, days, place, marker in data["sentences"]
        )
        return cls(
            sentences=sentences, headline_end=data.get("headline_end", 0), source=data.get("source", "rules")
        )


def is_current(data: Mapping[str, Any] | None) -> bool:
    """Return whether stored cues were made by this version of the rules."""
    return bool(data) and data.get("v") == CUES_VERSION


@cache
def _lexicon() -> dict[str, Any]:
    data = read_toml("tally")
    incident = data["incident"]
    days = "|".join(incident["days"])
    months = "|".join(month.capitalize() for month in incident["months"])
    openers = "|".join(incident["place_openers"])
    lead_ins = "|".join(incident["lead_ins"])
    return {
        # One alternation, so a sentence is searched once, not once per pattern.
        "markers": re.compile("|".join(f"(?:{pattern})" for pattern in incident["markers"]), re.I),
        "day": re.compile(rf"\b({days.title()})\b"),
        "date": re.compile(rf"\b(?:({months})\.? (\d{{1,2}})|(\d{{1,2}}) ({months}))\b"),
        "place": re.compile(
            rf"^[\"'\u201c\u2018]?(?:(?:{lead_ins}),?\s+)?(?:{openers})\s+(?:the\s+)?"
            r"([A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019.-]*)*)",
            re.I,
        ),
        "not_places": frozenset(incident["not_places"])
        | frozenset(incident["days"])
        | frozenset(incident["months"]),
        "headline_length": data["headline"]["max_length"],
        "abbreviations": frozenset(data["sentences"]["abbreviations"]),
    }


def rule_sentence_starts(text: str) -> list[int]:
    """Return where sentences start, from line breaks and sentence-ending punctuation (abbreviations excepted)."""
    starts = [len(text) - len(text.lstrip())]
    for match in SENTENCE_END.finditer(text):
        if match.group().startswith((".",)):
            word = text[: match.start()].rsplit(None, 1)[-1] if text[: match.start()].strip() else ""
            word = word.lstrip("(\"'\u201c")
            if word.lower() in _lexicon()["abbreviations"] or re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", word):
                continue
        if match.end() < len(text):
            starts.append(match.end())
    return sorted(set(starts))


def headline_end(text: str) -> int:
    """Return where the headline ends: the first line when it stands alone and does not end like a sentence."""
    lexicon = _lexicon()
    first, newline, rest = text.lstrip().partition("\n")
    first = first.strip()
    if not newline or not first or not rest.strip() or len(first) > lexicon["headline_length"]:
        return 0
    if first[-1] in '.!?:;,"\u201d)' or first.startswith("("):
        return 0
    return text.index(first) + len(first)


def sentence_cues(sentence: str, start: int) -> SentenceCues:
    """Return the cues of one sentence that starts at ``start`` in its text."""
    lexicon = _lexicon()
    found = lexicon["markers"].search(sentence)
    marker = found.group() if found else None
    days = [
        match.group(1).lower()
        for match in lexicon["day"].finditer(sentence)
        if not REPORTED_ON.search(sentence, 0, match.start())
    ]
    for match in lexicon["date"].finditer(sentence):
        month = (match.group(1) or match.group(4)).lower()
        days.append(f"{month[:3]} {int(match.group(2) or match.group(3))}")
    place = None
    if opened := lexicon["place"].match(sentence):
        name = opened.group(1).rstrip(".")
        words = name.split()
        if words and words[0][0].isupper() and words[0].lower() not in lexicon["not_places"]:
            place = name.lower()
    return SentenceCues(
        start=start, days=tuple(dict.fromkeys(days)), place=place, marker=marker and marker.lower()
    )


def find_cues(text: str, sentence_starts: Sequence[int] | None = None, *, source: str | None = None) -> Cues:
    """Return the cues of ``text``, its sentences starting at ``sentence_starts`` (else found by rule)."""
    starts = sorted(set(sentence_starts)) if sentence_starts is not None else rule_sentence_starts(text)
    if not starts or starts[0] != 0:
        starts = [0, *(start for start in starts if start > 0)]
    ends = [*starts[1:], len(text)]
    sentences = tuple(sentence_cues(text[start:end], start) for start, end in zip(starts, ends, strict=True))
    return Cues(
        sentences=sentences,
        headline_end=headline_end(text),
        source=source or ("parse" if sentence_starts is not None else "rules"),
    )


def doc_sentence_starts(doc: Any, offset: int = 0) -> list[int] | None:
    """Return where a parsed doc's sentences start, moved by ``offset``; None when nothing set its sentences."""
    if not doc.has_annotation("SENT_START"):
        return None
    return [sentence.start_char + offset for sentence in doc.sents]
