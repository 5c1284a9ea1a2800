"""The curation view: a reviewer turns several versions into gold (routes, roles, draft, finish, re-open)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from annotator.models import AnnotationState, Curation, GoldRevision, Span
from annotator.services.curation_merge import span_key
from annotator.services.settings import set_setting
from tests.factories import make_article, make_user
from tests.web.review_helpers import HTMX, TEXT, article_text, at, find, form_post, hx_post

DEAD = {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "security"}


def version(session, article, username, spans, status="accepted"):
    """Store ``username``'s finished version of the article: (phrase, label[, attrs]) each."""
    user = make_user(session, username=username)
    session.add(AnnotationState(article_id=article.id, user_id=user.id, status=status, version=1))
    for phrase, label, *attrs in spans:
        start, end = at(phrase)
        session.add(
            Span(
                article_id=article.id,
                start=start,
                end=end,
                label=label,
                origin="annotator",
                owner_id=user.id,
                attrs=attrs[0] if attrs else {},
            )
        )
    session.commit()
    return user


@pytest.fixture
def conflicted(db_session):
    """An article whose three versions agree on two spans and differ on three."""
    article = make_article(db_session, external_id="helmand/1", text=TEXT)
    common = [("Taliban", "ACTOR"), ("at least 12 policemen", "CASUALTY", DEAD)]
    version(db_session, article, "ann", [*common, ("Helmand province", "LOCATION"), ("KABUL", "LOCATION")])
    version(db_session, article, "bob", [*common, ("Helmand", "LOCATION"), ("KABUL", "ACTOR")])
    version(db_session, article, "cy", [*common, ("Helmand province", "LOCATION")])
    return article


@pytest.fixture
def reviewer(client, auth):
    auth.login("rev", role="reviewer")
    return client


def draft_of(session, article):
    session.expire_all()
    curation = session.get(Curation, article.id)
    return sorted((s["start"], s["end"], s["label"]) for s in curation.spans), curation


def key(phrase, label, attrs=None):
    return span_key(*at(phrase), label, attrs or {})


def version_of(html):
    return int(find(html, "id", "status").attrs["data-version"])


def open_keys(html):
    return re.findall(r'data-key="([^"]+)"[^>]*data-open', html)


def test_annotators_get_403_on_every_curation_route(client, auth, db_session, conflicted):
    auth.login("ann")
    assert client.get(f"/curate/{conflicted.id}").status_code == 403
    assert hx_post(client, f"/curate/{conflicted.id}/candidates", version=0, accept="x").status_code == 403
    assert hx_post(client, f"/curate/{conflicted.id}/finish", version=0).status_code == 403
    assert db_session.get(Curation, conflicted.id) is None


def test_first_visit_fills_the_draft_with_the_unanimous_spans_and_lists_the_rest(
    reviewer, db_session, conflicted
):
    page = reviewer.get(f"/curate/{conflicted.id}").get_data(as_text=True)
    spans, curation = draft_of(db_session, conflicted)
    assert spans == [(*at("Taliban"), "ACTOR"), (*at("at least 12 policemen"), "CASUALTY")]
    assert curation.strategy == "unanimous" and curation.version == 0
    marks = article_text(page).marks
    assert [mark["text"] for mark in marks] == ["Taliban", "at least 12 policemen"]
    assert set(open_keys(page)) == {
        key("KABUL", "LOCATION"),
        key("KABUL", "ACTOR"),
        key("Helmand province", "LOCATION"),
        key("Helmand", "LOCATION"),
    }
    assert find(page, "id", "open-candidates").attrs["data-open"] == "4"
    helmand = find(page, "data-key", key("Helmand province", "LOCATION"))
    assert "boundary conflict" in helmand.text and "AN" in helmand.text and "CY" in helmand.text


def test_majority_puts_what_two_of_three_have_in_the_draft(reviewer, db_session, conflicted):
    set_setting(db_session, "merge_strategy", "majority")
    reviewer.get(f"/curate/{conflicted.id}")
    spans, _ = draft_of(db_session, conflicted)
    assert (*at("Helmand province"), "LOCATION") in spans
    assert not any(span[:2] == at("KABUL") for span in spans)


