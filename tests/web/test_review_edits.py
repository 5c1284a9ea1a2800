"""Edits through the review routes: each answered with the fragments it changed, or refused with nothing saved."""

from __future__ import annotations

import pytest
from sqlmodel import select

from annotator.models import SpanEdit
from tests.web.conftest import AuthActions
from tests.web.review_helpers import (
    HTMX,
    TEXT,
    article_text,
    at,
    find,
    form_post,
    hx_post,
    make_review_article,
    oob_ids,
    open_review_article,
    span_id,
    state,
    working_copy,
)


@pytest.fixture
def opened(client, auth, db_session):
    """Ann, logged in, has opened the article (so has her working copy at version 0)."""
    return open_review_article(client, auth, db_session)


def url(article, action: str) -> str:
    return f"/review/{article.id}/{action}"


def nothing_saved(db_session, article, before):
    assert working_copy(db_session, article, "ann") == before
    assert state(db_session, article, "ann").version == 0
    assert db_session.exec(select(SpanEdit)).all() == []


# --- add ------------------------------------------------------------------------------------


def test_add_returns_only_the_changed_fragments_and_saves(client, opened, db_session):
    start, end = at("Monday")
    response = hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert "<html" not in html
    assert oob_ids(html) == ["chunk-0", "span-panel", "tally", "status", "message"]
    assert article_text(html).text == TEXT
    assert find(html, "id", "status").attrs["data-version"] == "1"
    assert find(html, "id", "message").text == "Added ACTOR “Monday”."
    selected = find(html, "class", "selected")
    assert (selected.attrs["data-start"], selected.attrs["data-end"]) == (str(start), str(end))
    assert (start, end, "ACTOR", {}) in working_copy(db_session, opened, "ann")
    assert state(db_session, opened, "ann").status == "in_progress"


def test_add_snaps_to_token_boundaries_and_says_so(client, opened, db_session):
    start, end = at("onda")
    html = hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0).get_data(
        as_text=True
    )
    assert find(html, "id", "message").text == "Snapped to whole tokens: added ACTOR “Monday”."
    assert (*at("Monday"), "ACTOR", {}) in working_copy(db_session, opened, "ann")


def test_add_without_htmx_redirects_back_to_the_page(client, opened, db_session):
    start, end = at("Monday")
    response = form_post(
        client, url(opened, "spans"), start=str(start), end=str(end), label="ACTOR", version="0"
    )
    new_id = span_id(db_session, opened, "ann", "Monday")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/articles/helmand%2F1?span={new_id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added ACTOR “Monday”." in page


def test_add_overlapping_span_is_refused_with_a_message_and_nothing_saved(client, opened, db_session):
    before = working_copy(db_session, opened, "ann")
    start, end = at("Taliban fighters")
    response = hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    message = find(html, "id", "message")
    assert "message-error" in message.attrs["class"]
    assert message.text.startswith("Not saved: “Taliban fighters” would overlap “Taliban” (ACTOR).")
    assert article_text(html).text == TEXT
    nothing_saved(db_session, opened, before)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "x", "end": "5", "label": "ACTOR"}, "start must be a whole number, not 'x'"),
        ({"end": "5", "label": "ACTOR"}, "start must be a whole number, not None"),
        ({"start": "-1", "end": "5", "label": "ACTOR"}, "outside the text"),
        ({"start": "20", "end": "9999", "label": "ACTOR"}, "outside the text"),
        ({"start": "20", "end": "20", "label": "ACTOR"}, "must be before its end"),
        ({"start": "24", "end": "25", "label": "ACTOR"}, "only spaces"),
        ({"start": "8", "end": "15", "label": "PERSON"}, "Unknown label 'PERSON'"),
        ({"start": "8", "end": "15"}, "Unknown label ''"),
    ],
)
def test_add_with_bad_offsets_or_label_is_422_and_saves_nothing(client, opened, db_session, data, message):
    before = working_copy(db_session, opened, "ann")
    response = hx_post(client, url(opened, "spans"), **data, version="0")
    assert response.status_code == 422
    assert message in find(response.get_data(as_text=True), "id", "message").text
    nothing_saved(db_session, opened, before)


