"""Pydantic models of the API's requests and answers: they validate input and make the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Me(BaseModel):
    """The token's user."""

    username: str
    role: str = Field(
        description="annotator, reviewer or admin: what the token may do, read on every request"
    )


# imports


class ArticlesImport(BaseModel):
    """Articles to import, checked as `annotator import` checks a JSONL file: all of them, or none."""

    articles: list[dict[str, Any]] = Field(
        description=(
            "JSONL records: each needs 'id' (a string or an integer) and 'text'; optional 'spans' in the "
            "gold format ({'start', 'end', 'label', 'attrs'}, character offsets); every other field is "
            "kept as metadata. Articles already stored with the same text are left as they are (spans "
            "they lack are added)."
        ),
        examples=[
            [
                {
                    "id": "kabul-17",
                    "text": "Gunmen killed 12 civilians in Kabul.",
                    "spans": [{"start": 30, "end": 35, "label": "LOCATION", "attrs": {}}],
                    "source": "wire",
                }
            ]
        ],
    )
    origin: str = Field(
        default="gold", description="The origin of the records' spans: gold, model or annotator:NAME."
    )


class ImportResult(BaseModel):
    """What an import did; the batch can be deleted whole on the admin's Imports page."""

    batch: int = Field(description="The import batch's id.")
    records: int
    new: int = Field(description="Articles created.")
    updated: int = Field(description="Articles stored before that got spans (or a first gold).")
    unchanged: int = Field(description="Records whose article was stored already and got nothing new.")
    spans_added: int
    gold_revisions: int = Field(description="Articles whose gold changed (each got a new gold revision).")
