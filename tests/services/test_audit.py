"""The audit log: settings and gold changes record one event each, in the transaction of the change."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from annotator.cli import main
from annotator.errors import InvalidEdit, StaleVersion
from annotator.models import AnnotationState, AuditEvent, GoldRevision
from annotator.services import audit, curation, gold_revisions
from annotator.services.settings import BadSetting, load_settings, set_setting
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters attacked Kabul on Monday."


def events(session, action=None):
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return session.exec(query).all()


@pytest.fixture
def accepted(session):
    """An article with ann's accepted version (one span), and a reviewer."""
    article = make_article(session, external_id="helmand/7", text=TEXT)
    ann = make_user(session, username="ann")
    session.add(AnnotationState(article_id=article.id, user_id=ann.id, status="accepted", version=1))
    session.commit()
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    return article, make_user(session, username="rev", role="reviewer")


# --- settings --------------------------------------------------------------------------------------


def test_setting_a_value_records_who_and_the_old_and_new_values(session):
    admin = make_user(session, username="boss", role="admin")
    set_setting(session, "claim_timeout", "90m", actor=admin)
    set_setting(session, "claim_timeout", "2d")
    first, second = events(session)
    assert (first.action, first.target, first.actor_name, first.actor_id) == (
        "setting.set",
        "setting:claim_timeout",
        "boss",
        admin.id,
    )
    assert first.details == {"old": "24h", "new": "1.5h"}
    assert (second.actor_name, second.actor_id, second.details) == (
        audit.COMMAND_LINE,
        None,
        {"old": "1.5h", "new": "48h"},
    )


def test_a_refused_value_records_nothing(session):
    with pytest.raises(BadSetting):
        set_setting(session, "annotators_per_article", "many")
    assert events(session) == []
    assert load_settings(session).annotators_per_article == 1


def test_config_set_on_the_command_line_is_audited_as_the_command_line(runner, db_session):
    result = runner.invoke(main, ["config", "set", "annotators_see_gold", "yes"])
    assert result.exit_code == 0, result.output
    (event,) = events(db_session)
    assert (event.action, event.actor_name, event.details) == (
        "setting.set",
        "(command line)",
        {"old": "no", "new": "yes"},
    )


# --- gold ----------------------------------------------------------------------------------------------


def test_promote_and_restore_record_one_event_each_with_article_and_revision(session, accepted):
    article, rev = accepted
    gold_revisions.promote(session, article.id, rev, "ann", reason=None, replaces=0)
    make_span(session, article, start=26, end=31, label="LOCATION")  # an import-like revision 2
    gold_revisions.restore(session, article.id, rev, 1, reason="the import was wrong", replaces=2)
    promote, restore = events(session)
    assert (promote.action, promote.actor_name, promote.target) == (
        "gold.promote",
        "rev",
        "article:helmand/7",
    )
    assert promote.details == {"revision": 1, "replaces": None, "source": "annotator:ann", "reason": None}
    assert (restore.action, restore.target) == ("gold.restore", "article:helmand/7")
    assert restore.details == {
        "revision": 3,
        "replaces": 2,
        "source": "revision 1",
        "reason": "the import was wrong",
    }


def test_a_refused_promotion_records_nothing(session, accepted):
    article, rev = accepted
    gold_revisions.promote(session, article.id, rev, "ann", reason=None, replaces=0)
    with pytest.raises(StaleVersion):  # confirmed against no gold, but revision 1 is there now
        gold_revisions.promote(session, article.id, rev, "ann", reason=None, replaces=0)
    assert [event.action for event in events(session)] == ["gold.promote"]


def test_a_promotion_rolled_back_at_commit_takes_its_event_with_it(session, accepted, monkeypatch):
    article, rev = accepted

    def lost_race():
        raise IntegrityError("INSERT INTO gold_revision", {}, Exception("duplicate revision"))

    monkeypatch.setattr(session, "commit", lost_race)
    with pytest.raises(StaleVersion):
        gold_revisions.promote(session, article.id, rev, "ann", reason=None, replaces=0)
    monkeypatch.undo()
    assert events(session) == []
    assert session.exec(select(GoldRevision)).all() == []


def test_finish_and_reopen_record_one_event_each(session, accepted):
    article, rev = accepted
    curation.open_curation(session, article.id, rev)
    curation.finish(session, article.id, rev, version=0, confirm=True)
    curation.reopen(session, article.id, rev, version=1)
    finish, reopen = events(session)
    assert (finish.action, finish.actor_name, finish.target) == (
        "gold.adjudicate",
        "rev",
        "article:helmand/7",
    )
    assert finish.details == {"revision": 1, "spans": 1}
    assert (reopen.action, reopen.target, reopen.details) == (
        "gold.reopen",
        "article:helmand/7",
        {"revision": 1},
    )


def test_a_refused_reopen_records_nothing(session, accepted):
    article, rev = accepted
    curation.open_curation(session, article.id, rev)
    with pytest.raises(InvalidEdit):  # not finished: nothing to re-open
        curation.reopen(session, article.id, rev, version=0)
    assert events(session) == []


# --- reading the log ---------------------------------------------------------------------------------


def test_list_events_pages_newest_first_and_filters_by_prefix_and_actor(session):
    admin = make_user(session, username="boss", role="admin")
    for number in range(5):
        audit.record(session, admin if number % 2 else None, "setting.set", f"setting:{number}")
    audit.record(session, admin, "settings_x.other")  # "_" in a filter is no wildcard
    session.commit()
    page = audit.list_events(session, action="setting.", limit=2)
    assert [event.target for event in page.events] == ["setting:4", "setting:3"]
    older = audit.list_events(session, action="setting.", limit=2, before=page.next_before)
    assert [event.target for event in older.events] == ["setting:2", "setting:1"]
    last = audit.list_events(session, action="setting.", limit=2, before=older.next_before)
    assert [event.target for event in last.events] == ["setting:0"] and last.next_before is None
    assert [e.target for e in audit.list_events(session, actor="boss", action="setting.").events] == [
        "setting:3",
        "setting:1",
    ]
    assert audit.list_events(session, action="setting_").events == []
    assert audit.actor_names(session) == ["(command line)", "boss"]


def test_the_csv_holds_every_filtered_event_across_batches(session, monkeypatch):
    monkeypatch.setattr(audit, "CSV_BATCH", 2)
    for number in range(5):
        audit.record(session, None, "gold.promote", f"article:{number}", revision=number)
    audit.record(session, make_user(session, username="=HYPERLINK()"), "user.add", "user:x")
    session.commit()
    rows = list(csv.reader(io.StringIO("".join(audit.csv_lines(session, action="gold.")))))
    assert rows[0] == list(audit.CSV_HEADER)
    assert [row[4] for row in rows[1:]] == [f"article:{n}" for n in (4, 3, 2, 1, 0)]
    assert rows[1][5] == '{"revision": 4}'
    users = list(csv.reader(io.StringIO("".join(audit.csv_lines(session, action="user.")))))
    assert users[1][2] == "'=HYPERLINK()"  # a spreadsheet shows the name, and runs no formula


def test_compact_details_read_on_one_line():
    assert audit.compact({"old": "24h", "new": "1.5h", "reason": None, "revision": 3}) == (
        "old: 24h, new: 1.5h, revision: 3"
    )
