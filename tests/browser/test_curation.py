"""A reviewer adjudicates an article with conflicts in Chromium, keyboard only, and exports its gold."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from annotator.models import AnnotationState, Span
from annotator.services.export import export
from annotator.services.users import create_user
from tests.browser.conftest import ARTICLE_TEXT
from tests.browser.test_review import at, mark, save_screenshot

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "curation.png"
DEAD = {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "security"}
COMMON = [("Taliban", "ACTOR", {}), ("at least 12 policemen", "CASUALTY", DEAD)]
VERSIONS = {
    "ann": [*COMMON, ("Helmand province", "LOCATION", {}), ("Omar Zwak", "ACTOR", {})],
    "bob": [*COMMON, ("Helmand", "LOCATION", {}), ("Interior Ministry", "ACTOR", {})],
}


@pytest.fixture
def conflicted(live_server_app):
    """ann and bob accepted versions that agree on two spans and differ on four; rev reviews."""
    with Session(live_server_app.engine, expire_on_commit=False) as session:
        create_user(session, "rev", "pw-rev", role="reviewer")
        for username, spans in VERSIONS.items():
            user = (
                create_user(session, username, f"pw-{username}", role="annotator")
                if username != "ann"
                else None
            )
            if user is None:
                from annotator.services.users import get_user_by_name

                user = get_user_by_name(session, "ann")
            session.add(
                AnnotationState(article_id=live_server_app.article.id, user_id=user.id, status="accepted")
            )
            for phrase, label, attrs in spans:
                start, end = at(phrase)
                session.add(
                    Span(
                        article_id=live_server_app.article.id,
                        start=start,
                        end=end,
                        label=label,
                        attrs=attrs,
                        origin="annotator",
                        owner_id=user.id,
                    )
                )
        session.commit()
    return live_server_app


def current(page: Page):
    return page.locator("#candidates li.current")


def test_a_reviewer_adjudicates_with_the_keyboard_and_the_export_holds_their_gold(
    page: Page, conflicted, tmp_path
):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/auth/login")
    page.fill("input[name=username]", "rev")
    page.fill("input[name=password]", "pw-rev")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/articles/$"))
    page.goto(f"/curate/{conflicted.article.id}")

    # The top bar's count arrives after the page: this one article waits.
    expect(page.locator("#review-queue-count")).to_have_text("1")
    # The draft starts with what both versions have; four candidates are open.
    expect(page.locator("#article-text mark")).to_have_count(2)
    expect(page.locator("#open-candidates")).to_contain_text("4 open candidates")

    page.keyboard.press("j")  # "Helmand" (bob)
    expect(current(page)).to_contain_text("Helmand")
    expect(current(page).locator("abbr")).to_have_text("BO")
    save_screenshot(page, SCREENSHOT)
    page.keyboard.press("j")  # "Helmand province" (ann)
    expect(current(page)).to_contain_text("Helmand province")
    page.keyboard.press("a")
    expect(mark(page, "Helmand province")).to_have_count(1)
    # Its rival is set aside with it; the next open candidate is current.
    expect(page.locator("#open-candidates")).to_contain_text("2 open candidates")
    expect(current(page)).to_contain_text("Interior Ministry")

    # Finishing now asks first; Escape keeps reviewing.
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#finish-anyway")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#finish-confirm")).to_have_count(0)

    page.keyboard.press("x")  # reject "Interior Ministry"
    expect(page.locator("#open-candidates")).to_contain_text("1 open candidate")
    expect(current(page)).to_contain_text("Omar Zwak")
    page.keyboard.press("a")
    expect(mark(page, "Omar Zwak")).to_have_count(1)
    expect(page.locator("#open-candidates")).to_contain_text("No open candidates")

    # The review edits work on the draft: an accepted candidate is selected; Escape, then the first span.
    expect(page.locator("#span-panel")).to_contain_text("Omar Zwak")
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#span-panel")).to_contain_text("Taliban")
    expect(page.locator("#span-panel")).to_contain_text("In the versions of ann, bob")
    page.keyboard.press("]")
    expect(mark(page, "Taliban fighters")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(mark(page, "Taliban")).to_have_count(1)
    page.keyboard.press("]")
    expect(mark(page, "Taliban fighters")).to_have_count(1)
    expect(page.locator("#span-panel")).to_contain_text("made or changed by the reviewer")

    # e edits a CASUALTY's attributes in the draft, key by key; Enter saves them and finishes nothing.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#span-panel")).to_contain_text("at least 12 policemen")
    page.keyboard.press("e")
    for key in ("1", "3", "Enter"):
        page.keyboard.press(key)
    expect(mark(page, "at least 12 policemen")).to_have_attribute("data-badge", "≥13 killed")
    expect(page.locator("#status")).to_contain_text("draft gold")

    page.keyboard.press("Shift+Enter")
    expect(page.locator("#status")).to_contain_text("Saved as gold (revision 1) by rev")
    page.wait_for_load_state()
    expect(page.locator("#review-queue-count")).to_have_text("0")
    # n: the next article to adjudicate; there is none, so the queue says so.
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/queue/$"))
    expect(page.locator(".flash")).to_contain_text("Nothing waits for adjudication")

    with Session(conflicted.engine) as session:
        export(session, "gold", tmp_path / "gold.jsonl")
    (document,) = [json.loads(line) for line in (tmp_path / "gold.jsonl").read_text().splitlines()]
    spans = [
        (ARTICLE_TEXT[s["start"] : s["end"]], s["label"], s.get("provenance")) for s in document["spans"]
    ]
    assert spans == [
        ("Taliban fighters", "ACTOR", {"annotators": [], "changed": True}),
        ("Helmand province", "LOCATION", {"annotators": ["ann"], "changed": False}),
        ("at least 12 policemen", "CASUALTY", {"annotators": [], "changed": True}),
        ("Omar Zwak", "ACTOR", {"annotators": ["ann"], "changed": False}),
    ]
    assert document["spans"][2]["attrs"] == {**DEAD, "count": 13}
    assert "provenance" not in document.get("meta", {})
