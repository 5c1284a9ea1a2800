"""Every API route, called with each role's token and with none: the server decides, per request.

A new API route must be added to a table in tests/api/access_routes/ (one per
area), or test_every_api_route_is_in_the_table fails.
"""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest

from tests.api import access_routes
from tests.api.conftest import ROLES
from tests.web.review_helpers import make_review_article

EVERYONE = dict.fromkeys(ROLES, True)
REVIEWERS = {"annotator": False, "reviewer": True, "admin": True}
ADMINS = {"annotator": False, "reviewer": False, "admin": True}

# (endpoint, method) -> (URL, JSON body or None, who may). "{article}" is the test article's
# external id, URL-encoded.
API_ROUTES = {
    ("api.me", "GET"): ("/api/v1/me", None, EVERYONE),
}
for _module in pkgutil.iter_modules(access_routes.__path__):
    API_ROUTES.update(importlib.import_module(f"{access_routes.__name__}.{_module.name}").ROUTES)

# Served to anyone: the document describes the API and holds no data.
PUBLIC = {("api.openapi", "GET")}


def test_every_api_route_is_in_the_table(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        if rule.rule.startswith("/api/")
    }
    assert routes == set(API_ROUTES) | PUBLIC


@pytest.fixture
def article(db_session):
    return make_review_article(db_session)


def _call(client, route, headers, article):
    url, body, _ = API_ROUTES[route]
    url = url.format(article="helmand%2F1", id=article.id)
    data = json.dumps(body).replace("{article}", "helmand/1") if body is not None else None
    return client.open(
        url, method=route[1], data=data, headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_each_role_may_use_exactly_its_api_routes(app, api_token, article, role, route):
    client = app.test_client()
    with _call(client, route, api_token(role), article) as response:
        pass
    if API_ROUTES[route][2][role]:
        assert response.status_code not in (401, 403), (
            role,
            route,
            response.status_code,
            response.data[:300],
        )
        assert response.status_code < 500, (role, route, response.data[:300])
    else:
        assert response.status_code == 403, (role, route, response.status_code)
        assert response.is_json and response.json["error"]


@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_anonymous_api_calls_get_401_in_json(app, article, route):
    with _call(app.test_client(), route, {}, article) as response:
        pass
    assert response.status_code == 401
    assert response.is_json and set(response.json) == {"error", "details"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_a_logged_in_browser_session_does_not_authenticate_the_api(app, db_session, article, route):
    from tests.web.conftest import AuthActions

    client = app.test_client()
    AuthActions(client, db_session).login("boss", role="admin")
    with _call(client, route, {}, article) as response:
        pass
    assert response.status_code == 401
