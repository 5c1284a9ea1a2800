import re

from annotator.models import AnnotationState
from annotator.services.users import get_user_by_name
from tests.factories import make_article, make_user


def test_list_shows_articles_with_my_status(client, auth, db_session):
    auth.login()
    first = make_article(db_session, external_id="first", text="Kabul was quiet.")
    make_article(db_session, external_id="second", text="Fighting in Helmand.")
    me = get_user_by_name(db_session, "ann")
    db_session.add(AnnotationState(article_id=first.id, user_id=me.id, status="accepted"))
    db_session.commit()
    response = client.get("/articles/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "first" in html and "second" in html
    assert "status-accepted" in html
    assert "<strong>1</strong> of 2 accepted" in html


def test_list_hides_other_annotators_status(client, auth, db_session):
    auth.login()
    other = make_user(db_session, username="other")
    article = make_article(db_session, external_id="a1")
    db_session.add(AnnotationState(article_id=article.id, user_id=other.id, status="accepted"))
    db_session.commit()
    html = client.get("/articles/").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a [^>]*>a1</a></td>(.*?)</tr>", html, re.S).group(1)
    mine, team = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[:2]
    assert "status-todo" in mine and "accepted" not in mine  # the other's status is not mine
    assert "complete" in team and "other" not in html  # the team's progress, without names


def test_article_page_shows_text_escaped(client, auth, db_session):
    auth.login()
    text = "Before <script>alert(1)</script> & after"
    make_article(db_session, external_id="x/1", text=text)
    response = client.get("/articles/x/1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-article-id="x/1"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; after" in html
    assert "<script>alert(1)" not in html


def test_unknown_article_is_404(client, auth):
    auth.login()
    response = client.get("/articles/nope")
    assert response.status_code == 404
    assert b"No article with id" in response.data
