"""Pages show nothing of an import until its batch is committed: 404 by id, absent from every list.

Each test runs with the batch "importing" and "committed" on each database:
the same request that finds nothing while importing finds the article once
committed.
"""

from __future__ import annotations

import pytest

from annotator.models import BatchState
from tests.visibility_world import build_world, set_batch_state
from tests.web.conftest import TEST_CSRF, AuthActions


@pytest.fixture(params=[BatchState.IMPORTING.value, BatchState.COMMITTED.value])
def state(request):
    return request.param


@pytest.fixture
def world(db_session, state):
    built = build_world(db_session)
    set_batch_state(db_session, built.batch, state)
    return built


@pytest.fixture
def visible(state) -> bool:
    return state == BatchState.COMMITTED.value


def _as(app, db_session, username, role="annotator"):
    client = app.test_client()
    AuthActions(client, db_session).login(username, "pw", role=role)
    return client


def test_an_annotator_gets_404_for_a_pending_article_and_next_skips_it(app, db_session, world, visible):
    dan = _as(app, db_session, "dan")
    assert dan.get("/articles/pendingfresh").status_code == (200 if visible else 404)
    response = dan.post("/articles/next", data={"csrf_token": TEST_CSRF})
    assert response.status_code == 303
    expected = "pendinggold" if visible else "shownfresh"
    assert response.headers["Location"].endswith(f"/articles/{expected}")


@pytest.mark.parametrize(
    ("path", "article"),
    [
        ("/articles/pendinggold?annotator=ann", None),
        ("/review/{id}/panel?annotator=ann", "pendinggold"),
        ("/curate/{id}", "pendingwaiting"),
        ("/gold/{id}/history", "pendinggold"),
        ("/gold/{id}/promote?annotator=ann", "pendingwaiting"),
        ("/feedback/{id}?annotator=ann", "pendinggold"),
    ],
)
def test_a_reviewer_gets_404_for_every_page_of_a_pending_article(
    app, db_session, world, visible, path, article
):
    rev = _as(app, db_session, "rev", "reviewer")
    url = path.format(id=world.id_of(article)) if article else path
    response = rev.get(url, headers={"HX-Request": "true"} if "/panel" in url else {})
    assert response.status_code == (200 if visible else 404), response.get_data(as_text=True)[:300]


def test_a_flag_on_a_pending_article_cannot_be_answered(app, db_session, world, visible):
    rev = _as(app, db_session, "rev", "reviewer")
    response = rev.post(
        f"/flags/{world.id_of('pendinggold')}/answer",
        data={"annotator": "cat", "note": "Yes, an actor.", "csrf_token": TEST_CSRF},
    )
    assert response.status_code == (303 if visible else 404)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/queue/", "pendingwaiting"),
        ("/queue/?state=flagged", "pendinggold"),
        ("/team/agreement", "pendingwaiting"),
        ("/accuracy/", "pendinggold"),
    ],
)
def test_lists_of_reviewers_show_no_pending_article(app, db_session, world, visible, path, name):
    rev = _as(app, db_session, "rev", "reviewer")
    response = rev.get(path)
    assert response.status_code == 200
    assert (name in response.get_data(as_text=True)) == visible


def test_the_top_bar_counts_no_pending_article(app, db_session, world, visible):
    rev = _as(app, db_session, "rev", "reviewer")
    counts = rev.get("/queue/counts").get_data(as_text=True)
    expected = (
        "1 waiting for adjudication, 1 flag to answer" if visible else "0 waiting for adjudication, 0 flags"
    )
    assert expected in counts
    page = _as(app, db_session, "ann").get("/articles/shownfresh").get_data(as_text=True)
    # Five articles once committed, two before; ann accepted two of the pending ones.
    mine = "<strong>2</strong> of 5" if visible else "<strong>0</strong> of 2"
    assert f"You: {mine} accepted" in page
    assert f"of {5 if visible else 2} complete" in page
