"""The article page: its markup contract, the queue, progress, who may read what, the span panel, guidelines."""

from __future__ import annotations

import pytest

from annotator.services import edits, workspace
from tests.factories import make_article, make_span, make_user
from tests.web.conftest import AuthActions
from tests.web.review_helpers import (
    HTMX,
    TEXT,
    article_text,
    at,
    find,
    form_post,
    make_review_article,
    oob_ids,
    span_id,
    state,
    working_copy,
)


@pytest.fixture
def article(db_session):
    return make_review_article(db_session)


@pytest.fixture
def other_client(app, db_session):
    """A second browser: another user's session."""
    client = app.test_client()
    return client, AuthActions(client, db_session)


def test_page_marks_every_span_with_label_and_offsets(client, auth, article):
    auth.login()
    response = client.get("/articles/helmand/1")
    assert response.status_code == 200
    text = article_text(response.get_data(as_text=True))
    assert text.attrs["data-article-id"] == "helmand/1"
    assert text.text == TEXT
    marks = [(m["data-label"], int(m["data-start"]), int(m["data-end"]), m["text"]) for m in text.marks]
    assert marks == [
        ("LOCATION", 0, 5, "KABUL"),
        ("ACTOR", *at("Taliban"), "Taliban"),
        ("LOCATION", *at("Helmand province"), "Helmand province"),
        ("CASUALTY", *at("at least 12 policemen"), "at least 12 policemen"),
    ]
    for mark in text.marks:
        assert TEXT[int(mark["data-start"]) : int(mark["data-end"])] == mark["text"]


def test_casualty_count_and_outcome_are_shown_outside_the_text_content(client, auth, article):
    auth.login()
    text = article_text(client.get("/articles/helmand/1").get_data(as_text=True))
    assert text.marks[-1]["data-badge"] == "≥12 killed"
    assert "killed" not in text.text


def test_legend_has_a_button_per_label_and_the_guidelines_are_one_click_away(client, auth, article):
    auth.login()
    html = client.get("/articles/helmand/1").get_data(as_text=True)
    for key, label in enumerate(("ACTOR", "LOCATION", "CASUALTY"), start=1):
        button = find(html, "data-label", label)
        assert button.attrs["aria-keyshortcuts"] == str(key)
    assert 'href="/guidelines/"' in html


@pytest.mark.parametrize(
    "text",
    [
        "Before <script>alert(1)</script> & after <img src=x onerror=alert(2)>",
        "Carriage\r\nreturns\rstay, as do tabs\tand  double spaces.\n\n",
        "Emoji 😀 and accents: Hérat, Kunduz.",
    ],
)
def test_text_content_is_exactly_the_article_text(client, auth, db_session, text):
    auth.login()
    article = make_article(db_session, external_id="x", text=text)
    make_span(db_session, article, start=0, end=6, label="ACTOR", origin="model")
    html = client.get("/articles/x").get_data(as_text=True)
    assert article_text(html).text == text
    assert "<script>alert" not in html and "<img src=x" not in html


def test_first_visit_copies_the_model_spans_into_my_working_copy(client, auth, article, db_session):
    auth.login()
    assert state(db_session, article, "ann") is None
    client.get("/articles/helmand/1")
    client.get("/articles/helmand/1")
    assert state(db_session, article, "ann").version == 0
    assert [label for *_, label, _ in working_copy(db_session, article, "ann")] == [
        "LOCATION",
        "ACTOR",
        "LOCATION",
        "CASUALTY",
    ]


def test_unknown_article_is_404(client, auth):
    auth.login()
    response = client.get("/articles/nope")
    assert response.status_code == 404
    assert b"No article with id" in response.data


def test_list_page_starts_the_queue(client, auth, db_session):
    auth.login()
    make_article(db_session, external_id="q1", text="Kabul")
    html = client.get("/articles/").get_data(as_text=True)
    assert 'Next from your queue: <a href="/articles/q1">q1</a>' in html and "Start annotating" in html


@pytest.mark.parametrize("path", ["/articles/", "/articles/helmand/1", "/guidelines/"])
def test_every_page_shows_my_and_the_teams_progress(client, auth, article, db_session, path):
    auth.login()
    make_article(db_session, external_id="second", text="Kabul")
    bob = make_user(db_session, username="bob")
    ws = workspace.open_article(db_session, "second", bob)
    edits.set_status(db_session, ws.article_id, bob, version=0, status="accepted")
    progress = find(client.get(path).get_data(as_text=True), "id", "progress")
    assert " ".join(progress.text.split()) == "You: 0 of 2 accepted Team: 1 of 2 complete"


# --- who may read what ---------------------------------------------------------------


def test_annotator_cannot_open_another_annotators_version(client, auth, other_client, article):
    bob_client, bob = other_client
    bob.login("bob")
    auth.login()
    client.get("/articles/helmand/1")
    response = bob_client.get("/articles/helmand/1?annotator=ann")
    assert response.status_code == 403
    assert b"only their own work" in response.data


