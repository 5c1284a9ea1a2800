"""The admin's settings page: every setting with its value, default and help; changed one at a time, audited."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlmodel import select

from annotator.models import AnnotationState, AuditEvent, utcnow
from annotator.services.settings import DEFINITIONS, BadSetting, load_settings, parse_setting, set_setting
from tests.factories import make_article, make_user
from tests.web.conftest import TEST_CSRF
from tests.web.review_helpers import find, form_post, hx_post

PAGE = "/admin/settings/"


@pytest.fixture
def admin(client, auth):
    auth.login("boss", role="admin")
    return client


def audit_events(session):
    session.expire_all()
    return session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()


def test_the_page_lists_every_setting_with_value_default_and_help(admin, db_session):
    set_setting(db_session, "claim_timeout", "2d")
    html = admin.get(PAGE).get_data(as_text=True)
    for name, definition in DEFINITIONS.items():
        section = find(html, "id", f"setting-{name}")
        assert section is not None, name
        assert definition.explain and str(escape(definition.explain)) in html, name
    timeout = find(html, "id", "value-claim_timeout")
    assert timeout.attrs["value"] == "48h"
    assert find(html, "id", "default-claim_timeout").text.split() == ["Default:", "24h"]
    assert find(html, "id", "default-merge_strategy").text.split() == ["Default:", "unanimous", "(in", "use)"]
    assert "Last set" in find(html, "id", "changed-claim_timeout").text
    assert "the command line" in find(html, "id", "changed-claim_timeout").text
    assert "Never set" in find(html, "id", "changed-merge_strategy").text


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_only_admins_may_change_a_setting(client, auth, db_session, role):
    auth.login(f"a-{role}", role=role)
    response = form_post(client, f"{PAGE}merge_strategy", value="majority")
    assert response.status_code == 403
    assert load_settings(db_session).merge_strategy == "unanimous"
    assert audit_events(db_session) == []


def test_a_change_in_the_browser_is_stored_and_audited_with_the_admins_name(admin, db_session):
    response = hx_post(admin, f"{PAGE}merge_strategy", value="majority")
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    fragment = response.get_data(as_text=True)
    assert find(fragment, "id", "setting-merge_strategy") is not None
    assert "Saved: merge_strategy = majority." in fragment and "<html" not in fragment
    assert load_settings(db_session).merge_strategy == "majority"
    (event,) = audit_events(db_session)
    assert (event.action, event.actor_name, event.target, event.details) == (
        "setting.set",
        "boss",
        "setting:merge_strategy",
        {"old": "unanimous", "new": "majority"},
    )
    log = admin.get("/admin/audit/").get_data(as_text=True)
    row = find(log, "id", f"event-{event.id}")
    assert "boss" in row.text and "setting.set" in row.text and "old: unanimous, new: majority" in row.text


def test_a_plain_form_redirects_to_the_setting_with_a_message(admin, db_session):
    response = form_post(admin, f"{PAGE}claim_timeout", value="90m")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/settings/#setting-claim_timeout")
    assert "Saved: claim_timeout = 1.5h." in admin.get(PAGE).get_data(as_text=True)
    assert load_settings(db_session).claim_timeout.total_seconds() == 5400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("annotators_per_article", "0"),
        ("annotators_per_article", "two"),
        ("overlap_coverage", "150"),
        ("claim_timeout", "soon"),
        ("preannotate_overlap", "maybe"),
        ("merge_strategy", "vote"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "form"])
def test_a_bad_value_is_refused_with_the_parsers_message_and_nothing_saved(
    admin, db_session, name, value, htmx
):
    before = load_settings(db_session)
    with pytest.raises(BadSetting) as parsed:
        parse_setting(name, value)
    response = (hx_post if htmx else form_post)(admin, f"{PAGE}{name}", value=value)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = find(html, "id", f"error-{name}")
    assert error is not None and str(parsed.value) in error.text
    field = find(html, "id", f"value-{name}")
    if field.attrs.get("value") is not None:  # a text field keeps what was typed, to be corrected
        assert field.attrs["value"] == value
    assert ("<html" in html) is not htmx
    assert load_settings(db_session) == before
    assert audit_events(db_session) == []


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_the_value_a_form_shows_is_one_the_parser_takes_back(admin, db_session, name):
    html = admin.get(PAGE).get_data(as_text=True)
    field = find(html, "id", f"value-{name}")
    shown = field.attrs.get("value")
    if shown is None:  # a list: the selected option is sent
        options = re.search(rf'id="value-{name}".*?</select>', html, re.S)[0]
        shown = re.search(r'value="(\w+)" selected', options)[1]
    before = load_settings(db_session)
    assert hx_post(admin, f"{PAGE}{name}", value=shown).status_code == 200
    assert load_settings(db_session) == before


def test_an_unknown_setting_is_404(admin):
    assert form_post(admin, f"{PAGE}colour", value="blue").status_code == 404


# --- changing how many annotators articles need, with work under way ----------------------------------


@pytest.fixture
def under_way(db_session):
    """Three articles: a0 accepted by ann, a1 claimed by ann and bob, a2 untouched."""
    ann, bob = make_user(db_session, username="ann"), make_user(db_session, username="bob")
    articles = [make_article(db_session, external_id=f"a{i}", text=f"Kabul {i}") for i in range(3)]
    db_session.add(AnnotationState(article_id=articles[0].id, user_id=ann.id, status="accepted"))
    for user in (ann, bob):
        db_session.add(
            AnnotationState(
                article_id=articles[1].id, user_id=user.id, status="in_progress", claimed_at=utcnow()
            )
        )
    db_session.commit()
    return articles


def test_raising_annotators_per_article_shows_its_effect_before_saving(admin, db_session, under_way):
    response = hx_post(admin, f"{PAGE}annotators_per_article", value="3")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Not saved yet" in html and "2 articles already started" in html
    # a0 (1 accepted) and a1 (2 holders) had their one annotator; with 3 both need more.
    assert find(html, "class", "impact-reopened").text.split()[0] == "2"
    assert find(html, "class", "impact-incomplete").text.split()[0] == "1"  # a0: complete with one acceptance
    assert find(html, "class", "impact-overstaffed") is None
    assert load_settings(db_session).annotators_per_article == 1
    assert audit_events(db_session) == []

    confirmed = hx_post(admin, f"{PAGE}annotators_per_article", value="3", confirm="1")
    assert "Saved: annotators_per_article = 3." in confirmed.get_data(as_text=True)
    assert load_settings(db_session).annotators_per_article == 3
    assert [event.details for event in audit_events(db_session)] == [{"old": "1", "new": "3"}]


def test_lowering_it_says_that_no_version_is_removed(admin, db_session, under_way):
    set_setting(db_session, "annotators_per_article", "2")
    html = hx_post(admin, f"{PAGE}annotators_per_article", value="1").get_data(as_text=True)
    assert find(html, "class", "impact-overstaffed").text.split()[0] == "1"  # a1, held by two
    assert "nobody's work is removed" in html
    assert find(html, "class", "impact-complete").text.split()[0] == "1"  # a0, accepted by one
    assert load_settings(db_session).annotators_per_article == 2


def test_a_change_that_affects_no_started_article_is_saved_at_once(admin, db_session):
    make_article(db_session)
    response = hx_post(admin, f"{PAGE}annotators_per_article", value="2")
    assert "Saved: annotators_per_article = 2." in response.get_data(as_text=True)
    assert load_settings(db_session).annotators_per_article == 2


def test_the_confirmation_carries_the_csrf_token(admin, db_session, under_way):
    html = hx_post(admin, f"{PAGE}annotators_per_article", value="3").get_data(as_text=True)
    assert html.count(f'name="csrf_token" value="{TEST_CSRF}"') == 2
