"""The pipeline version and the custom attributes every predicted span carries.

``Span._.source``  which component or rule proposed the span ("ner",
                   "gazetteer:places", "casualty:rules", ...).
``Span._.attrs``   the CASUALTY attributes (count, qualifier, outcome, group);
                   None for other labels.
``Doc._.pipeline_version`` and ``Span._.pipeline_version``: the
                   PIPELINE_VERSION of the run that made the entities.

spaCy keys span attributes by character offsets, so they survive
``Doc.to_bytes``/``DocBin(store_user_data=True)`` and are read back from
``doc.ents``.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

# Bump when a change to rules or data changes predictions, so stored spans say
# which behaviour produced them.
PIPELINE_VERSION = "1.1.0"


def _span_pipeline_version(span: Span) -> str | None:
    return span.doc._.pipeline_version


def register_extensions() -> None:
    """Register the custom attributes (idempotent; leaves other owners' attributes alone)."""
    if not Doc.has_extension("pipeline_version"):
        Doc.set_extension("pipeline_version", default=None)
    if not Span.has_extension("source"):
        Span.set_extension("source", default=None)
    if not Span.has_extension("attrs"):
        Span.set_extension("attrs", default=None)
    if not Span.has_extension("pipeline_version"):
        Span.set_extension("pipeline_version", getter=_span_pipeline_version)


register_extensions()
