"""The JSON API shows nothing of an import until its batch is committed: list, read, push, export, evaluate, agreement.

Each test runs with the batch "importing" and "committed" on each database:
the same request that finds nothing while importing finds the article once
committed.
"""

from __future__ import annotations

import json

import pytest

from annotator.models import BatchState
from tests.visibility_world import PENDING, build_world, set_batch_state


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


def test_the_list_leaves_pending_articles_out(client, api_token, world, visible):
    listed = client.get("/api/v1/articles", headers=api_token("reviewer")).json["articles"]
    names = {each["id"] for each in listed}
    assert (names & set(PENDING)) == (set(PENDING) if visible else set())
    assert {"shownfresh", "showngold"} <= names


def test_reading_or_pushing_to_a_pending_article_is_404(client, api_token, world, visible):
    headers = api_token("reviewer")
    assert client.get("/api/v1/articles/pendinggold", headers=headers).status_code == (
        200 if visible else 404
    )
    response = client.post(
        "/api/v1/articles/pendinggold/predictions",
        json={"source": "crf", "spans": [{"start": 0, "end": 7, "label": "ACTOR"}]},
        headers=headers,
    )
    assert response.status_code == (200 if visible else 404), response.json


@pytest.mark.parametrize("origin", ["gold", "model"])
def test_the_export_holds_no_pending_article(client, api_token, world, visible, origin):
    response = client.get(f"/api/v1/export?origin={origin}&format=jsonl", headers=api_token("reviewer"))
    assert response.status_code == 200
    names = {json.loads(line)["id"] for line in response.get_data(as_text=True).splitlines()}
    assert ("pendinggold" in names) == visible
    assert "showngold" in names


def test_evaluate_scores_no_pending_article(client, api_token, world, visible):
    response = client.post(
        "/api/v1/evaluate", json={"gold": "gold", "pred": "model"}, headers=api_token("reviewer")
    )
    assert response.status_code == 200, response.json
    assert response.json["documents"] == (2 if visible else 1)


def test_agreement_counts_no_pending_article(client, api_token, world, visible):
    response = client.get("/api/v1/agreement", headers=api_token("reviewer"))
    assert response.status_code == 200, response.json
    assert response.json["articles"] == (1 if visible else 0)
