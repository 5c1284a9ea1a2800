"""GET /api/v1/articles (keyset pages and filters), GET /api/v1/articles/<id>, POST .../predictions."""

from __future__ import annotations

import pytest
from sqlmodel import select

from annotator.models import AnnotationState, Span
from annotator.services.settings import set_setting
from tests.api.conftest import bearer, token_for
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters attacked Kabul and killed 3 civilians near the market."


def at(part: str) -> dict:
    start = TEXT.index(part)
    return {"start": start, "end": start + len(part)}


@pytest.fixture
def corpus(db_session):
    """Six articles: a/1 accepted by ann, a/2 accepted by bob, a/3 in progress by ann, a/4 stored gold,
    a/5 accepted by both (waiting for adjudication), a/6 untouched. a/1 has model spans."""
    ann = make_user(db_session, username="ann")
    bob = make_user(db_session, username="bob")
    articles = {
        n: make_article(
            db_session, external_id=f"a/{n}", text=TEXT, meta={"title": f"Story {n}"} if n < 3 else {}
        )
        for n in range(1, 7)
    }
    make_span(db_session, articles[1], origin="model", label="ACTOR", **at("Taliban fighters"))
    make_span(db_session, articles[1], origin="annotator", owner=ann, label="LOCATION", **at("Kabul"))
    make_span(db_session, articles[2], origin="annotator", owner=bob, label="ACTOR", **at("Taliban"))
    make_span(db_session, articles[4], origin="gold", label="LOCATION", **at("Kabul"))
    for user, n, status in (
        (ann, 1, "accepted"),
        (bob, 2, "accepted"),
        (ann, 3, "in_progress"),
        (ann, 5, "accepted"),
        (bob, 5, "accepted"),
    ):
        db_session.add(AnnotationState(article_id=articles[n].id, user_id=user.id, status=status))
    db_session.commit()
    return articles


@pytest.fixture
def as_ann(db_session, corpus):
    return bearer(token_for(db_session, "ann"))


@pytest.fixture
def as_bob(db_session, corpus):
    return bearer(token_for(db_session, "bob"))


@pytest.fixture
def as_rev(db_session, corpus):
    return bearer(token_for(db_session, "rev", "reviewer"))


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [article["id"] for article in response.json["articles"]]


def test_pages_follow_article_ids_until_next_is_null(client, as_rev):
    seen, url, pages = [], "/api/v1/articles?limit=4", 0
    while url:
        response = client.get(url, headers=as_rev)
        seen += ids(response)
        url = response.json["next"]
        pages += 1
    assert seen == [f"a/{n}" for n in range(1, 7)]
    assert pages == 2
    first = client.get("/api/v1/articles?limit=4", headers=as_rev).json
    assert first["next_after"] == first["articles"][-1]["article_id"]
    assert ids(client.get(f"/api/v1/articles?after={first['next_after']}", headers=as_rev)) == ["a/5", "a/6"]


def test_a_full_last_page_has_no_next(client, as_rev):
    response = client.get("/api/v1/articles?limit=6", headers=as_rev)
    assert len(ids(response)) == 6
    assert response.json["next"] is None and response.json["next_after"] is None


def test_next_keeps_the_filters(client, as_rev):
    response = client.get("/api/v1/articles?limit=1&status=accepted&has_gold=false", headers=as_rev)
    assert ids(response) == ["a/5"]
    assert response.json["next"] is None
    response = client.get("/api/v1/articles?limit=1&status=accepted", headers=as_rev)
    assert "status=accepted" in response.json["next"] and "limit=1" in response.json["next"]
    assert ids(client.get(response.json["next"], headers=as_rev)) == ["a/2"]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "after=-1", "status=done", "has_gold=maybe", "limit=x"]
)
def test_bad_list_parameters_get_422(client, as_rev, query):
    response = client.get(f"/api/v1/articles?{query}", headers=as_rev)
    assert response.status_code == 422
    assert response.json["error"] and response.json["details"]


