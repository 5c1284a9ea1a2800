"""What admins do to users, as services: each change audited in its transaction, refusals writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from annotator.errors import InvalidEdit, NotFound
from annotator.models import ApiToken, AuditEvent
from annotator.services import api_tokens, audit, sessions, users
from annotator.services.passwords import WeakPassword, generate_password
from tests.factories import make_user

GOOD = "a-long-enough-password-1"


def actions(session) -> list[tuple[str, str | None, str]]:
    """Return the audit log, oldest first, as (action, target, actor name)."""
    session.expire_all()
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(event.action, event.target, event.actor_name) for event in events]


def live_sessions(session, user) -> list[bool]:
    return [sessions.user_for_token(session, token) is not None for token in user]


@pytest.fixture
def admin(session):
    return make_user(session, username="root", role="admin")


def test_add_user_follows_the_policy_and_is_audited(session, admin):
    user = users.add_user(session, "ann", GOOD, role="reviewer", must_change_password=True, actor=admin)
    assert (user.role, user.must_change_password) == ("reviewer", True)
    assert users.authenticate(session, "ann", GOOD) is not None
    assert actions(session) == [("user.add", "user:ann", "root")]
    event = session.exec(select(AuditEvent)).one()
    assert event.details == {"role": "reviewer", "must_change_password": True}


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10"), ("password123", "common passwords"), ("xx-ann-long-pw", "username")],
)
def test_add_user_refuses_a_weak_password_and_writes_nothing(session, admin, password, message):
    with pytest.raises(WeakPassword, match=message):
        users.add_user(session, "ann", password, actor=admin)
    session.rollback()
    assert users.get_user_by_name(session, "ann") is None
    assert actions(session) == []


def test_create_user_stays_unaudited_for_tests_and_the_demo(session):
    make_user(session, username="ann")
    assert actions(session) == []


def test_reset_password_sets_must_change_ends_sessions_and_is_audited(session, admin):
    ann = make_user(session, username="ann")
    tokens = [sessions.start_session(session, ann.id, lifetime=timedelta(hours=1)) for _ in range(2)]
    assert users.reset_password(session, "ann", GOOD, actor=admin) == 2
    session.expire_all()
    assert users.get_user_by_name(session, "ann").must_change_password
    assert users.authenticate(session, "ann", GOOD) is not None
    assert live_sessions(session, tokens) == [False, False]
    assert actions(session) == [("user.password_reset", "user:ann", "root")]


def test_reset_password_refuses_a_weak_one_and_ones_own(session, admin):
    make_user(session, username="ann")
    with pytest.raises(WeakPassword):
        users.reset_password(session, "ann", "short", actor=admin)
    with pytest.raises(InvalidEdit, match="Account page"):
        users.reset_password(session, "root", GOOD, actor=admin)
    session.rollback()
    assert not users.get_user_by_name(session, "ann").must_change_password
    assert actions(session) == []


def test_a_generated_password_follows_the_policy(session):
    from annotator.services.passwords import check_password

    passwords = {generate_password(username="ann") for _ in range(20)}
    assert len(passwords) == 20
    for each in passwords:
        check_password(each, username="ann")


def test_change_own_password_checks_the_current_one_and_clears_the_flag(session, admin):
    ann = users.add_user(session, "ann", GOOD, must_change_password=True, actor=admin)
    other_device = sessions.start_session(session, ann.id, lifetime=timedelta(hours=1))
    with pytest.raises(users.WrongPassword):
        users.change_own_password(session, ann, "not it", "another-long-one-2", lifetime=timedelta(hours=1))
    session.rollback()
    assert users.authenticate(session, "ann", GOOD) is not None
    with pytest.raises(WeakPassword):
        users.change_own_password(session, ann, GOOD, "short", lifetime=timedelta(hours=1))
    session.rollback()
    with pytest.raises(WeakPassword, match="differ"):
        users.change_own_password(session, ann, GOOD, GOOD, lifetime=timedelta(hours=1))
    session.rollback()
    assert [action for action, _, _ in actions(session)] == ["user.add"]

    fresh = users.change_own_password(session, ann, GOOD, "another-long-one-2", lifetime=timedelta(hours=1))
    session.expire_all()
    assert not users.get_user_by_name(session, "ann").must_change_password
    assert users.authenticate(session, "ann", "another-long-one-2") is not None
    assert live_sessions(session, [other_device, fresh]) == [False, True]
    assert actions(session)[-1] == ("user.password_change", "user:ann", "ann")


def test_role_and_activity_changes_are_audited_with_the_command_line_as_actor(session):
    make_user(session, username="ann")
    users.set_role(session, "ann", "reviewer")
    users.set_role(session, "ann", "reviewer")  # no change, no event
    users.set_active(session, "ann", False)
    users.set_active(session, "ann", False)  # no change, no event
    users.set_active(session, "ann", True)
    users.set_password(session, "ann", "whatever")
    assert actions(session) == [
        ("user.role", "user:ann", audit.COMMAND_LINE),
        ("user.deactivate", "user:ann", audit.COMMAND_LINE),
        ("user.activate", "user:ann", audit.COMMAND_LINE),
        ("user.password_reset", "user:ann", audit.COMMAND_LINE),
    ]


def test_deactivation_records_what_it_ended(session, admin):
    ann = make_user(session, username="ann")
    sessions.start_session(session, ann.id, lifetime=timedelta(hours=1))
    api_tokens.issue(session, ann, "script", actor=admin)
    users.set_active(session, "ann", False, actor=admin)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.deactivate")).one()
    assert event.details == {"sessions_ended": 1, "tokens_revoked": 1}


@pytest.mark.parametrize(
    "change",
    [
        lambda session, actor: users.set_role(session, "root", "annotator", actor=actor),
        lambda session, actor: users.set_active(session, "root", False, actor=actor),
    ],
    ids=["demote", "deactivate"],
)
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(session, admin, change):
    make_user(session, username="old", role="admin")
    users.set_active(session, "old", False)  # an inactive admin does not count
    before = actions(session)
    with pytest.raises(users.LastAdmin, match="last active admin"):
        change(session, admin)
    session.expire_all()
    root = users.get_user_by_name(session, "root")
    assert (root.role, root.is_active) == ("admin", True)
    assert actions(session) == before
    # With a second active admin, it may.
    users.set_active(session, "old", True)
    change(session, admin)
    assert actions(session)[-1][0] in ("user.role", "user.deactivate")


def test_tokens_issued_and_revoked_are_audited_once(session, admin):
    ann = make_user(session, username="ann")
    token, secret = api_tokens.issue(session, ann, "laptop", actor=ann)
    assert api_tokens.user_for_api_token(session, secret).username == "ann"
    api_tokens.revoke(session, ann, token.id, actor=admin)
    api_tokens.revoke(session, ann, token.id, actor=admin)  # already revoked: nothing more
    assert api_tokens.user_for_api_token(session, secret) is None
    assert actions(session) == [("token.create", "user:ann", "ann"), ("token.revoke", "user:ann", "root")]
    create, _ = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert create.details == {"token_id": token.id, "name": "laptop", "prefix": token.prefix}
    assert secret not in str(create.details)


def test_a_token_cannot_be_revoked_through_another_user(session, admin):
    ann = make_user(session, username="ann")
    bob = make_user(session, username="bob")
    token, _ = api_tokens.issue(session, ann, "laptop")
    with pytest.raises(NotFound):
        api_tokens.revoke(session, bob, token.id, actor=bob)
    session.expire_all()
    assert session.get(ApiToken, token.id).revoked_at is None


def test_a_token_needs_a_name_and_nothing_is_written_without_one(session):
    ann = make_user(session, username="ann")
    with pytest.raises(ValueError, match="name"):
        api_tokens.issue(session, ann, "  ")
    session.rollback()
    assert session.exec(select(ApiToken)).all() == []
    assert actions(session) == []


def test_user_overviews_count_live_tokens_and_sessions(session, admin):
    ann = make_user(session, username="ann")
    sessions.start_session(session, ann.id, lifetime=timedelta(hours=1))
    sessions.start_session(session, ann.id, lifetime=timedelta(hours=-1))  # expired
    api_tokens.issue(session, ann, "a")
    gone, _ = api_tokens.issue(session, ann, "b")
    api_tokens.revoke(session, ann, gone.id)
    rows = {
        row.user.username: (row.live_tokens, row.live_sessions) for row in users.list_user_overviews(session)
    }
    assert rows == {"ann": (1, 1), "root": (0, 0)}
    assert [row.user.username for row in users.list_user_overviews(session, username="ann")] == ["ann"]


def test_a_deactivated_user_gets_no_token(session, admin):
    make_user(session, username="ann")
    users.set_active(session, "ann", False, actor=admin)
    ann = users.get_user_by_name(session, "ann")
    with pytest.raises(ValueError, match="deactivated"):
        api_tokens.issue(session, ann, "script", actor=admin)
    session.rollback()
    assert session.exec(select(ApiToken)).all() == []
