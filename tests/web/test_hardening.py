"""What an attacker or a careless URL can try: headers, redirects after login, oversized numbers and bodies."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_article
from tests.web.conftest import TEST_CSRF
from tests.web.review_helpers import HTMX, at, hx_post, make_review_article, open_review_article, working_copy

HUGE = str(2**64)
NEGATIVE_HUGE = str(-(2**64))


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/auth/login", "/articles/", "/articles/helmand%2F1", "/guidelines/", "/accuracy/"]
)
def test_every_page_sends_the_security_headers(client, auth, db_session, path):
    make_review_article(db_session)
    auth.login()
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "http" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_hold_no_inline_script_or_style(client, auth, db_session):
    make_review_article(db_session)
    auth.login()
    for path in ("/articles/", "/articles/helmand%2F1", "/accuracy/", "/guidelines/"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path


def test_static_files_may_be_cached(client):
    with client.get("/static/app.css") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_cookies_are_secure_when_the_setting_says_so(database_url):
    from annotator import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "k", "SECURE_COOKIES": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    client.get("/auth/login")
    assert "Secure" in client.get("/auth/login").headers.get("Set-Cookie", "Secure")
    app.extensions["annotator.engine"].dispose()


def test_secure_cookies_are_off_by_default(app):
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_a_body_over_the_limit_is_413(client, auth, db_session):
    article = make_review_article(db_session)
    auth.login()
    client.get("/articles/helmand%2F1")
    too_big = "x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(
        f"/review/{article.id}/status",
        data={"status": "flagged", "comment": too_big, "version": "0", "csrf_token": TEST_CSRF},
    )
    assert response.status_code == 413
    assert client.application.config["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024


# --- where a login leads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_", "lands"),
    [
        ("/auth/logout", "/articles/"),  # POST only: it would be a 405 page
        ("/review/1/status", "/articles/"),
        ("/nowhere/at/all", "/articles/"),
        ("/accuracy/?gold=model", "/accuracy/?gold=model"),
        ("/articles/a1", "/articles/a1"),
        ("//evil.example/x", "/articles/"),
        ("https://evil.example/", "/articles/"),
    ],
)
def test_login_leads_only_to_a_page_a_get_can_fetch(client, auth, db_session, next_, lands):
    from tests.factories import make_user

    make_article(db_session, external_id="a1")
    make_user(db_session)
    auth.set_csrf()
    response = client.post(
        "/auth/login",
        query_string={"next": next_},
        data={"username": "ann", "password": "secret-pw", "csrf_token": TEST_CSRF},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == lands


def test_an_expired_sessions_logout_click_ends_on_the_article_list(client, auth, db_session):
    # Logged out: the logout button of an old tab posts, which sends to the login page with next=...
    response = client.post("/auth/logout", data={"csrf_token": TEST_CSRF})
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert "next=/auth/logout" in login_url.replace("%2F", "/")
    auth.set_csrf()
    from tests.factories import make_user

    make_user(db_session)
    done = client.post(login_url, data={"username": "ann", "password": "secret-pw", "csrf_token": TEST_CSRF})
    assert done.headers["Location"] == "/articles/"
    assert client.get(done.headers["Location"]).status_code == 200


# --- numbers the database cannot hold ----------------------------------------------------------


@pytest.fixture
def opened(client, auth, db_session):
    return open_review_article(client, auth, db_session)


@pytest.mark.parametrize("value", [HUGE, NEGATIVE_HUGE, "9" * 30])
def test_oversized_numbers_in_urls_are_400_or_404(client, opened, value):
    for url in (
        f"/articles/?after={value}",
        f"/articles/?before={value}",
        f"/articles/helmand%2F1?span={value}",
        f"/review/{value}/panel",
        f"/review/{opened.id}/panel?span={value}",
        f"/gold/{value}/history",
    ):
        response = client.get(url)
        assert response.status_code in (400, 404), url


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("spans", "version"),
        ("spans", "start"),
        ("spans", "end"),
        ("delete", "span"),
        ("delete", "version"),
        ("label", "span"),
        ("resize", "span"),
        ("attrs", "span"),
        ("status", "version"),
        ("undo", "version"),
    ],
)
@pytest.mark.parametrize("value", [HUGE, NEGATIVE_HUGE])
def test_oversized_numbers_in_edit_forms_are_400_and_save_nothing(
    client, opened, db_session, action, field, value
):
    before = working_copy(db_session, opened, "ann")
    values = {
        "version": "0",
        "start": "9",
        "end": "15",
        "label": "ACTOR",
        "span": "1",
        "move": "grow-end",
        "status": "accepted",
        "count": "3",
        field: value,
    }
    for headers in (HTMX, {}):
        data = values if headers else {**values, "csrf_token": TEST_CSRF}
        response = client.post(f"/review/{opened.id}/{action}", data=data, headers=headers)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert "too large a number" in response.get_data(as_text=True)
    assert working_copy(db_session, opened, "ann") == before


@pytest.mark.parametrize("value", [HUGE, NEGATIVE_HUGE])
def test_oversized_article_number_in_an_edit_url_is_404(client, opened, value):
    assert (
        hx_post(client, f"/review/{value}/spans", version=0, start=0, end=5, label="ACTOR").status_code == 404
    )


def test_oversized_numbers_in_gold_forms_are_400(app, client, db_session):
    from tests.web.conftest import AuthActions

    article = make_review_article(db_session)
    AuthActions(client, db_session).login("rev", role="reviewer")
    for data in ({"annotator": "rev", "replaces": HUGE}, {"revision": HUGE, "replaces": "0"}):
        action = "promote" if "annotator" in data else "restore"
        response = client.post(f"/gold/{article.id}/{action}", data={**data, "csrf_token": TEST_CSRF})
        assert response.status_code == 400
    assert client.get(f"/gold/{article.id}/restore?revision={HUGE}").status_code == 400


# --- small things a new user noticed ------------------------------------------------------------


def test_the_guidelines_page_shows_annotators_only_what_is_meant_for_them(client, auth):
    auth.login()
    html = client.get("/guidelines/").get_data(as_text=True)
    assert "For the project" not in html and "The app should show" not in html
    assert "What to mark in each article" in html and 'id="article-tally"' in html


def test_the_list_preview_ends_with_an_ellipsis_only_when_the_text_goes_on(client, auth, db_session):
    make_article(db_session, external_id="short", text="Kabul was quiet.")
    make_article(db_session, external_id="long", text="Kabul " * 100)
    auth.login()
    html = client.get("/articles/").get_data(as_text=True)
    assert re.search(r'<td class="preview">Kabul was quiet\.</td>', html)
    assert re.search(r'<td class="preview">(Kabul ){26}Kabu…</td>', html)


def test_undo_messages_name_the_label_with_the_right_article(client, opened, db_session):
    start, end = at("checkpoint")
    hx_post(client, f"/review/{opened.id}/spans", version=0, start=start, end=end, label="ACTOR")
    html = hx_post(client, f"/review/{opened.id}/undo", version=1).get_data(as_text=True)
    assert "Undid adding an ACTOR span." in html


def test_the_accuracy_page_names_a_source_with_the_right_article(client, auth, db_session):
    from tests.factories import make_span, make_user

    ann2 = make_user(db_session, username="ann2")
    for external_id in ("a1", "a2"):
        article = make_article(
            db_session, external_id=external_id, text=f"Taliban fighters attacked Kabul ({external_id})."
        )
        make_span(db_session, article, start=0, end=7, label="ACTOR")
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann2)
    auth.login("rev", role="reviewer")
    html = client.get("/accuracy/?gold=gold&pred=annotator:ann2").get_data(as_text=True)
    assert "without an annotator:ann2 version" in html


@pytest.mark.parametrize(
    "query", ["?external_id=other", "?_method=POST", "?_external=1&_anchor=x", "?page=2"]
)
def test_a_logged_out_visit_with_any_query_string_is_sent_to_login(client, db_session, query):
    make_article(db_session, external_id="a1")
    response = client.get(f"/articles/a1{query}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
