"""The team's queue: N annotators per article, claims on Next, timeouts, releases and assignments."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from annotator.models import AnnotationState, Span
from annotator.services import assignment, edits, workspace
from annotator.services.assignment import FullyStaffed
from annotator.services.settings import in_overlap, load_settings, set_setting
from tests.factories import make_article, make_span, make_user


@pytest.fixture
def team(session):
    return [make_user(session, username=name) for name in ("ann", "bob", "cat")]


@pytest.fixture
def corpus(session):
    articles = [
        make_article(session, external_id=f"a{i}", text=f"Taliban fighters attacked Kabul {i}.")
        for i in range(4)
    ]
    for article in articles:
        make_span(session, article, start=0, end=7, label="ACTOR", origin="model")
    return articles


def nxt(session, user, **options):
    return assignment.claim_next(session, user, load_settings(session), **options)


def holders(session, article):
    session.expire_all()
    settings = load_settings(session)
    cutoff = assignment.claim_params(settings)["cutoff"]
    states = session.exec(select(AnnotationState).where(AnnotationState.article_id == article.id)).all()
    return sorted(
        state.user_id
        for state in states
        if assignment.state_holds(state.status, state.claimed_at, state.assigned_at, state.updated_at, cutoff)
    )


def age(session, by: timedelta) -> None:
    """Move every state's last touch back by ``by`` (in Python: SQLite has no date arithmetic)."""
    session.expire_all()
    for state in session.exec(select(AnnotationState)).all():
        state.updated_at -= by
        session.add(state)
    session.commit()


def accept(session, user, external_id):
    ws = workspace.open_article(session, external_id, user)
    edits.set_status(session, ws.article_id, user, version=ws.state.version, status="accepted")


def test_with_one_annotator_per_article_the_team_splits_the_corpus(session, team, corpus):
    ann, bob, cat = team
    assert [nxt(session, user) for user in (ann, bob, cat)] == ["a0", "a1", "a2"]
    # Next again gives each their own unfinished claim back first.
    assert nxt(session, ann) == "a0"
    assert nxt(session, ann, leaving=corpus[0].id) == "a3"
    assert nxt(session, bob, leaving=corpus[1].id) is None  # everything else is someone's


def test_with_two_annotators_articles_others_started_come_first(session, team, corpus):
    set_setting(session, "annotators_per_article", "2")
    ann, bob, cat = team
    assert nxt(session, ann) == "a0"
    assert nxt(session, bob) == "a0"  # started by ann, still has room
    assert nxt(session, cat) == "a1"  # a0 has its two
    assert holders(session, corpus[0]) == sorted([ann.id, bob.id])


def test_opening_an_article_claims_nothing_and_the_first_edit_claims_it(session, team, corpus):
    ann, bob, _ = team
    ws = workspace.open_article(session, "a2", ann)
    assert ws.editable and holders(session, corpus[2]) == []
    assert nxt(session, bob) == "a0"  # bob is not sent to a2 over a0, and a2 is not blocked
    edits.relabel_span(session, ws.article_id, ann, version=0, span_id=ws.spans[0].id, label="LOCATION")
    assert holders(session, corpus[2]) == [ann.id]


def test_a_fully_staffed_article_opens_read_only_and_refuses_edits(session, team, corpus):
    ann, bob, _ = team
    assert nxt(session, ann) == "a0"
    ws = workspace.open_article(session, "a0", bob)
    assert not ws.editable and ws.state is None  # nothing written for bob
    assert "already has its annotator" in ws.staffing_note
    assert (
        session.exec(
            select(func.count()).select_from(AnnotationState).where(AnnotationState.user_id == bob.id)
        ).one()
        == 0
    )


def test_skipping_or_flagging_releases_the_claim(session, team, corpus):
    ann, bob, _ = team
    for status in ("skipped", "flagged"):
        taken = nxt(session, ann)
        ws = workspace.open_article(session, taken, ann)
        edits.set_status(
            session, ws.article_id, ann, version=ws.state.version, status=status, comment="unclear"
        )
        assert holders(session, corpus[int(taken[1])]) == []
        assert nxt(session, bob, leaving=None) == taken  # someone else gets it
        bob_ws = workspace.open_article(session, taken, bob)
        edits.set_status(session, bob_ws.article_id, bob, version=bob_ws.state.version, status="skipped")


def test_an_untouched_claim_lapses_and_the_article_goes_to_someone_else(session, team, corpus):
    ann, bob, _ = team
    assert nxt(session, ann) == "a0"
    age(session, timedelta(hours=25))
    assert nxt(session, bob) == "a0"
    # ann comes back: no room, so her version is kept and read-only.
    ws = workspace.open_article(session, "a0", ann)
    assert not ws.editable and "your claim lapsed" in ws.staffing_note
    with pytest.raises(FullyStaffed, match="Your version is kept"):
        edits.relabel_span(session, ws.article_id, ann, version=0, span_id=ws.spans[0].id, label="LOCATION")
    assert session.exec(select(func.count()).select_from(Span).where(Span.owner_id == ann.id)).one() == 1


