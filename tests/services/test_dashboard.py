"""The team dashboard's figures: statuses, pace from the edit log, and strict F1 counted in SQL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlmodel import select

from annotator.labels import LABELS
from annotator.models import AnnotationState, Article, SpanEdit, utcnow
from annotator.services import dashboard
from annotator.services.agreement import compute
from annotator.services.evaluate import evaluate
from annotator.services.gold import Document
from annotator.services.version_counts import count_everything
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said in Kabul."
# (start, end) places a version may mark. Disjoint: two versions' spans are the same or apart, where
# nervaluate's strict scheme is exactly exact-match F1 (the dashboard's figure).
PLACES = [(0, 7), (8, 16), (24, 37), (41, 48), (49, 57), (61, 67), (69, 78), (87, 92)]


def _accept(session, article, user):
    session.add(
        AnnotationState(article_id=article.id, user_id=user.id, status="accepted", claimed_at=utcnow())
    )
    session.commit()


def _random_version(rng):
    chosen, taken = [], set()
    for start, end in rng.sample(PLACES, rng.randint(0, 5)):
        if not taken & set(range(start, end)):
            taken |= set(range(start, end))
            chosen.append({"start": start, "end": end, "label": rng.choice(LABELS)})
    return chosen


@pytest.mark.parametrize("seed", range(6))
def test_strict_figures_equal_the_agreement_scorer_and_evaluate(session, seed):
    rng = random.Random(seed)
    users = [make_user(session, username=name) for name in ("ann", "bob", "cat")]
    versions, model, gold = {}, {}, {}
    for number in range(6):
        article = make_article(session, external_id=f"a{number}", text=TEXT + " " * number)
        article.preannotated_with = "test"
        session.add(article)
        model[article.id] = _random_version(rng)
        for span in model[article.id]:
            make_span(session, article, origin="model", **span)
        if number % 2:
            spans = _random_version(rng)
            for span in spans:
                make_span(session, article, **span)
            if spans:  # an article only has stored gold once a span was stored (the factory's revision)
                gold[article.id] = spans
        versions[article.id] = {}
        for user in users:
            if rng.random() < 0.8:
                version = _random_version(rng)
                versions[article.id][user.username] = version
                for span in version:
                    make_span(session, article, origin="annotator", owner=user, **span)
                _accept(session, article, user)
    session.commit()
    count_everything(session)  # as the upgrade does for versions accepted before counts were kept
    session.commit()
    texts = {
        article_id: TEXT + " " * (int(a.external_id[1:])) for article_id, a in _articles(session).items()
    }
    figures = dashboard.strict_figures(session, [user.id for user in users])
    reference = compute(versions, texts)
    for (first, second), pair in reference.pairs.items():
        ids = [u.id for u in users if u.username == first] + [u.id for u in users if u.username == second]
        counts = figures.pairs.get((ids[0], ids[1]))
        assert (
            (counts.f1() if counts else None) == pytest.approx(pair.f1("strict")) if pair.articles else True
        )
        for label in LABELS:
            if pair.articles:
                assert counts.f1(label) == pytest.approx(pair.f1("strict", label))
    for user in users:
        mine = {a: v[user.username] for a, v in versions.items() if user.username in v}
        for reference_spans, target in ((model, figures.model), (gold, figures.gold)):
            compared = [a for a in mine if a in reference_spans]
            if not compared:
                assert user.id not in target or not target[user.id].articles
                continue
            scored = evaluate(
                [Document(str(a), texts[a], reference_spans[a]) for a in compared],
                [Document(str(a), texts[a], mine[a]) for a in compared],
            )
            expected = scored.micro["strict"].f1
            if not any(mine[a] or reference_spans[a] for a in compared):
                expected = 1.0  # both sides empty everywhere: perfect agreement
            assert target[user.id].f1() == pytest.approx(expected)


def _articles(session):
    return {article.id: article for article in session.exec(select(Article))}


def test_active_time_sums_capped_gaps_between_edits(session):
    ann = make_user(session, username="ann")
    article = make_article(session, text=TEXT)
    state = AnnotationState(article_id=article.id, user_id=ann.id, status="accepted")
    session.add(state)
    session.commit()
    start = utcnow()
    for version, seconds in enumerate([0, 30, 90, 2000, 2010], start=1):  # the 1,910 s pause counts 300
        session.add(
            SpanEdit(
                state_id=state.id,
                version=version,
                action="status",
                status_before="todo",
                created_at=start + timedelta(seconds=seconds),
            )
        )
    session.commit()
    times = dashboard.active_times(session)
    assert times[ann.id] == [pytest.approx(30 + 60 + 300 + 10, abs=0.01)]
    row = dashboard.dashboard(session, ann).rows[0]
    assert row.per_hour == pytest.approx(1 / (400 / 3600), rel=1e-3)
    assert row.median_seconds == pytest.approx(400, abs=0.01)


def test_annotators_see_only_their_own_row_and_reviewers_everyone(session):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    rev = make_user(session, username="rev", role="reviewer")
    article = make_article(session, text=TEXT)
    for user in (ann, bob):
        _accept(session, article, user)
    count_everything(session)
    session.commit()
    assert [row.username for row in dashboard.dashboard(session, ann).rows] == ["ann"]
    assert [row.username for row in dashboard.dashboard(session, rev).rows] == ["ann", "bob"]
    assert dashboard.dashboard(session, rev).rows[0].with_others == 1.0  # both empty


def test_a_span_split_in_two_differs_from_nervaluate_as_documented(session):
    """Exact-match F1 counts spans; nervaluate counts each of two halves of one span as incorrect."""
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, text=TEXT)
    make_span(session, article, start=0, end=16, label="ACTOR", origin="annotator", owner=ann)
    for start, end in ((0, 7), (8, 16)):
        make_span(session, article, start=start, end=end, label="ACTOR", origin="annotator", owner=bob)
    for user in (ann, bob):
        _accept(session, article, user)
    count_everything(session)
    session.commit()
    figures = dashboard.strict_figures(session, [ann.id, bob.id])
    assert figures.pairs[(ann.id, bob.id)].f1() == 0.0  # no exact match among 3 spans
    assert figures.pairs[(ann.id, bob.id)].f1("ACTOR") == 0.0
