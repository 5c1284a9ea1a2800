"""Working copies: reading them, their edits, undo, status, the queue and progress."""

from __future__ import annotations

import pytest
from sqlmodel import select

from annotator.errors import (
    Forbidden,
    InvalidEdit,
    InvalidSpan,
    NotFound,
    NothingToUndo,
    SpanOverlap,
    StaleVersion,
)
from annotator.models import AnnotationState, Span, SpanEdit
from annotator.nlp.tokens import snap, token_bounds
from annotator.services import edits, progress, workspace
from tests.factories import make_article, make_span, make_user

TEXT = "Taliban fighters attacked Kabul on Monday, killing at least 12 policemen in Helmand province."


def at(phrase: str, text: str = TEXT) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


@pytest.fixture
def ann(session):
    return make_user(session, username="ann")


@pytest.fixture
def article(session):
    article = make_article(session, external_id="a1", text=TEXT)
    make_span(session, article, start=0, end=7, label="ACTOR", origin="model")
    start, end = at("Kabul")
    make_span(session, article, start=start, end=end, label="LOCATION", origin="model")
    return article


def stored(session, article, owner=None):
    """Return (start, end, label, attrs) of the spans of ``owner`` (the model's when None)."""
    origin = "model" if owner is None else "annotator"
    session.expire_all()
    rows = session.exec(
        select(Span).where(
            Span.article_id == article.id, Span.origin == origin, Span.owner_id == (owner and owner.id)
        )
    ).all()
    return sorted((span.start, span.end, span.label, span.attrs) for span in rows)


def opened(session, article, user):
    return workspace.open_article(session, article.external_id, user)


def spans_of(workspace):
    return [(span.text, span.label) for span in workspace.spans]


# --- working copies ------------------------------------------------------------------


def test_first_visit_copies_the_model_spans_once(session, article, ann):
    first = opened(session, article, ann)
    again = opened(session, article, ann)
    assert spans_of(first) == spans_of(again) == [("Taliban", "ACTOR"), ("Kabul", "LOCATION")]
    assert first.state.version == 0 and first.state.status == "todo" and not first.state.can_undo
    assert len(stored(session, article, ann)) == 2
    assert len(stored(session, article)) == 2
    assert {span.id for span in first.spans} == {span.id for span in again.spans}


def test_edits_never_change_the_model_spans(session, article, ann):
    model = stored(session, article)
    ws = opened(session, article, ann)
    result = edits.relabel_span(session, article.id, ann, version=0, span_id=ws.spans[0].id, label="LOCATION")
    edits.delete_span(session, article.id, ann, version=1, span_id=ws.spans[1].id)
    assert spans_of(result.workspace) == [("Taliban", "LOCATION"), ("Kabul", "LOCATION")]
    assert stored(session, article) == model
    assert stored(session, article, ann) == [(0, 7, "LOCATION", {})]


def test_each_annotator_gets_their_own_copy(session, article, ann):
    bob = make_user(session, username="bob")
    ws = opened(session, article, ann)
    edits.delete_span(session, article.id, ann, version=0, span_id=ws.spans[0].id)
    assert spans_of(opened(session, article, bob)) == [("Taliban", "ACTOR"), ("Kabul", "LOCATION")]
    assert spans_of(opened(session, article, ann)) == [("Kabul", "LOCATION")]


def test_unknown_article_is_not_found(session, ann):
    with pytest.raises(NotFound, match="No article with id 'nope'"):
        workspace.open_article(session, "nope", ann)


def test_annotator_cannot_open_another_annotators_copy(session, article, ann):
    make_user(session, username="bob")
    with pytest.raises(Forbidden):
        workspace.open_article(session, "a1", ann, annotator="bob")


def test_reviewer_reads_an_annotators_copy_without_changing_it(session, article, ann):
    rita = make_user(session, username="rita", role="reviewer")
    ws = opened(session, article, ann)
    edits.delete_span(session, article.id, ann, version=0, span_id=ws.spans[0].id)
    seen = workspace.open_article(session, "a1", rita, annotator="ann")
    assert not seen.editable and seen.annotator == "ann"
    assert spans_of(seen) == [("Kabul", "LOCATION")]
    assert seen.state.version == 1
    assert [(v.username, v.status) for v in seen.versions] == [("ann", "in_progress")]
    # Rita's look created no state for herself and none for ann's untouched articles.
    assert session.exec(select(AnnotationState).where(AnnotationState.user_id == rita.id)).all() == []