def test_list_items_say_what_the_article_is(client, as_rev, corpus):
    first = client.get("/api/v1/articles?limit=1", headers=as_rev).json["articles"][0]
    assert first == {
        "id": "a/1",
        "article_id": corpus[1].id,
        "length": len(TEXT),
        "title": "Story 1",
        "preview": TEXT,
        "has_gold": True,
        "status": None,
        "annotators": {"ann": "accepted"},
    }


def test_annotators_see_only_their_own_status(client, as_ann):
    articles = client.get("/api/v1/articles", headers=as_ann).json["articles"]
    assert [(a["id"], a["status"]) for a in articles] == [
        ("a/1", "accepted"),
        ("a/2", "todo"),
        ("a/3", "in_progress"),
        ("a/4", "todo"),
        ("a/5", "accepted"),
        ("a/6", "todo"),
    ]
    assert all(article["annotators"] is None for article in articles)
    assert "bob" not in str(articles)


def test_annotators_filter_on_their_own_status(client, as_ann, as_bob):
    assert ids(client.get("/api/v1/articles?status=accepted", headers=as_ann)) == ["a/1", "a/5"]
    assert ids(client.get("/api/v1/articles?status=todo", headers=as_ann)) == ["a/2", "a/4", "a/6"]
    assert ids(client.get("/api/v1/articles?status=accepted", headers=as_bob)) == ["a/2", "a/5"]
    assert ids(client.get("/api/v1/articles?status=accepted&annotator=ann", headers=as_ann)) == ["a/1", "a/5"]


def test_annotators_may_not_name_someone_else(client, as_ann):
    response = client.get("/api/v1/articles?annotator=bob", headers=as_ann)
    assert response.status_code == 403
    assert "own" in response.json["error"]


def test_reviewers_filter_by_annotator_or_anyone(client, as_rev):
    assert ids(client.get("/api/v1/articles?annotator=bob&status=accepted", headers=as_rev)) == ["a/2", "a/5"]
    bob = client.get("/api/v1/articles?annotator=bob&limit=2", headers=as_rev).json["articles"]
    assert [(a["status"], a["annotators"]) for a in bob] == [
        ("todo", {"ann": "accepted"}),
        ("accepted", {"bob": "accepted"}),
    ]
    assert ids(client.get("/api/v1/articles?status=accepted", headers=as_rev)) == ["a/1", "a/2", "a/5"]
    assert ids(client.get("/api/v1/articles?status=in_progress", headers=as_rev)) == ["a/3"]
    # Without an annotator, todo means that nobody took the article further.
    assert ids(client.get("/api/v1/articles?status=todo", headers=as_rev)) == ["a/4", "a/6"]
    response = client.get("/api/v1/articles?annotator=nobody", headers=as_rev)
    assert response.status_code == 404 and "nobody" in response.json["error"]


def test_has_gold_follows_what_exports_take(client, as_rev, db_session):
    # a/1 and a/2: one accepted version each; a/4: stored gold; a/5 waits for adjudication.
    assert ids(client.get("/api/v1/articles?has_gold=true", headers=as_rev)) == ["a/1", "a/2", "a/4"]
    assert ids(client.get("/api/v1/articles?has_gold=false", headers=as_rev)) == ["a/3", "a/5", "a/6"]
    # With two annotators per article, one accepted version is no gold yet.
    set_setting(db_session, "annotators_per_article", "2")
    assert ids(client.get("/api/v1/articles?has_gold=true", headers=as_rev)) == ["a/4"]


# --- one article ---------------------------------------------------------------------------------


