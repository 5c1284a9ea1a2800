"""The Alembic migrations build exactly the schema of annotator.models, on each backend."""

from __future__ import annotations

import os
import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from annotator.db import (
    current_revision,
    head_revision,
    make_engine,
    normalize_url,
    schema_is_current,
    upgrade,
)
from annotator.models import Article
from annotator.schema_extras import include_name
from tests.conftest import BACKENDS, POSTGRES_URL


@pytest.fixture(params=BACKENDS)
def empty_engine(request, tmp_path):
    """An engine on a database with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    name = f"annotator_migrate_{os.getpid()}_{secrets.token_hex(4)}"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(make_url(normalize_url(POSTGRES_URL)).set(database=name).render_as_string(False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_upgrade_creates_every_table_on_an_empty_database(empty_engine):
    assert current_revision(empty_engine) is None
    assert not schema_is_current(empty_engine)
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    tables = set(inspect(empty_engine).get_table_names())
    assert {table.name for table in SQLModel.metadata.sorted_tables} <= tables


def test_migrated_schema_matches_the_models(empty_engine):
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_again_keeps_the_data(empty_engine):
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        session.add(Article(external_id="kept", text="Kabul", content_hash="0" * 64))
        session.commit()
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        assert session.exec(select(Article.external_id)).all() == ["kept"]


def test_migrated_schema_enforces_span_invariants(empty_engine):
    from sqlalchemy.exc import IntegrityError

    from annotator.models import Span

    upgrade(empty_engine)
    with Session(empty_engine) as session:
        article = Article(external_id="a", text="Kabul", content_hash="0" * 64)
        session.add(article)
        session.commit()
        session.add(Span(article_id=article.id, start=3, end=3, label="LOCATION", origin="gold"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_upgrade_from_the_first_revision_keeps_the_data(empty_engine):
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO article (external_id, text, content_hash, meta, imported_at) "
            "VALUES ('old', 'Kabul', 'h', '{}', CURRENT_TIMESTAMP)"
        )
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        article = session.exec(select(Article)).one()
    assert (article.external_id, article.text, article.preannotated_with) == ("old", "Kabul", None)


def test_upgrade_to_gold_revisions_keeps_gold_and_the_edit_log(empty_engine):
    """0004: stored gold becomes revision 1; users' work and edit logs stay.

    On SQLite, adding a column to user_account copies the table and drops the original; with
    foreign keys on, that drop deleted every annotator's states, spans and edit log (cascade).
    """
    from annotator.models import GoldRevision, Span, SpanEdit

    upgrade(empty_engine, "0003")
    with empty_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO article (external_id, text, content_hash, meta, imported_at) "
            "VALUES ('old', 'Kabul was shelled', 'h', '{}', CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO user_account (username, password_hash, role, created_at) "
            "VALUES ('ann', 'x', 'annotator', CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            'INSERT INTO span (article_id, start, "end", label, attrs, origin, created_at, updated_at) '
            "VALUES (1, 0, 5, 'LOCATION', '{}', 'gold', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            'INSERT INTO span (article_id, start, "end", label, attrs, origin, owner_id, created_at, updated_at) '
            "VALUES (1, 0, 5, 'ACTOR', '{}', 'annotator', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO annotation_state (article_id, user_id, status, version, created_at, updated_at) "
            "VALUES (1, 1, 'in_progress', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        connection.exec_driver_sql(
            "INSERT INTO span_edit (state_id, version, action, span_id, status_before, created_at) "
            "VALUES (1, 1, 'status', NULL, 'todo', CURRENT_TIMESTAMP)"
        )
    upgrade(empty_engine)
    with Session(empty_engine) as session:
        revision = session.exec(select(GoldRevision)).one()
        assert (revision.article_id, revision.revision, revision.action) == (1, 1, "import")
        assert revision.spans == [{"start": 0, "end": 5, "label": "LOCATION", "attrs": {}}]
        assert session.exec(select(SpanEdit.action)).all() == ["status"]
        assert session.exec(select(Span.label).where(Span.origin == "annotator")).all() == ["ACTOR"]
        from annotator.models import User

        assert session.exec(select(User.is_active)).all() == [True]
