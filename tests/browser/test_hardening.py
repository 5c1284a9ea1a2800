"""Keyboard journeys as a person types them, key by key in Chromium, and what only a browser shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from annotator.models import AnnotationState, Span
from tests.browser.conftest import ARTICLE_ID, ARTICLE_TEXT, LiveServer
from tests.browser.test_review import at, log_in, mark
from tests.factories import make_span

pytestmark = pytest.mark.browser

CASUALTY_PHRASE = "at least 12 policemen"
WOUNDED_PHRASE = "Three civilians"


def _state(server: LiveServer) -> AnnotationState | None:
    with Session(server.engine) as session:
        return session.exec(
            select(AnnotationState).where(AnnotationState.article_id == server.article.id)
        ).first()


def _copy(server: LiveServer) -> dict[str, tuple[str, dict]]:
    """Return text -> (label, attrs) of ann's working copy, straight from the database."""
    with Session(server.engine) as session:
        spans = session.exec(
            select(Span).where(Span.article_id == server.article.id, Span.origin == "annotator")
        ).all()
    return {ARTICLE_TEXT[s.start : s.end]: (s.label, s.attrs) for s in spans}


@pytest.fixture
def casualties(live_server_app):
    """Two CASUALTY spans proposed without attributes, and an ACTOR."""
    with Session(live_server_app.engine, expire_on_commit=False) as session:
        for phrase, label in (
            ("Taliban", "ACTOR"),
            (CASUALTY_PHRASE, "CASUALTY"),
            (WOUNDED_PHRASE, "CASUALTY"),
        ):
            start, end = at(phrase)
            make_span(session, live_server_app.article, start=start, end=end, label=label, origin="model")
    return live_server_app


def _open(page: Page) -> None:
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    expect(page.locator("#status .version")).to_have_text("version 0")


# --- item 1: `e`, a count, Enter ------------------------------------------------------------


@pytest.mark.parametrize("pause", [True, False], ids=["after-the-panel", "before-the-panel"])
def test_e_then_a_count_then_enter_saves_the_count_and_never_accepts(page: Page, casualties, pause):
    _open(page)
    mark(page, CASUALTY_PHRASE).click()
    if pause:
        expect(page.locator("#span-panel")).to_contain_text(CASUALTY_PHRASE)
    for key in ("e", "1", "7", "Enter"):
        page.keyboard.press(key)
    expect(mark(page, CASUALTY_PHRASE)).to_have_attribute("data-badge", re.compile(r"^17 "))
    assert _copy(casualties)[CASUALTY_PHRASE] == ("CASUALTY", {"count": 17})
    assert _state(casualties).status == "in_progress"
    # The key "1" went into the field, not to the label keys: the span is still a CASUALTY.
    expect(mark(page, CASUALTY_PHRASE)).to_have_attribute("data-label", "CASUALTY")
    # Focus left the form with the save, so shortcut keys work again at once.
    page.keyboard.press("ArrowRight")
    expect(page.locator("#span-panel")).to_contain_text(WOUNDED_PHRASE)


def test_e_focuses_the_count_field_not_a_hidden_input(page: Page, casualties):
    _open(page)
    mark(page, CASUALTY_PHRASE).click()
    expect(page.locator("#span-panel")).to_contain_text(CASUALTY_PHRASE)
    page.keyboard.press("e")
    focused = page.evaluate("() => [document.activeElement.tagName, document.activeElement.name]")
    assert focused == ["INPUT", "count"]


def test_enter_in_an_attribute_drop_down_saves_the_attributes(page: Page, casualties):
    _open(page)
    mark(page, CASUALTY_PHRASE).click()
    expect(page.locator("#span-panel")).to_contain_text(CASUALTY_PHRASE)
    page.keyboard.press("e")
    page.keyboard.type("12")
    page.keyboard.press("Tab")  # to the qualifier
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # exact, at_least
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text("≥12")
    assert _copy(casualties)[CASUALTY_PHRASE] == ("CASUALTY", {"count": 12, "qualifier": "at_least"})
    assert _state(casualties).status == "in_progress"


