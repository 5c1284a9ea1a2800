"""The admin's Users pages: add, role, reset, deactivate, tokens and claims, each audited; refusals write nothing."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from annotator.models import AuditEvent
from annotator.services import assignment, users
from annotator.services.settings import load_settings
from tests.api.conftest import bearer, token_for
from tests.factories import make_article, make_span, make_user
from tests.web.conftest import TEST_CSRF, AuthActions
from tests.web.review_helpers import HTMX

GOOD = "a-long-enough-password-1"


@pytest.fixture
def admin(client, auth):
    assert auth.login("root", role="admin").status_code == 303
    return client


def post(client, url: str, **data):
    return client.post(url, data={**data, "csrf_token": TEST_CSRF})


def audit_log(db_session) -> list[tuple[str, str | None, str]]:
    db_session.expire_all()
    events = db_session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    return [(event.action, event.target, event.actor_name) for event in events]


def shown_secret(html: str, element_id: str) -> str:
    match = re.search(rf'<code id="{element_id}">([^<]+)</code>', html)
    assert match, html
    return match[1]


def logged_in_as(app, db_session, username: str, password: str = "secret-pw", **options):
    client = app.test_client()
    assert AuthActions(client, db_session).login(username, password, **options).status_code == 303
    return client


def test_the_list_shows_roles_accounts_tokens_and_sessions(admin, db_session):
    make_user(db_session, username="ann")
    token_for(db_session, "ann")
    users.set_active(db_session, "bob-gone", False) if users.get_user_by_name(
        db_session, "bob-gone"
    ) else None
    make_user(db_session, username="gone", role="reviewer")
    users.set_active(db_session, "gone", False)
    page = admin.get("/admin/users/").get_data(as_text=True)
    ann = re.search(r'<tr data-user="ann">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r"<td>([^<]*)</td>", ann)[-2:] == ["1", "0"]  # one live token, no session
    gone = re.search(r'<tr data-user="gone">(.*?)</tr>', page, re.S)[1]
    assert "deactivated" in gone and "reviewer" in gone
    root = re.search(r'<tr data-user="root">(.*?)</tr>', page, re.S)[1]
    assert "(you)" in root and re.findall(r"<td>([^<]*)</td>", root)[-1] == "1"


def test_adding_a_user_with_a_weak_password_says_the_policy_and_writes_nothing(admin, db_session):
    response = post(admin, "/admin/users/", username="newbie", role="annotator", password="short")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "at least 10 characters long" in page
    assert 'value="newbie"' in page  # the form keeps what was typed, but not the password
    assert users.get_user_by_name(db_session, "newbie") is None
    assert audit_log(db_session) == []


def test_adding_a_user_is_audited_and_they_can_log_in(app, admin, db_session):
    response = post(
        admin, "/admin/users/", username="newbie", role="reviewer", password=GOOD, must_change_password="1"
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/users/newbie")
    db_session.expire_all()
    newbie = users.get_user_by_name(db_session, "newbie")
    assert (newbie.role, newbie.must_change_password) == ("reviewer", True)
    assert audit_log(db_session) == [("user.add", "user:newbie", "root")]
    client = logged_in_as(app, db_session, "newbie", GOOD)
    assert "/account/password" in client.get("/articles/").headers["Location"]


def test_adding_a_user_without_a_password_generates_one_and_shows_it_once(app, admin, db_session):
    response = post(admin, "/admin/users/", username="newbie", role="annotator", password="")
    assert response.status_code == 200
    password = shown_secret(response.get_data(as_text=True), "new-password")
    assert users.authenticate(db_session, "newbie", password) is not None
    assert password not in admin.get("/admin/users/newbie").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "root", "role": "annotator", "password": GOOD}, "already exists"),
        ({"username": "x", "role": "boss", "password": GOOD}, "Choose a role"),
        ({"username": "  ", "role": "annotator", "password": GOOD}, "username cannot be empty"),
        ({"username": "n" * 81, "role": "annotator", "password": GOOD}, "at most 80 characters"),
    ],
)
def test_adding_a_bad_user_is_refused(admin, db_session, data, message):
    response = post(admin, "/admin/users/", **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert audit_log(db_session) == []


def test_changing_a_role_ends_their_sessions_and_is_audited(app, admin, db_session):
    ann = logged_in_as(app, db_session, "ann")
    response = post(admin, "/admin/users/ann/role", role="reviewer")
    assert response.status_code == 303
    db_session.expire_all()
    assert users.get_user_by_name(db_session, "ann").role == "reviewer"
    assert "/auth/login" in ann.get("/articles/").headers["Location"]
    assert audit_log(db_session) == [("user.role", "user:ann", "root")]


def test_a_reset_forces_the_user_to_the_password_page_until_they_change_it(app, admin, db_session):
    ann = logged_in_as(app, db_session, "ann")
    response = post(admin, "/admin/users/ann/password", password=GOOD)
    assert response.status_code == 303
    assert audit_log(db_session) == [("user.password_reset", "user:ann", "root")]
    # Their session ended at once.
    assert "/auth/login" in ann.get("/articles/").headers["Location"]

    ann = logged_in_as(app, db_session, "ann", GOOD)
    for url in ("/articles/", "/team/", "/account/", "/guidelines/"):
        response = ann.get(url)
        assert response.status_code == 303 and response.headers["Location"].endswith("/account/password"), url
    assert ann.post("/articles/next", data={"csrf_token": TEST_CSRF}).status_code == 303
    htmx = ann.get("/queue/counts", headers=HTMX)
    assert htmx.headers["HX-Redirect"].endswith("/account/password")
    page = ann.get("/account/password").get_data(as_text=True)
    assert "An admin reset your password" in page
    assert "/articles/" not in page  # no navigation to pages that would only redirect
    with ann.get("/static/app.css") as static:
        assert static.status_code == 200

    new = "quiet-harbour-lights-7"
    changed = post(ann, "/account/password", current=GOOD, new=new, repeat=new)
    assert changed.status_code == 303
    assert ann.get("/articles/").status_code == 200
    db_session.expire_all()
    assert not users.get_user_by_name(db_session, "ann").must_change_password
    assert audit_log(db_session)[-1] == ("user.password_change", "user:ann", "ann")


def test_a_reset_without_a_password_generates_one_and_shows_it_once(app, admin, db_session):
    make_user(db_session, username="ann")
    response = post(admin, "/admin/users/ann/password", password="")
    assert response.status_code == 200
    temporary = shown_secret(response.get_data(as_text=True), "new-password")
    assert users.authenticate(db_session, "ann", temporary) is not None


def test_a_weak_temporary_password_is_refused_and_nothing_changes(admin, db_session):
    make_user(db_session, username="ann")
    response = post(admin, "/admin/users/ann/password", password="password")
    assert response.status_code == 422
    assert "at least 10 characters" in response.get_data(as_text=True)
    db_session.expire_all()
    assert users.authenticate(db_session, "ann", "secret-pw") is not None
    assert not users.get_user_by_name(db_session, "ann").must_change_password
    assert audit_log(db_session) == []


def test_a_deactivated_user_is_locked_out_at_once(app, admin, db_session):
    ann = logged_in_as(app, db_session, "ann")
    token = token_for(db_session, "ann")
    assert ann.get("/articles/").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200

    confirm = admin.get("/admin/users/ann/active?active=0")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "1 open session ends at once" in text and "Their work stays" in text
    assert audit_log(db_session) == []  # the confirmation page changes nothing

    assert post(admin, "/admin/users/ann/active", active="0").status_code == 303
    page = ann.get("/articles/")
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
    htmx = ann.get("/queue/counts", headers=HTMX)
    assert htmx.status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert AuthActions(app.test_client(), db_session).login("ann").status_code == 401
    assert audit_log(db_session)[-1] == ("user.deactivate", "user:ann", "root")

    assert post(admin, "/admin/users/ann/active", active="1").status_code == 303
    assert audit_log(db_session)[-1] == ("user.activate", "user:ann", "root")
    assert logged_in_as(app, db_session, "ann").get("/articles/").status_code == 200
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401  # stays revoked


@pytest.mark.parametrize(
    ("url", "data"),
    [("/admin/users/root/active", {"active": "0"}), ("/admin/users/root/role", {"role": "reviewer"})],
    ids=["deactivate", "demote"],
)
def test_the_last_active_admin_may_not_deactivate_or_demote_themselves(app, admin, db_session, url, data):
    response = post(admin, url, **data)
    assert response.status_code == 409
    assert "last active admin" in response.get_data(as_text=True)
    db_session.expire_all()
    root = users.get_user_by_name(db_session, "root")
    assert (root.role, root.is_active) == ("admin", True)
    assert admin.get("/admin/users/").status_code == 200  # still logged in
    assert audit_log(db_session) == []

    make_user(db_session, username="second", role="admin")
    assert post(admin, url, **data).status_code == 303
    assert "/auth/login" in admin.get("/admin/users/").headers["Location"]  # their own sessions ended
    assert len(audit_log(db_session)) == 1


def test_unknown_users_are_404(admin):
    assert admin.get("/admin/users/nobody").status_code == 404
    assert post(admin, "/admin/users/nobody/role", role="admin").status_code == 404
    assert post(admin, "/admin/users/nobody/tokens", name="x").status_code == 404


def test_a_token_an_admin_creates_for_a_user_works_until_revoked(app, admin, db_session):
    make_user(db_session, username="ann")
    response = post(admin, "/admin/users/ann/tokens", name="ann's script")
    assert response.status_code == 200
    secret = shown_secret(response.get_data(as_text=True), "new-token")
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(secret)).json == {"username": "ann", "role": "annotator"}
    assert secret not in admin.get("/admin/users/ann").get_data(as_text=True)

    (row,) = _tokens(db_session, "ann")
    assert post(admin, f"/admin/users/ann/tokens/{row.id}/revoke").status_code == 303
    assert api.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert [action for action, _, _ in audit_log(db_session)] == ["token.create", "token.revoke"]
    # A token is revoked through its own user only.
    other, _ = _token_of(db_session, "bob")
    assert post(admin, f"/admin/users/ann/tokens/{other}/revoke").status_code == 404


def _tokens(db_session, username):
    from annotator.services import api_tokens

    return api_tokens.list_tokens(db_session, users.get_user_by_name(db_session, username).id)


def _token_of(db_session, username):
    secret = token_for(db_session, username)
    return _tokens(db_session, username)[0].id, secret


def test_the_user_page_lists_tokens_with_their_prefix_and_state(admin, db_session):
    secret = token_for(db_session, "ann")
    page = admin.get("/admin/users/ann").get_data(as_text=True)
    assert f"<code>{secret[:10]}…</code>" in page
    assert secret not in page
    assert "never" in page  # not used yet


@pytest.fixture
def claimed(db_session):
    """Ann claimed article a0 with Next and made one edit; bob is another annotator."""
    from annotator.services import edits, workspace

    article = make_article(db_session, external_id="a0", text="Taliban fighters attacked Kabul.")
    make_span(db_session, article, start=0, end=7, label="ACTOR", origin="model")
    ann = make_user(db_session, username="ann")
    make_user(db_session, username="bob")
    make_user(db_session, username="rev", role="reviewer")
    assignment.claim_next(db_session, ann, load_settings(db_session))
    ws = workspace.open_article(db_session, "a0", ann)
    edits.delete_span(db_session, article.id, ann, version=0, span_id=ws.spans[0].id)
    return article


def test_an_admin_reassigns_a_claim_after_a_confirmation(admin, db_session, claimed):
    page = admin.get("/admin/users/ann/claims").get_data(as_text=True)
    assert 'data-article="a0"' in page
    assert '<option value="bob">' in page and '<option value="rev">' not in page  # annotators only

    confirm = admin.get(f"/admin/users/ann/claims/{claimed.id}/reassign?to=bob")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "They have made 1 edit" in text and "their working copy stays theirs" in text
    assert audit_log(db_session) == []

    done = post(admin, f"/admin/users/ann/claims/{claimed.id}/reassign", to="bob")
    assert done.status_code == 303
    settings = load_settings(db_session)
    db_session.expire_all()
    bob = users.get_user_by_name(db_session, "bob")
    ann = users.get_user_by_name(db_session, "ann")
    assert [claim.external_id for claim in assignment.claims_of(db_session, bob.id, settings)] == ["a0"]
    assert assignment.claims_of(db_session, ann.id, settings) == []
    assert audit_log(db_session) == [("claim.reassign", "article:a0", "root")]
    assert "holds no unfinished article" in admin.get("/admin/users/ann/claims").get_data(as_text=True)


def test_a_refused_reassignment_says_why_and_changes_nothing(admin, db_session, claimed):
    refused = post(admin, f"/admin/users/ann/claims/{claimed.id}/reassign", to="rev")
    assert refused.status_code == 303
    page = admin.get(refused.headers["Location"]).get_data(as_text=True)
    assert "&#39;rev&#39; is not an active annotator" in page
    assert 'data-article="a0"' in page
    assert audit_log(db_session) == []


def test_a_deactivated_user_gets_no_token_from_the_admin(admin, db_session):
    make_user(db_session, username="ann")
    users.set_active(db_session, "ann", False)
    page = admin.get("/admin/users/ann").get_data(as_text=True)
    assert "Create token" not in page and "Reactivate" in page
    response = post(admin, "/admin/users/ann/tokens", name="x")
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)
    assert _tokens(db_session, "ann") == []
