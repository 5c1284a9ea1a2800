"""Reviewers answer flags and send versions back; the annotator gets the article back with the note."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_article
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import HTMX, at, make_review_article, state


def _as(app, db_session, username, role):
    client = app.test_client()
    AuthActions(client, db_session).login(username, "pw", role=role)
    return client


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": TEST_CSRF})


@pytest.fixture
def article(db_session):
    return make_review_article(db_session)


@pytest.fixture
def ann(app, db_session, article):
    """Ann, with the article open in a tab (version 0), then accepted from another (version 1)."""
    client = _as(app, db_session, "ann", "annotator")
    assert client.get("/articles/helmand%2F1").status_code == 200
    response = _post(client, f"/review/{article.id}/status", version=0, status="accepted")
    assert response.status_code == 303
    return client


@pytest.fixture
def rev(app, db_session):
    return _as(app, db_session, "rev", "reviewer")


@pytest.mark.parametrize("action", ["answer", "send-back"])
def test_annotators_may_not_answer_or_send_back(app, db_session, article, ann, action):
    bob = _as(app, db_session, "bob", "annotator")
    response = _post(bob, f"/flags/{article.id}/{action}", annotator="ann", note="n")
    assert response.status_code == 403
    assert state(db_session, article, "ann").status == "accepted"
    assert state(db_session, article, "ann").reviewer_note is None


@pytest.fixture
def earlier(db_session):
    """An article stored before the review article, so that it comes first in article order."""
    return make_article(db_session, external_id="earlier", text="Gunmen killed two people in Kabul.")


def test_send_back_returns_the_article_to_its_annotator(app, db_session, earlier, article, ann, rev):
    # Ann holds an article that comes first in article order, unassigned.
    assert _post(ann, "/articles/next").headers["Location"] == "/articles/earlier"
    assert earlier.id < article.id
    response = _post(
        rev, f"/flags/{article.id}/send-back", annotator="ann", note="Helmand is a province: mark it whole."
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/articles/helmand%2F1?annotator=ann"
    assert "Sent helmand/1 back to ann" in rev.get(response.headers["Location"]).get_data(as_text=True)
    ann_state = state(db_session, article, "ann")
    assert (ann_state.status, ann_state.version) == ("in_progress", 2)
    # A tab still on the version before: its next edit is refused.
    start, end = at("officials")
    stale = ann.post(
        f"/review/{article.id}/spans",
        data={"version": 1, "start": start, "end": end, "label": "ACTOR"},
        headers=HTMX,
    )
    assert stale.status_code == 409
    # Next gives it back to her before the article she holds (it is assigned), and shows the note.
    response = _post(ann, "/articles/next")
    assert response.headers["Location"] == "/articles/helmand%2F1"
    page = ann.get("/articles/helmand%2F1").get_data(as_text=True)
    note = re.search(r'<aside class="reviewer-note" id="reviewer-note".*?</aside>', page, re.S).group(0)
    assert "Note from rev" in note and "Helmand is a province: mark it whole." in note
    assert 'data-editable="true"' in page
    assert "reviewer's note" in ann.get("/articles/").get_data(as_text=True)


def test_answer_a_flag_from_the_flagged_list(app, db_session, article, rev):
    dave = _as(app, db_session, "dave", "annotator")
    dave.get("/articles/helmand%2F1")
    _post(dave, f"/review/{article.id}/status", version=0, status="flagged", comment="Is KABUL a byline?")
    response = _post(
        rev, f"/flags/{article.id}/answer", annotator="dave", note="Yes: leave it out.", back="queue"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/queue/?state=flagged"
    page = rev.get("/queue/?state=flagged").get_data(as_text=True)
    assert "Answered dave&#39;s flag on helmand/1" in page
    row = re.search(r'<tr data-article="helmand/1" data-annotator="dave">(.*?)</tr>', page, re.S).group(1)
    assert "Is KABUL a byline?" in row and "Yes: leave it out." in row and "— rev," in row
    assert state(db_session, article, "dave").status == "flagged"
    assert "Yes: leave it out." in dave.get("/articles/helmand%2F1").get_data(as_text=True)


@pytest.mark.parametrize(
    ("annotator", "note", "status", "message"),
    [
        ("ann", "", 422, "write a note"),
        ("ann", "x" * 2001, 422, "keep it to 2000"),
        ("nobody", "n", 404, "No user named &#39;nobody&#39;"),
    ],
)
def test_send_back_refusals_are_clear(app, db_session, article, ann, rev, annotator, note, status, message):
    response = _post(rev, f"/flags/{article.id}/send-back", annotator=annotator, note=note)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert state(db_session, article, "ann").status == "accepted"


def test_a_version_in_progress_is_not_sent_back(app, db_session, article, rev):
    bob = _as(app, db_session, "bob", "annotator")
    bob.get("/articles/helmand%2F1")
    response = _post(rev, f"/flags/{article.id}/send-back", annotator="bob", note="n")
    assert response.status_code == 422
    assert "only an accepted or flagged version can be sent back" in response.get_data(as_text=True)


def test_a_reviewer_reading_a_version_gets_the_forms_the_annotator_does_not(
    app, db_session, article, ann, rev
):
    page = rev.get("/articles/helmand%2F1?annotator=ann").get_data(as_text=True)
    assert f'action="/flags/{article.id}/send-back"' in page
    assert f'action="/flags/{article.id}/answer"' not in page  # accepted, not flagged
    assert "/flags/" not in ann.get("/articles/helmand%2F1").get_data(as_text=True)
