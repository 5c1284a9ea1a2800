"""The article tally in the sidebar follows edits made from the keyboard, key by key, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.browser.conftest import ARTICLE_ID, ARTICLE_TEXT
from tests.browser.test_review import at, drag_select, log_in, mark
from tests.factories import make_span

pytestmark = pytest.mark.browser


@pytest.fixture
def wounded_span(live_server_app):
    start, end = at("Three civilians")
    with Session(live_server_app.engine, expire_on_commit=False) as session:
        make_span(
            session,
            live_server_app.article,
            start=start,
            end=end,
            label="CASUALTY",
            origin="model",
            attrs={"count": 3, "qualifier": "exact", "outcome": "wounded", "group": "civilian"},
        )
    return live_server_app


def test_the_tally_follows_keyboard_edits(page: Page, wounded_span):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    tally = page.locator("#tally")
    expect(tally.locator("#tally-wounded")).to_have_attribute("data-total", "3")
    expect(tally.locator("#tally-killed")).to_have_count(0)

    # Mark "at least 12 policemen" with key 3, then type its attributes: e, 12, Tab, a, Tab, k, Tab, s, Enter.
    start, end = at("at least 12 policemen")
    drag_select(page, start, end)
    page.keyboard.press("3")
    expect(mark(page, "at least 12 policemen")).to_have_attribute("data-label", "CASUALTY")
    # A figure without its attributes is not counted yet.
    expect(tally.locator("#tally-killed")).to_have_count(0)
    page.keyboard.press("e")
    for key in ("1", "2", "Tab", "a", "Tab", "k", "Tab", "s", "Enter"):
        page.keyboard.press(key)
    expect(mark(page, "at least 12 policemen")).to_have_attribute("data-badge", "≥12 killed")
    killed = tally.locator("#tally-killed")
    expect(killed).to_have_attribute("data-total", "12")
    expect(killed).to_have_attribute("data-lower-bound", "true")
    expect(killed.locator(".tally-total")).to_have_text("≥12")
    # Enter saved the attributes; it did not accept the article.
    expect(page.locator("#status .status")).not_to_have_text("accepted")

    # Delete the figure with the Delete key: the killed row goes; Ctrl+Z brings it back.
    page.keyboard.press("Escape")
    mark(page, "at least 12 policemen").click()
    page.keyboard.press("Delete")
    expect(tally.locator("#tally-killed")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(tally.locator("#tally-killed")).to_have_attribute("data-total", "12")
    expect(tally.locator("#tally-wounded")).to_have_attribute("data-total", "3")
    assert page.locator("[data-article-id]").text_content() == ARTICLE_TEXT
