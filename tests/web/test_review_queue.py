"""The review queue page: reviewers and admins only, lowest agreement first, filters, flags, next, the top-bar count."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlmodel import select

from annotator.models import Curation, User
from annotator.services.settings import set_setting
from tests.factories import make_article, make_span, make_user, make_version
from tests.web.conftest import AuthActions

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."
TALIBAN, SOLDIERS, HELMAND, OFFICIALS = (0, 7), (24, 37), (41, 57), (69, 78)


def _as(app, db_session, username, role):
    client = app.test_client()
    AuthActions(client, db_session).login(username, "pw", role=role)
    return client


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr data-article="([^"]+)"', page)


@pytest.fixture
def world(db_session):
    """Waiting: low (F1 0), mid (2/3), high (1); "gold" has gold; "one" one version and dave's flag."""
    set_setting(db_session, "annotators_per_article", "3")
    ann, bob, dave = (make_user(db_session, username=name, password="pw") for name in ("ann", "bob", "dave"))
    articles = {
        name: make_article(db_session, external_id=name, text=TEXT)
        for name in ("high", "low", "mid", "gold", "one")
    }
    same = [(TALIBAN, "ACTOR"), (HELMAND, "LOCATION")]
    make_version(db_session, articles["high"], ann, same)
    make_version(db_session, articles["high"], bob, same)
    make_version(db_session, articles["low"], ann, [(TALIBAN, "ACTOR")])
    make_version(db_session, articles["low"], bob, [(HELMAND, "LOCATION")])
    make_version(db_session, articles["mid"], ann, [(TALIBAN, "ACTOR"), (SOLDIERS, "CASUALTY")])
    make_version(db_session, articles["mid"], bob, [(TALIBAN, "ACTOR")])
    make_version(db_session, articles["gold"], ann, same)
    make_version(db_session, articles["gold"], bob, same)
    make_span(db_session, articles["gold"], start=0, end=7, label="ACTOR")
    make_version(db_session, articles["one"], ann, same)
    make_version(
        db_session, articles["one"], dave, [(OFFICIALS, "ACTOR")], status="flagged", comment="Actor?"
    )
    return articles


@pytest.mark.parametrize("url", ["/queue/", "/queue/?state=flagged", "/queue/next", "/queue/counts"])
def test_annotators_get_403_and_no_link(app, db_session, world, url):
    ann = _as(app, db_session, "ann", "annotator")
    assert ann.get(url).status_code == 403
    assert "Review queue" not in ann.get("/articles/").get_data(as_text=True)


def test_the_top_bar_counts_articles_waiting_and_open_flags(app, db_session, world):
    rev = _as(app, db_session, "rev", "reviewer")
    page = rev.get("/articles/").get_data(as_text=True)
    # The page asks for its counts once it is there.
    assert 'hx-get="/queue/counts" hx-trigger="load"' in page
    counts = rev.get("/queue/counts", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'id="review-queue-count"[^>]*>3<', counts)
    assert "1 flag<" in counts


def test_waiting_articles_lowest_agreement_first(app, db_session, world):
    page = _as(app, db_session, "rev", "reviewer").get("/queue/").get_data(as_text=True)
    assert _listed(page) == ["low", "mid", "high"]
    assert re.findall(r'class="agreement">([^<]+)<', page) == ["0.00", "0.67", "1.00"]
    assert f'href="/curate/{world["low"].id}"' in page
    assert "2: ann, bob" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?label=CASUALTY", ["mid"]),
        ("?label=LOCATION", ["low", "high"]),
        ("?annotator=dave", []),
        ("?annotator=bob&label=CASUALTY", ["mid"]),
        ("?state=adjudicated", []),
    ],
)
def test_filters(app, db_session, world, query, expected):
    response = _as(app, db_session, "adm", "admin").get("/queue/" + query)
    assert response.status_code == 200
    assert _listed(response.get_data(as_text=True)) == expected


def test_open_drafts_show_who_started_them(app, db_session, world):
    rev = _as(app, db_session, "rev", "reviewer")
    db_session.add(
        Curation(article_id=world["mid"].id, started_by_id=make_user(db_session, username="cur").id)
    )
    db_session.commit()
    page = rev.get("/queue/?state=draft").get_data(as_text=True)
    assert _listed(page) == ["mid"] and "open by cur" in page


def test_unknown_label_or_state_is_a_clear_422(app, db_session, world):
    rev = _as(app, db_session, "rev", "reviewer")
    response = rev.get("/queue/?label=WEAPON")
    assert response.status_code == 422 and "Unknown label &#39;WEAPON&#39;" in response.get_data(as_text=True)
    assert rev.get("/queue/?state=lost").status_code == 422


def test_flagged_tab_lists_comment_annotator_and_time(app, db_session, world):
    page = _as(app, db_session, "rev", "reviewer").get("/queue/?state=flagged").get_data(as_text=True)
    row = re.search(r'<tr data-article="one" data-annotator="dave">(.*?)</tr>', page, re.S).group(1)
    assert "Actor?" in row and "not answered" in row
    assert re.search(r'class="when">\d{4}-\d\d-\d\d \d\d:\d\d UTC<', row)
    assert f'action="/flags/{world["one"].id}/answer"' in row


def test_next_opens_the_lowest_agreement_article_or_says_the_queue_is_empty(app, db_session, world):
    rev = _as(app, db_session, "rev", "reviewer")
    response = rev.get("/queue/next")
    assert response.status_code == 302 and response.headers["Location"] == f"/curate/{world['low'].id}"
    for name in ("low", "mid", "high"):
        make_span(db_session, world[name], start=0, end=7, label="ACTOR")
    response = rev.get("/queue/next", follow_redirects=True)
    assert response.request.path == "/queue/"
    assert "Nothing waits for adjudication" in response.get_data(as_text=True)


def test_a_page_is_a_fixed_number_of_queries_however_many_articles(app, db_session, world):
    rev = _as(app, db_session, "rev", "reviewer")
    engine = app.extensions["annotator.engine"]

    def queries() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert rev.get("/queue/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    before = queries()
    ann, bob = (db_session.exec(select(User).where(User.username == name)).one() for name in ("ann", "bob"))
    for index in range(6):
        article = make_article(db_session, external_id=f"more{index}", text=TEXT)
        make_version(db_session, article, ann, [(TALIBAN, "ACTOR")])
        make_version(db_session, article, bob, [(HELMAND, "LOCATION")])
    assert queries() == before


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?after_key=inf&after_id=1", 400),
        ("?after_key=0.5&after_id=99999999999999999999", 400),
        ("?after_key=x&after_id=1", 200),
    ],
)
def test_a_broken_page_link_is_a_clear_answer_never_a_crash(app, db_session, world, query, status):
    assert _as(app, db_session, "rev", "reviewer").get("/queue/" + query).status_code == status


def test_a_cursor_continues_after_the_article_it_names(app, db_session, world):
    page = _as(app, db_session, "rev", "reviewer").get(f"/queue/?after_key=0.0&after_id={world['low'].id}")
    assert _listed(page.get_data(as_text=True)) == ["mid", "high"]
