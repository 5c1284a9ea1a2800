"""Search the article list from the keyboard in a real browser: type words, press Enter, read the matches."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTICLE_ID
from tests.browser.test_login import log_in

pytestmark = pytest.mark.browser


def listed(page: Page):
    return page.locator("#article-list table.articles tbody tr td:first-child a")


def test_type_words_press_enter_and_see_the_matches_without_reloading(page: Page, live_server_app):
    live_server_app.add_article(external_id="kabul-1", text="A suicide bomber struck Kabul.")
    live_server_app.add_article(external_id="kabul-2", text="Kabul was calm on Friday.")
    live_server_app.add_article(external_id="herat-1", text="Calm in Herat; a bomber was arrested.")
    log_in(page)
    expect(listed(page)).to_have_count(4)
    # A marker on the window survives only if the list is swapped in, not the page reloaded.
    page.evaluate("() => { window.stillThisPage = true; }")

    search = page.get_by_role("searchbox", name="Search")
    search.click()
    search.press_sequentially("bomber KABUL", delay=20)
    search.press("Enter")

    expect(listed(page)).to_have_text(["kabul-1"])
    expect(page).to_have_url(re.compile(r"/articles/\?q=bomber(%20|\+)KABUL"))
    assert page.evaluate("() => window.stillThisPage") is True
    expect(search).to_have_value("bomber KABUL")

    # Words again, then the beginning of an id: the list follows each search.
    search.fill("")
    search.press_sequentially("calm", delay=20)
    search.press("Enter")
    expect(listed(page)).to_have_text(["kabul-2", "herat-1"])
    search.fill("")
    search.press_sequentially("helmand-", delay=20)
    search.press("Enter")
    expect(listed(page)).to_have_text([ARTICLE_ID])

    search.fill("")
    search.press_sequentially("nothing of the sort", delay=20)
    search.press("Enter")
    expect(page.locator("#article-list")).to_contain_text("No article matches")

    # Back goes to the previous search's list.
    page.go_back()
    expect(listed(page)).to_have_text([ARTICLE_ID])
