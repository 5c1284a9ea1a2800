import re

import pytest

from tests.factories import make_article
from tests.web.conftest import TEST_CSRF


def test_login_page_renders_form(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert b'name="username"' in response.data
    assert b'name="password"' in response.data


def test_login_succeeds_and_sets_hardened_cookie(client, auth):
    response = auth.login()
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/articles/").status_code == 200


def test_login_rejects_wrong_password(client, auth, db_session):
    auth.login()
    client.post("/auth/logout", data={"csrf_token": TEST_CSRF})
    auth.set_csrf()
    response = client.post(
        "/auth/login", data={"username": "ann", "password": "wrong", "csrf_token": TEST_CSRF}
    )
    assert response.status_code == 401
    assert b"Incorrect username or password" in response.data
    assert client.get("/articles/").status_code == 302


def test_login_ignores_offsite_next(client, auth):
    auth.set_csrf()
    from tests.factories import make_user

    make_user(auth._db_session)
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"username": "ann", "password": "secret-pw", "csrf_token": TEST_CSRF},
    )
    assert response.headers["Location"] == "/articles/"


def test_logout_clears_session(client, auth):
    auth.login()
    response = client.post("/auth/logout", data={"csrf_token": TEST_CSRF})
    assert response.status_code == 303
    assert client.get("/articles/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/articles/", "/articles/a1"])
def test_pages_require_login(client, db_session, path):
    make_article(db_session, external_id="a1")
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_htmx_request_without_login_gets_hx_redirect(client):
    response = client.get("/articles/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login"


def test_every_route_but_login_requires_login(app, client):
    """Walk the URL map so a new route cannot forget the guard."""
    public = {"auth.login", "static", "health", "readyz", "api.openapi"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        # "1" fits every converter (path, string, int).
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            if rule.rule.startswith("/api/"):
                # The API has no login page: it asks for a token (tests/api walks it per role).
                assert response.status_code == 401 and response.is_json, (method, url)
                continue
            assert response.status_code == 302, (method, url)
            assert "/auth/login" in response.headers["Location"]


def test_post_without_csrf_token_is_rejected(client, auth):
    auth.login()
    response = client.post("/auth/logout")
    assert response.status_code == 400
    assert b"security token" in response.data
    # Still logged in: the rejected request changed nothing.
    assert client.get("/articles/").status_code == 200


def test_post_with_wrong_csrf_header_is_rejected(client, auth):
    auth.login()
    response = client.post("/auth/logout", headers={"X-CSRF-Token": "forged", "HX-Request": "true"})
    assert response.status_code == 400


def test_csrf_header_is_accepted_for_htmx(client, auth):
    auth.login()
    response = client.post("/auth/logout", headers={"X-CSRF-Token": TEST_CSRF, "HX-Request": "true"})
    assert response.status_code == 303


def test_login_post_without_csrf_is_rejected(client, db_session):
    from tests.factories import make_user

    make_user(db_session)
    response = client.post("/auth/login", data={"username": "ann", "password": "secret-pw"})
    assert response.status_code == 400
