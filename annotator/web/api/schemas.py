"""Pydantic models of the API's requests and answers: they validate input and make the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Me(BaseModel):
    """The token's user."""

    username: str
    role: str = Field(
        description="annotator, reviewer or admin: what the token may do, read on every request"
    )


# exports


class ExportQuery(BaseModel):
    """What to export: the same choices as `annotator export`."""

    origin: str = Field(
        "gold",
        description="Whose spans: gold (each article's gold), model, annotator:NAME, or annotators "
        "(every accepted version, each under its annotator's name; JSONL only, no split).",
    )
    format: Literal["jsonl", "spacy", "conll", "csv"] = Field(
        "jsonl",
        description="jsonl: the gold format with Prodigy's fields; spacy: a tar of a folder of DocBin shards; "
        "conll: CoNLL-2003 IOB; csv: one row per CASUALTY span.",
    )
    dev: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="The fraction of articles in a dev part (0: no split). With a split the body is a tar "
        "holding train and dev, as `annotator export --split dev=FRACTION` writes them.",
    )
    seed: int = Field(0, description="Seed of the shuffle the split draws from.")
    part: Literal["train", "dev"] | None = Field(
        None, description="With a split, send this part alone (for a text format, the file itself)."
    )
    skip_misaligned: bool = Field(
        False, description="Leave out articles with spans off spaCy's token boundaries instead of refusing."
    )
