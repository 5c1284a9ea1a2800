"""Password guessing is throttled per account and per client address, with 429 and Retry-After."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from annotator import create_app
from annotator.models import LoginFailure
from tests.factories import make_user
from tests.web.conftest import TEST_CSRF


@pytest.fixture
def throttled_app(database_url):
    """The app with small limits: 3 failures per account, 5 per address, over 10 minutes."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "k",
            "LOGIN_MAX_FAILURES": 3,
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 5,
            "LOGIN_WINDOW_MINUTES": 10,
        }
    )
    with Session(app.extensions["annotator.engine"]) as session:
        make_user(session, username="ann", password="right")
        make_user(session, username="bob", password="right")
    yield app
    app.extensions["annotator.engine"].dispose()


def _attempt(client, username, password, *, address="10.0.0.1", forwarded=None):
    with client.session_transaction() as session:
        session["csrf_token"] = TEST_CSRF
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/auth/login",
        data={"username": username, "password": password, "csrf_token": TEST_CSRF},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def test_the_right_password_is_refused_after_too_many_wrong_ones(throttled_app, caplog):
    client = throttled_app.test_client()
    caplog.set_level(logging.WARNING, logger=throttled_app.logger.name)
    for _ in range(3):
        assert _attempt(client, "ann", "wrong").status_code == 401
    response = _attempt(client, "ann", "right")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 600
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/articles/").status_code == 302  # not logged in
    failures = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    assert failures == ["failed login for account 'ann' from 10.0.0.1"] * 3
    assert any("login throttled for account 'ann'" in r.getMessage() for r in caplog.records)


def test_the_account_is_throttled_from_every_address(throttled_app):
    client = throttled_app.test_client()
    for number in range(3):
        _attempt(client, "ann", "wrong", address=f"10.0.0.{number}")
    assert _attempt(client, "ann", "right", address="10.9.9.9").status_code == 429
    # Another account from a fresh address is not affected.
    assert _attempt(client, "bob", "right", address="10.9.9.9").status_code == 303


def test_an_address_is_throttled_across_accounts(throttled_app):
    client = throttled_app.test_client()
    for number in range(5):
        _attempt(client, f"guess{number}", "wrong")
    assert _attempt(client, "bob", "right").status_code == 429
    assert _attempt(client, "bob", "right", address="10.0.0.2").status_code == 303


def test_waiting_out_the_window_lets_the_right_password_in(throttled_app):
    client = throttled_app.test_client()
    for _ in range(3):
        _attempt(client, "ann", "wrong")
    assert _attempt(client, "ann", "right").status_code == 429
    with Session(throttled_app.extensions["annotator.engine"]) as session:
        session.execute(update(LoginFailure).values(failed_at=LoginFailure.failed_at - timedelta(minutes=11)))
        session.commit()
    assert _attempt(client, "ann", "right").status_code == 303


def test_a_good_login_forgets_the_accounts_failures(throttled_app):
    client = throttled_app.test_client()
    for _ in range(2):
        _attempt(client, "ann", "wrong")
    assert _attempt(client, "ann", "right").status_code == 303
    client.post("/auth/logout", data={"csrf_token": TEST_CSRF})
    for _ in range(2):
        assert _attempt(client, "ann", "wrong").status_code == 401
    assert _attempt(client, "ann", "right").status_code == 303


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(throttled_app):
    client = throttled_app.test_client()
    # An attacker rotating the header would get a fresh address each time if it were believed.
    for number in range(5):
        _attempt(client, f"guess{number}", "wrong", forwarded=f"192.0.2.{number}")
    assert _attempt(client, "bob", "right", forwarded="192.0.2.200").status_code == 429


def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(database_url):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "k",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": 5,
            "TRUSTED_PROXIES": 1,
        }
    )
    try:
        with Session(app.extensions["annotator.engine"]) as session:
            make_user(session, username="bob", password="right")
        client = app.test_client()
        # Everyone comes through the proxy at 10.0.0.1; only the forwarded address tells them apart.
        for number in range(5):
            _attempt(client, f"guess{number}", "wrong", forwarded="192.0.2.66")
        assert _attempt(client, "bob", "right", forwarded="192.0.2.66").status_code == 429
        assert _attempt(client, "bob", "right", forwarded="192.0.2.7").status_code == 303
    finally:
        app.extensions["annotator.engine"].dispose()


def test_the_defaults_throttle_within_reason(app):
    assert (app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]) == (10, 30)
    assert app.config["LOGIN_WINDOW_MINUTES"] == 15
