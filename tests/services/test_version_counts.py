"""Stored exact-match counts follow every change that matters, and always equal counting everything anew."""

from __future__ import annotations

import json

from sqlalchemy import delete
from sqlmodel import select

from annotator.models import AnnotationState, VersionCount
from annotator.services import dashboard, edits, gold_revisions, version_counts, workspace
from annotator.services.importer import import_paths
from annotator.services.settings import set_setting
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."


def _figures(session, users):
    found = dashboard.strict_figures(session, [user.id for user in users])
    return {user.username: found.of(user.id) for user in users}


def _anew(session, users):
    """The figures after throwing every stored count away and counting everything again."""
    session.execute(delete(VersionCount))
    version_counts.count_everything(session)
    session.commit()
    return _figures(session, users)


def _open(session, user):
    return workspace.open_article(session, "a1", user)


def test_stored_counts_follow_accepts_edits_undo_and_gold(session):
    set_setting(session, "annotators_per_article", "3")
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    rev = make_user(session, username="rev", role="reviewer")
    article = make_article(session, external_id="a1", text=TEXT)
    article.preannotated_with = "test"
    session.add(article)
    session.commit()
    nine = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
    for start, end, label in ((0, 7, "ACTOR"), (24, 37, "CASUALTY"), (41, 48, "LOCATION")):
        attrs = nine if label == "CASUALTY" else None
        make_span(session, article, start=start, end=end, label=label, origin="model", attrs=attrs)
    users = [ann, bob]
    a, b = _open(session, ann), _open(session, bob)
    edits.set_status(session, a.article_id, ann, version=0, status="accepted")
    # bob drops Helmand, then accepts.
    helmand = next(span for span in b.spans if span.label == "LOCATION")
    edits.delete_span(session, b.article_id, bob, version=0, span_id=helmand.id)
    edits.set_status(session, b.article_id, bob, version=1, status="accepted")
    first = _figures(session, users)
    assert first["ann"][0] == 2 * 2 / (3 + 2)  # with bob
    assert first["bob"][1] == 2 * 2 / (2 + 3)  # bob with the model
    # ann edits her accepted version (back in progress, out of the figures), then undoes it.
    taliban = next(span for span in _open(session, ann).spans if span.label == "ACTOR")
    edits.relabel_span(session, a.article_id, ann, version=1, span_id=taliban.id, label="LOCATION")
    assert _figures(session, users)["bob"][0] is None  # nobody accepted to compare with
    edits.undo(session, a.article_id, ann, version=2)  # accepted again, a new version
    assert _figures(session, users) == first
    # A reviewer makes bob's version the gold: both are compared with it.
    gold_revisions.promote(session, article.id, rev, "bob", reason=None, replaces=0)
    with_gold = _figures(session, users)
    assert (with_gold["bob"][2], with_gold["ann"][2]) == (1.0, 0.8)
    assert with_gold == _anew(session, users)


def test_importing_an_annotators_spans_counts_their_accepted_version_again(session, tmp_path):
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    article = make_article(session, external_id="a1", text=TEXT)
    for user in (ann, bob):
        make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=user)
        session.add(AnnotationState(article_id=article.id, user_id=user.id, status="accepted"))
    session.commit()
    version_counts.count_everything(session)
    session.commit()
    assert _figures(session, [ann, bob])["ann"][0] == 1.0
    path = tmp_path / "more.jsonl"
    record = {"id": "a1", "text": TEXT, "spans": [{"start": 41, "end": 48, "label": "LOCATION"}]}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    import_paths(session, [path], origin="annotator:ann")
    figures = _figures(session, [ann, bob])
    assert figures["ann"][0] == 2 * 1 / (2 + 1)
    assert figures == _anew(session, [ann, bob])


def test_pre_annotating_again_replaces_the_counts_against_the_model(session):
    ann = make_user(session, username="ann")
    article = make_article(session, external_id="a1", text=TEXT)
    article.preannotated_with = "v1"
    session.add(article)
    make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=ann)
    session.add(AnnotationState(article_id=article.id, user_id=ann.id, status="accepted"))
    session.commit()
    version_counts.count_everything(session)
    session.commit()
    assert _figures(session, [ann])["ann"][1] == 0.0  # the model found nothing
    make_span(session, article, start=0, end=7, label="ACTOR", origin="model")  # the same pipeline, again
    version_counts.count_references(session, [article.id], only="model")
    session.commit()
    assert _figures(session, [ann])["ann"][1] == 1.0
    assert (
        len(session.exec(select(VersionCount).where(VersionCount.kind == "model")).all()) == 2
    )  # marker, ACTOR


def test_importing_an_annotators_spans_into_many_articles_counts_every_accepted_version(session, tmp_path):
    """Versions in every round of 500 articles are counted again, not only the first round's."""
    ann, bob = make_user(session, username="ann"), make_user(session, username="bob")
    articles = [make_article(session, external_id=f"a{number}", text=TEXT) for number in range(1200)]
    accepted = [articles[0], articles[700], articles[1199]]
    for article in accepted:
        for user in (ann, bob):
            make_span(session, article, start=0, end=7, label="ACTOR", origin="annotator", owner=user)
            session.add(AnnotationState(article_id=article.id, user_id=user.id, status="accepted"))
    session.commit()
    version_counts.count_everything(session)
    session.commit()
    assert _figures(session, [ann, bob])["ann"][0] == 1.0
    path = tmp_path / "more.jsonl"
    location = [{"start": 41, "end": 48, "label": "LOCATION"}]
    path.write_text(
        "".join(
            json.dumps({"id": article.external_id, "text": TEXT, "spans": location}) + "\n"
            for article in articles
        ),
        encoding="utf-8",
    )
    import_paths(session, [path], origin="annotator:ann")
    figures = _figures(session, [ann, bob])
    assert figures["ann"][0] == 2 * 3 / (6 + 3)
    assert figures == _anew(session, [ann, bob])