def test_reviewer_sees_the_model_spans_of_an_article_not_started(session, article, ann):
    rita = make_user(session, username="rita", role="reviewer")
    seen = workspace.open_article(session, "a1", rita, annotator="ann")
    assert seen.state is None and not seen.editable
    assert spans_of(seen) == [("Taliban", "ACTOR"), ("Kabul", "LOCATION")]
    assert session.exec(select(AnnotationState)).all() == []


def test_reviewer_asking_for_an_unknown_user_gets_not_found(session, article):
    rita = make_user(session, username="rita", role="reviewer")
    with pytest.raises(NotFound, match="nobody"):
        workspace.open_article(session, "a1", rita, annotator="nobody")


def test_editing_another_annotators_span_is_not_found_and_changes_nothing(session, article, ann):
    bob = make_user(session, username="bob")
    theirs = opened(session, article, bob).spans[0]
    opened(session, article, ann)
    with pytest.raises(NotFound):
        edits.delete_span(session, article.id, ann, version=0, span_id=theirs.id)
    assert len(stored(session, article, bob)) == 2
    assert opened(session, article, ann).state.version == 0


def test_editing_before_opening_is_not_found(session, article, ann):
    with pytest.raises(NotFound, match="open it first"):
        edits.add_span(session, article.id, ann, version=0, start=0, end=7, label="ACTOR")


# --- add ---------------------------------------------------------------------------------


def test_add_span_snaps_to_whole_tokens_and_says_so(session, article, ann):
    opened(session, article, ann)
    start, end = at("t least 12 police")
    result = edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="CASUALTY")
    assert result.message.startswith("Snapped to whole tokens")
    assert result.workspace.selected.text == "at least 12 policemen"
    assert result.workspace.state.version == 1
    assert result.workspace.state.status == "in_progress"
    assert (*at("at least 12 policemen"), "CASUALTY", {}) in stored(session, article, ann)


def test_add_span_on_token_boundaries_is_not_snapped(session, article, ann):
    opened(session, article, ann)
    result = edits.add_span(session, article.id, ann, version=0, start=8, end=16, label="ACTOR")
    assert result.message == "Added ACTOR “fighters”."


def test_add_overlapping_span_is_refused_and_nothing_saved(session, article, ann):
    opened(session, article, ann)
    before = stored(session, article, ann)
    start, end = at("fighters attacked Kabul")
    with pytest.raises(SpanOverlap, match="“Kabul” \\(LOCATION\\)"):
        edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="ACTOR")
    assert stored(session, article, ann) == before
    assert opened(session, article, ann).state.version == 0
    assert session.exec(select(SpanEdit)).all() == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-1, 3, "outside the text"),
        (5, 5, "must be before its end"),
        (9, 4, "must be before its end"),
        (0, len(TEXT) + 1, "outside the text"),
        (7, 8, "only spaces"),
    ],
)
def test_add_span_with_bad_offsets_is_refused(session, article, ann, start, end, message):
    opened(session, article, ann)
    with pytest.raises(InvalidSpan, match=message):
        edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="ACTOR")
    assert opened(session, article, ann).state.version == 0


def test_add_span_with_unknown_label_is_refused(session, article, ann):
    opened(session, article, ann)
    with pytest.raises(InvalidSpan, match="Unknown label 'PERSON'"):
        edits.add_span(session, article.id, ann, version=0, start=8, end=16, label="PERSON")


# --- relabel, delete, resize, attributes -----------------------------------------------------


def test_relabel_drops_casualty_attributes(session, article, ann):
    opened(session, article, ann)
    start, end = at("12 policemen")
    added = edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="CASUALTY")
    span_id = added.workspace.selected.id
    edits.set_attributes(session, article.id, ann, version=1, span_id=span_id, attrs={"count": 12})
    result = edits.relabel_span(session, article.id, ann, version=2, span_id=span_id, label="ACTOR")
    assert result.workspace.selected.attrs == {}
    assert (start, end, "ACTOR", {}) in stored(session, article, ann)


def test_relabel_to_the_same_label_changes_nothing(session, article, ann):
    ws = opened(session, article, ann)
    result = edits.relabel_span(session, article.id, ann, version=0, span_id=ws.spans[0].id, label="ACTOR")
    assert result.message == "“Taliban” is already ACTOR."
    assert result.workspace.state.version == 0
    assert opened(session, article, ann).state.version == 0


