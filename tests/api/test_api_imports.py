"""POST /api/v1/articles: the importer's checks, all or nothing, a batch per call, the upload size limit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlmodel import select

from annotator.models import Article, AuditEvent, GoldTally, ImportBatch, Span
from annotator.services.settings import set_setting
from tests.services.test_article_listing import assert_listing_matches, expected_and_listed

TEXT = "Gunmen killed 12 civilians in Kabul."
SPANS = [{"start": 30, "end": 35, "label": "LOCATION", "attrs": {}}]


def post(client, headers, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/api/v1/articles", data=data, headers={**headers, "Content-Type": "application/json"})


def count(db_session, table) -> int:
    db_session.expire_all()
    return db_session.exec(select(func.count()).select_from(table)).one()


def test_an_admin_imports_articles_with_spans_as_one_batch(client, db_session, api_token):
    headers = api_token("admin", "boss")
    body = {
        "articles": [
            {"id": "k1", "text": TEXT, "spans": SPANS, "source": "wire"},
            {"id": 2, "text": "Kabul."},
        ],
        "origin": "model",
    }

    response = post(client, headers, body)

    assert response.status_code == 201, response.json
    batch = db_session.exec(select(ImportBatch)).one()
    assert response.json == {
        "batch": batch.id,
        "records": 2,
        "new": 2,
        "updated": 0,
        "unchanged": 0,
        "spans_added": 1,
        "gold_revisions": 0,
        "gold_tallies": 0,
        "tallies_ignored": 0,
    }
    assert (batch.channel, batch.origin) == ("api", "model")
    assert db_session.exec(select(Span.origin)).all() == ["model"]
    stored = {a.external_id: a for a in db_session.exec(select(Article))}
    assert stored["k1"].meta == {"source": "wire"} and set(stored) == {"k1", "2"}
    event = db_session.exec(select(AuditEvent)).one()
    assert (event.action, event.actor_name) == ("import.api", "boss")

    again = post(client, headers, {"articles": [{"id": "k1", "text": TEXT, "spans": SPANS}]})
    assert again.status_code == 201
    assert (again.json["new"], again.json["updated"], again.json["unchanged"]) == (0, 1, 0)


@pytest.mark.parametrize(("origin", "stored", "ignored"), [("gold", 1, 0), ("model", 0, 1)])
def test_a_records_tally_is_gold_only_with_origin_gold(
    client, db_session, api_token, origin, stored, ignored
):
    headers = api_token("admin", "boss")
    body = {"articles": [{"id": "k1", "text": TEXT, "tally": {"killed": {"total": 2}}}], "origin": origin}
    response = post(client, headers, body)
    assert response.status_code == 201, response.json
    assert (response.json["gold_tallies"], response.json["tallies_ignored"]) == (stored, ignored)
    assert count(db_session, GoldTally) == stored
    assert db_session.exec(select(Article.meta)).one() == {}


def test_a_bad_tally_answers_422_naming_the_record_and_field(client, db_session, api_token):
    headers = api_token("admin", "boss")
    body = {"articles": [{"id": "k1", "text": TEXT, "tally": {"killed": {"total": -2}}}], "origin": "gold"}
    response = post(client, headers, body)
    assert response.status_code == 422
    assert any("articles[0]: tally.killed.total must be" in line for line in response.json["details"])
    assert count(db_session, Article) == 0


def test_imported_articles_are_listed(client, db_session, api_token):
    body = {"articles": [{"id": "long", "text": "Kabul " * 50}, {"id": "emoji", "text": "🙂" * 170}]}
    assert post(client, api_token("admin", "boss"), body).status_code == 201
    assert_listing_matches(db_session)
    assert len(expected_and_listed(db_session)[1]) == 2


def test_one_bad_record_answers_422_naming_each_problem_and_writes_nothing(client, db_session, api_token):
    body = {
        "articles": [
            {"id": "ok", "text": TEXT},
            {"id": "no-text"},
            {"id": "bad-span", "text": TEXT, "spans": [{"start": 30, "end": 99, "label": "LOCATION"}]},
        ]
    }

    response = post(client, api_token("admin"), body)

    assert response.status_code == 422
    assert response.json["error"].startswith("Nothing was imported")
    details = response.json["details"]
    assert details[0] == "articles[1]: missing 'text'"
    assert details[1].startswith("articles[2]: span 0")
    assert (count(db_session, Article), count(db_session, ImportBatch), count(db_session, AuditEvent)) == (
        0,
        0,
        0,
    )


def test_a_malformed_request_is_refused_by_its_schema(client, db_session, api_token):
    response = post(client, api_token("admin"), {"articles": "nope"})
    assert response.status_code == 422
    assert response.json["details"] and response.json["details"][0].startswith("articles")
    assert post(client, api_token("admin"), {"articles": [], "origin": "annotator:nobody"}).status_code == 422
    nan = post(client, api_token("admin"), '{"articles": [{"id": "a", "text": "t", "x": NaN}]}')
    assert nan.status_code == 422 and "NaN" in nan.json["details"][0]
    assert count(db_session, Article) == 0


def test_the_body_may_reach_the_upload_limit_not_beyond(app, client, db_session, api_token):
    headers = api_token("admin")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    set_setting(db_session, "upload_limit_mb", "1")

    accepted = post(client, headers, {"articles": [{"id": "big", "text": "x" * 50_000}]})
    assert accepted.status_code == 201

    refused = post(client, headers, {"articles": [{"id": "bigger", "text": "x" * 1_100_000}]})
    assert refused.status_code == 413
    assert refused.json["error"] == "The request body is over the import limit of 1 MiB."
    assert any("upload_limit_mb" in line for line in refused.json["details"])
    assert count(db_session, Article) == 1


def test_non_admins_are_refused_before_a_large_body_is_read(app, client, db_session, api_token):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = post(client, api_token("reviewer"), {"articles": [{"id": "big", "text": "x" * 50_000}]})
    assert response.status_code == 403