def test_annotator_naming_themselves_gets_their_own_version(client, auth, article):
    auth.login()
    assert client.get("/articles/helmand/1?annotator=ann").status_code == 200


def test_reviewer_reads_any_annotators_version_read_only(client, auth, other_client, article, db_session):
    auth.login()
    client.get("/articles/helmand/1")
    taliban = span_id(db_session, article, "ann", "Taliban")
    form_post(client, f"/review/{article.id}/delete", span=str(taliban), version="0")

    rita_client, rita = other_client
    rita.login("rita", role="reviewer")
    response = rita_client.get("/articles/helmand/1?annotator=ann")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert [m["text"] for m in article_text(html).marks] == [
        "KABUL",
        "Helmand province",
        "at least 12 policemen",
    ]
    editor = find(html, "id", "editor")
    assert editor.attrs["data-editable"] == "false"
    assert "data-url-add" not in editor.attrs
    assert "read-only" in html
    assert 'href="/articles/helmand%2F1?annotator=ann" aria-current="page"' in html
    # Reading created nothing for the reviewer.
    assert state(db_session, article, "rita") is None


def test_reviewer_reading_an_annotator_who_has_not_started_sees_the_model_spans(
    client, auth, other_client, article, db_session
):
    make_user(db_session, username="ann")
    rita_client, rita = other_client
    rita.login("rita", role="reviewer")
    html = rita_client.get("/articles/helmand/1?annotator=ann").get_data(as_text=True)
    assert len(article_text(html).marks) == 4
    assert "the model's spans" in html
    assert state(db_session, article, "ann") is None


def test_reviewer_asking_for_an_unknown_annotator_gets_404(client, auth, article):
    auth.login("rita", role="reviewer")
    response = client.get("/articles/helmand/1?annotator=nobody")
    assert response.status_code == 404


# --- the span panel --------------------------------------------------------------------------


def test_panel_shows_the_selected_span_and_its_controls(client, auth, article, db_session):
    auth.login()
    client.get("/articles/helmand/1")
    casualty = span_id(db_session, article, "ann", "at least 12 policemen")
    response = client.get(f"/review/{article.id}/panel?span={casualty}", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="span-panel"')
    assert find(html, "id", "span-panel").attrs["data-span-id"] == str(casualty)
    assert 'name="count"' in html and 'value="12"' in html
    assert "<option selected>at_least</option>" in html


def test_panel_without_htmx_goes_to_the_page_with_the_span_selected(client, auth, article, db_session):
    auth.login()
    client.get("/articles/helmand/1")
    taliban = span_id(db_session, article, "ann", "Taliban")
    response = client.get(f"/review/{article.id}/panel?span={taliban}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/articles/helmand%2F1?span={taliban}"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    selected = [mark for mark in article_text(html).marks if mark.get("class") == "selected"]
    assert [mark["text"] for mark in selected] == ["Taliban"]
    assert find(html, "id", "span-panel").attrs["data-span-id"] == str(taliban)


def test_panel_for_a_span_not_in_my_copy_refreshes_a_stale_page(
    client, auth, other_client, article, db_session
):
    bob_client, bob = other_client
    bob.login("bob")
    bob_client.get("/articles/helmand/1")
    auth.login()
    client.get("/articles/helmand/1")
    theirs = span_id(db_session, article, "bob", "Taliban")
    # The page shows a span my version does not have: it is stale, and gets my version as it is.
    stale = client.get(f"/review/{article.id}/panel?span={theirs}", headers=HTMX)
    assert stale.status_code == 409
    assert stale.headers["HX-Reswap"] == "none"
    html = stale.get_data(as_text=True)
    assert "changed in another tab or window" in html
    assert oob_ids(html) == ["article-text", "span-panel", "tally", "status", "progress", "message"]
    assert article_text(html).text == TEXT
    assert client.get(f"/review/{article.id}/panel?span={theirs}").status_code == 404  # without htmx
    mine = span_id(db_session, article, "ann", "Taliban")
    assert (
        bob_client.get(f"/review/{article.id}/panel?span={mine}&annotator=ann", headers=HTMX).status_code
        == 403
    )


def test_reviewer_panel_on_an_annotators_span_has_no_forms(client, auth, other_client, article, db_session):
    auth.login()
    client.get("/articles/helmand/1")
    casualty = span_id(db_session, article, "ann", "at least 12 policemen")
    rita_client, rita = other_client
    rita.login("rita", role="reviewer")
    response = rita_client.get(f"/review/{article.id}/panel?span={casualty}&annotator=ann", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<form" not in html
    assert "outcome: killed" in html


# --- guidelines ---------------------------------------------------------------------------


def test_guidelines_page_shows_the_labels_with_anchors(client, auth):
    auth.login()
    response = client.get("/guidelines/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h2 id="actor">ACTOR</h2>' in html
    assert '<h2 id="casualty">CASUALTY</h2>' in html
    assert "<th>attribute</th>" in html
    assert "<code>at_least</code>" in html


def test_guidelines_require_login(client):
    assert client.get("/guidelines/").status_code == 302
