"""Insert many article and span rows in the caller's transaction: COPY on PostgreSQL, executemany on SQLite.

COPY sends the rows as one stream instead of one round of parameters per row;
it returns no ids, so the article ids are drawn from the table's sequence first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session

from annotator.models import Article, Span

ARTICLE_COLUMNS = ("id", "external_id", "text", "content_hash", "meta", "imported_at", "import_batch_id")
SPAN_COLUMNS = (
    "article_id",
    "start",
    "end",
    "label",
    "attrs",
    "provenance",
    "origin",
    "owner_id",
    "created_at",
    "updated_at",
)
JSON_COLUMNS = frozenset({"meta", "attrs", "provenance"})


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_articles(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert article rows (every column but ``id``); return external id -> new id."""
    if not rows:
        return {}
    if _is_postgres(session):
        ids = sorted(
            session.execute(
                text("SELECT nextval(pg_get_serial_sequence('article', 'id')) FROM generate_series(1, :n)"),
                {"n": len(rows)},
            ).scalars()
        )
        _copy(
            session,
            "article",
            ARTICLE_COLUMNS,
            ({**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)),
        )
        return {row["external_id"]: id_ for row, id_ in zip(rows, ids, strict=True)}
    table = Article.__table__
    inserted = session.execute(insert(table).returning(table.c.external_id, table.c.id), list(rows))
    return {external_id: article_id for external_id, article_id in inserted}


def insert_spans(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert span rows; a row without ``provenance`` leaves that column NULL."""
    if not rows:
        return
    if _is_postgres(session):
        _copy(session, "span", SPAN_COLUMNS, rows)
        return
    # One executemany per set of keys: it takes its columns from the first row
    # (and spans without provenance leave the column NULL, not JSON null).
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        session.execute(insert(Span.__table__), group)


def _copy(session: Session, table: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """COPY ``rows`` into ``table`` on the session's connection, inside its transaction."""
    raw = session.connection().connection.dbapi_connection
    names = ", ".join(f'"{column}"' for column in columns)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_value(column, row.get(column)) for column in columns])


def _value(column: str, value: Any) -> Any:
    # JSON as SQLAlchemy's JSON type writes it; None stays NULL.
    if column in JSON_COLUMNS and value is not None:
        return json.dumps(value)
    return value