def test_a_lapsed_claim_carries_on_while_there_is_room(session, team, corpus):
    ann, _, _ = team
    assert nxt(session, ann) == "a0"
    age(session, timedelta(hours=25))
    assert holders(session, corpus[0]) == []
    ws = workspace.open_article(session, "a0", ann)
    assert ws.editable
    edits.relabel_span(session, ws.article_id, ann, version=0, span_id=ws.spans[0].id, label="LOCATION")
    assert holders(session, corpus[0]) == [ann.id]


def test_the_claim_timeout_is_a_setting(session, team, corpus):
    ann, bob, _ = team
    set_setting(session, "claim_timeout", "30m")
    assert nxt(session, ann) == "a0"
    age(session, timedelta(minutes=31))
    assert nxt(session, bob) == "a0"


def test_assigned_articles_come_first_never_lapse_and_may_exceed_n(session, team, corpus):
    ann, bob, _ = team
    assert nxt(session, ann) == "a0"
    result = assignment.assign(session, load_settings(session), "bob", external_ids=["a2", "a0"])
    assert result.assigned == ["a2", "a0"] and result.over == ["a0"]
    assert "1 of them now have more annotators than the 1 they need" in result.describe(
        load_settings(session)
    )
    assert nxt(session, bob) == "a0"  # assigned first, in article order
    age(session, timedelta(days=9))
    assert bob.id in holders(session, corpus[2])  # an assignment does not lapse
    more = assignment.assign(session, load_settings(session), "ann", count=2)
    assert len(more.assigned) == 2 and "a0" not in more.assigned and more.over == []


def test_assigning_unknown_ids_or_users_changes_nothing(session, team, corpus):
    from annotator.errors import NotFound

    with pytest.raises(NotFound, match="1 id is no article: 'nope'"):
        assignment.assign(session, load_settings(session), "ann", external_ids=["a1", "nope"])
    with pytest.raises(NotFound, match="no user named 'zed'"):
        assignment.assign(session, load_settings(session), "zed", count=1)
    assert session.exec(select(func.count()).select_from(AnnotationState)).one() == 0


def test_overlapping_articles_may_start_without_the_models_spans(session, team, corpus):
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "preannotate_overlap", "no")
    ann, _, _ = team
    taken = nxt(session, ann)
    ws = workspace.open_article(session, taken, ann)
    assert ws.spans == ()
    set_setting(session, "overlap_coverage", "0")  # now every article gets one annotator
    taken = nxt(session, ann, leaving=ws.article_id)
    assert len(workspace.open_article(session, taken, ann).spans) == 1


def test_the_overlap_share_is_exact_over_ten_thousand_articles():
    for coverage in (0, 12.5, 50, 100):
        assert sum(in_overlap(article_id, coverage) for article_id in range(1, 10_001)) == coverage * 100


def test_articles_with_more_versions_than_n_keep_them(session, team, corpus):
    # As after the upgrade: three annotators already work on a0 with N = 1.
    for user in team:
        session.add(
            AnnotationState(
                article_id=corpus[0].id,
                user_id=user.id,
                status="in_progress",
                claimed_at=corpus[0].imported_at,
                assigned_at=corpus[0].imported_at,
            )
        )
    session.commit()
    for user in team:
        ws = workspace.open_article(session, "a0", user)
        assert ws.editable and ws.staffing_note is None


def test_concurrent_next_never_exceeds_n(engine, session, corpus):
    """Twelve annotators press Next at the same instant: each article goes to exactly N of them."""
    set_setting(session, "annotators_per_article", "2")
    users = [make_user(session, username=f"u{i}") for i in range(8)]
    ready = threading.Barrier(len(users))
    got: dict[str, str | None] = {}
    failures = []

    def press(user):
        with Session(engine) as own:
            ready.wait()
            try:
                got[user.username] = assignment.claim_next(own, user, load_settings(own))
            except Exception as error:  # reported below
                failures.append(error)

    threads = [threading.Thread(target=press, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    counts = {}
    for external_id in got.values():
        counts[external_id] = counts.get(external_id, 0) + 1
    assert counts == {"a0": 2, "a1": 2, "a2": 2, "a3": 2}
    for article in corpus:
        assert len(holders(session, article)) == 2


def test_accepting_counts_toward_n_for_good(session, team, corpus):
    ann, bob, _ = team
    assert nxt(session, ann) == "a0"
    accept(session, ann, "a0")
    age(session, timedelta(days=30))
    assert holders(session, corpus[0]) == [ann.id]
    assert nxt(session, bob) == "a1"