def test_accepting_a_candidate_replaces_what_it_overlaps_and_sets_competitors_aside(
    reviewer, db_session, conflicted
):
    reviewer.get(f"/curate/{conflicted.id}")
    response = hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("KABUL", "LOCATION")
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    spans, curation = draft_of(db_session, conflicted)
    assert (*at("KABUL"), "LOCATION") in spans and curation.version == 1
    assert curation.decisions == {key("KABUL", "LOCATION"): "accepted", key("KABUL", "ACTOR"): "rejected"}
    # Only the two entries the accept changed are sent again, each swapped in by its id.
    assert sorted(re.findall(r'<li id="cand-([^"]+)"[^>]*hx-swap-oob="true"', html)) == sorted(
        [key("KABUL", "LOCATION"), key("KABUL", "ACTOR")]
    )
    assert open_keys(html) == [] and find(html, "id", "candidates") is None
    assert find(html, "id", "open-candidates").attrs["data-open"] == "2"
    page = reviewer.get(f"/curate/{conflicted.id}").get_data(as_text=True)
    assert set(open_keys(page)) == {key("Helmand province", "LOCATION"), key("Helmand", "LOCATION")}

    # Accepting the other boundary replaces nothing in the draft but sets its rival aside.
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=1, accept=key("Helmand", "LOCATION"))
    hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=2, accept=key("Helmand province", "LOCATION")
    )
    spans, curation = draft_of(db_session, conflicted)
    assert (*at("Helmand province"), "LOCATION") in spans
    assert (*at("Helmand"), "LOCATION") not in spans


def test_rejecting_leaves_the_draft_alone_and_closes_the_candidate(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    html = hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=0, reject=key("KABUL", "ACTOR")
    ).get_data(as_text=True)
    spans, curation = draft_of(db_session, conflicted)
    assert len(spans) == 2 and curation.decisions == {key("KABUL", "ACTOR"): "rejected"}
    assert key("KABUL", "ACTOR") not in open_keys(html)
    assert f'id="cand-{key("KABUL", "ACTOR")}"' in html


def test_deleting_a_merged_span_sends_the_whole_list_as_its_span_becomes_a_candidate(
    reviewer, db_session, conflicted
):
    reviewer.get(f"/curate/{conflicted.id}")
    _, curation = draft_of(db_session, conflicted)
    taliban = next(s["id"] for s in curation.spans if s["label"] == "ACTOR")
    html = hx_post(reviewer, f"/curate/{conflicted.id}/delete", version=0, span=taliban).get_data(
        as_text=True
    )
    assert find(html, "id", "candidates") is not None
    assert key("Taliban", "ACTOR") in open_keys(html)


def test_a_stale_draft_edit_gets_409_and_the_draft_as_it_is(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=0, reject=key("KABUL", "ACTOR"))
    response = hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("KABUL", "LOCATION")
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed in another tab" in html and version_of(html) == 1
    _, curation = draft_of(db_session, conflicted)
    assert curation.decisions == {key("KABUL", "ACTOR"): "rejected"}


def test_the_draft_survives_a_reload(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    start, end = at("Monday")
    hx_post(reviewer, f"/curate/{conflicted.id}/spans", version=0, start=start, end=end, label="LOCATION")
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=1, accept=key("KABUL", "LOCATION"))
    page = reviewer.get(f"/curate/{conflicted.id}").get_data(as_text=True)
    assert [mark["text"] for mark in article_text(page).marks] == [
        "KABUL",
        "Taliban",
        "Monday",
        "at least 12 policemen",
    ]
    assert version_of(page) == 2


