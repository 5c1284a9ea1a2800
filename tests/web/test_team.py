"""The Team and Agreement pages: who sees what, and the numbers they show."""

from __future__ import annotations

import re

import pytest

from annotator.services.settings import set_setting
from tests.factories import make_article, make_span
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import find

TEXT = "Taliban fighters attacked Kabul on Monday, officials said."


def _client(app, db_session, name, role="annotator"):
    client = app.test_client()
    AuthActions(client, db_session).login(name, role=role)
    return client


@pytest.fixture
def two_versions(app, db_session):
    """ann and bob both annotate and accept the same article (N = 2); bob drops a span."""
    set_setting(db_session, "annotators_per_article", "2")
    article = make_article(db_session, external_id="a1", text=TEXT)
    for start, end, label in ((0, 7, "ACTOR"), (26, 31, "LOCATION")):
        make_span(db_session, article, start=start, end=end, label=label, origin="model")
    clients = {}
    for name in ("ann", "bob"):
        client = _client(app, db_session, name)
        client.post("/articles/next", data={"csrf_token": TEST_CSRF})
        clients[name] = client
    html = clients["bob"].get("/articles/a1").get_data(as_text=True)
    kabul = re.search(r'data-span-id="(\d+)" data-label="LOCATION"', html).group(1)
    clients["bob"].post("/review/1/delete", data={"span": kabul, "version": 0, "csrf_token": TEST_CSRF})
    for name, version in (("ann", 0), ("bob", 1)):
        response = clients[name].post(
            "/review/1/status", data={"status": "accepted", "version": version, "csrf_token": TEST_CSRF}
        )
        assert response.status_code == 303
    return article


def test_reviewers_see_agreement_with_every_figure(app, db_session, two_versions):
    rev = _client(app, db_session, "rev", "reviewer")
    html = rev.get("/team/agreement").get_data(as_text=True)
    assert "1 article accepted by two or more of ann, bob" in html
    # ann: 2 spans, bob: 1, one in common: strict F1 = 2·1 / (2 + 1).
    assert find(html, "id", "mean-strict").text == "0.667"
    assert re.search(r'data-pair="ann\|bob"[^>]*>\s*strict ([0-9.]+)', html).group(1) == "0.667"
    assert "Taliban" not in html  # figures, not the texts
    assert 'href="/articles/a1?annotator=ann"' in html


def test_undefined_measures_show_n_a(app, db_session, two_versions):
    rev = _client(app, db_session, "rev", "reviewer")
    html = rev.get("/team/agreement?label=CASUALTY").get_data(as_text=True)
    assert ">n/a<" in html  # no CASUALTY tokens at all: alpha is undefined


def test_annotators_get_403_on_agreement(app, db_session, two_versions):
    ann = _client(app, db_session, "ann")
    response = ann.get("/team/agreement")
    assert response.status_code == 403
    assert "reviewers and admins only" in response.get_data(as_text=True)
    assert 'href="/team/agreement"' not in ann.get("/team/").get_data(as_text=True)


def test_an_unknown_annotator_or_label_is_refused_in_a_line(app, db_session, two_versions):
    rev = _client(app, db_session, "rev", "reviewer")
    assert rev.get("/team/agreement?annotator=zed").status_code == 422
    assert rev.get("/team/agreement?label=WEAPON").status_code == 422


def test_the_dashboard_shows_annotators_only_their_own_row(app, db_session, two_versions):
    ann = _client(app, db_session, "ann")
    html = ann.get("/team/").get_data(as_text=True)
    rows = re.findall(r'<tr data-annotator="([^"]+)">', html)
    assert rows == ["ann"]
    assert "bob" not in html
    row = re.search(r'<tr data-annotator="ann">(.*?)</tr>', html, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:4] == ["1", "0", "0", "0"]  # accepted, skipped, flagged, in progress
    assert cells[6] == "0.667"  # with the others


def test_the_dashboard_shows_reviewers_every_annotator_and_a_chart(app, db_session, two_versions):
    rev = _client(app, db_session, "rev", "reviewer")
    html = rev.get("/team/").get_data(as_text=True)
    assert re.findall(r'<tr data-annotator="([^"]+)">', html) == ["ann", "bob"]
    assert "<svg" in html and 'data-annotator="bob"' in html
    assert re.findall(r'<tr data-annotator="ann" data-label="(\w+)">', html) == [
        "ACTOR",
        "LOCATION",
        "CASUALTY",
    ]
