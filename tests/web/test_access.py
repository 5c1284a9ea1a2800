"""Every route, walked per role: the server decides who may do what, never a hidden button.

A new route must be added to ROUTES (or to a table in tests/web/access_routes/, one per
workflow), or test_every_route_is_in_the_table fails.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from tests.web import access_routes
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import HTMX, make_review_article

ROLES = ("annotator", "reviewer", "admin")
EVERYONE = dict.fromkeys(ROLES, True)
REVIEWERS = {"annotator": False, "reviewer": True, "admin": True}

# (endpoint, method) -> (URL, form data, who may). "{id}" is the article's number; "{other}" an
# annotator's work that the caller does not own. Everyone may use their own working copy.
ROUTES = {
    ("index", "GET"): ("/", None, EVERYONE),
    ("health", "GET"): ("/healthz", None, EVERYONE),
    ("readyz", "GET"): ("/readyz", None, EVERYONE),
    ("static", "GET"): ("/static/app.css", None, EVERYONE),
    ("auth.login", "GET"): ("/auth/login", None, EVERYONE),
    ("auth.login", "POST"): ("/auth/login", {"username": "a-{role}", "password": "secret-pw"}, EVERYONE),
    ("auth.logout", "POST"): ("/auth/logout", {}, EVERYONE),
    ("annotate.list_articles", "GET"): ("/articles/", None, EVERYONE),
    ("annotate.show_article", "GET"): ("/articles/helmand%2F1", None, EVERYONE),
    ("annotate.next_article", "POST"): ("/articles/next", {}, EVERYONE),
    ("guidelines.show", "GET"): ("/guidelines/", None, EVERYONE),
    ("accuracy.show", "GET"): ("/accuracy/?gold=model&pred=model", None, EVERYONE),
    ("review.add", "POST"): (
        "/review/{id}/spans",
        {"version": 0, "start": 40, "end": 46, "label": "ACTOR"},
        EVERYONE,
    ),
    ("review.panel", "GET"): ("/review/{id}/panel", None, EVERYONE),
    ("review.refresh", "GET"): ("/review/{id}/refresh", None, EVERYONE),
    ("review.relabel", "POST"): ("/review/{id}/label", {"version": 0, "span": 0, "label": "ACTOR"}, EVERYONE),
    ("review.delete", "POST"): ("/review/{id}/delete", {"version": 0, "span": 0}, EVERYONE),
    ("review.resize", "POST"): (
        "/review/{id}/resize",
        {"version": 0, "span": 0, "move": "grow-end"},
        EVERYONE,
    ),
    ("review.attributes", "POST"): ("/review/{id}/attrs", {"version": 0, "span": 0, "count": "1"}, EVERYONE),
    ("review.status", "POST"): ("/review/{id}/status", {"version": 0, "status": "skipped"}, EVERYONE),
    ("review.undo", "POST"): ("/review/{id}/undo", {"version": 0}, EVERYONE),
    ("review.start", "POST"): ("/review/{id}/start", {}, EVERYONE),
    ("team.dashboard", "GET"): ("/team/", None, EVERYONE),
    ("team.agreement", "GET"): ("/team/agreement", None, REVIEWERS),
    ("gold.confirm_promotion", "GET"): ("/gold/{id}/promote?annotator={other}", None, REVIEWERS),
    ("gold.promote", "POST"): (
        "/gold/{id}/promote",
        {"annotator": "{other}", "replaces": 0, "reason": "r"},
        REVIEWERS,
    ),
    ("curation.show", "GET"): ("/curate/{id}", None, REVIEWERS),
    ("curation.panel", "GET"): ("/curate/{id}/panel", None, REVIEWERS),
    ("curation.refresh", "GET"): ("/curate/{id}/refresh", None, REVIEWERS),
    ("curation.add", "POST"): (
        "/curate/{id}/spans",
        {"version": 0, "start": 40, "end": 46, "label": "ACTOR"},
        REVIEWERS,
    ),
    ("curation.relabel", "POST"): (
        "/curate/{id}/label",
        {"version": 0, "span": 1, "label": "ACTOR"},
        REVIEWERS,
    ),
    ("curation.delete", "POST"): ("/curate/{id}/delete", {"version": 0, "span": 1}, REVIEWERS),
    ("curation.resize", "POST"): (
        "/curate/{id}/resize",
        {"version": 0, "span": 1, "move": "grow-end"},
        REVIEWERS,
    ),
    ("curation.attributes", "POST"): (
        "/curate/{id}/attrs",
        {"version": 0, "span": 1, "count": "1"},
        REVIEWERS,
    ),
    ("curation.decide", "POST"): (
        "/curate/{id}/candidates",
        {"version": 0, "reject": "0-5-LOCATION"},
        REVIEWERS,
    ),
    ("curation.undo", "POST"): ("/curate/{id}/undo", {"version": 0}, REVIEWERS),
    ("curation.finish", "POST"): ("/curate/{id}/finish", {"version": 0, "confirm": "1"}, REVIEWERS),
    ("curation.reopen", "POST"): ("/curate/{id}/reopen", {"version": 0}, REVIEWERS),
    ("queue.show", "GET"): ("/queue/", None, REVIEWERS),
    ("queue.next_article", "GET"): ("/queue/next", None, REVIEWERS),
    ("queue.counts", "GET"): ("/queue/counts", None, REVIEWERS),
    ("flags.answer", "POST"): ("/flags/{id}/answer", {"annotator": "{other}", "note": "n"}, REVIEWERS),
    ("flags.send_back", "POST"): ("/flags/{id}/send-back", {"annotator": "{other}", "note": "n"}, REVIEWERS),
    # The world's article has gold and "other" accepted it; the setting is off, so annotators
    # get 403 here, and reviewers read other's version.
    ("feedback.show", "GET"): ("/feedback/{id}?annotator={other}", None, REVIEWERS),
    ("gold.history", "GET"): ("/gold/{id}/history", None, REVIEWERS),
    ("gold.confirm_restore", "GET"): ("/gold/{id}/restore?revision=1", None, REVIEWERS),
    ("gold.restore", "POST"): (
        "/gold/{id}/restore",
        {"revision": 1, "replaces": 2, "reason": "r"},
        REVIEWERS,
    ),
}

ADMINS = {"annotator": False, "reviewer": False, "admin": True}
ROUTES[("admin.index", "GET")] = ("/admin/", None, ADMINS)
for _module in pkgutil.iter_modules(access_routes.__path__):
    ROUTES.update(importlib.import_module(f"{access_routes.__name__}.{_module.name}").ROUTES)

# Reading another annotator's work: reviewers and admins only.
OTHERS_WORK = [
    "/articles/helmand%2F1?annotator={other}",
    "/review/{id}/panel?annotator={other}",
    "/accuracy/?gold=model&pred=annotator:{other}",
    "/accuracy/?gold=gold&pred=model",
]


def test_every_route_is_in_the_table(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
        # The JSON API has its own table (tests/api/test_api_access.py).
        if not rule.rule.startswith("/api/")
    }
    assert routes == set(ROUTES)


@pytest.fixture
def world(app, db_session):
    """An article that "other" opened and accepted, with a gold of two revisions."""
    article = make_review_article(db_session)
    other = app.test_client()
    AuthActions(other, db_session).login("other")
    other.get("/articles/helmand%2F1")
    other.post(
        f"/review/{article.id}/status", data={"version": 0, "status": "accepted", "csrf_token": TEST_CSRF}
    )
    from tests.factories import make_span

    make_span(db_session, article, start=0, end=5, label="LOCATION")
    make_span(db_session, article, start=8, end=15, label="ACTOR")
    return article


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_each_role_may_use_exactly_its_routes(app, db_session, world, role, route):
    client = app.test_client()
    AuthActions(client, db_session).login(f"a-{role}", role=role)
    url, data, who = ROUTES[route]
    url = url.format(id=world.id, other="other")
    method = route[1]
    if data is not None:
        data = {key: str(value).format(other="other", role=role) for key, value in data.items()}
        data["csrf_token"] = TEST_CSRF
    with client.open(
        url, method=method, data=data, headers=HTMX if route[0].startswith(("review", "curation")) else {}
    ) as response:
        pass
    if who[role]:
        assert response.status_code not in (401, 403), (role, route, response.status_code)
        assert response.status_code < 500
    else:
        assert response.status_code == 403, (role, route, response.status_code)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", OTHERS_WORK)
def test_only_reviewers_and_admins_read_anyone_elses_work_or_gold(app, db_session, world, role, url):
    client = app.test_client()
    AuthActions(client, db_session).login(f"a-{role}", role=role)
    response = client.get(url.format(id=world.id, other="other"), headers=HTMX if "panel" in url else {})
    assert response.status_code == (403 if role == "annotator" else 200)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda route: f"{route[1]} {route[0]}")
def test_anonymous_visitors_reach_only_the_public_routes(client, world, route):
    url, data, _ = ROUTES[route]
    url = url.format(id=world.id, other="other")
    with client.session_transaction() as session:
        session["csrf_token"] = TEST_CSRF
    data = {
        **{key: str(value).format(other="other", role="nobody") for key, value in (data or {}).items()},
        "csrf_token": TEST_CSRF,
    }
    with client.open(url, method=route[1], data=data if route[1] == "POST" else None) as response:
        pass
    if route[0] in ("health", "readyz", "static", "auth.login"):
        assert response.status_code in (200, 401), (route, response.status_code)  # 401: a wrong password
    else:
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], route