def test_refused_edit_without_htmx_shows_the_page_with_the_message(client, opened, db_session):
    start, end = at("Taliban fighters")
    response = form_post(
        client, url(opened, "spans"), start=str(start), end=str(end), label="ACTOR", version="0"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" in html and "would overlap" in html
    assert article_text(html).text == TEXT


# --- relabel, delete, resize, attributes ------------------------------------------------------


def test_relabel(client, opened, db_session):
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = hx_post(client, url(opened, "label"), span=taliban, label="LOCATION", version=0)
    assert response.status_code == 200
    mark = next(m for m in article_text(response.get_data(as_text=True)).marks if m["text"] == "Taliban")
    assert mark["data-label"] == "LOCATION" and mark["class"] == "selected"
    assert (*at("Taliban"), "LOCATION", {}) in working_copy(db_session, opened, "ann")


def test_relabel_to_an_unknown_label_is_422(client, opened, db_session):
    before = working_copy(db_session, opened, "ann")
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = hx_post(client, url(opened, "label"), span=taliban, label="<b>", version=0)
    assert response.status_code == 422
    assert "Unknown label '<b>'" in find(response.get_data(as_text=True), "id", "message").text
    nothing_saved(db_session, opened, before)


def test_delete(client, opened, db_session):
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = hx_post(client, url(opened, "delete"), span=taliban, version=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Taliban" not in [m["text"] for m in article_text(html).marks]
    assert find(html, "id", "span-panel").attrs["data-span-id"] == ""
    assert len(working_copy(db_session, opened, "ann")) == 3


@pytest.mark.parametrize("span", ["", "abc", "999999"])
def test_edit_of_no_or_an_unknown_span_saves_nothing(client, opened, db_session, span):
    before = working_copy(db_session, opened, "ann")
    response = hx_post(client, url(opened, "delete"), span=span, version=0)
    assert response.status_code in (404, 422)
    nothing_saved(db_session, opened, before)


@pytest.mark.parametrize(
    ("move", "expected"),
    [
        ("grow-start", "in Helmand province"),
        ("grow-end", "Helmand province on"),
        ("shrink-start", "province"),
    ],
)
def test_resize(client, opened, db_session, move, expected):
    helmand = span_id(db_session, opened, "ann", "Helmand province")
    response = hx_post(client, url(opened, "resize"), span=helmand, move=move, version=0)
    assert response.status_code == 200
    assert find(response.get_data(as_text=True), "id", "message").text == f"Now “{expected}”."
    assert (*at(expected), "LOCATION", {}) in working_copy(db_session, opened, "ann")


@pytest.mark.parametrize(
    ("phrase", "move", "message"),
    [
        ("KABUL", "grow-start", "already reaches the beginning"),
        ("Taliban", "shrink-end", "one token long"),
        ("Taliban", "shrink-start", "one token long"),
        ("Taliban", "sideways", "Resize takes"),
    ],
)
def test_impossible_resize_is_422(client, opened, db_session, phrase, move, message):
    before = working_copy(db_session, opened, "ann")
    span = span_id(db_session, opened, "ann", phrase)
    response = hx_post(client, url(opened, "resize"), span=span, move=move, version=0)
    assert response.status_code == 422
    assert message in find(response.get_data(as_text=True), "id", "message").text
    nothing_saved(db_session, opened, before)


def test_resize_into_a_neighbour_is_422(client, opened, db_session):
    start, end = at("fighters")
    hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    before = working_copy(db_session, opened, "ann")
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = hx_post(client, url(opened, "resize"), span=taliban, move="grow-end", version=1)
    assert response.status_code == 422
    assert "would overlap “fighters” (ACTOR)" in find(response.get_data(as_text=True), "id", "message").text
    assert working_copy(db_session, opened, "ann") == before


def test_set_attributes(client, opened, db_session):
    casualty = span_id(db_session, opened, "ann", "at least 12 policemen")
    response = hx_post(
        client,
        url(opened, "attrs"),
        span=casualty,
        count="13",
        qualifier="exact",
        outcome="wounded",
        group="",
        version=0,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert next(m for m in article_text(html).marks if m.get("data-badge"))["data-badge"] == "13 wounded"
    assert (
        *at("at least 12 policemen"),
        "CASUALTY",
        {"count": 13, "qualifier": "exact", "outcome": "wounded"},
    ) in (working_copy(db_session, opened, "ann"))


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"count": "twelve"}, "count must be a whole number"),
        ({"count": "-1"}, "count must be a whole number"),
        ({"outcome": "exploded"}, "outcome must be one of killed, wounded, killed_or_wounded"),
        ({"group": "aliens"}, "group must be one of"),
        ({"colour": "red"}, "unknown attribute 'colour'"),
    ],
)
def test_bad_attributes_are_422_and_save_nothing(client, opened, db_session, form, message):
    before = working_copy(db_session, opened, "ann")
    casualty = span_id(db_session, opened, "ann", "at least 12 policemen")
    response = hx_post(client, url(opened, "attrs"), span=casualty, version=0, **form)
    assert response.status_code == 422
    assert message in find(response.get_data(as_text=True), "id", "message").text
    nothing_saved(db_session, opened, before)


