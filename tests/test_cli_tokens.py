"""`annotator token create|list|revoke`, and the user commands' audit events."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from annotator.cli import main
from annotator.models import AuditEvent
from annotator.services import audit, users
from tests.api.conftest import bearer
from tests.factories import make_user


@pytest.fixture
def split_runner(app):
    """A runner whose results keep standard output and standard error apart."""
    from flask.cli import ScriptInfo

    runner = CliRunner()

    def invoke(args, **options):
        return runner.invoke(main, args, obj=ScriptInfo(create_app=lambda: app), **options)

    return invoke


def events(db_session) -> list[tuple[str, str | None, str]]:
    db_session.expire_all()
    rows = db_session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(row.action, row.target, row.actor_name) for row in rows]


def test_token_create_prints_the_token_alone_on_the_last_line_and_it_works(split_runner, client, db_session):
    make_user(db_session, username="ann")
    result = split_runner(["token", "create", "ann", "--name", "nightly export"])
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert result.stdout == token + "\n"  # nothing else on standard output
    assert token.startswith("ann_")
    assert "shown once" in result.stderr and "'nightly export'" in result.stderr
    assert client.get("/api/v1/me", headers=bearer(token)).json["username"] == "ann"
    assert events(db_session) == [("token.create", "user:ann", audit.COMMAND_LINE)]


def test_token_list_shows_a_table_and_revoke_stops_the_token(split_runner, client, db_session):
    make_user(db_session, username="ann")
    first = split_runner(["token", "create", "ann"]).stdout.splitlines()[-1]
    split_runner(["token", "create", "ann", "--name", "second"])
    listing = split_runner(["token", "list", "ann"])
    assert listing.exit_code == 0
    header, *rows = listing.stdout.splitlines()
    assert header.split() == ["id", "name", "prefix", "created", "last", "used", "revoked"]
    assert [row.split()[0] for row in rows] == ["2", "1"]  # newest first
    assert first[:10] in rows[1] and "command line" in rows[1] and rows[1].rstrip().endswith("-")

    result = split_runner(["token", "revoke", "ann", "1"])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert split_runner(["token", "list", "ann"]).stdout.splitlines()[2].rstrip()[-1].isdigit()
    assert [action for action, _, _ in events(db_session)] == ["token.create", "token.create", "token.revoke"]


@pytest.mark.parametrize(
    "args",
    [["token", "create", "nobody"], ["token", "list", "nobody"], ["token", "revoke", "nobody", "1"]],
    ids=["create", "list", "revoke"],
)
def test_token_commands_name_an_unknown_user_without_a_traceback(split_runner, db_session, args):
    result = split_runner(args)
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.stderr
    assert "Traceback" not in result.output
    assert events(db_session) == []


def test_token_revoke_names_a_token_the_user_does_not_have(split_runner, db_session):
    make_user(db_session, username="ann")
    make_user(db_session, username="bob")
    split_runner(["token", "create", "bob"])
    result = split_runner(["token", "revoke", "ann", "1"])  # bob's token
    assert result.exit_code == 1
    assert "'ann' has no token 1" in result.stderr
    assert [action for action, _, _ in events(db_session)] == ["token.create"]


def test_token_create_refuses_a_deactivated_user(split_runner, db_session):
    make_user(db_session, username="ann")
    users.set_active(db_session, "ann", False)
    result = split_runner(["token", "create", "ann"])
    assert result.exit_code == 1
    assert "deactivated" in result.stderr
    assert result.stdout == ""


def test_token_list_of_a_user_without_tokens_says_how_to_make_one(split_runner, db_session):
    make_user(db_session, username="ann")
    assert "annotator token create ann" in split_runner(["token", "list", "ann"]).stdout


def test_user_commands_record_audit_events_as_the_command_line(split_runner, db_session):
    assert (
        split_runner(["user", "add", "ann", "--password-stdin"], input="apple-tree-orchard\n").exit_code == 0
    )
    split_runner(["user", "password", "ann", "--password-stdin"], input="birch-tree-orchard\n")
    split_runner(["user", "role", "ann", "reviewer"])
    split_runner(["user", "deactivate", "ann"])
    split_runner(["user", "activate", "ann"])
    assert events(db_session) == [
        (action, "user:ann", audit.COMMAND_LINE)
        for action in ("user.add", "user.password_reset", "user.role", "user.deactivate", "user.activate")
    ]


def test_the_last_active_admin_cannot_be_demoted_from_the_command_line_either(split_runner, db_session):
    make_user(db_session, username="root", role="admin")
    result = split_runner(["user", "role", "root", "annotator"])
    assert result.exit_code == 1
    assert "last active admin" in result.stderr and "Traceback" not in result.output
    assert split_runner(["user", "deactivate", "root"]).exit_code == 1
    assert events(db_session) == []
