"""Feedback against gold: annotators see only their own accepted version, and only when the setting allows."""

from __future__ import annotations

import re

import pytest

from annotator.services.settings import set_setting
from tests.factories import make_article, make_span, make_user, make_version
from tests.web.conftest import AuthActions

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."


def _as(app, db_session, username, role="annotator"):
    client = app.test_client()
    AuthActions(client, db_session).login(username, "pw", role=role)
    return client


@pytest.fixture
def article(db_session):
    """ann marked Taliban and Helmand province; bob officials; gold has Taliban and Helmand (ACTOR)."""
    set_setting(db_session, "annotators_per_article", "2")
    set_setting(db_session, "annotators_see_gold", "yes")
    ann, bob = (make_user(db_session, username=name, password="pw") for name in ("ann", "bob"))
    article = make_article(db_session, external_id="a1", text=TEXT)
    make_version(db_session, article, ann, [((0, 7), "ACTOR"), ((41, 57), "LOCATION")])
    make_version(db_session, article, bob, [((69, 78), "ACTOR")])
    make_span(db_session, article, start=0, end=7, label="ACTOR")
    make_span(db_session, article, start=41, end=48, label="ACTOR")
    return article


def test_an_annotator_sees_where_their_own_version_differs(app, db_session, article):
    page = _as(app, db_session, "ann").get(f"/feedback/{article.id}").get_data(as_text=True)
    assert "1</strong> span matches gold exactly" in page
    yours = re.search(r'<ul class="differences" id="only-yours">(.*?)</ul>', page, re.S).group(1)
    assert "“Helmand province”" in yours and "gold has instead" in yours and "“Helmand”" in yours
    gold = re.search(r'<ul class="differences" id="only-gold">(.*?)</ul>', page, re.S).group(1)
    assert "“Helmand”" in gold
    assert "“officials”" not in page  # bob's span: not hers, and not gold


def test_the_article_page_links_to_it(app, db_session, article):
    ann = _as(app, db_session, "ann")
    assert f'href="/feedback/{article.id}"' in ann.get("/articles/a1").get_data(as_text=True)
    set_setting(db_session, "annotators_see_gold", "no")
    assert "/feedback/" not in ann.get("/articles/a1").get_data(as_text=True)


def test_off_unless_the_setting_says_yes(app, db_session, article):
    set_setting(db_session, "annotators_see_gold", "no")
    response = _as(app, db_session, "ann").get(f"/feedback/{article.id}")
    assert response.status_code == 403
    assert "turned off for annotators" in response.get_data(as_text=True)


@pytest.mark.parametrize("other", ["bob", "nobody"])
def test_annotators_may_not_ask_for_someone_elses(app, db_session, article, other):
    response = _as(app, db_session, "ann").get(f"/feedback/{article.id}?annotator={other}")
    assert response.status_code == 403
    assert "only their own work" in response.get_data(as_text=True)


def test_reviewers_read_anyones(app, db_session, article):
    set_setting(db_session, "annotators_see_gold", "no")
    page = (
        _as(app, db_session, "rev", "reviewer")
        .get(f"/feedback/{article.id}?annotator=bob")
        .get_data(as_text=True)
    )
    assert "bob&#39;s version compared with gold" in page
    assert "“officials”" in page and "“Helmand province”" not in page


def test_404_without_gold_or_an_accepted_version(app, db_session, article):
    carl = _as(app, db_session, "carl")
    response = carl.get(f"/feedback/{article.id}")
    assert response.status_code == 404 and "no accepted version" in response.get_data(as_text=True)
    other = make_article(db_session, external_id="a2", text=TEXT)
    response = carl.get(f"/feedback/{other.id}")
    assert response.status_code == 404 and "has no gold yet" in response.get_data(as_text=True)
