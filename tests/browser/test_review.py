"""Correct an article's spans in a real browser: mouse selection, keys, undo, accept, next, reload."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import event
from sqlmodel import Session, select

from annotator.models import Span
from tests.browser.conftest import ARTICLE_ID, ARTICLE_TEXT, PASSWORD, USERNAME
from tests.factories import make_span

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "annotate.png"
NEXT_ID = "kunduz-2024-05-13"
NEXT_TEXT = "KUNDUZ — Fighting continued in Kunduz province on Monday, officials said."
# What the model proposed for ARTICLE_TEXT, mistakes included.
MODEL_SPANS = [
    ("LASHKAR GAH", "LOCATION"),
    ("Taliban", "ACTOR"),
    ("Helmand", "LOCATION"),  # should be "Helmand province"
    ("Sangin district", "ACTOR"),  # should be a LOCATION
    ("Interior Ministry", "ACTOR"),
    ("Afghan", "ACTOR"),  # a bare nationality adjective: not an actor
    ("Omar Zwak", "ACTOR"),
]

# Mouse coordinates of the first and last character of [start, end) (offsets in code points).
CHARACTER_BOXES = """([start, end]) => {
  const root = document.querySelector("[data-article-id]");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  function locate(offset) {
    let seen = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const points = Array.from(node.data);
      if (offset < seen + points.length) {
        return [node, points.slice(0, offset - seen).join("").length];
      }
      seen += points.length;
    }
    throw new Error("offset " + offset + " is past the text");
  }
  function box(offset) {
    walker.currentNode = root;
    const [node, index] = locate(offset);
    const range = document.createRange();
    range.setStart(node, index);
    range.setEnd(node, index + Array.from(node.data.slice(index))[0].length);
    return range.getBoundingClientRect();
  }
  window.scrollBy(0, box(start).top - innerHeight / 3);
  const first = box(start), last = box(end - 1);
  return {x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2};
}"""


def at(phrase: str, text: str = ARTICLE_TEXT) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def log_in(page: Page) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/articles/$"))


def drag_select(page: Page, start: int, end: int) -> None:
    """Select the characters [start, end) of the article text by dragging the mouse over them."""
    box = page.evaluate(CHARACTER_BOXES, [start, end])
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()


def mark(page: Page, phrase: str, text: str = ARTICLE_TEXT):
    start, end = at(phrase, text)
    return page.locator(f'[data-article-id] mark[data-start="{start}"][data-end="{end}"]')


def save_screenshot(page: Page, path: Path) -> None:
    # Rewritten only when the picture changed, so a test run leaves the checkout clean.
    picture = page.screenshot()
    if not path.exists() or path.read_bytes() != picture:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(picture)


def stored_spans(live_server_app, external_id: str = ARTICLE_ID) -> list[tuple[str, str, dict]]:
    """Return (text, label, attrs) of ann's working copy, straight from the database."""
    with Session(live_server_app.engine) as session:
        spans = session.exec(
            select(Span).where(Span.article_id == live_server_app.article.id, Span.origin == "annotator")
        ).all()
        text = live_server_app.article.text
        return sorted((text[s.start : s.end], s.label, s.attrs) for s in spans)


@pytest.fixture
def model_spans(live_server_app):
    with Session(live_server_app.engine, expire_on_commit=False) as session:
        for phrase, label in MODEL_SPANS:
            start, end = at(phrase)
            make_span(session, live_server_app.article, start=start, end=end, label=label, origin="model")
    live_server_app.add_article(external_id=NEXT_ID, text=NEXT_TEXT)
    return live_server_app