def test_attributes_on_an_actor_are_422(client, opened, db_session):
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = hx_post(client, url(opened, "attrs"), span=taliban, count="3", version=0)
    assert response.status_code == 422
    assert "ACTOR spans take no attrs" in response.get_data(as_text=True)


# --- status -------------------------------------------------------------------------------------


def test_accept_updates_status_and_progress(client, opened, db_session):
    response = hx_post(client, url(opened, "status"), status="accepted", version=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert oob_ids(html) == ["status", "progress", "message"]
    assert "You: <strong>1</strong> of 1 accepted" in html
    assert state(db_session, opened, "ann").status == "accepted"


def test_flag_keeps_the_comment(client, opened, db_session):
    response = hx_post(
        client, url(opened, "status"), status="flagged", comment="Is Kabul the dateline?", version=0
    )
    assert "Flagged: Is Kabul the dateline?" in response.get_data(as_text=True)
    assert state(db_session, opened, "ann").comment == "Is Kabul the dateline?"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "flagged", "comment": "  "}, "say what is wrong"),
        ({"status": "done"}, "Status must be one of accepted, skipped, flagged"),
        ({"status": "todo"}, "Status must be one of"),
    ],
)
def test_bad_status_changes_are_422(client, opened, db_session, data, message):
    response = hx_post(client, url(opened, "status"), **data, version=0)
    assert response.status_code == 422
    assert message in find(response.get_data(as_text=True), "id", "message").text
    assert state(db_session, opened, "ann").status == "todo"


def test_skip_without_htmx_redirects(client, opened, db_session):
    response = form_post(client, url(opened, "status"), status="skipped", version="0")
    assert response.status_code == 303
    assert state(db_session, opened, "ann").status == "skipped"


# --- undo --------------------------------------------------------------------------------------


def test_undo_reverses_edits_one_by_one(client, opened, db_session):
    original = working_copy(db_session, opened, "ann")
    taliban = span_id(db_session, opened, "ann", "Taliban")
    start, end = at("Monday")
    hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    after_add = working_copy(db_session, opened, "ann")
    hx_post(client, url(opened, "label"), span=taliban, label="LOCATION", version=1)
    after_relabel = working_copy(db_session, opened, "ann")
    hx_post(client, url(opened, "delete"), span=taliban, version=2)
    hx_post(client, url(opened, "status"), status="accepted", version=3)

    version = 4
    for expected in (working_copy(db_session, opened, "ann"), after_relabel, after_add, original):
        response = hx_post(client, url(opened, "undo"), version=version)
        assert response.status_code == 200
        assert find(response.get_data(as_text=True), "id", "message").text.startswith("Undid")
        version += 1
        assert working_copy(db_session, opened, "ann") == expected
    assert state(db_session, opened, "ann").status == "todo"
    html = response.get_data(as_text=True)
    assert "disabled>Undo" in html
    response = hx_post(client, url(opened, "undo"), version=version)
    assert response.status_code == 422
    assert "Nothing to undo" in response.get_data(as_text=True)


