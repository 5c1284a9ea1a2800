"""Sessions live on the server: logging out, a new password, a new role or deactivation end them for good."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import update
from sqlmodel import select

from annotator.models import UserSession, utcnow
from annotator.services import users
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import hx_post, open_review_article, working_copy


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie: str):
    """Return a fresh client that sends only the copied cookie, as an attacker would."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


@pytest.fixture
def logged_in(app, client, auth, db_session):
    return open_review_article(client, auth, db_session)


def test_a_cookie_replayed_after_logout_reads_and_edits_nothing(app, client, db_session, logged_in):
    stolen = _cookie(client)
    assert _replay(app, stolen).get("/articles/").status_code == 200  # it works while logged in
    assert client.post("/auth/logout", data={"csrf_token": TEST_CSRF}).status_code == 303

    thief = _replay(app, stolen)
    page = thief.get("/articles/helmand%2F1")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
    before = working_copy(db_session, logged_in, "ann")
    thief = _replay(app, stolen)
    edit = hx_post(thief, f"/review/{logged_in.id}/delete", span=1, version=0)  # the CSRF token rides along
    assert edit.status_code == 401
    assert working_copy(db_session, logged_in, "ann") == before


def test_logging_out_ends_only_that_session(app, client, db_session, logged_in):
    other_device = app.test_client()
    AuthActions(other_device, db_session).login()
    client.post("/auth/logout", data={"csrf_token": TEST_CSRF})
    assert client.get("/articles/").status_code == 302
    assert other_device.get("/articles/").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        lambda session: users.set_password(session, "ann", "a new one"),
        lambda session: users.set_role(session, "ann", "reviewer"),
        lambda session: users.set_active(session, "ann", False),
    ],
    ids=["password", "role", "deactivate"],
)
def test_a_password_role_or_activity_change_ends_every_session(app, client, db_session, logged_in, change):
    other_device = app.test_client()
    AuthActions(other_device, db_session).login()
    change(db_session)
    for each in (client, other_device):
        response = each.get("/articles/")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_deactivated_user_cannot_log_in(client, auth, db_session, logged_in):
    users.set_active(db_session, "ann", False)
    response = auth.login()
    assert response.status_code == 401
    assert "This account is deactivated" in response.get_data(as_text=True)
    assert client.get("/articles/").status_code == 302


def test_a_session_ends_when_its_lifetime_is_over(client, db_session, logged_in):
    db_session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db_session.commit()
    response = client.get("/articles/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_session_lifetime_is_a_setting_the_cookie_and_server_both_keep(tmp_path, database_url):
    from annotator import create_app
    from tests.factories import make_user

    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "k", "SESSION_LIFETIME_HOURS": 2}
    )
    try:
        client = app.test_client()
        from sqlmodel import Session

        with Session(app.extensions["annotator.engine"], expire_on_commit=False) as session:
            make_user(session, username="ann", password="pw")
            AuthActions(client, session).set_csrf()
            response = client.post(
                "/auth/login", data={"username": "ann", "password": "pw", "csrf_token": TEST_CSRF}
            )
            assert response.status_code == 303
            expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"])[1])
            assert timedelta(hours=1, minutes=59) < expires - utcnow() <= timedelta(hours=2)
            row = session.exec(select(UserSession)).one()
            assert timedelta(hours=1, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=2)
    finally:
        app.extensions["annotator.engine"].dispose()


def test_the_default_session_lifetime_is_twelve_hours(app):
    assert app.permanent_session_lifetime == timedelta(hours=12)


def test_the_database_keeps_a_hash_of_the_token_not_the_token(client, db_session, logged_in):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(client.application)
    token = serializer.loads(_cookie(client))["sid"]
    stored = db_session.exec(select(UserSession.token_hash)).all()
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64
