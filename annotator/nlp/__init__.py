"""spaCy pipeline that pre-annotates conflict news with ACTOR, LOCATION and CASUALTY spans.

Importing this package registers the ``conflict_casualties`` and
``conflict_entities`` factories, so ``spacy.load`` of a pipeline saved with
``nlp.to_disk`` works once ``annotator.nlp`` is imported. See PIPELINE.md.
"""

from annotator.nlp import casualties, entities  # noqa: F401  (register the factories)
from annotator.nlp.extensions import PIPELINE_VERSION
from annotator.nlp.pipeline import (
    PIECE_LENGTH,
    default_model_name,
    doc_to_spans,
    load_pipeline,
    piece_bounds,
    pipe_spans,
    predict,
)

__all__ = [
    "PIECE_LENGTH",
    "PIPELINE_VERSION",
    "default_model_name",
    "doc_to_spans",
    "load_pipeline",
    "piece_bounds",
    "pipe_spans",
    "predict",
]
