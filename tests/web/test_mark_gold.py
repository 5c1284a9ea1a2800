"""Reviewers and admins make one annotator's version of an article its gold."""

from __future__ import annotations

from sqlmodel import select

from annotator.models import Span
from tests.web.review_helpers import form_post, make_review_article, working_copy


def _gold(session, article):
    session.expire_all()
    rows = session.exec(select(Span).where(Span.article_id == article.id, Span.origin == "gold")).all()
    return sorted((span.start, span.end, span.label, span.attrs) for span in rows)


def _open_as(client, auth, username, role):
    auth.login(username, "pw", role=role)
    assert client.get("/articles/helmand/1").status_code == 200


def test_reviewer_marks_an_annotators_version_as_gold(client, auth, db_session):
    article = make_review_article(db_session)
    _open_as(client, auth, "ann", "annotator")  # the first visit copies the model spans
    client.post("/auth/logout", headers={"X-CSRF-Token": "test-csrf-token"})
    _open_as(client, auth, "rev", "reviewer")
    page = client.get("/articles/helmand/1?annotator=ann").get_data(as_text=True)
    assert "Mark ann&#39;s version as gold" in page
    response = form_post(client, f"/review/{article.id}/gold", annotator="ann")
    assert response.status_code == 303
    assert _gold(db_session, article) == working_copy(db_session, article, "ann")
    assert len(_gold(db_session, article)) == 4
    assert "is now this article" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_marking_again_replaces_the_gold(client, auth, db_session):
    article = make_review_article(db_session)
    _open_as(client, auth, "rev", "reviewer")
    form_post(client, f"/review/{article.id}/gold", annotator="rev")
    form_post(client, f"/review/{article.id}/gold", annotator="rev")
    assert len(_gold(db_session, article)) == 4


def test_annotators_cannot_mark_gold(client, auth, db_session):
    article = make_review_article(db_session)
    _open_as(client, auth, "ann", "annotator")
    assert "as gold" not in client.get("/articles/helmand/1").get_data(as_text=True)
    response = form_post(client, f"/review/{article.id}/gold", annotator="ann")
    assert response.status_code == 403
    assert _gold(db_session, article) == []


def test_marking_an_unknown_annotator_is_404_and_changes_nothing(client, auth, db_session):
    article = make_review_article(db_session)
    _open_as(client, auth, "rev", "admin")
    response = form_post(client, f"/review/{article.id}/gold", annotator="nobody")
    assert response.status_code == 404
    assert _gold(db_session, article) == []


def test_marking_gold_needs_the_csrf_token(client, auth, db_session):
    article = make_review_article(db_session)
    _open_as(client, auth, "rev", "reviewer")
    assert client.post(f"/review/{article.id}/gold", data={"annotator": "rev"}).status_code == 400
    assert _gold(db_session, article) == []