def test_e_on_a_span_without_attributes_says_so(page: Page, casualties):
    _open(page)
    mark(page, "Taliban").click()
    page.keyboard.press("e")
    expect(page.locator("#message")).to_have_text(
        "Only CASUALTY spans have attributes (count, qualifier, outcome, group)."
    )


# --- item 2: no accepting with incomplete casualties -------------------------------------------


def test_accepting_with_incomplete_casualties_is_refused_and_i_walks_through_them(page: Page, casualties):
    _open(page)
    page.keyboard.press("Enter")
    message = page.locator("#message")
    expect(message).to_contain_text("Not accepted: 2 CASUALTY spans still miss attributes")
    expect(message).to_contain_text(f"“{CASUALTY_PHRASE}” needs count, qualifier, outcome, group")
    expect(page.locator("#status .status")).to_have_text("todo")
    assert _state(casualties).status == "todo"
    # The first is selected for the `e` key.
    expect(page.locator("#span-panel")).to_contain_text(CASUALTY_PHRASE)
    expect(page.locator("#article-text mark.selected")).to_have_count(1)
    page.keyboard.press("i")
    expect(page.locator("#span-panel")).to_contain_text(WOUNDED_PHRASE)
    page.keyboard.press("i")  # round again
    expect(page.locator("#span-panel")).to_contain_text(CASUALTY_PHRASE)

    # Fill in both, key by key, then Enter accepts.
    for phrase, keys in ((CASUALTY_PHRASE, "12"), (WOUNDED_PHRASE, "3")):
        mark(page, phrase).click()
        expect(page.locator("#span-panel")).to_contain_text(phrase)
        page.keyboard.press("e")
        page.keyboard.type(keys)
        for _ in range(3):  # qualifier, outcome, group: the first real choice of each
            page.keyboard.press("Tab")
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(mark(page, phrase)).not_to_have_attribute("data-incomplete", re.compile(".*"))
    page.keyboard.press("i")
    expect(message).to_have_text("Every CASUALTY span has its attributes.")
    page.keyboard.press("Enter")
    expect(page.locator("#status .status")).to_have_text("accepted")
    assert _state(casualties).status == "accepted"


# --- item 3: focus after flagging, and the panel always matching the highlight ----------------------


def test_after_flagging_shortcut_keys_work_again(page: Page, casualties):
    _open(page)
    page.keyboard.press("f")
    page.keyboard.type("Is the mortar round one incident or two?")
    page.keyboard.press("Enter")
    expect(page.locator("#status .status")).to_have_text("flagged")
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#span-panel")).to_contain_text("Taliban")
    expect(page.locator("#flag-comment")).to_have_value("")


@pytest.mark.parametrize("key", ["]", "ArrowRight", "1", "Control+z"])
def test_a_click_right_after_a_key_leaves_the_panel_and_the_highlight_on_the_same_span(
    page: Page, casualties, key
):
    _open(page)
    mark(page, "Taliban").click()
    expect(page.locator("#span-panel")).to_contain_text("Taliban")
    if key == "Control+z":
        page.keyboard.press("2")  # something to undo
        expect(page.locator("#status .version")).to_have_text("version 1")
    page.keyboard.press(key)
    mark(page, WOUNDED_PHRASE).click()  # at once: the key's answer is still on its way
    expect(page.locator("#span-panel")).to_contain_text(WOUNDED_PHRASE)
    page.wait_for_load_state("networkidle")
    selected = page.locator("#article-text mark.selected")
    expect(selected).to_have_count(1)
    panel_id = page.locator("#span-panel").get_attribute("data-span-id")
    expect(selected).to_have_attribute("data-span-id", panel_id)
    expect(selected).to_have_text(WOUNDED_PHRASE)


# --- item 4: grapheme clusters --------------------------------------------------------------------

