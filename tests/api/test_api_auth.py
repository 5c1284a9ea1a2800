"""API authentication: tokens acting with their user's current role, revocation, throttling, JSON errors."""

from __future__ import annotations

from annotator.services import api_tokens, users
from tests.api.conftest import bearer, token_for


def test_a_token_authenticates_and_acts_with_its_users_current_role(client, db_session):
    token = token_for(db_session, "ann", "annotator")
    assert client.get("/api/v1/me", headers=bearer(token)).json == {"username": "ann", "role": "annotator"}
    users.set_role(db_session, "ann", "reviewer")
    assert client.get("/api/v1/me", headers=bearer(token)).json["role"] == "reviewer"


def test_a_revoked_token_is_refused_at_once(client, db_session):
    token = token_for(db_session, "ann")
    user = users.get_user_by_name(db_session, "ann")
    (row,) = api_tokens.list_tokens(db_session, user.id)
    api_tokens.revoke_token(db_session, user.id, row.id)
    db_session.commit()
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.json["error"]


def test_deactivating_a_user_revokes_their_tokens_for_good(client, db_session):
    token = token_for(db_session, "ann")
    users.set_active(db_session, "ann", False)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    users.set_active(db_session, "ann", True)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_wrong_tokens_are_throttled_per_address(app, client, db_session):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    good = token_for(db_session, "ann")
    for _ in range(3):
        assert client.get("/api/v1/me", headers=bearer("ann_wrong")).status_code == 401
    response = client.get("/api/v1/me", headers=bearer(good))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json["error"].startswith("Too many")


def test_unknown_api_urls_answer_json_404(client, db_session):
    response = client.get("/api/v1/no-such-thing", headers=bearer(token_for(db_session, "ann")))
    assert response.status_code == 404
    assert response.is_json and response.json["error"]


def test_the_api_sets_no_cookie_and_needs_no_csrf_token(client, db_session):
    response = client.get("/api/v1/me", headers=bearer(token_for(db_session, "ann")))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