def test_undo_of_accept_restores_progress(client, opened):
    hx_post(client, url(opened, "status"), status="accepted", version=0)
    html = hx_post(client, url(opened, "undo"), version=1).get_data(as_text=True)
    assert "You: <strong>0</strong> of 1 accepted" in html


# --- versions, CSRF, authorization ---------------------------------------------------------------


def test_edit_on_a_stale_version_is_409_with_the_current_fragments(client, opened, db_session):
    taliban = span_id(db_session, opened, "ann", "Taliban")
    assert hx_post(client, url(opened, "label"), span=taliban, label="LOCATION", version=0).status_code == 200
    current = working_copy(db_session, opened, "ann")
    # Another tab still shows version 0.
    response = hx_post(client, url(opened, "delete"), span=taliban, version=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed in another tab or window" in find(html, "id", "message").text
    assert find(html, "id", "status").attrs["data-version"] == "1"
    assert next(m for m in article_text(html).marks if m["text"] == "Taliban")["data-label"] == "LOCATION"
    assert working_copy(db_session, opened, "ann") == current
    assert state(db_session, opened, "ann").version == 1


def test_stale_edit_without_htmx_is_409_with_the_page(client, opened, db_session):
    hx_post(client, url(opened, "status"), status="accepted", version=0)
    response = form_post(client, url(opened, "status"), status="skipped", version="0")
    assert response.status_code == 409
    assert "changed in another tab" in response.get_data(as_text=True)
    assert state(db_session, opened, "ann").status == "accepted"


@pytest.mark.parametrize("version", [None, "", "one"])
def test_edit_without_a_version_is_400(client, opened, db_session, version):
    before = working_copy(db_session, opened, "ann")
    data = {"status": "accepted"} if version is None else {"status": "accepted", "version": version}
    response = client.post(url(opened, "status"), data=data, headers=HTMX)
    assert response.status_code == 400
    nothing_saved(db_session, opened, before)


@pytest.mark.parametrize("token", [None, "forged"])
def test_edit_without_the_csrf_token_is_400_and_saves_nothing(client, opened, db_session, token):
    before = working_copy(db_session, opened, "ann")
    headers = {"HX-Request": "true"} | ({"X-CSRF-Token": token} if token else {})
    taliban = span_id(db_session, opened, "ann", "Taliban")
    response = client.post(url(opened, "delete"), data={"span": taliban, "version": 0}, headers=headers)
    assert response.status_code == 400
    assert b"security token" in response.data
    nothing_saved(db_session, opened, before)


def test_edit_before_opening_the_article_is_404(client, auth, db_session):
    article = make_review_article(db_session)
    auth.login()
    response = hx_post(client, url(article, "status"), status="accepted", version=0)
    assert response.status_code == 404


def test_annotator_cannot_change_another_annotators_spans(client, opened, app, db_session):
    bob_client = app.test_client()
    AuthActions(bob_client, db_session).login("bob")
    bob_client.get("/articles/helmand/1")
    ann_before = working_copy(db_session, opened, "ann")
    anns_taliban = span_id(db_session, opened, "ann", "Taliban")
    for action, data in (
        ("delete", {}),
        ("label", {"label": "LOCATION"}),
        ("resize", {"move": "grow-end"}),
        ("attrs", {"count": "1"}),
    ):
        response = hx_post(bob_client, url(opened, action), span=anns_taliban, version=0, **data)
        assert response.status_code == 404, action
    assert working_copy(db_session, opened, "ann") == ann_before
    assert state(db_session, opened, "ann").version == 0


def test_reviewer_edits_only_their_own_copy(client, opened, app, db_session):
    rita_client = app.test_client()
    AuthActions(rita_client, db_session).login("rita", role="reviewer")
    rita_client.post(f"/review/{opened.id}/start", headers=HTMX)  # reviewers start their copy by choice
    ann_before = working_copy(db_session, opened, "ann")
    ritas_taliban = span_id(db_session, opened, "rita", "Taliban")
    assert hx_post(rita_client, url(opened, "delete"), span=ritas_taliban, version=0).status_code == 200
    assert working_copy(db_session, opened, "ann") == ann_before
    assert len(working_copy(db_session, opened, "rita")) == 3


def test_edits_never_touch_the_model_spans(client, opened, db_session):
    from annotator.models import Span

    def model():
        db_session.expire_all()
        return sorted(
            (s.start, s.end, s.label)
            for s in db_session.exec(select(Span).where(Span.origin == "model")).all()
        )

    before = model()
    for phrase in ("KABUL", "Taliban"):
        span = span_id(db_session, opened, "ann", phrase)
        version = state(db_session, opened, "ann").version
        assert hx_post(client, url(opened, "delete"), span=span, version=version).status_code == 200
    assert model() == before


@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_for_an_unknown_article_is_404(client, auth, htmx):
    auth.login()
    post = hx_post if htmx else form_post
    response = post(client, "/review/999/spans", start="x", end="3", label="ACTOR", version="0")
    assert response.status_code == 404


# --- accepting needs complete casualties -------------------------------------------------------------


def test_accept_is_refused_while_a_casualty_lacks_attributes(client, opened, db_session):
    start, end = at("Monday")  # a new CASUALTY span: no attributes yet
    hx_post(client, url(opened, "spans"), start=start, end=end, label="CASUALTY", version=0)
    before = working_copy(db_session, opened, "ann")
    response = hx_post(client, url(opened, "status"), status="accepted", version=1)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        "Not accepted: 1 CASUALTY span still miss attributes: “Monday” needs count, qualifier, outcome, group"
        in html
    )
    assert 'data-incomplete="count qualifier outcome group"' in html
    # The first incomplete span is selected, ready for the `e` key.
    panel = find(html, "id", "span-panel")
    assert panel.attrs["data-span-id"] == str(span_id(db_session, opened, "ann", "Monday"))
    assert state(db_session, opened, "ann").status == "in_progress"
    assert working_copy(db_session, opened, "ann") == before
    # Skipping and flagging are still allowed.
    assert hx_post(client, url(opened, "status"), status="skipped", version=1).status_code == 200


