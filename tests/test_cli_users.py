"""`annotator user add|list` and the command line's help."""

from __future__ import annotations

import pytest

from annotator.cli import main
from annotator.services.users import authenticate, get_user_by_name


def test_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "import", "user", "demo", "serve"):
        assert f"  {command} " in result.output


@pytest.mark.parametrize("command", [["db"], ["user"], ["import"], ["demo"], ["serve"], ["user", "add"]])
def test_every_command_has_help_text(runner, command):
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    # The first paragraph after "Usage:" is the command's own help, not empty.
    assert result.output.split("\n\n")[1].strip()


def test_user_add_with_password_from_stdin(runner, db_session):
    result = runner.invoke(
        main, ["user", "add", "rev", "--role", "reviewer", "--password-stdin"], input="s3cret\n"
    )
    assert result.exit_code == 0, result.output
    assert "Added reviewer 'rev'" in result.output
    user = get_user_by_name(db_session, "rev")
    assert user.role == "reviewer"
    assert user.password_hash != "s3cret"
    assert authenticate(db_session, "rev", "s3cret") is not None
    assert authenticate(db_session, "rev", "wrong") is None


def test_user_add_prompts_for_the_password_twice(runner, db_session):
    result = runner.invoke(main, ["user", "add", "ann"], input="pw-1\npw-1\n")
    assert result.exit_code == 0, result.output
    assert get_user_by_name(db_session, "ann").role == "annotator"


def test_user_add_refuses_a_duplicate(runner, db_session):
    runner.invoke(main, ["user", "add", "ann", "--password-stdin"], input="a\n")
    result = runner.invoke(main, ["user", "add", "ann", "--password-stdin"], input="b\n")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert authenticate(db_session, "ann", "a") is not None


def test_user_add_refuses_an_empty_password(runner, db_session):
    result = runner.invoke(main, ["user", "add", "ann", "--password-stdin"], input="\n")
    assert result.exit_code != 0
    assert "password cannot be empty" in result.output
    assert get_user_by_name(db_session, "ann") is None


def test_user_add_refuses_an_unknown_role(runner):
    result = runner.invoke(main, ["user", "add", "ann", "--role", "boss", "--password-stdin"], input="x\n")
    assert result.exit_code == 2
    assert "boss" in result.output


def test_user_list_shows_names_and_roles(runner):
    runner.invoke(main, ["user", "add", "zed", "--role", "admin", "--password-stdin"], input="x\n")
    runner.invoke(main, ["user", "add", "amy", "--password-stdin"], input="x\n")
    result = runner.invoke(main, ["user", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["amy\tannotator", "zed\tadmin"]


def test_user_list_when_empty_says_how_to_add(runner):
    result = runner.invoke(main, ["user", "list"])
    assert "annotator user add" in result.output
