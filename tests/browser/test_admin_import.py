"""The import page in Chromium: an htmx upload with its progress bar, problems listed in place, the size check."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from annotator.models import Article
from annotator.services.settings import set_setting
from annotator.services.users import create_user
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "boss", "boss-password-long"
RECORD = {"id": "up-1", "text": "Gunmen killed 12 civilians in Kabul."}


@pytest.fixture
def admin_page(page: Page, live_server_app: LiveServer) -> Page:
    with Session(live_server_app.engine) as session:
        create_user(session, ADMIN, PASSWORD, role="admin")
    errors: list[str] = []

    def record(message) -> None:
        # Chromium logs every 4xx answer as an error; a refused upload is one.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", record)
    page.goto("/auth/login")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/articles/$"))
    page.goto("/admin/import/")
    yield page
    assert errors == []  # no script refused by the Content-Security-Policy, no error in admin.js


def stored_ids(server: LiveServer) -> set[str]:
    with Session(server.engine) as session:
        return set(session.exec(select(Article.external_id)).all())


def choose(page: Page, name: str, body: str) -> None:
    page.set_input_files(
        "#import-files", files=[{"name": name, "mimeType": "text/plain", "buffer": body.encode()}]
    )


def test_an_upload_imports_in_place_and_fills_the_progress_bar(admin_page: Page, live_server_app):
    choose(admin_page, "one.jsonl", json.dumps(RECORD) + "\n")
    admin_page.get_by_role("button", name="Upload and import").click()

    result = admin_page.locator("#import-result")
    expect(result).to_contain_text("1 new article, 0 updated (spans added), 0 unchanged")
    expect(admin_page).to_have_url(re.compile(r"/admin/import/$"))
    # admin.js saw the upload reach 100%, then hid the bar.
    form = admin_page.locator("form.import-upload")
    expect(form).to_have_attribute("data-uploaded", "1")
    expect(admin_page.locator(".upload-progress")).to_be_hidden()
    assert "up-1" in stored_ids(live_server_app)


def test_problems_are_listed_in_place_and_nothing_is_written(admin_page: Page, live_server_app):
    choose(admin_page, "bad file.jsonl", json.dumps(RECORD) + "\n" + json.dumps({"id": "x"}) + "\n")
    admin_page.get_by_role("button", name="Upload and import").click()

    expect(admin_page.locator("#import-result")).to_contain_text("bad file.jsonl:2: missing 'text'")
    assert "up-1" not in stored_ids(live_server_app)


def test_a_selection_over_the_limit_is_refused_before_it_is_sent(admin_page: Page, live_server_app):
    with Session(live_server_app.engine) as session:
        set_setting(session, "upload_limit_mb", "1")
    admin_page.reload()
    posts: list[str] = []
    admin_page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    choose(admin_page, "big.jsonl", json.dumps({"id": "big", "text": "x" * 1_100_000}) + "\n")
    admin_page.get_by_role("button", name="Upload and import").click()

    expect(admin_page.locator(".upload-status")).to_contain_text("over the upload limit of 1 MiB")
    assert posts == []
