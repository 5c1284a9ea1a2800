"""An admin's afternoon in Chromium, without a shell: a new user, an upload, the overlap, a DocBin download.

The download is a tar of DocBin shards; spaCy's own `spacy debug data`
must load it as a corpus.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from annotator.services.settings import load_settings
from annotator.services.users import create_user, get_user_by_name
from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "boss", "boss-password-long"
TEXT = "Gunmen killed {n} civilians in Kabul on Monday, officials in Herat said."


def _record(i: int) -> dict:
    text = TEXT.format(n=i + 3)
    figure = f"{i + 3} civilians"
    return {
        "id": f"upload-{i}",
        "text": text,
        "spans": [
            {"start": 0, "end": 6, "label": "ACTOR", "attrs": {}},
            {
                "start": text.index(figure),
                "end": text.index(figure) + len(figure),
                "label": "CASUALTY",
                "attrs": {"count": i + 3, "qualifier": "exact", "outcome": "killed", "group": "civilian"},
            },
            {"start": text.index("Kabul"), "end": text.index("Kabul") + 5, "label": "LOCATION", "attrs": {}},
            {"start": text.index("Herat"), "end": text.index("Herat") + 5, "label": "LOCATION", "attrs": {}},
        ],
    }


@pytest.fixture
def admin_page(page: Page, live_server_app: LiveServer) -> Page:
    with Session(live_server_app.engine) as session:
        create_user(session, ADMIN, PASSWORD, role="admin")
    page.goto("/auth/login")
    page.fill("input[name=username]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/articles/$"))
    return page


def _open_admin(page: Page, link: str) -> None:
    page.locator("header nav").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name=link, exact=True).click()


def test_an_admin_adds_a_user_uploads_sets_the_overlap_and_downloads_a_docbin(
    admin_page: Page, live_server_app: LiveServer, tmp_path
):
    page = admin_page

    # A new annotator, with a password the policy accepts.
    _open_admin(page, "Users")
    page.fill("#username", "newbie")
    page.select_option("#role", "annotator")
    page.fill("#password", "river-stone-lantern")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("main")).to_contain_text("newbie")
    with Session(live_server_app.engine) as session:
        assert get_user_by_name(session, "newbie").role == "annotator"

    # A JSONL file of three articles with their gold.
    _open_admin(page, "Import")
    body = "".join(json.dumps(_record(i)) + "\n" for i in range(3))
    page.set_input_files(
        "#import-files",
        files=[{"name": "batch.jsonl", "mimeType": "application/jsonl", "buffer": body.encode()}],
    )
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator("#import-result")).to_contain_text("3 new articles")

    # Two annotators per article from now on.
    _open_admin(page, "Settings")
    page.fill("#value-annotators_per_article", "2")
    page.locator("#setting-annotators_per_article").get_by_role("button", name="Save").click()
    expect(page.locator("#changed-annotators_per_article")).to_contain_text(f"by {ADMIN}")
    with Session(live_server_app.engine) as session:
        assert load_settings(session).annotators_per_article == 2

    # The gold as spaCy DocBin shards, in a tar.
    _open_admin(page, "Export")
    page.select_option("select[name=origin]", "gold")
    page.check("input[name=format][value=spacy]")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    archive = tmp_path / download.suggested_filename
    download.save_as(archive)
    corpus = tmp_path / "corpus"
    with tarfile.open(archive) as tar:
        tar.extractall(corpus, filter="data")
    shards = sorted(corpus.rglob("*.spacy"))
    assert shards, list(corpus.rglob("*"))

    def spacy(*args):
        return subprocess.run(
            [sys.executable, "-m", "spacy", *map(str, args)], cwd=tmp_path, capture_output=True, text=True
        )

    assert spacy("init", "config", "-l", "en", "-p", "ner", "config.cfg").returncode == 0
    folder = shards[0].parent
    checked = spacy("debug", "data", "config.cfg", "--paths.train", folder, "--paths.dev", folder)
    output = re.sub(r"\x1b\[[0-9;]*m", "", checked.stdout)
    assert "✔ Corpus is loadable" in output, output + checked.stderr
    assert "3 training docs" in output, output
