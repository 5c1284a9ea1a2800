"""Statements shared by the services that copy spans from one origin to another."""

from __future__ import annotations

from sqlalchemy import ColumnElement, insert, select
from sqlalchemy.sql.dml import Insert

from annotator.models import Span

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
