"""The Accuracy page: scores of one origin against another, the chart and the error browser."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_article, make_span

TEXT = "Taliban fighters attacked Kabul and killed 3 civilians near the market."


def _at(part: str) -> tuple[int, int]:
    start = TEXT.index(part)
    return start, start + len(part)


@pytest.fixture
def compared(db_session):
    """One article: gold ACTOR, LOCATION, CASUALTY; the model gets one right, one wrong label, one missed, one spurious."""
    article = make_article(db_session, external_id="a1", text=TEXT)
    article.preannotated_with = "test-model"
    db_session.add(article)
    db_session.commit()
    for part, label in (("Taliban fighters", "ACTOR"), ("Kabul", "LOCATION"), ("3 civilians", "CASUALTY")):
        start, end = _at(part)
        make_span(db_session, article, start=start, end=end, label=label, origin="gold")
    for part, label in (("Taliban fighters", "ACTOR"), ("Kabul", "ACTOR"), ("the market", "LOCATION")):
        start, end = _at(part)
        make_span(db_session, article, start=start, end=end, label=label, origin="model")
    return article


def _row(html: str, name: str) -> tuple[str, str, str]:
    row = re.search(rf'<tr data-label="{name}"[^>]*>(.*?)</tr>', html, re.S).group(1)
    return tuple(re.search(rf'class="acc-{cls}">([^<]*)<', row).group(1) for cls in ("p", "r", "f1"))


def test_accuracy_requires_login(client):
    response = client.get("/accuracy/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_accuracy_shows_strict_scores_by_hand(client, auth, compared):
    auth.login("rev", role="reviewer")
    response = client.get("/accuracy/?gold=gold&pred=model")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" in html
    assert 'href="/accuracy/"' in html  # the nav link
    # micro: 1 correct, 1 incorrect, 1 missed, 1 spurious: P = R = F1 = 1/3.
    assert _row(html, "micro") == ("0.333", "0.333", "0.333")
    # ACTOR alone: 1 correct, "Kabul" as ACTOR spurious: P 1/2, R 1, F1 2/3.
    assert _row(html, "ACTOR") == ("0.500", "1.000", "0.667")
    assert _row(html, "LOCATION") == ("0.000", "0.000", "0.000")
    assert _row(html, "CASUALTY") == ("0.000", "0.000", "0.000")
    assert response.headers["Vary"] and "HX-Request" in response.headers["Vary"]


def test_accuracy_draws_one_chart_group_per_label(client, auth, compared):
    auth.login("rev", role="reviewer")
    html = client.get("/accuracy/?gold=gold&pred=model").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    groups = re.findall(r'<g class="acc-chart-label" data-label="(\w+)"', svg)
    assert groups == ["ACTOR", "LOCATION", "CASUALTY"]
    actor = re.search(r'data-label="ACTOR".*?</g>', svg, re.S).group(0)
    assert actor.count("<rect") == 3
    assert 'width="180.0"' in actor  # precision 0.5 of 360
    assert 'width="360.0"' in actor  # recall 1.0
    assert "0.667" in actor


def test_error_browser_marks_false_positives_and_negatives(client, auth, compared):
    auth.login("rev", role="reviewer")
    html = client.get("/accuracy/?gold=gold&pred=model").get_data(as_text=True)
    text = re.search(r'<div class="acc-text">(.*?)</div>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", text) == TEXT
    # The wrong label is a false negative (gold LOCATION) and a false positive (predicted ACTOR).
    assert '<mark class="acc-fn" data-label="LOCATION"' in text
    assert re.search(r'<mark class="acc-fp" data-label="ACTOR"[^>]*>Kabul</mark>', text)
    assert re.search(r'<mark class="acc-fn" data-label="CASUALTY"[^>]*>3 civilians</mark>', text)
    assert re.search(r'<mark class="acc-fp" data-label="LOCATION"[^>]*>the market</mark>', text)
    # The correct span is no error.
    assert "Taliban fighters</mark>" not in text


def test_label_filter_hides_other_labels_errors(client, auth, compared):
    auth.login("rev", role="reviewer")
    html = client.get("/accuracy/?gold=gold&pred=model&label=CASUALTY").get_data(as_text=True)
    text = re.search(r'<div class="acc-text">(.*?)</div>', html, re.S).group(1)
    assert re.findall(r'<mark class="acc-(\w+)" data-label="(\w+)"', text) == [("fn", "CASUALTY")]
    assert '<option value="CASUALTY" selected>' in html


def test_htmx_request_gets_only_the_report(client, auth, compared):
    auth.login("rev", role="reviewer")
    response = client.get("/accuracy/?gold=gold&pred=model", headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="acc-report"')
    assert "<svg" in html and "acc-fp" in html
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "query", ["gold=gold&pred=annotator:nobody", "gold=gold&pred=/etc/passwd", "gold=pipeline:x&pred=model"]
)
def test_unknown_source_is_refused(client, auth, compared, query):
    auth.login("rev", role="reviewer")
    response = client.get(f"/accuracy/?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Unknown" in html and "annotator:NAME" in html
    assert "root:" not in html


def test_unknown_label_is_refused(client, auth, compared):
    auth.login("rev", role="reviewer")
    response = client.get("/accuracy/?gold=gold&pred=model&label=WEAPON", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Unknown label" in response.get_data(as_text=True)


def test_annotators_are_offered_as_sources(client, auth, compared):
    auth.login("ann")
    html = client.get("/accuracy/").get_data(as_text=True)
    assert '<option value="annotator:ann"' in html
    assert '<option value="model" selected>' in html


def test_no_gold_gives_an_empty_state(client, auth, db_session):
    make_article(db_session, external_id="a1")
    auth.login("rev", role="reviewer")
    response = client.get("/accuracy/?gold=gold&pred=model")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Nothing to compare yet" in html
    assert "<svg" not in html


def test_annotators_may_compare_only_the_model_and_their_own_version(client, auth, compared, db_session):
    from tests.factories import make_user

    make_user(db_session, username="bob")
    auth.login("ann")
    html = client.get("/accuracy/").get_data(as_text=True)
    assert re.findall(r'<option value="([^"]+)"', html.split('name="label"')[0]) == [
        "annotator:ann",
        "model",
        "annotator:ann",
        "model",
    ]
    assert "annotator:bob" not in html


@pytest.mark.parametrize(
    "query",
    [
        "gold=model&pred=annotator:bob",  # another annotator's work, in progress included
        "gold=annotator:bob&pred=model",
        "gold=gold&pred=model",  # the gold answers
        "gold=annotator:ann&pred=gold",
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_annotators_get_403_for_gold_and_other_annotators(client, auth, compared, db_session, query, htmx):
    from tests.factories import make_user

    make_user(db_session, username="bob")
    auth.login("ann")
    response = client.get(f"/accuracy/?{query}", headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "only the model and their own version" in text
    assert "acc-p" not in text  # no scores


def test_annotators_compare_with_gold_once_the_project_allows_it(client, auth, compared, db_session):
    from annotator.services.settings import set_setting

    auth.login("ann")
    assert client.get("/accuracy/?gold=gold&pred=annotator:ann").status_code == 403
    set_setting(db_session, "annotators_see_gold", "yes")
    response = client.get("/accuracy/?gold=gold&pred=annotator:ann")
    assert response.status_code == 200
    assert '<option value="gold"' in response.get_data(as_text=True)
    assert client.get("/accuracy/?gold=gold&pred=annotator:bob").status_code in (403, 422)
