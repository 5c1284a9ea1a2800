"""The article tally in the sidebar: on the article page, in every edit's response, on the adjudication page."""

from __future__ import annotations

from sqlmodel import select

from annotator.models import ArticleCues
from annotator.nlp.cues import CUES_VERSION
from tests.web.review_helpers import at, find, hx_post, open_review_article, span_id
from tests.web.test_curation import conflicted, reviewer  # noqa: F401  (fixtures)


def killed_row(html: str):
    return find(html, "id", "tally-killed")


def test_the_page_shows_the_tally_and_stores_the_cues(client, auth, db_session):
    article = open_review_article(client, auth, db_session)
    html = client.get("/articles/helmand%2F1").get_data(as_text=True)
    row = killed_row(html)
    assert (row.attrs["data-total"], row.attrs["data-lower-bound"]) == ("12", "true")
    assert "≥12" in row.text and "security" in find(html, "id", "tally").text
    stored = db_session.exec(select(ArticleCues).where(ArticleCues.article_id == article.id)).one()
    assert stored.cues["v"] == CUES_VERSION and stored.cues["source"] == "rules"


def test_every_span_edit_sends_the_tally_again(client, auth, db_session):
    article = open_review_article(client, auth, db_session)
    policemen = span_id(db_session, article, "ann", "at least 12 policemen")
    deleted = hx_post(client, f"/review/{article.id}/delete", span=policemen, version=0).get_data(
        as_text=True
    )
    assert find(deleted, "id", "tally").attrs.get("hx-swap-oob") == "true"
    assert killed_row(deleted) is None
    assert find(deleted, "id", "tally-none") is not None
    undone = hx_post(client, f"/review/{article.id}/undo", version=1).get_data(as_text=True)
    assert killed_row(undone).attrs["data-total"] == "12"
    start, end = at("Helmand province")
    added = hx_post(
        client, f"/review/{article.id}/spans", start=start, end=end, label="LOCATION", version=2
    ).get_data(as_text=True)
    assert killed_row(added).attrs["data-total"] == "12"


def test_attributes_change_the_tally(client, auth, db_session):
    article = open_review_article(client, auth, db_session)
    policemen = span_id(db_session, article, "ann", "at least 12 policemen")
    html = hx_post(
        client,
        f"/review/{article.id}/attrs",
        span=policemen,
        count="14",
        qualifier="exact",
        outcome="wounded",
        group="security",
        version=0,
    ).get_data(as_text=True)
    assert killed_row(html) is None
    wounded = find(html, "id", "tally-wounded")
    assert (wounded.attrs["data-total"], wounded.attrs["data-lower-bound"]) == ("14", "false")


def test_the_adjudication_page_shows_the_draft_gold_tally(reviewer, conflicted):  # noqa: F811
    html = reviewer.get(f"/curate/{conflicted.id}").get_data(as_text=True)
    assert killed_row(html).attrs["data-total"] == "12"
