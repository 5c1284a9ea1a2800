"""Feedback: an annotator's accepted version against gold, and who may see it."""

from __future__ import annotations

import pytest

from annotator.errors import Forbidden, NotFound
from annotator.services import feedback
from annotator.services.settings import load_settings, set_setting
from tests.factories import make_article, make_span, make_user
from tests.factories import make_version as version
from tests.services.test_review_queue import HELMAND, OFFICIALS, TALIBAN, TEXT


@pytest.fixture
def graded(session):
    """ann and bob accepted the article; gold has Taliban, Helmand as ACTOR and officials."""
    set_setting(session, "annotators_per_article", "2")
    set_setting(session, "annotators_see_gold", "yes")
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    version(session, article, ann, [(TALIBAN, "ACTOR"), (HELMAND, "LOCATION")])
    version(session, article, bob, [(OFFICIALS, "ACTOR")])
    for (start, end), label in ((TALIBAN, "ACTOR"), ((41, 48), "ACTOR"), (OFFICIALS, "ACTOR")):
        make_span(session, article, start=start, end=end, label=label)
    return article, ann, bob


def test_feedback_sorts_spans_into_matches_yours_and_gold(session, graded):
    article, ann, _ = graded
    report = feedback.feedback(session, article.id, ann, load_settings(session))
    assert report.annotator == "ann"
    assert [span.text for span in report.matches] == ["Taliban"]
    (yours,) = report.only_yours
    assert (yours.span.text, yours.span.label) == ("Helmand province", "LOCATION")
    assert [(other.text, other.label) for other in yours.span.instead] == [("Helmand", "ACTOR")]
    assert yours.before.endswith("nine soldiers in ") and yours.after.startswith(" on Sunday")
    assert [(d.span.text, d.span.label) for d in report.only_gold] == [
        ("Helmand", "ACTOR"),
        ("officials", "ACTOR"),
    ]
    assert "".join(part.text for part in report.marked) == TEXT


def test_annotators_need_the_setting(session, graded):
    article, ann, _ = graded
    set_setting(session, "annotators_see_gold", "no")
    with pytest.raises(Forbidden, match="annotators_see_gold"):
        feedback.feedback(session, article.id, ann, load_settings(session))
    assert not feedback.available(session, article.id, ann, load_settings(session), owner="ann")


def test_annotators_see_only_their_own_version(session, graded):
    article, ann, _ = graded
    with pytest.raises(Forbidden):
        feedback.feedback(session, article.id, ann, load_settings(session), annotator="bob")
    assert not feedback.available(session, article.id, ann, load_settings(session), owner="bob")
    assert feedback.available(session, article.id, ann, load_settings(session), owner="ann")


def test_reviewers_read_anyones_whatever_the_setting(session, graded):
    article, _, _ = graded
    set_setting(session, "annotators_see_gold", "no")
    rev = make_user(session, username="rev", role="reviewer")
    report = feedback.feedback(session, article.id, rev, load_settings(session), annotator="bob")
    assert [span.text for span in report.matches] == ["officials"]


def test_no_gold_or_no_accepted_version_is_a_404(session, graded):
    article, ann, _ = graded
    carl = make_user(session, username="carl")
    with pytest.raises(NotFound, match="no accepted version"):
        feedback.feedback(session, article.id, carl, load_settings(session))
    other = make_article(session, external_id="a2", text=TEXT)
    version(session, other, ann, [(TALIBAN, "ACTOR")])
    with pytest.raises(NotFound, match="has no gold yet"):
        feedback.feedback(session, other.id, ann, load_settings(session))