def test_every_review_edit_works_on_the_draft_and_undo_reverses_each(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    _, curation = draft_of(db_session, conflicted)
    taliban = next(s["id"] for s in curation.spans if s["label"] == "ACTOR")
    casualty = next(s["id"] for s in curation.spans if s["label"] == "CASUALTY")
    url = f"/curate/{conflicted.id}"
    assert hx_post(reviewer, f"{url}/label", version=0, span=taliban, label="LOCATION").status_code == 200
    assert hx_post(reviewer, f"{url}/resize", version=1, span=taliban, move="grow-end").status_code == 200
    attrs = {**DEAD, "count": "13"}
    assert hx_post(reviewer, f"{url}/attrs", version=2, span=casualty, **attrs).status_code == 200
    assert hx_post(reviewer, f"{url}/delete", version=3, span=casualty).status_code == 200
    spans, _ = draft_of(db_session, conflicted)
    assert spans == [(at("Taliban fighters")[0], at("Taliban fighters")[1], "LOCATION")]
    for seen in range(4, 8):
        assert hx_post(reviewer, f"{url}/undo", version=seen).status_code == 200
    spans, curation = draft_of(db_session, conflicted)
    assert spans == [(*at("Taliban"), "ACTOR"), (*at("at least 12 policemen"), "CASUALTY")]
    assert next(s for s in curation.spans if s["label"] == "CASUALTY")["attrs"] == DEAD
    nothing = hx_post(reviewer, f"{url}/undo", version=8)
    assert nothing.status_code == 422 and "Nothing to undo" in nothing.get_data(as_text=True)


def test_undo_restores_the_answers_an_accept_changed(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("KABUL", "LOCATION"))
    hx_post(reviewer, f"/curate/{conflicted.id}/undo", version=1)
    spans, curation = draft_of(db_session, conflicted)
    assert curation.decisions == {} and len(spans) == 2


def test_an_overlapping_add_is_refused_with_422(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    start, end = at("Taliban fighters")
    response = hx_post(
        reviewer, f"/curate/{conflicted.id}/spans", version=0, start=start, end=end, label="ACTOR"
    )
    assert response.status_code == 422 and "overlap" in response.get_data(as_text=True)


def test_finishing_with_open_candidates_asks_first_and_then_saves_gold_with_provenance(
    reviewer, db_session, conflicted
):
    reviewer.get(f"/curate/{conflicted.id}")
    hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("Helmand province", "LOCATION")
    )
    asked = hx_post(reviewer, f"/curate/{conflicted.id}/finish", version=1)
    assert asked.status_code == 409
    html = asked.get_data(as_text=True)
    assert find(html, "id", "finish-confirm") is not None and "2 candidates are still open" in html
    assert (
        db_session.exec(select(GoldRevision).where(GoldRevision.article_id == conflicted.id)).first() is None
    )

    done = hx_post(reviewer, f"/curate/{conflicted.id}/finish", version=1, confirm="1")
    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/curate/{conflicted.id}"
    revision = db_session.exec(select(GoldRevision).where(GoldRevision.article_id == conflicted.id)).one()
    assert revision.action == "adjudicate" and revision.created_by_id is not None
    gold = db_session.exec(
        select(Span).where(Span.article_id == conflicted.id, Span.origin == "gold").order_by(Span.start)
    ).all()
    assert [(s.start, s.end, s.label) for s in gold] == [
        (*at("Taliban"), "ACTOR"),
        (*at("Helmand province"), "LOCATION"),
        (*at("at least 12 policemen"), "CASUALTY"),
    ]
    _, curation = draft_of(db_session, conflicted)
    assert curation.finished_at is not None
    page = reviewer.get(f"/curate/{conflicted.id}").get_data(as_text=True)
    assert "Saved as gold (revision 1) by rev" in page and "Re-open" in page
    refused = hx_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=2, accept=key("KABUL", "ACTOR")
    )
    assert refused.status_code == 422 and "finished" in refused.get_data(as_text=True)


def test_finishing_an_empty_draft_saves_gold_that_marks_nothing(reviewer, db_session):
    article = make_article(db_session, external_id="quiet", text=TEXT)
    version(db_session, article, "ann", [])
    version(db_session, article, "bob", [])
    reviewer.get(f"/curate/{article.id}")
    assert form_post(reviewer, f"/curate/{article.id}/finish", version=0).status_code == 303
    revision = db_session.exec(select(GoldRevision).where(GoldRevision.article_id == article.id)).one()
    assert revision.spans == [] and revision.action == "adjudicate"


def test_an_incomplete_casualty_keeps_the_draft_from_finishing(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    start, end = at("officials")
    hx_post(reviewer, f"/curate/{conflicted.id}/spans", version=0, start=start, end=end, label="CASUALTY")
    response = hx_post(reviewer, f"/curate/{conflicted.id}/finish", version=1, confirm="1")
    assert response.status_code == 422 and "Not finished: 1 CASUALTY span" in response.get_data(as_text=True)


def test_reopening_starts_from_the_gold_and_finishing_again_appends_a_revision(
    reviewer, db_session, conflicted
):
    reviewer.get(f"/curate/{conflicted.id}")
    form_post(reviewer, f"/curate/{conflicted.id}/finish", version=0, confirm="1")
    assert form_post(reviewer, f"/curate/{conflicted.id}/reopen", version=1).status_code == 303
    spans, curation = draft_of(db_session, conflicted)
    assert curation.finished_at is None and len(spans) == 2
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=2, accept=key("KABUL", "LOCATION"))
    form_post(reviewer, f"/curate/{conflicted.id}/finish", version=3, confirm="1")
    revisions = db_session.exec(
        select(GoldRevision).where(GoldRevision.article_id == conflicted.id).order_by(GoldRevision.revision)
    ).all()
    assert [len(r.spans) for r in revisions] == [2, 3]


