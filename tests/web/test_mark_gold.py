"""Reviewers and admins make one annotator's version of an article its gold: confirmed, explained, undoable."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from annotator.models import GoldAction, GoldRevision, Span
from annotator.services import gold_revisions
from tests.factories import make_span
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import at, form_post, hx_post, make_review_article, working_copy


def _gold(session, article):
    session.expire_all()
    rows = session.exec(select(Span).where(Span.article_id == article.id, Span.origin == "gold")).all()
    return sorted((span.start, span.end, span.label, span.attrs) for span in rows)


def _revisions(session, article):
    session.expire_all()
    return session.exec(
        select(GoldRevision).where(GoldRevision.article_id == article.id).order_by(GoldRevision.revision)
    ).all()


def _as(app, db_session, username, role):
    client = app.test_client()
    AuthActions(client, db_session).login(username, "pw", role=role)
    return client


def _accept(client, article):
    client.get("/articles/helmand%2F1")  # the first visit copies the model spans
    response = client.post(
        f"/review/{article.id}/status",
        data={"version": 0, "status": "accepted", "csrf_token": TEST_CSRF},
    )
    assert response.status_code == 303


@pytest.fixture
def article(db_session):
    return make_review_article(db_session)


@pytest.fixture
def imported_gold(db_session, article):
    """The article's imported gold: one span the annotators' versions do not have."""
    start, end = at("officials")
    make_span(db_session, article, start=start, end=end, label="ACTOR")
    return _gold(db_session, article)


def test_the_article_page_links_to_a_confirmation_not_a_one_click_form(app, db_session, article):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    page = rev.get("/articles/helmand%2F1?annotator=ann").get_data(as_text=True)
    link = re.search(r'href="([^"]*/gold/\d+/promote[^"]*)"', page)
    assert link and "annotator=ann" in link.group(1)
    assert 'action="/gold/' not in page and "/review/" + str(article.id) + "/gold" not in page


def test_confirmation_says_what_is_replaced_and_writes_nothing(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    page = rev.get(f"/gold/{article.id}/promote?annotator=ann").get_data(as_text=True)
    assert "It replaces the current gold, revision 1" in page
    assert "with 1 span," in page
    assert "4 added, 1 removed, 0 changed, 0 kept." in page
    assert "“officials”" in page  # the removed span is named
    assert 'name="replaces" value="1"' in page
    assert _gold(db_session, article) == imported_gold
    assert len(_revisions(db_session, article)) == 1


def test_confirming_replaces_the_gold_and_keeps_the_old_one(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    response = form_post(rev, f"/gold/{article.id}/promote", annotator="ann", replaces="1", reason="")
    assert response.status_code == 303
    assert _gold(db_session, article) == working_copy(db_session, article, "ann")
    revisions = _revisions(db_session, article)
    assert [(r.revision, r.action, r.source) for r in revisions] == [
        (1, "import", "tests.factories"),
        (2, "promote", "annotator:ann"),
    ]
    assert [(s["start"], s["end"], s["label"]) for s in revisions[0].spans] == [s[:3] for s in imported_gold]
    assert "The gold of this article is now ann&#39;s version (4 spans), as revision 2" in rev.get(
        response.headers["Location"]
    ).get_data(as_text=True)


def test_a_version_that_is_not_accepted_needs_a_reason(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    ann.get("/articles/helmand%2F1")  # opened only: status todo
    rev = _as(app, db_session, "rev", "reviewer")
    page = rev.get(f"/gold/{article.id}/promote?annotator=ann").get_data(as_text=True)
    assert "is todo, not accepted" in page
    refused = form_post(rev, f"/gold/{article.id}/promote", annotator="ann", replaces="1", reason="  ")
    assert refused.status_code == 422
    assert "Give a reason to mark it as gold anyway" in refused.get_data(as_text=True)
    assert _gold(db_session, article) == imported_gold
    done = form_post(
        rev,
        f"/gold/{article.id}/promote",
        annotator="ann",
        replaces="1",
        reason="The model got it all right.",
    )
    assert done.status_code == 303
    assert _revisions(db_session, article)[-1].reason == "The model got it all right."


def test_gold_that_changed_since_the_confirmation_is_not_overwritten(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    # The page was opened before the article had gold: it says it replaces nothing.
    response = form_post(rev, f"/gold/{article.id}/promote", annotator="ann", replaces="0")
    assert response.status_code == 409
    assert "changed while you looked" in response.get_data(as_text=True)
    assert _gold(db_session, article) == imported_gold


def test_the_previous_gold_can_be_restored(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    form_post(rev, f"/gold/{article.id}/promote", annotator="ann", replaces="1")
    history = rev.get(f"/gold/{article.id}/history").get_data(as_text=True)
    assert "promote" in history and "from annotator:ann" in history
    assert f"/gold/{article.id}/restore?revision=1" in history
    page = rev.get(f"/gold/{article.id}/restore?revision=1").get_data(as_text=True)
    assert "Restore gold revision 1" in page and "1 added, 4 removed" in page
    response = form_post(
        rev, f"/gold/{article.id}/restore", revision="1", replaces="2", reason="Undo my click"
    )
    assert response.status_code == 303
    assert _gold(db_session, article) == imported_gold
    assert [(r.revision, r.action, r.source) for r in _revisions(db_session, article)][-1] == (
        3,
        "restore",
        "revision 1",
    )


def test_a_version_with_no_spans_becomes_an_empty_gold(app, db_session, article, imported_gold):
    rev = _as(app, db_session, "rev", "reviewer")
    rev.post(f"/review/{article.id}/start", data={"csrf_token": TEST_CSRF})
    # Delete every span of rev's version, one edit each.
    rows = db_session.exec(
        select(Span).where(Span.article_id == article.id, Span.origin == "annotator")
    ).all()
    for version, span in enumerate(rows):
        assert hx_post(rev, f"/review/{article.id}/delete", span=span.id, version=version).status_code == 200
    response = form_post(
        rev, f"/gold/{article.id}/promote", annotator="rev", replaces="1", reason="nothing here"
    )
    assert response.status_code == 303
    assert _gold(db_session, article) == []
    assert _revisions(db_session, article)[-1].spans == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/gold/{id}/promote?annotator=ann"),
        ("POST", "/gold/{id}/promote"),
        ("GET", "/gold/{id}/history"),
        ("GET", "/gold/{id}/restore?revision=1"),
        ("POST", "/gold/{id}/restore"),
    ],
)
def test_annotators_cannot_change_or_read_gold(app, db_session, article, imported_gold, method, path):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    url = path.format(id=article.id)
    data = {"annotator": "ann", "replaces": "1", "revision": "1", "csrf_token": TEST_CSRF}
    response = ann.open(url, method=method, data=data if method == "POST" else None)
    assert response.status_code == 403
    assert _gold(db_session, article) == imported_gold
    assert "as gold" not in ann.get("/articles/helmand%2F1").get_data(as_text=True)


def test_an_unknown_annotator_or_revision_is_404_and_changes_nothing(app, db_session, article, imported_gold):
    admin = _as(app, db_session, "boss", "admin")
    assert admin.get(f"/gold/{article.id}/promote?annotator=nobody").status_code == 404
    assert (
        form_post(admin, f"/gold/{article.id}/promote", annotator="nobody", replaces="1").status_code == 404
    )
    assert admin.get(f"/gold/{article.id}/restore?revision=7").status_code == 404
    assert _gold(db_session, article) == imported_gold


def test_changing_gold_needs_the_csrf_token(app, db_session, article, imported_gold):
    ann = _as(app, db_session, "ann", "annotator")
    _accept(ann, article)
    rev = _as(app, db_session, "rev", "reviewer")
    response = rev.post(f"/gold/{article.id}/promote", data={"annotator": "ann", "replaces": "1"})
    assert response.status_code == 400
    assert _gold(db_session, article) == imported_gold


def test_the_history_counts_the_spans_a_reviewer_changed_in_adjudication(app, db_session, article):
    start, end = at("officials")
    spans = [
        {"start": start, "end": end, "label": "ACTOR", "provenance": {"annotators": [], "changed": True}}
    ]
    gold_revisions.record_revision(
        db_session, article.id, spans, action=GoldAction.ADJUDICATE, source="adjudication"
    )
    gold_revisions.record_revision(db_session, article.id, spans[:0], action=GoldAction.IMPORT)
    db_session.commit()
    rev = _as(app, db_session, "rev", "reviewer")
    history = rev.get(f"/gold/{article.id}/history").get_data(as_text=True)
    assert history.count("changed by reviewer") == 1
    assert "1 <small>1 changed by reviewer</small>" in history
