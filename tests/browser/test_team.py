"""Two annotators annotate the same article in Chromium; a reviewer then reads their agreement."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from annotator.services.settings import set_setting
from annotator.services.users import create_user
from tests.browser.conftest import ARTICLE_ID, PASSWORD, USERNAME
from tests.browser.test_review import at, mark
from tests.factories import make_span

pytestmark = pytest.mark.browser


def _log_in(page: Page, username: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/articles/$"))


def test_two_annotators_then_a_reviewer_sees_their_agreement(browser, live_server_app):
    with Session(live_server_app.engine, expire_on_commit=False) as session:
        set_setting(session, "annotators_per_article", "2")
        create_user(session, "bob", "pw-bob", role="annotator")
        create_user(session, "rev", "pw-rev", role="reviewer")
        for phrase, label in (("Taliban", "ACTOR"), ("Omar Zwak", "ACTOR"), ("Interior Ministry", "ACTOR")):
            start, end = at(phrase)
            make_span(session, live_server_app.article, start=start, end=end, label=label, origin="model")

    for username, password, drop in ((USERNAME, PASSWORD, None), ("bob", "pw-bob", "Omar Zwak")):
        context = browser.new_context(base_url=live_server_app.url)
        page = context.new_page()
        try:
            _log_in(page, username, password)
            page.get_by_role("button", name="Start annotating").click()  # Next: claims the article
            expect(page).to_have_url(re.compile(rf"/articles/{ARTICLE_ID}$"))
            page.wait_for_load_state()  # the keys below need app.js, which runs once the page has loaded
            if drop:
                mark(page, drop).click()
                expect(page.locator("#span-panel")).to_contain_text(drop)
                page.keyboard.press("Delete")
                expect(mark(page, drop)).to_have_count(0)
            page.keyboard.press("Enter")
            expect(page.locator("#status .status")).to_have_text("accepted")
        finally:
            context.close()

    context = browser.new_context(base_url=live_server_app.url)
    page = context.new_page()
    try:
        _log_in(page, "rev", "pw-rev")
        page.get_by_role("link", name="Agreement").click()
        expect(page.locator(".acc-summary")).to_contain_text("1 article accepted by two or more of ann, bob")
        # ann kept three spans, bob two of them: strict F1 = 2·2 / (3 + 2) = 0.8.
        expect(page.locator("#mean-strict")).to_have_text("0.800")
        expect(page.locator('[data-pair="ann|bob"]').first).to_contain_text("strict 0.800")
        page.get_by_role("link", name="Team").click()
        expect(page.locator('tr[data-annotator="bob"] .f1-others')).to_have_text("0.800")
        expect(page.locator("tr[data-annotator]")).to_have_count(2 + 2 * 3)  # rows, then per label
    finally:
        context.close()