@pytest.mark.parametrize(
    ("attrs", "accepted"),
    [
        ({"count": "3", "qualifier": "exact", "outcome": "killed", "group": "civilian"}, True),
        ({"count": "", "qualifier": "vague", "outcome": "killed", "group": "civilian"}, True),
        ({"count": "", "qualifier": "exact", "outcome": "killed", "group": "civilian"}, False),
        ({"count": "3", "qualifier": "exact", "outcome": "", "group": "civilian"}, False),
        ({"count": "3", "qualifier": "exact", "outcome": "killed", "group": ""}, False),
    ],
)
def test_a_count_may_be_missing_only_when_the_figure_is_vague(client, opened, db_session, attrs, accepted):
    start, end = at("Monday")
    hx_post(client, url(opened, "spans"), start=start, end=end, label="CASUALTY", version=0)
    monday = span_id(db_session, opened, "ann", "Monday")
    assert hx_post(client, url(opened, "attrs"), span=monday, version=1, **attrs).status_code == 200
    response = hx_post(client, url(opened, "status"), status="accepted", version=2)
    assert response.status_code == (200 if accepted else 422)


def test_a_plain_form_accept_is_refused_with_the_page_and_the_span_selected(client, opened, db_session):
    start, end = at("Monday")
    hx_post(client, url(opened, "spans"), start=start, end=end, label="CASUALTY", version=0)
    response = form_post(client, url(opened, "status"), status="accepted", version=1)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<html" in html and "still miss attributes" in html
    assert find(html, "id", "span-panel").attrs["data-span-id"] == str(
        span_id(db_session, opened, "ann", "Monday")
    )


