"""The article list page: keyset links, filters per role, search, the htmx fragment, the counts."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from annotator.models import AnnotationState, BatchState, ImportBatch
from annotator.services.users import get_user_by_name
from tests.factories import make_article, make_user

HTMX_LIST = {"HX-Request": "true", "HX-Target": "article-list"}


def listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/articles/[^"]*">([^<]*)</a></td>', html)


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]*)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def add(db_session, count: int, *, text: str = "Kabul was quiet.") -> list:
    return [make_article(db_session, external_id=f"doc{n:03d}", text=text) for n in range(count)]


def test_the_pager_links_carry_the_boundary_ids_and_walk_every_article_once(client, auth, db_session):
    auth.login()
    made = add(db_session, 205)
    first = client.get("/articles/").get_data(as_text=True)
    assert listed(first) == [article.external_id for article in made[:100]]
    assert link(first, "prev") is None
    next_url = link(first, "next")
    assert parse_qs(urlsplit(next_url).query) == {"after": [str(made[99].id)]}
    seen = listed(first)
    url = next_url
    while url:
        html = client.get(url).get_data(as_text=True)
        seen.extend(listed(html))
        url = link(html, "next")
    assert seen == [article.external_id for article in made]
    # Back from the last page: the page before it, by its first id.
    assert parse_qs(urlsplit(link(html, "prev")).query) == {"before": [str(made[200].id)]}
    back = client.get(link(html, "prev")).get_data(as_text=True)
    assert listed(back) == [article.external_id for article in made[100:200]]


def test_pager_links_keep_the_filters(client, auth, db_session):
    auth.login()
    me = get_user_by_name(db_session, "ann")
    for article in add(db_session, 150, text="Shelling in Kabul."):
        db_session.add(AnnotationState(article_id=article.id, user_id=me.id, status="accepted"))
    db_session.commit()
    html = client.get("/articles/?q=kabul&status=accepted").get_data(as_text=True)
    query = parse_qs(urlsplit(link(html, "next")).query)
    assert query["q"] == ["kabul"] and query["status"] == ["accepted"] and "after" in query
    assert len(listed(client.get(link(html, "next")).get_data(as_text=True))) == 50


def test_htmx_gets_the_list_fragment_that_the_page_includes(client, auth, db_session):
    auth.login()
    add(db_session, 3)
    page = client.get("/articles/")
    fragment = client.get("/articles/?q=doc00", headers=HTMX_LIST)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert html.lstrip().startswith('<div id="article-list">') and "<html" not in html
    assert listed(html) == ["doc000", "doc001", "doc002"]
    assert 'id="article-list"' in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    # htmx restoring its history asks for the whole page.
    restore = client.get("/articles/", headers={**HTMX_LIST, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_search_by_words_and_by_id_prefix(client, auth, db_session):
    auth.login()
    make_article(db_session, external_id="helmand/1", text="Mortar fire in Sangin.")
    make_article(db_session, external_id="helmand/2", text="Quiet night.")
    make_article(db_session, external_id="kabul/7", text="A mortar landed.")
    assert listed(client.get("/articles/?q=mortar").get_data(as_text=True)) == ["helmand/1", "kabul/7"]
    assert listed(client.get("/articles/?q=helmand/").get_data(as_text=True)) == ["helmand/1", "helmand/2"]
    html = client.get("/articles/?q=nothing+like+it").get_data(as_text=True)
    assert listed(html) == [] and "No article matches" in html


@pytest.mark.parametrize("query", ['"', "a OR b", "NEAR(x", "*", "%", "\\", "' --", "<b>"])
def test_odd_searches_answer_without_error(client, auth, db_session, query):
    auth.login()
    make_article(db_session)
    response = client.get("/articles/", query_string={"q": query})
    assert response.status_code == 200
    assert "<b>" not in response.get_data(as_text=True).split('name="q"')[1].split(">")[0]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"q": "x" * 201}, 422, "keep it to 200"),
        ({"status": "done"}, 422, "Unknown status"),
        ({"after": str(2**64)}, 400, "too large"),
    ],
)
def test_bad_list_parameters_answer_a_clear_error(client, auth, db_session, query, status, message):
    auth.login()
    response = client.get("/articles/", query_string=query)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_page_link_that_is_no_number_shows_the_first_page(client, auth, db_session):
    auth.login()
    add(db_session, 2)
    assert listed(client.get("/articles/?after=abc").get_data(as_text=True)) == ["doc000", "doc001"]


# --- filters per role -----------------------------------------------------------------------------


@pytest.fixture
def others_work(db_session):
    """An article that "other" accepted and one they flagged."""
    other = make_user(db_session, username="other")
    accepted = make_article(db_session, external_id="accepted-by-other")
    flagged = make_article(db_session, external_id="flagged-by-other")
    make_article(db_session, external_id="untouched")
    db_session.add(AnnotationState(article_id=accepted.id, user_id=other.id, status="accepted"))
    db_session.add(AnnotationState(article_id=flagged.id, user_id=other.id, status="flagged"))
    db_session.commit()
    return other


@pytest.mark.parametrize("role", ["annotator", "reviewer", "admin"])
@pytest.mark.parametrize(
    "query", ["annotator=other", "annotator=other&status=accepted", "annotator=other&flag=open"]
)
def test_only_reviewers_and_admins_filter_by_another_annotator(client, auth, others_work, role, query):
    auth.login("me", role=role)
    response = client.get(f"/articles/?{query}")
    assert response.status_code == (403 if role == "annotator" else 200)
    if role != "annotator":
        assert "-by-other" in response.get_data(as_text=True)
    else:
        assert "-by-other" not in response.get_data(as_text=True)


def test_a_forged_annotator_filter_in_an_htmx_request_is_refused_too(client, auth, others_work):
    auth.login("me")
    assert client.get("/articles/?annotator=other", headers=HTMX_LIST).status_code == 403


def test_annotators_see_no_annotator_filter_and_their_own_flags_only(client, auth, db_session, others_work):
    auth.login("me")
    html = client.get("/articles/?flag=open").get_data(as_text=True)
    assert 'name="annotator"' not in html
    assert listed(html) == []  # other's flag is not theirs
    me = get_user_by_name(db_session, "me")
    article = make_article(db_session, external_id="mine-flagged")
    db_session.add(AnnotationState(article_id=article.id, user_id=me.id, status="flagged"))
    db_session.commit()
    assert listed(client.get("/articles/?flag=open").get_data(as_text=True)) == ["mine-flagged"]


def test_reviewers_see_everyones_open_flags_and_whose_statuses(client, auth, others_work):
    auth.login("rev", role="reviewer")
    html = client.get("/articles/?flag=open").get_data(as_text=True)
    assert listed(html) == ["flagged-by-other"]
    assert 'name="annotator"' in html and '<option value="other"' in html
    html = client.get("/articles/?annotator=other").get_data(as_text=True)
    assert listed(html) == ["accepted-by-other", "flagged-by-other"]
    assert "Statuses of <strong>other</strong>" in html
    assert 'href="/articles/accepted-by-other?annotator=other"' in html


def test_an_unknown_annotator_is_404(client, auth, others_work):
    auth.login("rev", role="reviewer")
    response = client.get("/articles/?annotator=nobody")
    assert response.status_code == 404 and "No user named" in response.get_data(as_text=True)


# --- counts ---------------------------------------------------------------------------------------


def test_the_counts_leave_out_an_import_still_running(client, auth, db_session):
    auth.login()
    add(db_session, 3)
    batch = ImportBatch(channel="cli", origin="gold", state=BatchState.IMPORTING.value)
    db_session.add(batch)
    db_session.commit()
    from annotator.models import Article

    db_session.add(
        Article(external_id="hidden", text="Kabul", content_hash="0" * 64, import_batch_id=batch.id)
    )
    db_session.commit()
    html = client.get("/articles/").get_data(as_text=True)
    assert "<strong>0</strong> of 3 accepted by you" in html
    assert "You: <strong>0</strong> of 3 accepted" in html
    assert "hidden" not in listed(html)
    batch.state = BatchState.COMMITTED.value
    db_session.add(batch)
    db_session.commit()
    assert "<strong>0</strong> of 4 accepted by you" in client.get("/articles/").get_data(as_text=True)


@pytest.mark.parametrize("annotator", [None, "bob"])
def test_the_list_links_each_article_as_url_for_would(app, annotator):
    """The list builds its links without url_for per row; they must be url_for's, odd ids included."""
    from flask import g, url_for

    from annotator.web.annotate import _article_href

    ids = ["plain", "a/b/../c", "sp ace", "q?x=1&y#z", "pct%41", "ünï", "semi;colon:at@", "_"]
    with app.test_request_context("/articles/"):
        g.user = type("U", (), {"username": "ann"})()
        href = _article_href(annotator or "ann")
        for external_id in ids:
            assert href(external_id) == url_for(
                "annotate.show_article", external_id=external_id, annotator=annotator
            )