@pytest.mark.parametrize(
    ("phrase", "edge", "direction", "expected"),
    [
        ("Kabul", "start", "grow", "attacked Kabul"),
        ("Kabul", "end", "grow", "Kabul on"),
        ("Kabul on Monday", "start", "shrink", "on Monday"),
        ("Kabul on Monday", "end", "shrink", "Kabul on"),
    ],
)
def test_resize_moves_one_edge_by_one_token(session, ann, phrase, edge, direction, expected):
    article = make_article(session, external_id="r", text=TEXT)
    start, end = at(phrase)
    make_span(session, article, start=start, end=end, label="LOCATION", origin="model")
    span = opened(session, article, ann).spans[0]
    result = edits.resize_span(
        session, article.id, ann, version=0, span_id=span.id, edge=edge, direction=direction
    )
    assert result.workspace.selected.text == expected
    assert result.message == f"Now “{expected}”."
    assert stored(session, article, ann) == [(*at(expected), "LOCATION", {})]


def test_resize_skips_punctuation_as_a_token(session, article, ann):
    ws = opened(session, article, ann)
    monday = edits.add_span(session, article.id, ann, version=0, start=35, end=41, label="ACTOR")
    assert monday.workspace.selected.text == "Monday"
    grown = edits.resize_span(
        session,
        article.id,
        ann,
        version=1,
        span_id=monday.workspace.selected.id,
        edge="end",
        direction="grow",
    )
    assert grown.workspace.selected.text == "Monday,"
    assert ws.spans


@pytest.mark.parametrize(
    ("which", "edge", "direction", "error", "message"),
    [
        (0, "start", "grow", InvalidSpan, "beginning of the text"),
        (0, "start", "shrink", InvalidSpan, "one token long"),
        (0, "end", "shrink", InvalidSpan, "one token long"),
        (1, "start", "sideways", InvalidSpan, "Resize takes"),
    ],
)
def test_resize_refuses_impossible_moves(session, article, ann, which, edge, direction, error, message):
    ws = opened(session, article, ann)
    with pytest.raises(error, match=message):
        edits.resize_span(
            session, article.id, ann, version=0, span_id=ws.spans[which].id, edge=edge, direction=direction
        )
    assert opened(session, article, ann).state.version == 0


def test_resize_into_a_neighbour_is_refused(session, article, ann):
    ws = opened(session, article, ann)
    edits.add_span(session, article.id, ann, version=0, start=8, end=16, label="ACTOR")
    with pytest.raises(SpanOverlap, match="“fighters”"):
        edits.resize_span(
            session, article.id, ann, version=1, span_id=ws.spans[0].id, edge="end", direction="grow"
        )


def test_resize_at_the_end_of_the_text_is_refused(session, ann):
    article = make_article(session, external_id="end", text="Fighting in Kabul")
    make_span(session, article, start=12, end=17, label="LOCATION", origin="model")
    ws = opened(session, article, ann)
    with pytest.raises(InvalidSpan, match="end of the text"):
        edits.resize_span(
            session, article.id, ann, version=0, span_id=ws.spans[0].id, edge="end", direction="grow"
        )


def test_set_attributes_stores_them_and_shows_a_badge(session, article, ann):
    opened(session, article, ann)
    start, end = at("at least 12 policemen")
    added = edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="CASUALTY")
    attrs = {"count": 12, "qualifier": "at_least", "outcome": "killed", "group": "security"}
    result = edits.set_attributes(
        session, article.id, ann, version=1, span_id=added.workspace.selected.id, attrs=attrs
    )
    assert result.workspace.selected.badge == "≥12 killed"
    assert (start, end, "CASUALTY", attrs) in stored(session, article, ann)


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"outcome": "exploded"}, "outcome must be one of"),
        ({"count": -3}, "count must be a whole number from 0 to 1,000,000 or null"),
        ({"colour": "red"}, "unknown attribute 'colour'"),
    ],
)
def test_set_attributes_refuses_bad_values(session, article, ann, attrs, message):
    opened(session, article, ann)
    start, end = at("12 policemen")
    added = edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="CASUALTY")
    with pytest.raises(InvalidSpan, match=message):
        edits.set_attributes(
            session, article.id, ann, version=1, span_id=added.workspace.selected.id, attrs=attrs
        )
    assert (start, end, "CASUALTY", {}) in stored(session, article, ann)


def test_attributes_on_an_actor_are_refused(session, article, ann):
    ws = opened(session, article, ann)
    with pytest.raises(InvalidSpan, match="ACTOR spans take no attrs"):
        edits.set_attributes(session, article.id, ann, version=0, span_id=ws.spans[0].id, attrs={"count": 3})


@pytest.mark.parametrize(
    ("form", "attrs"),
    [
        (
            {"count": "12", "qualifier": "exact", "outcome": "", "group": ""},
            {"count": 12, "qualifier": "exact"},
        ),
        ({"count": " ", "qualifier": "vague"}, {"count": None, "qualifier": "vague"}),
        ({"colour": ""}, {"colour": ""}),
    ],
)
def test_parse_casualty_form(form, attrs):
    assert edits.parse_casualty_form(form) == attrs


