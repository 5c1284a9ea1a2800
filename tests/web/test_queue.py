"""Next in the browser's terms: a POST that claims; pages of fully staffed articles are read-only."""

from __future__ import annotations

from tests.factories import make_article, make_span
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import HTMX, find, hx_post


def _client(app, db_session, name, role="annotator"):
    client = app.test_client()
    AuthActions(client, db_session).login(name, role=role)
    return client


def _next(client, leaving=None):
    data = {"csrf_token": TEST_CSRF} | ({"leaving": leaving} if leaving else {})
    return client.post("/articles/next", data=data)


def test_next_claims_an_article_and_opens_it(app, db_session):
    for i in range(2):
        make_article(db_session, external_id=f"n{i}", text=f"Kabul {i}")
    ann, bob = _client(app, db_session, "ann"), _client(app, db_session, "bob")
    assert _next(ann).headers["Location"] == "/articles/n0"
    assert _next(bob).headers["Location"] == "/articles/n1"  # n0 is ann's: with N = 1 the team splits
    response = _next(ann)
    assert response.headers["Location"] == "/articles/n0"  # her own unfinished claim first
    empty = _next(ann, leaving=1)
    assert empty.headers["Location"] == "/articles/"
    assert "Your queue is empty" in ann.get("/articles/").get_data(as_text=True)


def test_the_article_page_has_next_as_a_form_not_a_link(app, db_session):
    make_article(db_session, external_id="n0", text="Kabul")
    ann = _client(app, db_session, "ann")
    html = ann.get("/articles/n0").get_data(as_text=True)
    form = find(html, "id", "next-form")
    assert form.attrs["method"] == "post" and form.attrs["action"] == "/articles/next"
    assert 'name="leaving" value="1"' in html


def test_the_list_shows_what_the_queue_gives_next_without_claiming_it(app, db_session):
    make_article(db_session, external_id="n0", text="Kabul")
    ann, bob = _client(app, db_session, "ann"), _client(app, db_session, "bob")
    assert 'Next from your queue: <a href="/articles/n0">n0</a>' in ann.get("/articles/").get_data(
        as_text=True
    )
    assert _next(bob).headers["Location"] == "/articles/n0"  # looking claimed nothing


def test_a_fully_staffed_article_opens_read_only_with_a_note(app, db_session):
    article = make_article(db_session, external_id="n0", text="Taliban fighters attacked Kabul.")
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="model")
    ann, bob = _client(app, db_session, "ann"), _client(app, db_session, "bob")
    _next(ann)
    html = bob.get("/articles/n0").get_data(as_text=True)
    assert find(html, "id", "editor").attrs["data-editable"] == "false"
    assert (
        "This article already has its annotator (working on it or done)"
        in find(html, "id", "staffing-note").text
    )


def test_an_edit_on_an_article_taken_meanwhile_is_refused_and_the_page_reloaded(app, db_session):
    article = make_article(db_session, external_id="n0", text="Taliban fighters attacked Kabul.")
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="model")
    ann, bob = _client(app, db_session, "ann"), _client(app, db_session, "bob")
    bob.get("/articles/n0")  # opened, not claimed
    _next(ann)  # ann takes it
    response = hx_post(bob, f"/review/{article.id}/spans", version=0, start=17, end=25, label="ACTOR")
    assert response.status_code == 422
    assert response.headers["HX-Refresh"] == "true"
    assert "Your version is kept, read-only" in response.get_data(as_text=True)


def test_a_reviewer_may_take_an_article_with_room_but_not_a_full_one(app, db_session):
    make_article(db_session, external_id="n0", text="Kabul")
    make_article(db_session, external_id="n1", text="Herat")
    ann = _client(app, db_session, "ann")
    rev = _client(app, db_session, "rev", "reviewer")
    _next(ann)
    assert rev.post("/review/2/start", data={"csrf_token": TEST_CSRF}).status_code == 303
    refused = rev.post("/review/1/start", data={"csrf_token": TEST_CSRF}, headers=HTMX)
    assert refused.status_code == 422 and "already has its annotator" in refused.get_data(as_text=True)


def test_concurrent_next_requests_never_exceed_n(app, db_session):
    """Eight annotators press Next at the same instant, through the web app: each article goes to exactly two."""
    import threading

    from annotator.services.settings import set_setting

    set_setting(db_session, "annotators_per_article", "2")
    for i in range(4):
        make_article(db_session, external_id=f"n{i}", text=f"Kabul {i}")
    clients = [_client(app, db_session, f"u{i}") for i in range(8)]
    ready = threading.Barrier(len(clients))
    landed: list[str] = []

    def press(client):
        ready.wait()
        landed.append(_next(client).headers["Location"])

    threads = [threading.Thread(target=press, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(landed) == sorted(f"/articles/n{i}" for i in range(4) for _ in range(2))
