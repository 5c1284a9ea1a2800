"""Pydantic models of the API's requests and answers: they validate input and make the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class Me(BaseModel):
    """The token's user."""

    username: str
    role: str = Field(
        description="annotator, reviewer or admin: what the token may do, read on every request"
    )


# articles / evaluation


class ArticleListQuery(BaseModel):
    """The filters and page of GET /api/v1/articles."""

    after: int = Field(
        default=0,
        ge=0,
        le=2**63 - 1,
        description="Keyset cursor: only articles whose article_id is greater (the previous page's next_after).",
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Articles per page, 1 to 1000.")
    status: Literal["todo", "in_progress", "accepted", "skipped", "flagged"] | None = Field(
        default=None,
        description="For annotators, the status of their own work. For reviewers and admins, the status of "
        "`annotator`'s work, or without `annotator`, of anyone's (todo: nobody took the article further).",
    )
    annotator: str | None = Field(
        default=None,
        description="Whose status to show and filter on (reviewers and admins; annotators only their own name).",
    )
    has_gold: bool | None = Field(
        default=None, description="Only articles with (true) or without (false) gold as exports take it."
    )


class ListedArticle(BaseModel):
    id: str = Field(description="The external id (URL-encode it in /api/v1/articles/<id>).")
    article_id: int = Field(description="The internal id, the keyset cursor.")
    length: int = Field(description="Characters in the text.")
    title: str | None = Field(description="meta.title, when the article has one.")
    preview: str = Field(description="The text's first 160 characters.")
    has_gold: bool
    status: str | None = Field(
        description="The status of the chosen annotator's work (yours, for annotators); null when none was chosen."
    )
    annotators: dict[str, str] | None = Field(
        default=None, description="Reviewers and admins: each annotator's status on the article, by name."
    )


class ArticleList(BaseModel):
    articles: list[ListedArticle]
    next_after: int | None = Field(description="The cursor of the next page; null on the last page.")
    next: str | None = Field(description="The URL of the next page, filters kept; null on the last page.")


class ArticleQuery(BaseModel):
    origin: str | None = Field(
        default=None,
        description="Only this origin: gold, model, model:SOURCE or annotator:NAME (annotators: their own).",
    )


class SpanOut(BaseModel):
    start: int
    end: int
    label: str
    attrs: dict[str, Any] = Field(default_factory=dict)


class ModelSpanOut(SpanOut):
    source: str | None = Field(
        description="What proposed it: 'component@pipeline version' for the pre-annotator, 'api:NAME' for a "
        "source pushed through the API, null for imported spans."
    )


class GoldSpanOut(SpanOut):
    provenance: dict[str, Any] | None = Field(
        default=None, description="Adjudicated gold: the annotators who had the span, and whether it changed."
    )


class SpansByOrigin(BaseModel):
    model: list[ModelSpanOut] | None = Field(default=None, description="Every model span (or one source's).")
    gold: list[GoldSpanOut] | None = Field(
        default=None,
        description="Absent when you may not read gold; null while the article has no gold (see gold_status).",
    )
    annotators: dict[str, list[SpanOut]] | None = Field(
        default=None, description="Each annotator's version by name (annotators: only their own)."
    )


class ArticleOut(BaseModel):
    id: str
    article_id: int
    text: str
    meta: dict[str, Any]
    spans: SpansByOrigin
    gold_status: Literal["stored", "accepted", "waiting_for_adjudication", "none"] | None = Field(
        default=None,
        description="stored: a gold revision; accepted: the one accepted version; waiting_for_adjudication: "
        "two or more accepted versions and no gold yet; none: no gold yet. Absent without gold.",
    )
    statuses: dict[str, str] = Field(
        default_factory=dict, description="The status of each annotator shown in spans.annotators."
    )


class SpanIn(BaseModel):
    """A span in the gold format: character offsets, a label and, for CASUALTY, its attributes."""

    start: StrictInt
    end: StrictInt
    label: str
    attrs: dict[str, Any] | None = None


class PredictionsIn(BaseModel):
    source: str = Field(
        description="The source's name: 1-100 letters, digits or . _ + @ -; 'preannotator' is reserved.",
        examples=["crf-v2"],
    )
    spans: list[SpanIn] = Field(
        description="Its spans for this article (may be empty); they may not overlap."
    )


class PredictionsOut(BaseModel):
    id: str
    source: str
    origin: str = Field(description="The origin that selects these spans: model:SOURCE.")
    spans: int = Field(description="Spans stored.")
    replaced: int = Field(description="This source's earlier spans for the article, now deleted.")


class InlineDocument(BaseModel):
    id: str | int
    text: str
    spans: list[dict[str, Any]] = Field(default_factory=list, description="Gold-format spans; may overlap.")


class InlineSource(BaseModel):
    documents: list[InlineDocument]


class EvaluateIn(BaseModel):
    gold: str | InlineSource = Field(
        default="gold",
        description="An origin (gold, model, model:SOURCE, annotator:NAME) or documents sent inline; never a "
        "file on the server or a pipeline.",
    )
    pred: str | InlineSource = Field(description="What to score, as for gold.")
    labels: list[str] | None = Field(default=None, description="Score only these labels (default: all).")


class SchemeScoreOut(BaseModel):
    precision: float
    recall: float
    f1: float
    correct: int
    incorrect: int
    partial: int
    missed: int
    spurious: int
    possible: int
    actual: int


class EvaluationOut(BaseModel):
    """What `annotator evaluate --json` prints."""

    gold: str
    pred: str
    documents: int
    unmatched: list[str]
    text_differs: list[str]
    overlapping: dict[str, int]
    waiting_for_adjudication: list[str]
    waiting_for_annotators: list[str]
    labels: list[str]
    micro: dict[str, SchemeScoreOut]
    per_label: dict[str, dict[str, SchemeScoreOut]]
    casualty_attrs: dict[str, Any]
    tally: dict[str, Any] = Field(
        description="Tally accuracy per article: for killed and wounded, the share of articles whose total "
        "equals gold's and the mean absolute error; precision, recall and F1 of killed.reported."
    )


class AgreementQuery(BaseModel):
    annotators: str | None = Field(
        default=None,
        description="Comma-separated names to compare (default: everyone who accepted an article someone "
        "else accepted).",
    )
    labels: str | None = Field(default=None, description="Comma-separated labels (default: all).")


class AgreementOut(BaseModel):
    """What `annotator agreement --json` prints."""

    model_config = ConfigDict(extra="allow")


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
    gold_tallies: int = Field(
        0,
        description="Records whose tally field was stored as their article's gold tally (origin gold only).",
    )
    tallies_ignored: int = Field(
        0, description="Records whose tally field was ignored: only an import with origin gold reads it."
    )


# exports


class ExportQuery(BaseModel):
    """What to export: the same choices as `annotator export`."""

    origin: str = Field(
        "gold",
        description="Whose spans: gold (each article's gold), model, annotator:NAME, or annotators "
        "(every accepted version, each under its annotator's name; JSONL only, no split).",
    )
    format: Literal["jsonl", "spacy", "conll", "csv", "tally"] = Field(
        "jsonl",
        description="jsonl: the gold format with Prodigy's fields and each article's tally; spacy: a tar of a "
        "folder of DocBin shards; conll: CoNLL-2003 IOB; csv: one row per CASUALTY span; tally: CSV, one row "
        "per article with its tally (killed, wounded, killed_or_wounded).",
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