@pytest.mark.parametrize("count", ["twelve", "-3", "1.5", "１２"])
def test_parse_casualty_form_refuses_a_count_that_is_not_a_whole_number(count):
    with pytest.raises(InvalidSpan, match="count must be a whole number"):
        edits.parse_casualty_form({"count": count})


@pytest.mark.parametrize(
    ("attrs", "badge"),
    [
        ({"count": 12, "qualifier": "at_least", "outcome": "killed"}, "≥12 killed"),
        ({"count": 3, "qualifier": "exact", "outcome": "wounded"}, "3 wounded"),
        ({"count": 40, "qualifier": "about", "outcome": "killed_or_wounded"}, "~40 killed/wounded"),
        ({"count": None, "qualifier": "vague", "outcome": "killed"}, "many killed"),
        ({}, "? ?"),
    ],
)
def test_casualty_badge(attrs, badge):
    assert workspace.casualty_badge(attrs) == badge


# --- versions ------------------------------------------------------------------------------


def test_an_edit_on_a_stale_version_is_refused_and_nothing_saved(session, article, ann):
    ws = opened(session, article, ann)
    edits.relabel_span(session, article.id, ann, version=0, span_id=ws.spans[0].id, label="LOCATION")
    with pytest.raises(StaleVersion, match="you edited version 0, it is now at version 1"):
        edits.delete_span(session, article.id, ann, version=0, span_id=ws.spans[1].id)
    assert stored(session, article, ann) == [(0, 7, "LOCATION", {}), (*at("Kabul"), "LOCATION", {})]
    assert len(session.exec(select(SpanEdit)).all()) == 1


def test_versions_count_every_edit(session, article, ann):
    ws = opened(session, article, ann)
    span_id = ws.spans[0].id
    for version in range(4):
        label = "LOCATION" if version % 2 == 0 else "ACTOR"
        result = edits.relabel_span(session, article.id, ann, version=version, span_id=span_id, label=label)
        assert result.workspace.state.version == version + 1
    assert opened(session, article, ann).state.version == 4


# --- status ---------------------------------------------------------------------------------


def test_accept_skip_and_flag(session, article, ann):
    opened(session, article, ann)
    accepted = edits.set_status(session, article.id, ann, version=0, status="accepted")
    assert accepted.workspace.state.status == "accepted" and accepted.changed == {"status", "progress"}
    flagged = edits.set_status(
        session, article.id, ann, version=1, status="flagged", comment="  Two places? "
    )
    assert (flagged.workspace.state.status, flagged.workspace.state.comment) == ("flagged", "Two places?")
    skipped = edits.set_status(session, article.id, ann, version=2, status="skipped", comment="ignored")
    assert (skipped.workspace.state.status, skipped.workspace.state.comment) == ("skipped", None)


def test_accepting_twice_changes_nothing(session, article, ann):
    opened(session, article, ann)
    edits.set_status(session, article.id, ann, version=0, status="accepted")
    again = edits.set_status(session, article.id, ann, version=1, status="accepted")
    assert again.message == "Already accepted." and again.workspace.state.version == 1
    assert len(session.exec(select(SpanEdit)).all()) == 1


@pytest.mark.parametrize(
    ("status", "comment", "message"),
    [
        ("flagged", "   ", "say what is wrong"),
        ("flagged", "x" * 2001, "under 2000 characters"),
        ("todo", None, "Status must be one of"),
        ("done", None, "Status must be one of"),
    ],
)
def test_bad_status_changes_are_refused(session, article, ann, status, comment, message):
    opened(session, article, ann)
    with pytest.raises(InvalidEdit, match=message):
        edits.set_status(session, article.id, ann, version=0, status=status, comment=comment)
    assert opened(session, article, ann).state.status == "todo"


def test_a_span_edit_puts_an_accepted_article_back_in_progress(session, article, ann):
    ws = opened(session, article, ann)
    edits.set_status(session, article.id, ann, version=0, status="accepted")
    result = edits.delete_span(session, article.id, ann, version=1, span_id=ws.spans[0].id)
    assert result.workspace.state.status == "in_progress"
    undone = edits.undo(session, article.id, ann, version=2)
    assert undone.workspace.state.status == "accepted"


# --- undo -----------------------------------------------------------------------------------


