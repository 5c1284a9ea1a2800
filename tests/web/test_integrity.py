"""Data integrity: undo with reused ids, bounded casualty counts, reads that write nothing, odd article ids."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import delete, select

from annotator.labels import MAX_COUNT
from annotator.models import AnnotationState, Span
from tests.factories import make_article
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import HTMX, at, hx_post, make_review_article, open_review_article, working_copy

# --- undo when the database hands out a deleted span's id again ------------------------------


def _client(app, db_session, username, role="annotator"):
    client = app.test_client()
    AuthActions(client, db_session).login(username, role=role)
    return client


def _version(client, article) -> int:
    from tests.web.review_helpers import find

    html = client.get(f"/articles/{article.external_id.replace('/', '%2F')}").get_data(as_text=True)
    return int(find(html, "id", "status").attrs["data-version"])


def test_undo_keeps_working_when_sqlite_reuses_a_deleted_spans_id(app, db_session):
    """ann1 adds and deletes a span; ann2's next span gets its id; ann1's undo must still work, again and again."""
    first = make_review_article(db_session)
    other = make_article(db_session, external_id="other", text="Gunmen attacked Mogadishu on Friday.")
    ann1, ann2 = _client(app, db_session, "ann1"), _client(app, db_session, "ann2")
    ann1.get("/articles/helmand%2F1")
    ann2.get("/articles/other")

    start, end = at("checkpoint")
    added = hx_post(ann1, f"/review/{first.id}/spans", version=0, start=start, end=end, label="LOCATION")
    assert added.status_code == 200
    added_id = db_session.exec(
        select(Span.id).where(Span.article_id == first.id, Span.start == start, Span.owner_id.is_not(None))
    ).one()
    assert hx_post(ann1, f"/review/{first.id}/delete", span=added_id, version=1).status_code == 200
    hx_post(ann2, f"/review/{other.id}/spans", version=0, start=0, end=6, label="ACTOR")
    reused = db_session.exec(select(Span.id).where(Span.article_id == other.id, Span.start == 0)).one()
    if db_session.get_bind().dialect.name == "sqlite":
        assert reused == added_id  # the situation of the bug: SQLite gave the id away again
    ann2_before = working_copy(db_session, other, "ann2")

    undone = hx_post(ann1, f"/review/{first.id}/undo", version=2)  # the delete comes back
    assert undone.status_code == 200, undone.get_data(as_text=True)
    assert (start, end, "LOCATION", {}) in working_copy(db_session, first, "ann1")
    assert hx_post(ann1, f"/review/{first.id}/undo", version=3).status_code == 200  # and the add goes
    assert (start, end, "LOCATION", {}) not in working_copy(db_session, first, "ann1")
    assert working_copy(db_session, other, "ann2") == ann2_before  # ann2's span was never touched
    # A resize and its undo on a restored span, then undo down to the first visit.
    hx_post(ann1, f"/review/{first.id}/undo", version=4)  # nothing left: 422, no 500
    assert _version(ann1, first) == 4


def test_undo_of_an_edit_of_a_restored_span_finds_it_by_its_offsets(app, db_session):
    article = make_review_article(db_session)
    ann = _client(app, db_session, "ann")
    ann.get("/articles/helmand%2F1")
    taliban = db_session.exec(
        select(Span.id).where(
            Span.article_id == article.id, Span.owner_id.is_not(None), Span.label == "ACTOR"
        )
    ).one()
    assert (
        hx_post(ann, f"/review/{article.id}/label", span=taliban, label="LOCATION", version=0).status_code
        == 200
    )
    assert hx_post(ann, f"/review/{article.id}/delete", span=taliban, version=1).status_code == 200
    for version in (2, 3):
        assert hx_post(ann, f"/review/{article.id}/undo", version=version).status_code == 200
    copy = working_copy(db_session, article, "ann")
    assert (*at("Taliban"), "ACTOR", {}) in copy


# --- casualty counts ------------------------------------------------------------------------


@pytest.fixture
def casualty_article(client, auth, db_session):
    return open_review_article(client, auth, db_session)


@pytest.mark.parametrize("count", [str(10**23), str(MAX_COUNT + 1), "9" * 5000])
def test_a_count_beyond_the_guidelines_limit_is_refused(client, casualty_article, db_session, count):
    casualty = db_session.exec(
        select(Span.id).where(
            Span.article_id == casualty_article.id, Span.owner_id.is_not(None), Span.label == "CASUALTY"
        )
    ).one()
    before = working_copy(db_session, casualty_article, "ann")
    response = client.post(
        f"/review/{casualty_article.id}/attrs",
        data={
            "span": casualty,
            "version": 0,
            "count": count,
            "qualifier": "exact",
            "outcome": "killed",
            "group": "civilian",
        },
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "from 0 to 1,000,000" in response.get_data(as_text=True)
    assert working_copy(db_session, casualty_article, "ann") == before


def test_an_import_with_a_count_beyond_the_limit_is_refused(session, tmp_path):
    from annotator.errors import BadImport
    from annotator.services.importer import import_paths

    path = tmp_path / "big.jsonl"
    text = "Gunmen killed 100000000000000000000000 people."
    span = {"start": 14, "end": len(text) - 1, "label": "CASUALTY", "attrs": {"count": 10**23}}
    path.write_text(json.dumps({"id": "a", "text": text, "spans": [span]}) + "\n", encoding="utf-8")
    with pytest.raises(BadImport, match="count must be a whole number from 0 to 1,000,000"):
        import_paths(session, [path])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.one_of(st.none(), st.integers(0, MAX_COUNT), st.sampled_from([0, MAX_COUNT])))
def test_every_count_the_validator_accepts_exports_in_every_format(session, tmp_path, count):
    from annotator.labels import attribute_errors
    from annotator.models import Article
    from annotator.services.export import export
    from tests.factories import make_span

    attrs = {
        "count": count,
        "qualifier": "exact" if count is not None else "vague",
        "outcome": "killed",
        "group": "civilian",
    }
    assert attribute_errors("CASUALTY", attrs) == []
    session.exec(delete(Article))
    session.commit()
    article = make_article(session, external_id="a", text="Gunmen killed 12 people in Kabul.")
    make_span(session, article, start=14, end=23, label="CASUALTY", attrs=attrs)
    for format_ in ("spacy", "jsonl", "conll", "csv"):
        summary = export(session, "gold", tmp_path / f"out.{format_}", format_=format_)
        assert summary.written == {"all": 1}


# --- reads write nothing ------------------------------------------------------------------------


def _states(session):
    session.expire_all()
    return session.exec(select(func.count()).select_from(AnnotationState)).one()


def _copies(session):
    session.expire_all()
    return session.exec(select(func.count()).select_from(Span).where(Span.origin == "annotator")).one()


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_a_reviewer_reading_articles_and_versions_creates_no_working_copy(app, db_session, role):
    article = make_review_article(db_session)
    ann = _client(app, db_session, "ann")
    ann.get("/articles/helmand%2F1")
    assert (_states(db_session), _copies(db_session)) == (1, 4)
    rev = _client(app, db_session, "rev", role)
    for url in (
        "/articles/",
        "/articles/helmand%2F1",
        "/articles/helmand%2F1?annotator=ann",
        f"/review/{article.id}/panel",
        f"/review/{article.id}/panel?annotator=ann",
        f"/gold/{article.id}/history",
        f"/gold/{article.id}/promote?annotator=ann",
        "/accuracy/?gold=model&pred=annotator:ann",
    ):
        assert rev.get(url, headers={"HX-Request": "true"} if "panel" in url else {}).status_code == 200, url
    assert (_states(db_session), _copies(db_session)) == (1, 4)
    page = rev.get("/articles/helmand%2F1").get_data(as_text=True)
    assert "You have no version of this article" in page and "Annotate this article" in page


def test_a_reviewer_starts_annotating_by_choice(app, db_session):
    article = make_review_article(db_session)
    rev = _client(app, db_session, "rev", "reviewer")
    response = rev.post(f"/review/{article.id}/start", data={"csrf_token": TEST_CSRF})
    assert response.status_code == 303
    assert response.headers["Location"] == "/articles/helmand%2F1"
    assert len(working_copy(db_session, article, "rev")) == 4
    rev.post(f"/review/{article.id}/start", data={"csrf_token": TEST_CSRF})  # twice: still one copy
    assert len(working_copy(db_session, article, "rev")) == 4
    assert rev.post(f"/review/{article.id + 99}/start", data={"csrf_token": TEST_CSRF}).status_code == 404


def test_an_annotators_own_first_visit_is_the_one_read_that_writes(app, db_session):
    article = make_review_article(db_session)
    ann = _client(app, db_session, "ann")
    ann.get(f"/review/{article.id}/panel", headers={"HX-Request": "true"})
    assert _states(db_session) == 0
    ann.get("/articles/helmand%2F1")
    assert (_states(db_session), _copies(db_session)) == (1, 4)


# --- article ids that are not plain words -----------------------------------------------------------

ODD_IDS = [
    "a/b",
    "a?b=1",
    "a#b",
    "x/../y",
    "x/./y",
    "..x",
    "a//b",
    "/leading",
    "trailing/",
    "100%",
    "a b",
    "قصف/١",
    "a\\b",
]


def test_odd_article_ids_get_links_that_open_them(client, auth, db_session):
    for number, external_id in enumerate(ODD_IDS):
        make_article(db_session, external_id=external_id, text=f"Article {number} about Kabul.")
    auth.login()
    listing = client.get("/articles/").get_data(as_text=True)
    from html import unescape

    links = [unescape(href) for href in re.findall(r'<a href="(/articles/[^"]+)"', listing)]
    for number, external_id in enumerate(ODD_IDS):
        link = next(link for link in links if f"Article {number} " in client.get(link).get_data(as_text=True))
        page = client.get(link)
        assert page.status_code == 200, (external_id, link)
        assert "/" not in link.removeprefix("/articles/"), (
            link
        )  # one path segment: no ".." step for a browser


@pytest.mark.parametrize("bad", [".", ".."])
def test_ids_that_no_url_can_hold_are_refused_at_import(session, tmp_path, bad):
    from annotator.errors import BadImport
    from annotator.services.importer import import_paths

    path = tmp_path / "dots.jsonl"
    path.write_text(json.dumps({"id": bad, "text": "Kabul"}) + "\n", encoding="utf-8")
    with pytest.raises(BadImport, match=r"dots.jsonl:1: id .* cannot be"):
        import_paths(session, [path])
