"""Statements shared by the services that copy spans from one origin to another."""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, bindparam, insert, literal, select
from sqlalchemy.sql.dml import Insert

from annotator.models import Origin, Span
from annotator.services.origins import preannotator_spans

_SPANS = Span.__table__
_COPIED_COLUMNS = ("article_id", "start", "end", "label", "attrs", "source")


def copy_spans(
    *where: ColumnElement[bool], origin: ColumnElement, owner_id: ColumnElement, now: ColumnElement
) -> Insert:
    """Return one INSERT ... SELECT copying the spans that match ``where`` under another origin and owner."""
    return insert(_SPANS).from_select(
        [*_COPIED_COLUMNS, "origin", "owner_id", "created_at", "updated_at"],
        select(*(_SPANS.c[name] for name in _COPIED_COLUMNS), origin, owner_id, now, now).where(*where),
    )


@functools.cache
def copy_model_spans() -> Insert:
    """Return the copy of article :from_article's model spans into :owner_id's working copy, made at :now.

    Only the pre-annotator's spans: predictions pushed under a source name are
    for scoring, and several sources may propose overlapping spans, which a
    working copy never holds.
    """
    return copy_spans(
        _SPANS.c.article_id == bindparam("from_article"),
        _SPANS.c.origin == Origin.MODEL.value,
        preannotator_spans(_SPANS.c.source),
        origin=literal(Origin.ANNOTATOR.value),
        owner_id=bindparam("owner_id", type_=_SPANS.c.owner_id.type),
        now=bindparam("now", type_=_SPANS.c.created_at.type),
    )