def test_reviewers_read_every_origin(client, as_rev, corpus):
    response = client.get("/api/v1/articles/a%2F1", headers=as_rev)
    assert response.status_code == 200
    body = response.json
    assert (body["id"], body["article_id"], body["text"], body["meta"]) == (
        "a/1",
        corpus[1].id,
        TEXT,
        {"title": "Story 1"},
    )
    assert body["spans"]["model"] == [
        {**at("Taliban fighters"), "label": "ACTOR", "attrs": {}, "source": None}
    ]
    assert body["spans"]["annotators"] == {"ann": [{**at("Kabul"), "label": "LOCATION", "attrs": {}}]}
    # The one accepted version is the gold.
    assert body["spans"]["gold"] == body["spans"]["annotators"]["ann"]
    assert body["gold_status"] == "accepted"
    assert body["statuses"] == {"ann": "accepted"}


def test_gold_status_says_why_there_is_no_gold(client, as_rev):
    waiting = client.get("/api/v1/articles/a%2F5", headers=as_rev).json
    assert (waiting["spans"]["gold"], waiting["gold_status"]) == (None, "waiting_for_adjudication")
    assert set(waiting["spans"]["annotators"]) == {"ann", "bob"}
    untouched = client.get("/api/v1/articles/a%2F6", headers=as_rev).json
    assert (untouched["spans"]["gold"], untouched["gold_status"]) == (None, "none")
    stored = client.get("/api/v1/articles/a%2F4", headers=as_rev).json
    assert stored["gold_status"] == "stored" and stored["spans"]["gold"][0]["label"] == "LOCATION"


def test_annotators_read_their_own_version_and_no_gold(client, as_ann, as_bob):
    body = client.get("/api/v1/articles/a%2F5", headers=as_ann).json
    assert set(body["spans"]) == {"model", "annotators"}
    assert "gold_status" not in body
    assert list(body["spans"]["annotators"]) == ["ann"] and body["statuses"] == {"ann": "accepted"}
    other = client.get("/api/v1/articles/a%2F1", headers=as_bob).json
    assert other["spans"]["annotators"] == {} and other["statuses"] == {}


def test_annotators_read_gold_when_the_project_allows_it(client, as_ann, db_session):
    assert client.get("/api/v1/articles/a%2F4?origin=gold", headers=as_ann).status_code == 403
    set_setting(db_session, "annotators_see_gold", "yes")
    body = client.get("/api/v1/articles/a%2F4", headers=as_ann).json
    assert body["gold_status"] == "stored" and len(body["spans"]["gold"]) == 1
    assert client.get("/api/v1/articles/a%2F4?origin=gold", headers=as_ann).status_code == 200


def test_origin_asks_for_one_origin(client, as_rev, as_ann):
    assert set(client.get("/api/v1/articles/a%2F1?origin=model", headers=as_rev).json["spans"]) == {"model"}
    bob = client.get("/api/v1/articles/a%2F5?origin=annotator:bob", headers=as_rev).json
    assert list(bob["spans"]["annotators"]) == ["bob"] and bob["statuses"] == {"bob": "accepted"}
    assert client.get("/api/v1/articles/a%2F5?origin=annotator:bob", headers=as_ann).status_code == 403
    assert client.get("/api/v1/articles/a%2F5?origin=annotator:ann", headers=as_ann).status_code == 200
    response = client.get("/api/v1/articles/a%2F1?origin=silver", headers=as_rev)
    assert response.status_code == 422 and "origin must be" in response.json["error"]
    assert client.get("/api/v1/articles/a%2F1?origin=annotator:nobody", headers=as_rev).status_code == 404
    assert client.get("/api/v1/articles/a%2F1?origin=model:nothing", headers=as_rev).status_code == 404


def test_an_unknown_article_is_404_in_json(client, as_rev):
    response = client.get("/api/v1/articles/a%2F99", headers=as_rev)
    assert response.status_code == 404
    assert "a/99" in response.json["error"]


def test_reading_writes_nothing(client, as_ann, db_session):
    before = db_session.exec(select(AnnotationState.id)).all()
    assert client.get("/api/v1/articles/a%2F6", headers=as_ann).status_code == 200
    assert db_session.exec(select(AnnotationState.id)).all() == before


