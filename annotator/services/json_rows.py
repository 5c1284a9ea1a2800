"""Rows of a subquery as one JSON value, so that one statement can bring back a row and its children.

``json_rows(a, b, c)`` aggregates the rows of a subquery into ``[[a, b, c], ...]``
(``[]`` when there are none), on SQLite and PostgreSQL alike; the result
arrives as a Python list. Used where a request would otherwise send a second
query for a list (the spans of a working copy, the project settings).
"""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class json_rows(FunctionElement):  # noqa: N801 (an SQL function, named like one)
    """Aggregate the given columns of every row into a JSON array of arrays."""

    type = JSON()
    name = "json_rows"
    inherit_cache = True


@compiles(json_rows, "postgresql")
def _postgresql(element, compiler, **kw) -> str:
    columns = compiler.process(element.clauses, **kw)
    return f"coalesce(json_agg(json_build_array({columns})), '[]'::json)"


@compiles(json_rows, "sqlite")
def _sqlite(element, compiler, **kw) -> str:
    # SQLite keeps JSON as text: json() embeds it as JSON rather than as a string.
    columns = ", ".join(
        f"json({compiler.process(column, **kw)})"
        if isinstance(column.type, JSON)
        else compiler.process(column, **kw)
        for column in element.clauses
    )
    return f"json_group_array(json_array({columns}))"
