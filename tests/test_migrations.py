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
        context = MigrationContext.configure(connection, opts={"compare_type": True})
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
