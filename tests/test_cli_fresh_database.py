"""Every command on a database that was never set up: it works, or says in one line what to run."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from annotator.cli import main
from tests.conftest import DATA

# Arguments that make each command do its real work on an empty database.
COMMANDS = {
    ("db", "upgrade"): [],
    ("db", "check"): [],
    ("import",): [str(DATA / "001_142b807c3f101f15.jsonl")],
    ("user", "add"): ["ann", "--password-stdin"],
    ("user", "list"): [],
    ("user", "password"): ["nobody", "--password-stdin"],
    ("user", "role"): ["nobody", "reviewer"],
    ("user", "deactivate"): ["nobody"],
    ("user", "activate"): ["nobody"],
    ("token", "create"): ["nobody"],
    ("token", "list"): ["nobody"],
    ("token", "revoke"): ["nobody", "1"],
    ("export",): ["-o", "{tmp}/missing/dir/gold.jsonl"],
    ("evaluate",): ["--gold", "gold", "--pred", "model"],
    ("agreement",): [],
    ("preannotate",): [],
    ("demo",): ["--no-serve"],
    ("serve",): ["--port", "0"],
    ("config", "show"): [],
    ("config", "set"): ["annotators_per_article", "2"],
    ("assign",): ["--annotator", "nobody", "--count", "1"],
}
# They load the spaCy model: slower, so marked as such.
MODEL_COMMANDS = {("preannotate",), ("demo",)}
# db check's whole purpose is to fail on an empty database, in one line.
EXPECTED_FAILURES = {
    ("assign",),
    ("db", "check"),
    ("user", "password"),
    ("user", "role"),
    ("user", "deactivate"),
    ("user", "activate"),
    ("token", "create"),
    ("token", "list"),
    ("token", "revoke"),
}


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _leaves(command, (*prefix, name))
        else:
            found.add((*prefix, name))
    return found


def test_the_table_covers_every_command():
    assert _leaves(main) == set(COMMANDS)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(command, marks=pytest.mark.model) if command in MODEL_COMMANDS else command
        for command in sorted(COMMANDS)
    ],
    ids=" ".join,
)
def test_command_on_an_empty_sqlite_database_prints_no_traceback(command, tmp_path, monkeypatch):
    from flask import Flask

    # serve would block in Flask's server: stand it in with one that returns at once.
    monkeypatch.setattr(Flask, "run", lambda self, **options: None)
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    monkeypatch.setenv("ANNOTATOR_SECRET_KEY", "k")
    args = [arg.format(tmp=tmp_path) for arg in COMMANDS[command]]
    result = CliRunner().invoke(main, [*command, *args], input="a-long-enough-pw\n")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        result.output
    )
    assert "Traceback" not in result.output
    if command in EXPECTED_FAILURES:
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) <= 2, result.output
    else:
        assert result.exit_code == 0, result.output
    if command == ("export",):
        assert (tmp_path / "missing" / "dir" / "gold.jsonl").exists()


def test_a_shared_database_without_the_schema_is_named_with_what_to_run(postgres_url, monkeypatch):
    from sqlmodel import SQLModel

    from annotator.db import make_engine

    # An empty PostgreSQL database: the tests' one with its tables and version dropped.
    engine = make_engine(postgres_url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    try:
        monkeypatch.setenv("ANNOTATOR_DATABASE_URL", postgres_url)
        monkeypatch.setenv("ANNOTATOR_SECRET_KEY", "k")
        result = CliRunner().invoke(main, ["user", "list"])
        assert result.exit_code == 1
        assert "has no annotator schema yet; run `annotator db upgrade`" in result.output
        assert "Traceback" not in result.output
    finally:
        SQLModel.metadata.create_all(engine)
        from annotator.db import stamp_head

        stamp_head(engine)
        engine.dispose()


def test_an_unreachable_database_is_one_line(monkeypatch):
    # Port 9 (discard) on 127.0.0.1: nothing listens there.
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    monkeypatch.setenv("ANNOTATOR_SECRET_KEY", "k")
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the database at postgresql://nobody@127.0.0.1:9/none")
    assert "Connection refused" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_bad_setting_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("ANNOTATOR_SESSION_LIFETIME_HOURS", "forever")
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert "ANNOTATOR_SESSION_LIFETIME_HOURS='forever'" in result.output
    assert "Traceback" not in result.output


def test_the_installed_command_prints_no_traceback_on_an_empty_database(tmp_path):
    """The real entry point, as a person runs it: standard error included."""
    env = {
        "ANNOTATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "ANNOTATOR_SECRET_KEY": "k",
        "PATH": "",
    }
    for args in (["user", "list"], ["export", "-o", str(tmp_path / "a" / "b.jsonl")]):
        done = subprocess.run(
            [sys.executable, "-m", "annotator.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["preannotate", "--model", "no_such_model"],
        ["evaluate", "--gold", str(DATA / "001_142b807c3f101f15.jsonl"), "--pred", "pipeline:no_such_model"],
    ],
    ids=["preannotate", "evaluate"],
)
def test_a_model_that_cannot_be_loaded_is_one_line(args, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'm.sqlite3'}")
    monkeypatch.setenv("ANNOTATOR_SECRET_KEY", "k")
    CliRunner().invoke(main, ["import", str(DATA / "001_142b807c3f101f15.jsonl")])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "Error: cannot load the spaCy model 'no_such_model': [E050]" in result.output
    assert "Traceback" not in result.output