def test_correct_an_article_with_mouse_and_keys(page: Page, model_spans, recorder):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    text = page.locator("[data-article-id]")
    expect(text.locator("mark")).to_have_count(len(MODEL_SPANS))
    # Set on this document: still there at the end means no edit reloaded the page.
    page.evaluate("() => { window.sameDocument = true; }")

    # Add: drag over part of "at least 12 policemen", then key 3; the span snaps to whole tokens.
    start, end = at("t least 12 police")
    drag_select(page, start, end)
    page.keyboard.press("3")
    casualty = mark(page, "at least 12 policemen")
    expect(casualty).to_have_attribute("data-label", "CASUALTY")
    expect(page.locator("#message")).to_have_text(
        "Snapped to whole tokens: added CASUALTY “at least 12 policemen”."
    )

    # Edit its attributes in the panel (the new span is selected).
    panel = page.locator("#span-panel")
    panel.get_by_label("count").fill("12")
    panel.get_by_label("qualifier").select_option("at_least")
    panel.get_by_label("outcome").select_option("killed")
    panel.get_by_label("group").select_option("security")
    panel.get_by_role("button", name="Save attributes").click()
    expect(casualty).to_have_attribute("data-badge", "≥12 killed")

    # Relabel: click "Sangin district", key 2.
    mark(page, "Sangin district").click()
    expect(panel).to_contain_text("Sangin district")
    page.keyboard.press("2")
    expect(mark(page, "Sangin district")).to_have_attribute("data-label", "LOCATION")

    # Resize: "Helmand" takes in "province" with ].
    mark(page, "Helmand").click()
    page.keyboard.press("]")
    expect(mark(page, "Helmand province")).to_have_attribute("data-label", "LOCATION")

    # Delete "Afghan" with the Delete key, then undo twice (the delete, then the resize).
    mark(page, "Afghan").click()
    expect(panel).to_contain_text("“Afghan”")
    page.keyboard.press("Delete")
    expect(mark(page, "Afghan")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(mark(page, "Afghan")).to_have_count(1)
    page.keyboard.press("Control+z")
    expect(mark(page, "Helmand")).to_have_count(1)
    expect(page.locator("#message")).to_have_text("Undid resizing a LOCATION span.")
    # Redo both by hand, quickly: the edits queue, each on the version the previous one made.
    page.keyboard.press("]")
    mark(page, "Afghan").click()
    page.keyboard.press("Backspace")
    expect(mark(page, "Afghan")).to_have_count(0)
    expect(mark(page, "Helmand province")).to_have_count(1)

    mark(page, "at least 12 policemen").click()
    expect(panel.get_by_label("count")).to_have_value("12")
    expect(text).to_have_text(ARTICLE_TEXT)
    assert text.text_content() == ARTICLE_TEXT
    save_screenshot(page, SCREENSHOT)

    # Accept with Enter; both progress counts move.
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page.locator("#status .status")).to_have_text("accepted")
    expect(page.locator("#progress")).to_contain_text("You: 1 of 2 accepted")
    assert page.evaluate("() => window.sameDocument") is True

    # Next article with n; then back to the first: every change was kept.
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"/articles/{NEXT_ID}$"))
    expect(page.locator("[data-article-id]")).to_have_attribute("data-article-id", NEXT_ID)
    page.goto(f"/articles/{ARTICLE_ID}")
    expect(mark(page, "Helmand province")).to_have_attribute("data-label", "LOCATION")
    expect(mark(page, "Sangin district")).to_have_attribute("data-label", "LOCATION")
    expect(mark(page, "at least 12 policemen")).to_have_attribute("data-badge", "≥12 killed")
    expect(mark(page, "Afghan")).to_have_count(0)
    expect(page.locator("#status .status")).to_have_text("accepted")
    assert stored_spans(model_spans) == sorted(
        [
            ("LASHKAR GAH", "LOCATION", {}),
            ("Taliban", "ACTOR", {}),
            ("Helmand province", "LOCATION", {}),
            ("Sangin district", "LOCATION", {}),
            (
                "at least 12 policemen",
                "CASUALTY",
                {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "security"},
            ),
            ("Interior Ministry", "ACTOR", {}),
            ("Omar Zwak", "ACTOR", {}),
        ]
    )
    assert {urlsplit(url).hostname for url in recorder.requests} == {"127.0.0.1"}


def test_overlapping_span_gets_a_message_and_nothing_changes(page: Page, model_spans):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    start, end = at("Taliban fighters")
    drag_select(page, start, end)
    page.keyboard.press("1")
    expect(page.locator("#message")).to_contain_text("would overlap “Taliban” (ACTOR)")
    expect(page.locator("#status .version")).to_have_text("version 0")
    expect(page.locator("[data-article-id] mark")).to_have_count(len(MODEL_SPANS))


def test_an_edit_lost_on_the_network_says_so_then_shows_what_the_server_holds(page: Page, model_spans):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    mark(page, "Afghan").click()
    expect(page.locator("#span-panel")).to_contain_text("“Afghan”")
    # The browser goes offline, so the edit never reaches the server.
    page.context.set_offline(True)
    page.keyboard.press("Delete")
    message = page.locator("#message")
    expect(message).to_contain_text("your last edit may or may not be saved")
    expect(message).to_contain_text("asking again in")
    page.keyboard.press("Delete")  # nothing more is sent while the answer is unknown
    expect(message).to_contain_text("Not sent: waiting for the server")
    page.context.set_offline(False)
    # The page asks again by itself and shows what the server holds: the edit never arrived.
    expect(message).to_contain_text(
        "This is your version as saved on the server, version 0: no change is saved since you first opened it.",
        timeout=15000,
    )
    expect(mark(page, "Afghan")).to_have_count(1)
    mark(page, "Afghan").click()
    page.keyboard.press("Delete")
    expect(mark(page, "Afghan")).to_have_count(0)
    expect(page.locator("#status .version")).to_have_text("version 1")


def test_an_edit_saved_but_whose_answer_was_lost_shows_it_was_saved(page: Page, model_spans):
    """The connection drops after the server committed: the page must not claim the edit was lost."""
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    mark(page, "Afghan").click()
    expect(page.locator("#span-panel")).to_contain_text("“Afghan”")

    def deliver_then_drop(route):
        route.fetch()  # the server gets the edit and commits it
        route.abort("connectionreset")  # but the browser never hears back

    page.route("**/review/*/delete", deliver_then_drop)
    page.keyboard.press("Delete")
    message = page.locator("#message")
    expect(message).to_contain_text(
        "This is your version as saved on the server, version 1: the last saved change is deleting an ACTOR "
        "span “Afghan”",
        timeout=15000,
    )
    expect(message).to_contain_text("The connection dropped before the server answered")
    expect(mark(page, "Afghan")).to_have_count(0)
    expect(page.locator("#status .version")).to_have_text("version 1")
    page.unroute("**/review/*/delete")
    page.keyboard.press("Control+z")  # and the next edit goes out with the right version
    expect(mark(page, "Afghan")).to_have_count(1)
    expect(page.locator("#status .version")).to_have_text("version 2")