def test_ids_with_slashes_dots_and_spaces_round_trip(client, db_session, as_rev):
    make_article(db_session, external_id="feeds/2024/../x y.txt", text="Kabul.")
    listed = client.get("/api/v1/articles?after=6", headers=as_rev).json["articles"]
    assert [article["id"] for article in listed] == ["feeds/2024/../x y.txt"]
    response = client.get("/api/v1/articles/feeds%2F2024%2F..%2Fx%20y.txt", headers=as_rev)
    assert response.status_code == 200 and response.json["text"] == "Kabul."


# --- predictions ---------------------------------------------------------------------------------


def push(client, headers, source, spans, article="a%2F1"):
    return client.post(
        f"/api/v1/articles/{article}/predictions", json={"source": source, "spans": spans}, headers=headers
    )


def test_pushed_predictions_replace_that_source_only(client, as_rev):
    response = push(
        client, as_rev, "crf", [{**at("Kabul"), "label": "LOCATION"}, {**at("Taliban"), "label": "ACTOR"}]
    )
    assert response.status_code == 200, response.json
    assert response.json == {"id": "a/1", "source": "crf", "origin": "model:crf", "spans": 2, "replaced": 0}
    assert push(client, as_rev, "hmm", [{**at("Kabul"), "label": "LOCATION"}]).status_code == 200
    again = push(client, as_rev, "crf", [{**at("3 civilians"), "label": "CASUALTY", "attrs": {"count": 3}}])
    assert again.json["replaced"] == 2
    model = client.get("/api/v1/articles/a%2F1?origin=model", headers=as_rev).json["spans"]["model"]
    assert sorted((span["source"] or "", span["label"]) for span in model) == [
        ("", "ACTOR"),
        ("api:crf", "CASUALTY"),
        ("api:hmm", "LOCATION"),
    ]
    crf = client.get("/api/v1/articles/a%2F1?origin=model:crf", headers=as_rev).json["spans"]["model"]
    assert crf == [{**at("3 civilians"), "label": "CASUALTY", "attrs": {"count": 3}, "source": "api:crf"}]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"source": "crf", "spans": [{"start": 0, "end": 999, "label": "ACTOR"}]},
            "span 0: span [0, 999) lies outside the text",
        ),
        ({"source": "crf", "spans": [{"start": 0, "end": 7, "label": "GPE"}]}, "unknown label 'GPE'"),
        (
            {
                "source": "crf",
                "spans": [{**at("Taliban fighters"), "label": "ACTOR"}, {**at("fighters"), "label": "ACTOR"}],
            },
            "overlaps",
        ),
        (
            {
                "source": "crf",
                "spans": [{**at("3 civilians"), "label": "CASUALTY", "attrs": {"outcome": "sad"}}],
            },
            "outcome must be",
        ),
        ({"source": "crf", "spans": [{"start": "0", "end": 7, "label": "ACTOR"}]}, "spans.0.start"),
        ({"source": "preannotator", "spans": []}, "reserved"),
        ({"source": "a:b", "spans": []}, "source must be"),
        ({"spans": []}, "source"),
    ],
)
def test_bad_predictions_get_422_with_details_and_write_nothing(client, as_rev, db_session, body, detail):
    before = db_session.exec(select(Span.id)).all()
    response = client.post("/api/v1/articles/a%2F1/predictions", json=body, headers=as_rev)
    assert response.status_code == 422
    assert set(response.json) == {"error", "details"}
    assert any(detail in line for line in response.json["details"]), response.json
    assert db_session.exec(select(Span.id)).all() == before


def test_predictions_for_an_unknown_article_get_404(client, as_rev):
    assert push(client, as_rev, "crf", [], article="nope").status_code == 404


def test_annotators_may_not_push_predictions_even_a_bad_body(client, as_ann):
    response = client.post("/api/v1/articles/a%2F1/predictions", json={"spans": "x"}, headers=as_ann)
    assert response.status_code == 403
