"""Clients of the JSON API: a token per role, sent as a Bearer header."""

from __future__ import annotations

import pytest

from tests.factories import make_user

ROLES = ("annotator", "reviewer", "admin")


def token_for(db_session, username: str, role: str = "annotator") -> str:
    """Create the user (when missing) and a token for them; return the token."""
    from annotator.services.api_tokens import create_token
    from annotator.services.users import get_user_by_name

    user = get_user_by_name(db_session, username) or make_user(db_session, username=username, role=role)
    _, secret = create_token(db_session, user, "tests")
    db_session.commit()
    return secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api_token(db_session):
    """Make a token for a user of the given role: api_token("admin") -> headers."""

    def make(role: str = "annotator", username: str | None = None) -> dict[str, str]:
        return bearer(token_for(db_session, username or f"api-{role}", role))

    return make
