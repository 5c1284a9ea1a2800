"""Helpers for client tests: log in, and send the session's CSRF token."""

from __future__ import annotations

import pytest

from tests.factories import make_user

TEST_CSRF = "test-csrf-token"


class AuthActions:
    def __init__(self, client, db_session):
        self._client = client
        self._db_session = db_session

    def login(self, username: str = "ann", password: str = "secret-pw", *, role: str = "annotator"):
        """Create the user (when missing) and log in through the form."""
        from annotator.services.users import get_user_by_name

        if get_user_by_name(self._db_session, username) is None:
            make_user(self._db_session, username=username, password=password, role=role)
        self.set_csrf()
        response = self._client.post(
            "/auth/login",
            data={"username": username, "password": password, "csrf_token": TEST_CSRF},
        )
        # Login starts a fresh session (and token); give the new one a known value.
        if response.status_code == 303:
            self.set_csrf()
        return response

    def set_csrf(self, token: str = TEST_CSRF) -> str:
        with self._client.session_transaction() as session:
            session["csrf_token"] = token
        return token


@pytest.fixture
def auth(client, db_session):
    return AuthActions(client, db_session)
