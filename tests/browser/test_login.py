"""Log in, read an article and log out in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTICLE_ID, ARTICLE_TEXT, PASSWORD, USERNAME

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "article.png"
HTMX_VERSION = "2.0.11"


def log_in(page: Page, username: str = USERNAME, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Log in").click()


def save_screenshot(page: Page, path: Path) -> None:
    # Rewritten only when the picture changed, so a test run leaves the checkout clean.
    picture = page.screenshot()
    if not path.exists() or path.read_bytes() != picture:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(picture)


def test_login_read_article_and_logout(page: Page, live_server_app, recorder):
    log_in(page)
    expect(page).to_have_url(re.compile(r"/articles/$"))
    expect(page.get_by_role("heading", name="Articles")).to_be_visible()
    link = page.get_by_role("cell").get_by_role("link", name=ARTICLE_ID)
    expect(link).to_be_visible()

    link.click()
    expect(page).to_have_url(re.compile(rf"/articles/{re.escape(ARTICLE_ID)}$"))
    text = page.locator("[data-article-id]")
    expect(text).to_have_attribute("data-article-id", ARTICLE_ID)
    expect(text).to_have_text(ARTICLE_TEXT)
    # to_have_text collapses whitespace; the paragraphs must come through untouched.
    assert text.text_content() == ARTICLE_TEXT
    assert page.evaluate("() => window.htmx && window.htmx.version") == HTMX_VERSION
    save_screenshot(page, SCREENSHOT)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    page.goto(f"/articles/{ARTICLE_ID}")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    hosts = {urlsplit(url).hostname for url in recorder.requests}
    assert hosts == {"127.0.0.1"}


def test_article_with_script_tag_shows_it_as_text(page: Page, live_server_app, recorder):
    text = "Before <script>alert(1)</script> & after <img src=x onerror=alert(2)>"
    live_server_app.add_article(external_id="xss-1", text=text)
    log_in(page)
    expect(page).to_have_url(re.compile(r"/articles/$"))

    page.goto("/articles/xss-1")
    shown = page.locator("[data-article-id]")
    expect(shown).to_have_text(text)
    assert shown.text_content() == text
    expect(shown.locator("script, img")).to_have_count(0)
    assert page.evaluate("() => typeof window.htmx") == "object"
    assert recorder.dialogs == []
    assert {urlsplit(url).hostname for url in recorder.requests} == {"127.0.0.1"}


def test_wrong_password_keeps_the_login_form(page: Page, live_server_app):
    log_in(page, password="not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(page.locator("input[name=username]")).to_have_value(USERNAME)
    page.goto("/articles/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