# --- when the page could not tell whether an edit was saved ---------------------------------------------


def test_refresh_says_what_the_server_holds_after_a_lost_answer(client, opened, db_session):
    start, end = at("Monday")
    hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    response = client.get(url(opened, "refresh") + "?why=network", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert oob_ids(html) == ["article-text", "span-panel", "tally", "status", "progress", "message"]
    message = find(html, "id", "message").text
    assert message.startswith("The connection dropped before the server answered")
    assert (
        "This is your version as saved on the server, version 1: the last saved change is adding an ACTOR span “Monday”"
        in message
    )
    assert find(html, "id", "status").attrs["data-version"] == "1"
    assert client.get(url(opened, "refresh")).status_code == 303  # without htmx: the page


def test_refresh_before_any_edit_says_nothing_was_saved(client, opened):
    html = client.get(url(opened, "refresh") + "?why=server", headers=HTMX).get_data(as_text=True)
    assert (
        "The server could not finish your last edit. This is your version as saved on the server, version 0: no change is saved since you first opened it."
        in html
    )


# --- long articles: an edit sends the chunks it touched, not the text ------------------------------------


def test_an_edit_of_a_long_article_sends_only_the_chunks_it_touched(client, auth, db_session):
    from annotator.services.chunks import cuts
    from tests.factories import make_article

    text = (TEXT + "\n\n") * 600  # about 80,000 characters
    long = make_article(db_session, external_id="long", text=text)
    auth.login()
    client.get("/articles/long")
    start = text.index("Monday", len(text) // 2)
    response = hx_post(
        client, f"/review/{long.id}/spans", start=start, end=start + 6, label="ACTOR", version=0
    )
    html = response.get_data(as_text=True)
    chunks_sent = [each for each in oob_ids(html) if each.startswith("chunk-")]
    assert len(cuts(text)) > 30 and 1 <= len(chunks_sent) <= 2
    assert len(html) < 12_000 < len(text)
    sent = article_text(html)
    assert sent.text in text and "Monday" in [m["text"] for m in sent.marks]


def test_resizing_next_to_a_flag_takes_the_whole_flag(client, auth, db_session):
    from tests.factories import make_article, make_span

    text = "Crowds waved 🇦🇫 flags in Kabul."
    article = make_article(db_session, external_id="flags", text=text)
    make_span(db_session, article, start=7, end=12, label="ACTOR", origin="model")
    auth.login()
    client.get("/articles/flags")
    waved = span_id(db_session, article, "ann", "waved")
    response = hx_post(client, f"/review/{article.id}/resize", span=waved, move="grow-end", version=0)
    assert response.status_code == 200
    assert [m["text"] for m in article_text(response.get_data(as_text=True)).marks] == ["waved 🇦🇫"]


def test_an_edit_sees_only_this_articles_working_copy(client, opened, db_session):
    """The user's working copy of another article stays out of an edit's checks and fragments.

    A regression: SQLite's RETURNING drops table names, so a subquery correlated with the
    updated state compared the span's own column with itself and read every article's spans.
    """
    from tests.factories import make_article, make_span

    other = make_article(db_session, external_id="helmand/2", text=TEXT)
    start, end = at("Monday")
    make_span(db_session, other, start=start, end=end, label="LOCATION", origin="model")
    assert client.get("/articles/helmand%2F2").status_code == 200
    # Ann's copy of the other article has "Monday" as a LOCATION; this one has nothing there.
    response = hx_post(client, url(opened, "spans"), start=start, end=end, label="ACTOR", version=0)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert f'data-label="ACTOR" data-start="{start}"' in html
    assert f'data-label="LOCATION" data-start="{start}"' not in html
    assert (start, end, "ACTOR", {}) in working_copy(db_session, opened, "ann")
    assert (start, end, "LOCATION", {}) in working_copy(db_session, other, "ann")
