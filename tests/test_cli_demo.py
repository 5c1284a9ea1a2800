"""`annotator demo` and `annotator db`: upgrade, load the seeds, create the demo login."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from annotator import create_app
from annotator.cli import main
from annotator.db import current_revision, head_revision
from annotator.models import Article, Span
from annotator.services.users import authenticate
from tests.conftest import SEEDS
from tests.services.test_article_listing import assert_listing_matches


@pytest.fixture
def fresh_app(tmp_path):
    """An app on a database with no schema at all, as on a first run."""
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "SECRET_KEY": "k"}
    )
    yield app
    app.extensions["annotator.engine"].dispose()


def test_demo_upgrades_loads_seeds_and_creates_login(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "user 'demo' with password 'demo'" in result.output
    engine = fresh_app.extensions["annotator.engine"]
    assert current_revision(engine) == head_revision()
    with Session(engine) as session:
        ids = set(session.exec(select(Article.external_id)).all())
        assert ids == {path.stem for path in SEEDS.glob("*.txt")}
        assert_listing_matches(session)
        assert authenticate(session, "demo", "demo") is not None
        # The seeds come pre-annotated, each article marked with the pipeline version.
        assert session.exec(select(func.count()).select_from(Span).where(Span.origin == "model")).one() > 50
        assert None not in session.exec(select(Article.preannotated_with)).all()


def test_demo_twice_adds_nothing(fresh_app):
    runner = fresh_app.test_cli_runner()
    runner.invoke(main, ["demo", "--no-serve"])
    result = runner.invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    with Session(fresh_app.extensions["annotator.engine"]) as session:
        assert session.exec(select(func.count()).select_from(Article)).one() == 3


def test_db_check_fails_until_upgrade(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(main, ["db", "check"]).exit_code == 1
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["db", "check"])
    assert result.exit_code == 0
    assert "current" in result.output


def test_demo_refuses_a_database_with_other_users_and_writes_nothing(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert (
        runner.invoke(main, ["user", "add", "alice", "--password-stdin"], input="long-enough-pw\n").exit_code
        == 0
    )
    result = runner.invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 1
    assert "this database has other users (alice), so it is not a demo database" in result.output
    assert "--add-demo-user-anyway" in result.output
    with Session(fresh_app.extensions["annotator.engine"]) as session:
        assert session.exec(select(func.count()).select_from(Article)).one() == 0
        assert authenticate(session, "demo", "demo") is None


@pytest.mark.model
def test_demo_adds_its_user_anyway_when_told(fresh_app):
    runner = fresh_app.test_cli_runner()
    runner.invoke(main, ["db", "upgrade"])
    runner.invoke(main, ["user", "add", "alice", "--password-stdin"], input="long-enough-pw\n")
    result = runner.invoke(main, ["demo", "--no-serve", "--add-demo-user-anyway"])
    assert result.exit_code == 0, result.output
    with Session(fresh_app.extensions["annotator.engine"]) as session:
        assert authenticate(session, "demo", "demo") is not None
