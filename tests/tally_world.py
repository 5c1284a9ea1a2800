"""A hand-checked article for the tally's export, import and evaluation tests.

By GUIDELINES.md ("Article tally"): one incident; killed is the larger of 57
(mixed_or_unknown) and 35 + 9 + 13 (the specific groups), so 57, a lower
bound ("at least"), civilian 35, security 22, mixed_or_unknown 0; wounded is a
vague figure alone: total 0, lower bound, reported; killed_or_wounded has no
figure.
"""

from __future__ import annotations

from typing import Any

from tests.factories import make_article, make_span

TEXT = (
    "Taliban fighters attacked a base in Helmand province on Sunday. At least 57 people were killed, "
    "including 35 civilians, nine soldiers and 13 policemen. Dozens of people were wounded."
)


def casualty(phrase: str, count: int | None, qualifier: str, outcome: str, group: str) -> dict[str, Any]:
    start = TEXT.index(phrase)
    return {
        "start": start,
        "end": start + len(phrase),
        "label": "CASUALTY",
        "attrs": {"count": count, "qualifier": qualifier, "outcome": outcome, "group": group},
    }


SPANS = [
    {"start": 0, "end": 16, "label": "ACTOR", "attrs": {}},
    casualty("At least 57 people", 57, "at_least", "killed", "mixed_or_unknown"),
    casualty("35 civilians", 35, "exact", "killed", "civilian"),
    casualty("nine soldiers", 9, "exact", "killed", "security"),
    casualty("13 policemen", 13, "exact", "killed", "security"),
    casualty("Dozens of people", None, "vague", "wounded", "mixed_or_unknown"),
]
TALLY = {
    "killed": {
        "total": 57,
        "lower_bound": True,
        "reported": True,
        "by_group": {"civilian": 35, "security": 22, "mixed_or_unknown": 0},
    },
    "wounded": {"total": 0, "lower_bound": True, "reported": True, "by_group": {"mixed_or_unknown": 0}},
    "killed_or_wounded": {"total": 0, "lower_bound": False, "reported": False, "by_group": {}},
}


def add_article(session, external_id: str = "t1", *, origin: str = "gold", spans=SPANS, owner=None):
    """Store the article with ``spans`` of ``origin``; return it."""
    article = make_article(session, external_id=external_id, text=TEXT)
    for span in spans:
        make_span(
            session,
            article,
            start=span["start"],
            end=span["end"],
            label=span["label"],
            attrs=span["attrs"],
            origin=origin,
            owner=owner,
        )
    return article
