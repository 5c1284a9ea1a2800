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
        main, ["user", "add", "rev", "--role", "reviewer", "--password-stdin"], input="s3cret-horse-42\n"
    )
    assert result.exit_code == 0, result.output
    assert "Added reviewer 'rev'" in result.output
    user = get_user_by_name(db_session, "rev")
    assert user.role == "reviewer"
    assert user.password_hash != "s3cret-horse-42"
    assert authenticate(db_session, "rev", "s3cret-horse-42") is not None
    assert authenticate(db_session, "rev", "wrong") is None


def test_user_add_prompts_for_the_password_twice(runner, db_session):
    result = runner.invoke(main, ["user", "add", "ann"], input="pw-1-staple-9\npw-1-staple-9\n")
    assert result.exit_code == 0, result.output
    assert get_user_by_name(db_session, "ann").role == "annotator"


def test_user_add_refuses_a_duplicate(runner, db_session):
    runner.invoke(main, ["user", "add", "ann", "--password-stdin"], input="apple-tree-7\n")
    result = runner.invoke(main, ["user", "add", "ann", "--password-stdin"], input="birch-tree-8\n")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert authenticate(db_session, "ann", "apple-tree-7") is not None


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
    runner.invoke(
        main, ["user", "add", "zed", "--role", "admin", "--password-stdin"], input="long-enough-x\n"
    )
    runner.invoke(main, ["user", "add", "amy", "--password-stdin"], input="long-enough-x\n")
    result = runner.invoke(main, ["user", "list"])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["amy\tannotator", "zed\tadmin"]


def test_user_list_when_empty_says_how_to_add(runner):
    result = runner.invoke(main, ["user", "list"])
    assert "annotator user add" in result.output


def _start_sessions(session, user, count=2):
    from datetime import timedelta

    from annotator.services.sessions import start_session

    return [start_session(session, user.id, lifetime=timedelta(hours=1)) for _ in range(count)]


def _live(session, tokens):
    from annotator.services.sessions import user_for_token

    session.expire_all()
    return [user_for_token(session, token) is not None for token in tokens]


def test_user_password_changes_it_and_ends_the_sessions(runner, db_session):
    from tests.factories import make_user

    ann = make_user(db_session, username="ann", password="old-pw")
    tokens = _start_sessions(db_session, ann)
    result = runner.invoke(main, ["user", "password", "ann", "--password-stdin"], input="new-pw-harbour\n")
    assert result.exit_code == 0, result.output
    assert "New password for 'ann'; ended 2 sessions." in result.output
    db_session.expire_all()
    assert authenticate(db_session, "ann", "new-pw-harbour") is not None
    assert authenticate(db_session, "ann", "old-pw") is None
    assert _live(db_session, tokens) == [False, False]


def test_user_role_changes_it_and_ends_the_sessions(runner, db_session):
    from tests.factories import make_user

    ann = make_user(db_session, username="ann")
    tokens = _start_sessions(db_session, ann)
    result = runner.invoke(main, ["user", "role", "ann", "reviewer"])
    assert result.exit_code == 0, result.output
    assert "'ann' is now reviewer (was annotator); ended 2 sessions." in result.output
    db_session.expire_all()
    assert get_user_by_name(db_session, "ann").role == "reviewer"
    assert _live(db_session, tokens) == [False, False]
    assert "already reviewer" in runner.invoke(main, ["user", "role", "ann", "reviewer"]).output
    assert runner.invoke(main, ["user", "role", "ann", "boss"]).exit_code == 2


def test_user_deactivate_locks_out_and_activate_lets_back_in(runner, db_session):
    from tests.factories import make_user

    ann = make_user(db_session, username="ann")
    bob = make_user(db_session, username="bob")
    tokens = _start_sessions(db_session, ann)
    bobs = _start_sessions(db_session, bob, 1)
    result = runner.invoke(main, ["user", "deactivate", "ann"])
    assert result.exit_code == 0, result.output
    assert "'ann' is deactivated; ended 2 sessions." in result.output
    assert _live(db_session, tokens) == [False, False]
    assert _live(db_session, bobs) == [True]  # nobody else is logged out
    assert "ann\tannotator\tdeactivated" in runner.invoke(main, ["user", "list"]).output
    assert runner.invoke(main, ["user", "activate", "ann"]).exit_code == 0
    db_session.expire_all()
    assert get_user_by_name(db_session, "ann").is_active


@pytest.mark.parametrize(
    "command",
    [
        ["password", "nobody", "--password-stdin"],
        ["role", "nobody", "admin"],
        ["deactivate", "nobody"],
        ["activate", "nobody"],
    ],
)
def test_user_changes_name_an_unknown_user_in_one_line(runner, command):
    result = runner.invoke(main, ["user", *command], input="pw\n")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no user named 'nobody'; `annotator user list` shows who there is"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw", "at least 10 characters long (it has 8)"),
        ("Password123", "on the list of common passwords"),
        ("qwertyuiop", "on the list of common passwords"),
        ("my-ann-password-1", "must not contain the username"),
    ],
)
@pytest.mark.parametrize("command", [["user", "add", "ann"], ["user", "password", "ann"]])
def test_the_password_policy_refuses_weak_passwords_in_one_line_and_changes_nothing(
    runner, db_session, command, password, reason
):
    from tests.factories import make_user

    if command[1] == "password":
        make_user(db_session, username="ann", password="the-old-password")
    result = runner.invoke(main, [*command, "--password-stdin"], input=f"{password}\n")
    assert result.exit_code == 1
    assert reason in result.output and len(result.output.strip().splitlines()) == 1
    db_session.expire_all()
    assert authenticate(db_session, "ann", password) is None
