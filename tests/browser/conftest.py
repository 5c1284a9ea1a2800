"""Fixtures for browser tests: the app on a live server, and Chromium driven by Playwright.

Playwright cannot download its own browsers here, so it drives Debian's
Chromium (``make chromium`` installs it). The tests skip when it is absent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from werkzeug.serving import make_server

from annotator import create_app, db
from annotator.models import Article
from annotator.services.users import create_user
from tests.factories import make_article

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]

USERNAME = "ann"
PASSWORD = "pw-ann"
ARTICLE_ID = "helmand-2024-05-12"
ARTICLE_TEXT = (
    "LASHKAR GAH, Afghanistan — Taliban fighters attacked a police checkpoint in "
    "Helmand province's Sangin district overnight, killing at least 12 policemen, "
    "provincial officials said on Sunday.\n\n"
    "The Interior Ministry said Afghan security forces pushed the attackers back after "
    "a two-hour gun battle. Three civilians were wounded when a mortar round hit a house "
    "near the checkpoint, said Omar Zwak, a spokesman for the provincial governor."
)


@dataclass
class LiveServer:
    """The app served on 127.0.0.1, with the database it reads."""

    url: str
    engine: Engine
    article: Article

    def add_article(self, *, external_id: str, text: str) -> Article:
        """Add an article the server shows from its next request on."""
        with Session(self.engine, expire_on_commit=False) as session:
            return make_article(session, external_id=external_id, text=text)


@dataclass
class Recorder:
    """What the browser did that a test may want to check afterwards."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser():
    """Launch one headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; `make chromium` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server_app(tmp_path) -> Iterator[LiveServer]:
    """Serve the app on a free port with a migrated SQLite database, a user and an article."""
    url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test-secret"})
    engine = db.get_engine(app)
    db.upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        create_user(session, USERNAME, PASSWORD, role="annotator")
        article = make_article(session, external_id=ARTICLE_ID, text=ARTICLE_TEXT)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", engine=engine, article=article)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        engine.dispose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser, live_server_app, recorder):
    """Open a fresh browser context on the live server, recording requests and dialogs."""
    context = browser.new_context(base_url=live_server_app.url, viewport={"width": 1000, "height": 440})
    context.on("request", lambda request: recorder.requests.append(request.url))
    page = context.new_page()

    def record_dialog(dialog) -> None:
        recorder.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_dialog)
    yield page
    context.close()
