"""Helpers for the review tests: read the article markup, post edits the way htmx and plain forms do."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sqlmodel import select

from annotator.models import AnnotationState, Article, Span, User
from tests.web.conftest import TEST_CSRF

HTMX = {"HX-Request": "true", "X-CSRF-Token": TEST_CSRF}
TEXT = (
    "KABUL — Taliban fighters attacked a checkpoint in Helmand province on Monday, "
    "killing at least 12 policemen, officials said."
)
CASUALTY_ATTRS = {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "security"}


def at(phrase: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


@dataclass
class Element:
    """An element of a page: its attributes, its text content and the <mark>s inside it."""

    attrs: dict[str, str | None]
    text: str = ""
    marks: list[dict[str, str | None]] = field(default_factory=list)


class _Finder(HTMLParser):
    def __init__(self, selector: tuple[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.selector = selector
        self.found: Element | None = None
        self.depth = 0
        self.mark: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            self.depth += 1
            if tag == "mark":
                self.mark = {**attrs, "text": ""}
                self.found.marks.append(self.mark)
        elif self.found is None and self.selector[0] in attrs and attrs[self.selector[0]] == self.selector[1]:
            self.found = Element(attrs)
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if tag == "mark":
                self.mark = None

    def handle_data(self, data):
        if self.depth:
            self.found.text += data
            if self.mark is not None:
                self.mark["text"] += data


def find(html: str, attribute: str, value: str) -> Element | None:
    """Return the first element whose ``attribute`` is ``value`` (elements inside it must be closed)."""
    finder = _Finder((attribute, value))
    finder.feed(html)
    return finder.found


def article_text(html: str) -> Element:
    """Return the article text of a page, or of an edit response the text of the chunks it carries."""
    element = find(html, "id", "article-text")
    if element is not None:
        return element
    chunks = [found for index in range(1000) if (found := find(html, "id", f"chunk-{index}")) is not None]
    assert chunks, "no article text in the page"
    return Element(
        {"id": "article-text"},
        "".join(chunk.text for chunk in chunks),
        [mark for chunk in chunks for mark in chunk.marks],
    )


def oob_ids(html: str) -> list[str]:
    """Return the ids of the out-of-band fragments of an edit response, in order."""
    return re.findall(r'<\w+[^>]*?\sid="([^"]+)"[^>]*hx-swap-oob="true"', html)


def hx_post(client, url: str, **data):
    return client.post(url, data=data, headers=HTMX)


def form_post(client, url: str, **data):
    return client.post(url, data={**data, "csrf_token": TEST_CSRF})


def user_id(session, username: str) -> int:
    return session.exec(select(User.id).where(User.username == username)).one()


def working_copy(session, article: Article, username: str) -> list[tuple[int, int, str, dict]]:
    """Return (start, end, label, attrs) of a user's working copy, read fresh from the database."""
    session.expire_all()
    rows = session.exec(
        select(Span).where(
            Span.article_id == article.id,
            Span.origin == "annotator",
            Span.owner_id == user_id(session, username),
        )
    ).all()
    return sorted((span.start, span.end, span.label, span.attrs) for span in rows)


def span_id(session, article: Article, username: str, phrase: str) -> int:
    start, end = at(phrase, article.text)
    session.expire_all()
    return session.exec(
        select(Span.id).where(
            Span.article_id == article.id,
            Span.owner_id == user_id(session, username),
            Span.start == start,
            Span.end == end,
        )
    ).one()


def state(session, article: Article, username: str) -> AnnotationState | None:
    session.expire_all()
    return session.exec(
        select(AnnotationState).where(
            AnnotationState.article_id == article.id, AnnotationState.user_id == user_id(session, username)
        )
    ).first()


def make_review_article(db_session) -> Article:
    """Store the TEXT article with four model spans, one a CASUALTY with attributes."""
    from tests.factories import make_article, make_span

    article = make_article(db_session, external_id="helmand/1", text=TEXT)
    for phrase, label in (("KABUL", "LOCATION"), ("Taliban", "ACTOR"), ("Helmand province", "LOCATION")):
        start, end = at(phrase)
        make_span(db_session, article, start=start, end=end, label=label, origin="model")
    start, end = at("at least 12 policemen")
    make_span(
        db_session, article, start=start, end=end, label="CASUALTY", origin="model", attrs=CASUALTY_ATTRS
    )
    return article


def open_review_article(client, auth, db_session) -> Article:
    """Store the review article, log Ann in and open it, so she has her working copy at version 0."""
    article = make_review_article(db_session)
    auth.login()
    assert client.get("/articles/helmand%2F1").status_code == 200
    return article