def test_an_edit_on_a_locked_database_says_it_was_not_saved_and_the_retry_works(page: Page, model_spans):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    mark(page, "Afghan").click()
    expect(page.locator("#span-panel")).to_contain_text("“Afghan”")
    # Another writer holds the SQLite file; the server gives up waiting for it at once.
    engine = model_spans.engine
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout=20"))
    engine.dispose()
    writer = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        page.keyboard.press("Delete")
        # The 503 says so, then the page shows what the server holds: nothing was saved.
        expect(page.locator("#message")).to_contain_text(
            "The server could not finish your last edit. This is your version as saved on the server, "
            "version 0: no change is saved since you first opened it.",
            timeout=15000,
        )
        expect(mark(page, "Afghan")).to_have_count(1)
    finally:
        writer.close()
    mark(page, "Afghan").click()
    page.keyboard.press("Delete")
    expect(mark(page, "Afghan")).to_have_count(0)
    expect(page.locator("#status .version")).to_have_text("version 1")


def test_edit_from_a_stale_tab_is_refused_and_the_tab_refreshed(page: Page, model_spans):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    other = page.context.new_page()
    other.goto(f"/articles/{ARTICLE_ID}")

    mark(page, "Taliban").click()
    page.keyboard.press("Delete")
    expect(mark(page, "Taliban")).to_have_count(0)

    # The stale tab still shows Taliban; an edit of another span is refused and the tab refreshed.
    mark(other, "Afghan").click()
    expect(other.locator("#span-panel")).to_contain_text("“Afghan”")
    other.keyboard.press("2")
    expect(other.locator("#message")).to_contain_text("changed in another tab or window")
    expect(mark(other, "Taliban")).to_have_count(0)  # the refreshed text shows the other tab's delete
    expect(mark(other, "Afghan")).to_have_attribute("data-label", "ACTOR")  # the refused edit did nothing
    expect(other.locator("#status .version")).to_have_text("version 1")
    other.close()


def test_clicking_a_span_deleted_in_another_tab_refreshes_the_tab(page: Page, model_spans):
    log_in(page)
    page.goto(f"/articles/{ARTICLE_ID}")
    other = page.context.new_page()
    other.goto(f"/articles/{ARTICLE_ID}")
    mark(page, "Afghan").click()
    page.keyboard.press("Delete")
    expect(mark(page, "Afghan")).to_have_count(0)

    mark(other, "Afghan").click()
    expect(other.locator("#message")).to_contain_text("changed in another tab or window")
    expect(mark(other, "Afghan")).to_have_count(0)
    expect(other.locator("#status .version")).to_have_text("version 1")
    expect(other.locator("#span-panel")).to_contain_text("Select text with the mouse")
    other.close()


@pytest.mark.parametrize(
    ("external_id", "text", "phrase"),
    [
        ("xss-2", "Before <script>alert(1)</script> & Kabul <b>after</b>", "Kabul"),
        ("emoji", "😀 Taliban 🇦🇫 attacked\r\nKabul on Monday.", "Kabul"),
    ],
)
def test_offsets_and_markup_survive_odd_text(
    page: Page, live_server_app, recorder, external_id, text, phrase
):
    live_server_app.add_article(external_id=external_id, text=text)
    log_in(page)
    page.goto(f"/articles/{external_id}")
    shown = page.locator("[data-article-id]")
    expect(shown).to_have_attribute("data-article-id", external_id)
    assert shown.text_content() == text
    expect(shown.locator("script, b")).to_have_count(0)

    start, end = at(phrase, text)
    drag_select(page, start, end)
    page.keyboard.press("2")
    expect(mark(page, phrase, text)).to_have_attribute("data-label", "LOCATION")
    assert shown.text_content() == text
    assert recorder.dialogs == []


def test_reading_and_navigation_work_without_javascript(browser, model_spans):
    context = browser.new_context(base_url=model_spans.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/auth/login")
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Start annotating").click()
        expect(page).to_have_url(re.compile(rf"/articles/{ARTICLE_ID}$"))
        assert page.locator("[data-article-id]").text_content() == ARTICLE_TEXT
        expect(page.locator("[data-article-id] mark")).to_have_count(len(MODEL_SPANS))

        page.get_by_role("button", name="Accept").click()
        expect(page).to_have_url(re.compile(rf"/articles/{ARTICLE_ID}$"))
        expect(page.get_by_role("alert")).to_have_text("Accepted.")
        expect(page.locator("#status .status")).to_have_text("accepted")

        page.get_by_role("button", name="Next article").click()
        expect(page).to_have_url(re.compile(rf"/articles/{NEXT_ID}$"))
    finally:
        context.close()
