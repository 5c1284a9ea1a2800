"""The admin's audit log page: newest first, a page at a time, filtered, and as a streamed CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from annotator.services import audit
from annotator.services.users import ensure_user
from annotator.web.admin import audit as audit_page
from tests.factories import make_user
from tests.web.review_helpers import find

PAGE = "/admin/audit/"


@pytest.fixture
def admin(client, auth):
    auth.login("boss", role="admin")
    return client


@pytest.fixture
def logged(db_session):
    """Seven events: settings by boss and the command line, a promotion and a user change by rev."""
    boss = ensure_user(db_session, "boss", "secret-pw", role="admin")
    rev = make_user(db_session, username="rev", role="reviewer")
    for number in range(4):
        audit.record(
            db_session, boss if number % 2 else None, "setting.set", f"setting:s{number}", new=number
        )
    audit.record(db_session, rev, "gold.promote", "article:helmand/1", revision=2, reason=None)
    audit.record(db_session, boss, "user.role", "user:ann", old="annotator", new="reviewer")
    audit.record(db_session, None, "import.cli", None, files=["a.jsonl"], articles=3)
    db_session.commit()


def event_ids(html):
    return [int(number) for number in re.findall(r'<tr id="event-(\d+)"', html)]


def test_the_log_lists_events_newest_first_with_who_what_and_details(admin, logged):
    html = admin.get(PAGE).get_data(as_text=True)
    assert event_ids(html) == [7, 6, 5, 4, 3, 2, 1]
    role = find(html, "id", "event-6")
    cells = [text.strip() for text in role.text.split("\n") if text.strip()]
    assert cells[1:] == ["boss", "user.role", "user:ann", "old: annotator, new: reviewer"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[0])
    assert 'files: ["a.jsonl"], articles: 3' in find(html, "id", "event-7").text.replace("&#34;", '"')
    assert "(command line)" in find(html, "id", "event-1").text


def test_pages_go_back_with_before(admin, logged, monkeypatch):
    monkeypatch.setattr(audit_page, "PAGE_SIZE", 3)
    first = admin.get(PAGE).get_data(as_text=True)
    assert event_ids(first) == [7, 6, 5]
    assert find(first, "rel", "next").attrs["href"] == "/admin/audit/?before=5"
    second = admin.get("/admin/audit/?before=5").get_data(as_text=True)
    assert event_ids(second) == [4, 3, 2]
    third = admin.get("/admin/audit/?before=2").get_data(as_text=True)
    assert event_ids(third) == [1] and find(third, "rel", "next") is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=setting.", [4, 3, 2, 1]),
        ("action=gold.", [5]),
        ("action=user.", [6]),
        ("actor=boss", [6, 4, 2]),
        ("actor=(command line)", [7, 3, 1]),
        ("action=setting.&actor=boss", [4, 2]),
        ("action=export.", []),
    ],
)
def test_filters_by_kind_of_action_and_by_who(admin, logged, query, expected):
    html = admin.get(f"{PAGE}?{query}").get_data(as_text=True)
    assert event_ids(html) == expected
    if not expected:
        assert "No events match." in html


def test_paging_keeps_the_filters(admin, logged, monkeypatch):
    monkeypatch.setattr(audit_page, "PAGE_SIZE", 1)
    html = admin.get(f"{PAGE}?action=setting.&actor=boss").get_data(as_text=True)
    assert event_ids(html) == [4]
    older = find(html, "rel", "next").attrs["href"]
    assert event_ids(admin.get(older).get_data(as_text=True)) == [2]


@pytest.mark.parametrize("query", ["before=soon", "before=99999999999999999999999", f"actor={'x' * 81}"])
def test_a_bad_query_is_400(admin, query):
    assert admin.get(f"{PAGE}?{query}").status_code == 400


def test_an_empty_log_says_so(admin):
    assert "Nothing has been recorded yet." in admin.get(PAGE).get_data(as_text=True)


def test_the_csv_download_holds_the_filtered_log(admin, logged):
    response = admin.get("/admin/audit/audit.csv?actor=boss")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "when_utc", "actor", "action", "target", "details"]
    assert [(row[0], row[2], row[3], row[4]) for row in rows[1:]] == [
        ("6", "boss", "user.role", "user:ann"),
        ("4", "boss", "setting.set", "setting:s3"),
        ("2", "boss", "setting.set", "setting:s1"),
    ]
    assert rows[1][5] == '{"new": "reviewer", "old": "annotator"}'


def test_the_page_links_the_csv_with_its_filters(admin, logged):
    html = admin.get(f"{PAGE}?action=gold.").get_data(as_text=True)
    link = find(html, "class", "audit-csv")
    assert link is not None and link.attrs["href"] == "/admin/audit/audit.csv?action=gold."


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
@pytest.mark.parametrize("url", [PAGE, "/admin/audit/audit.csv"])
def test_only_admins_read_the_log(client, auth, logged, role, url):
    auth.login(f"a-{role}", role=role)
    response = client.get(url)
    assert response.status_code == 403 and "setting:s1" not in response.get_data(as_text=True)
