"""The Accuracy page's article tally table: the predicted tally of each article against its gold tally."""

from __future__ import annotations

import re

import pytest

from tests.tally_world import build_world


@pytest.fixture
def world(runner, db_session, tmp_path):
    build_world(runner, db_session, tmp_path)


def _cells(html: str, attribute: str) -> list[str]:
    row = re.search(rf"<tr {attribute}>(.*?)</tr>", html, re.S).group(1)
    return re.findall(r"<t[hd][^>]*>([^<]*)<", row)


def test_the_accuracy_page_shows_the_tally_table(client, auth, world):
    auth.login("rev", role="reviewer")
    response = client.get("/accuracy/?gold=gold&pred=model")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h2>Article tally</h2>" in html
    assert "3 articles, 1 of them with a stored gold tally." in html
    # The numbers of tests/test_cli_evaluate_tally.py, worked out by hand there.
    assert _cells(html, 'data-outcome="killed"') == ["killed", "1/3", "0.333", "2.667"]
    assert _cells(html, 'data-outcome="wounded"') == ["wounded", "3/3", "1.000", "0.000"]
    assert _cells(html, 'data-detection="killed_reported"') == [
        "killed.reported",
        "1",
        "1",
        "1",
        "0.500",
        "0.500",
        "0.500",
    ]
    # The htmx fragment carries the table too.
    fragment = client.get("/accuracy/?gold=gold&pred=model", headers={"HX-Request": "true"})
    assert 'data-outcome="killed"' in fragment.get_data(as_text=True)


def test_an_annotator_still_cannot_compare_against_gold(client, auth, world):
    auth.login("ann")
    response = client.get("/accuracy/?gold=gold&pred=model")
    assert response.status_code == 403
    page = client.get("/accuracy/").get_data(as_text=True)
    # Their own version (empty) against the model: no stored gold tally is read.
    assert "with a stored gold tally" not in page