def test_undo_reverses_every_edit_one_at_a_time(session, article, ann):
    ws = opened(session, article, ann)
    taliban, kabul = ws.spans
    history = [stored(session, article, ann)]
    start, end = at("12 policemen")
    added = edits.add_span(session, article.id, ann, version=0, start=start, end=end, label="CASUALTY")
    casualty = added.workspace.selected.id
    steps = [
        lambda v: edits.set_attributes(
            session, article.id, ann, version=v, span_id=casualty, attrs={"count": 12}
        ),
        lambda v: edits.relabel_span(
            session, article.id, ann, version=v, span_id=taliban.id, label="LOCATION"
        ),
        lambda v: edits.resize_span(
            session, article.id, ann, version=v, span_id=kabul.id, edge="start", direction="grow"
        ),
        lambda v: edits.delete_span(session, article.id, ann, version=v, span_id=kabul.id),
        lambda v: edits.set_status(session, article.id, ann, version=v, status="flagged", comment="check"),
    ]
    history.append(stored(session, article, ann))
    for version, edit in enumerate(steps, start=1):
        edit(version)
        history.append(stored(session, article, ann))
    assert len(history) == 7 and history[-1] == history[-2]  # the flag changed no span

    version = 6
    for expected in reversed(history[:-1]):
        result = edits.undo(session, article.id, ann, version=version)
        version += 1
        assert result.workspace.state.version == version
        assert stored(session, article, ann) == expected
        assert sorted((s.start, s.end, s.label, s.attrs) for s in result.workspace.spans) == expected
    assert not result.workspace.state.can_undo
    assert result.workspace.state.status == "todo"
    # The relabelled span kept its id; the deleted one came back at its offsets (ids are never reused by undo).
    back = opened(session, article, ann).spans
    assert [(span.start, span.end, span.label) for span in back] == [
        (taliban.start, taliban.end, taliban.label),
        (kabul.start, kabul.end, kabul.label),
    ]
    assert back[0].id == taliban.id
    with pytest.raises(NothingToUndo):
        edits.undo(session, article.id, ann, version=version)


def test_undo_on_a_stale_version_is_refused(session, article, ann):
    ws = opened(session, article, ann)
    edits.delete_span(session, article.id, ann, version=0, span_id=ws.spans[0].id)
    with pytest.raises(StaleVersion):
        edits.undo(session, article.id, ann, version=0)
    assert len(stored(session, article, ann)) == 1


def test_undo_of_a_status_change_restores_the_comment(session, article, ann):
    opened(session, article, ann)
    edits.set_status(session, article.id, ann, version=0, status="flagged", comment="two places?")
    edits.set_status(session, article.id, ann, version=1, status="accepted")
    result = edits.undo(session, article.id, ann, version=2)
    assert (result.workspace.state.status, result.workspace.state.comment) == ("flagged", "two places?")
    assert result.message == "Undid the status change (back to flagged)."


# --- progress ------------------------------------------------------------------------------


def finish(session, user, external_id, status, comment=None):
    ws = workspace.open_article(session, external_id, user)
    edits.set_status(session, ws.article_id, user, version=ws.state.version, status=status, comment=comment)


def test_progress_counts_mine_and_the_complete_articles(session, ann):
    from annotator.services.settings import set_setting

    set_setting(session, "annotators_per_article", "2")
    bob = make_user(session, username="bob")
    for i in range(4):
        make_article(session, external_id=f"p{i}", text=f"Kabul {i}")
    finish(session, ann, "p0", "accepted")
    finish(session, ann, "p1", "skipped")
    finish(session, bob, "p0", "accepted")
    finish(session, bob, "p2", "accepted")
    # Only p0 has the two accepted versions it needs.
    assert progress.progress(session, ann.id) == progress.Progress(articles=4, mine=1, team=1)
    assert progress.progress(session, bob.id) == progress.Progress(articles=4, mine=2, team=1)


# --- rendering helpers -----------------------------------------------------------------------


def view(start, end, label="ACTOR", text=TEXT, id_=1):
    return workspace.SpanView(id=id_, start=start, end=end, label=label, attrs={}, text=text[start:end])


# --- token snapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selected", "expected"),
    [
        ("aliban fight", "Taliban fighters"),
        (" Kabul ", "Kabul"),
        ("Kabul on Monday,", "Kabul on Monday,"),
        ("12 police", "12 policemen"),
    ],
)
def test_snap_widens_to_whole_tokens(selected, expected):
    start, end = at(selected)
    assert snap(token_bounds(TEXT), start, end) == at(expected)


def test_token_bounds_follow_spacys_tokenizer():
    text = "Bashar Assads forces hit U.S. troops.\n\nThen"
    assert [text[s:e] for s, e in token_bounds(text)] == [
        "Bashar",
        "Assads",
        "forces",
        "hit",
        "U.S.",
        "troops",
        ".",
        "Then",
    ]