FLAG_TEXT = "Crowds waved 🇦🇫 flags and 👨‍👩‍👧 families fled Kabul."


@pytest.mark.parametrize(
    ("phrase", "key", "expected"),
    [
        ("waved", "]", "waved 🇦🇫"),
        ("flags", "[", "🇦🇫 flags"),
        ("families", "[", "👨‍👩‍👧 families"),
        ("and", "]", "and 👨‍👩‍👧"),
    ],
)
def test_resizing_by_a_token_never_splits_a_flag_or_a_zwj_sequence(
    page: Page, live_server_app, phrase, key, expected
):
    article = live_server_app.add_article(external_id="flags", text=FLAG_TEXT)
    with Session(live_server_app.engine) as session:
        start, end = at(phrase, FLAG_TEXT)
        make_span(session, article, start=start, end=end, label="ACTOR", origin="model")
    log_in(page)
    page.goto("/articles/flags")
    mark(page, phrase, FLAG_TEXT).click()
    expect(page.locator("#span-panel")).to_contain_text(phrase)
    page.keyboard.press(key)
    expect(page.locator("#article-text mark")).to_have_text(expected)
    assert page.locator("#article-text").text_content() == FLAG_TEXT


# --- item 17: a long article's edits send only what changed ------------------------------------------


def test_edits_of_a_long_article_redraw_only_their_chunks_and_keep_the_text_exact(
    page: Page, live_server_app
):
    text = ("Taliban fighters attacked a checkpoint in Helmand 🇦🇫 province.\r\n\n") * 1200
    article = live_server_app.add_article(external_id="long", text=text)
    phrases = [m.start() for m in re.finditer("Helmand", text)]
    with Session(live_server_app.engine) as session:
        for start in phrases[::50]:
            make_span(session, article, start=start, end=start + 7, label="LOCATION", origin="model")
    log_in(page)
    page.goto("/articles/long")
    target = page.locator(f'#article-text mark[data-start="{phrases[600]}"]')
    target.click()
    with page.expect_response(re.compile(r"/review/\d+/resize")) as answer:
        page.keyboard.press("]")
    body = answer.value.text()
    assert len(body) < 20_000 < len(text)  # a few chunks, not the whole article
    expect(page.locator(f'#article-text mark[data-start="{phrases[600]}"]')).to_have_text("Helmand 🇦🇫")
    page.keyboard.press("Delete")
    expect(page.locator(f'#article-text mark[data-start="{phrases[600]}"]')).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(page.locator(f'#article-text mark[data-start="{phrases[600]}"]')).to_have_count(1)
    assert page.locator("#article-text").evaluate("(e) => e.textContent") == text
    assert page.locator("#article-text mark.selected").count() == 1


# --- item 19: odd ids, and item 13: nothing the CSP refuses ----------------------------------------------

ODD_IDS = ["a/b", "x/../y", "a?b=1", "a#b", "a//b", "/leading", "..x", "100%", "a\\b"]


def test_links_to_articles_with_odd_ids_open_them_in_a_browser(page: Page, live_server_app):
    for number, external_id in enumerate(ODD_IDS):
        live_server_app.add_article(external_id=external_id, text=f"Article number {number} on Kabul.")
    log_in(page)
    for number, external_id in enumerate(ODD_IDS):
        page.goto("/articles/")
        page.get_by_role("link", name=external_id, exact=True).click()
        expect(page.locator("h1")).to_have_text(external_id)
        expect(page.locator("#article-text")).to_have_text(f"Article number {number} on Kabul.")


def test_no_page_breaks_the_content_security_policy(page: Page, casualties):
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    _open(page)
    mark(page, CASUALTY_PHRASE).click()
    page.keyboard.press("e")
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(mark(page, CASUALTY_PHRASE)).to_have_attribute("data-badge", re.compile(r"^4 "))
    for path in ("/articles/", "/guidelines/", "/accuracy/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert refused == []
