"""A hand-checked article for the tally's export, import and evaluation tests.

By GUIDELINES.md ("Article tally"): one incident; killed is the larger of 57
(mixed_or_unknown) and 35 + 9 + 13 (the specific groups), so 57, a lower
bound ("at least"), civilian 35, security 22, mixed_or_unknown 0; wounded is a
vague figure alone: total 0, lower bound, reported; killed_or_wounded has no
figure.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from annotator.cli import main
from annotator.models import Article
from tests.factories import make_article, make_span

FIVE = {"count": 5, "qualifier": "exact", "outcome": "killed", "group": "security"}

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


def set_preannotated(db_session, *external_ids):
    for article in db_session.exec(select(Article).where(Article.external_id.in_(external_ids))).all():
        article.preannotated_with = "test"
        db_session.add(article)
    db_session.commit()


def build_world(runner, db_session, tmp_path) -> None:
    """Three articles, hand-checked (t1's tally is in the module docstring).

    t1: gold killed 57, wounded vague (0); the model finds 57 killed and no wounded.
    t2: no gold spans, a gold tally of 3 killed imported; the model finds nothing.
    t3: gold with no casualty; the model finds five soldiers killed.
    """
    gold_t1 = add_article(db_session, "t1")
    for span in SPANS[:3]:
        make_span(
            db_session, gold_t1, origin="model", **{k: span[k] for k in ("start", "end", "label", "attrs")}
        )
    path = tmp_path / "tallies.jsonl"
    record = {"id": "t2", "text": "Three people died in Kunduz.", "tally": {"killed": {"total": 3}}}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    imported = runner.invoke(main, ["import", "--origin", "gold", str(path)])
    assert imported.exit_code == 0, imported.output
    t3 = make_article(db_session, external_id="t3", text="Five soldiers were killed in Kandahar.")
    make_span(db_session, t3, start=29, end=37, label="LOCATION")
    make_span(db_session, t3, start=0, end=13, label="CASUALTY", attrs=FIVE, origin="model")
    set_preannotated(db_session, "t1", "t2", "t3")
