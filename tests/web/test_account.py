"""Everyone's account page: change one's own password, and create and revoke one's own API tokens."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from annotator.models import AuditEvent
from annotator.services import api_tokens, users
from tests.api.conftest import bearer, token_for
from tests.web.conftest import TEST_CSRF, AuthActions

NEW = "quiet-harbour-lights-7"


@pytest.fixture
def ann(client, auth):
    assert auth.login("ann").status_code == 303
    return client


def post(client, url: str, **data):
    return client.post(url, data={**data, "csrf_token": TEST_CSRF})


def audit_actions(db_session) -> list[str]:
    db_session.expire_all()
    return [event.action for event in db_session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_the_top_bar_links_to_the_account_page(ann):
    page = ann.get("/articles/").get_data(as_text=True)
    assert 'href="/account/">Account</a>' in page
    assert "Change your password" in ann.get("/account/").get_data(as_text=True)


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, ann, db_session):
    other_device = app.test_client()
    AuthActions(other_device, db_session).login("ann")
    assert other_device.get("/articles/").status_code == 200

    response = post(ann, "/account/password", current="secret-pw", new=NEW, repeat=NEW)
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/")
    assert "Your password is changed" in ann.get("/account/").get_data(as_text=True)
    assert ann.get("/articles/").status_code == 200
    assert "/auth/login" in other_device.get("/articles/").headers["Location"]
    assert users.authenticate(db_session, "ann", NEW) is not None
    assert users.authenticate(db_session, "ann", "secret-pw") is None
    assert audit_actions(db_session) == ["user.password_change"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "wrong-one", "new": NEW, "repeat": NEW}, "The current password is wrong."),
        ({"current": "secret-pw", "new": NEW, "repeat": NEW + "x"}, "differ"),
        ({"current": "secret-pw", "new": "short", "repeat": "short"}, "at least 10 characters long"),
        ({"current": "secret-pw", "new": "password123", "repeat": "password123"}, "common passwords"),
        ({"current": "secret-pw", "new": "my-name-is-ann", "repeat": "my-name-is-ann"}, "username"),
    ],
    ids=["wrong current", "mismatch", "short", "common", "username"],
)
def test_a_refused_password_change_says_why_and_changes_nothing(ann, db_session, data, message):
    response = post(ann, "/account/password", **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert users.authenticate(db_session, "ann", "secret-pw") is not None
    assert ann.get("/articles/").status_code == 200  # still logged in
    assert audit_actions(db_session) == []


def _secret(html: str) -> str:
    match = re.search(r'<code id="new-token">([^<]+)</code>', html)
    assert match, html
    return match[1]


def test_a_token_created_in_the_browser_works_against_the_api_until_revoked(app, ann, db_session):
    response = post(ann, "/account/tokens", name="my laptop")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = _secret(page)
    assert "Authorization: Bearer" in page
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(secret)).json == {"username": "ann", "role": "annotator"}
    listing = ann.get("/account/").get_data(as_text=True)
    assert secret not in listing and "my laptop" in listing

    (token,) = api_tokens.list_tokens(db_session, users.get_user_by_name(db_session, "ann").id)
    assert post(ann, f"/account/tokens/{token.id}/revoke").status_code == 303
    assert api.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert audit_actions(db_session) == ["token.create", "token.revoke"]


def test_a_token_needs_a_name(ann, db_session):
    response = post(ann, "/account/tokens", name="")
    assert response.status_code == 422
    assert "needs a name" in response.get_data(as_text=True)
    assert audit_actions(db_session) == []


def test_nobody_revokes_another_users_token_from_their_account(app, ann, db_session):
    secret = token_for(db_session, "bob")
    (token,) = api_tokens.list_tokens(db_session, users.get_user_by_name(db_session, "bob").id)
    assert post(ann, f"/account/tokens/{token.id}/revoke").status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert audit_actions(db_session) == []


def test_a_user_who_must_change_their_password_may_still_log_out(app, db_session):
    users.add_user(db_session, "cat", "a-long-enough-password-1", must_change_password=True)
    client = app.test_client()
    AuthActions(client, db_session).login("cat", "a-long-enough-password-1")
    assert client.get("/account/password").status_code == 200
    assert post(client, "/auth/logout").status_code == 303
    assert "/auth/login" in client.get("/account/password").headers["Location"]