def test_versions_are_never_changed(reviewer, db_session, conflicted):
    def versions():
        db_session.expire_all()
        return sorted(
            (s.owner_id, s.start, s.end, s.label)
            for s in db_session.exec(select(Span).where(Span.origin == "annotator")).all()
        )

    before = versions()
    reviewer.get(f"/curate/{conflicted.id}")
    hx_post(reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("KABUL", "ACTOR"))
    form_post(reviewer, f"/curate/{conflicted.id}/finish", version=1, confirm="1")
    assert versions() == before


def test_an_unknown_article_is_404(reviewer):
    assert reviewer.get("/curate/999999").status_code == 404
    assert hx_post(reviewer, "/curate/999999/undo", version=0).status_code == 404


def test_a_plain_form_accept_redirects_back_to_the_view(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    response = form_post(
        reviewer, f"/curate/{conflicted.id}/candidates", version=0, accept=key("KABUL", "ACTOR")
    )
    assert response.status_code == 303 and response.headers["Location"].startswith(f"/curate/{conflicted.id}")


def test_the_panel_shows_who_had_a_draft_span(reviewer, db_session, conflicted):
    reviewer.get(f"/curate/{conflicted.id}")
    _, curation = draft_of(db_session, conflicted)
    taliban = next(s["id"] for s in curation.spans if s["label"] == "ACTOR")
    html = reviewer.get(f"/curate/{conflicted.id}/panel?span={taliban}", headers=HTMX).get_data(as_text=True)
    assert "In the versions of ann, bob, cy" in html


def test_the_article_page_links_reviewers_to_the_curation_and_annotators_not(
    client, auth, db_session, conflicted
):
    auth.login("rev", role="reviewer")
    assert f'href="/curate/{conflicted.id}"' in client.get("/articles/helmand%2F1").get_data(as_text=True)
    auth.login("ann")
    assert "/curate/" not in client.get("/articles/helmand%2F1").get_data(as_text=True)


ENTRY = re.compile(r'<li id="cand-([^"]+)".*?</li>', re.S)


def entries(html):
    """Return each candidate entry's markup by key, as the page shows it (without the out-of-band mark)."""
    return {m.group(1): m.group(0).replace(' hx-swap-oob="true"', "") for m in ENTRY.finditer(html)}


def test_an_edit_that_sends_only_some_entries_leaves_the_list_as_a_fresh_page_shows_it(
    reviewer, db_session, conflicted
):
    url = f"/curate/{conflicted.id}"
    shown = entries(reviewer.get(url).get_data(as_text=True))
    _, curation = draft_of(db_session, conflicted)
    taliban = next(s["id"] for s in curation.spans if s["label"] == "ACTOR")
    monday = at("Monday")
    edits = [
        ("candidates", {"accept": key("Helmand", "LOCATION")}),
        ("candidates", {"accept": key("Helmand province", "LOCATION")}),
        ("resize", {"span": taliban, "move": "grow-end"}),
        ("candidates", {"reject": key("KABUL", "ACTOR")}),
        ("spans", {"start": monday[0], "end": monday[1], "label": "LOCATION"}),
        ("undo", {}),
        ("undo", {}),
        ("candidates", {"accept": key("KABUL", "ACTOR")}),
        ("undo", {}),
        ("undo", {}),
    ]
    partial = 0
    for seen, (path, form) in enumerate(edits):
        html = hx_post(reviewer, f"{url}/{path}", version=seen, **form).get_data(as_text=True)
        assert version_of(html) == seen + 1, (path, form)
        if find(html, "id", "candidates") is not None:
            shown = entries(html)
        else:
            partial += 1
            shown.update(entries(html))
        fresh = entries(reviewer.get(url).get_data(as_text=True))
        fresh_version = str(seen + 1)
        assert {k: v.replace(f'value="{fresh_version}"', "") for k, v in shown.items()} == {
            k: v.replace(f'value="{fresh_version}"', "") for k, v in fresh.items()
        }, (path, form)
    assert partial >= 5
