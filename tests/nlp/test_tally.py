"""The article tally's rules (GUIDELINES.md, "Article tally"), three examples or more each, and the seed gold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.nlp.cues import Cues, find_cues
from annotator.nlp.tally import completed, tally, tally_errors
from tests.nlp.conftest import SEED_GOLD, read_gold

DATA = Path(__file__).resolve().parent / "data"


def spans_in(text: str, *marks: tuple) -> list[dict]:
    """Return spans for ``(surface, count, qualifier, outcome, group)`` marks, in text order, each after the last.

    A mark ``("LOCATION", surface)`` makes a LOCATION span.
    """
    spans, searched_from = [], 0
    for mark in marks:
        if mark[0] == "LOCATION":
            surface, attrs, label = mark[1], {}, "LOCATION"
        else:
            surface, count, qualifier, outcome, group = mark
            attrs = {"count": count, "qualifier": qualifier, "outcome": outcome, "group": group}
            label = "CASUALTY"
        start = text.index(surface, searched_from)
        searched_from = start + len(surface)
        spans.append(
            {
                "id": len(spans) + 1,
                "start": start,
                "end": start + len(surface),
                "label": label,
                "attrs": attrs,
            }
        )
    return sorted(spans, key=lambda span: span["start"])


def killed(text: str, *marks: tuple) -> dict:
    return tally(spans_in(text, *marks), text=text).to_json()["killed"]


# --- rule 2: a repeat is counted once ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marks", "total", "by_group"),
    [
        (
            "Two insurgents were killed in Kandahar. Officials said the two insurgents were planting a bomb.",
            [
                ("Two insurgents", 2, "exact", "killed", "militant"),
                ("the two insurgents", 2, "exact", "killed", "militant"),
            ],
            2,
            {"militant": 2},
        ),
        (
            "Clashes killed at least 35 civilians. A spokesman said 35 civilians died in the fighting.",
            [
                ("at least 35 civilians", 35, "at_least", "killed", "civilian"),
                ("35 civilians", 35, "exact", "killed", "civilian"),
            ],
            35,
            {"civilian": 35},
        ),
        (
            "A bomb killed two policemen on Monday. The two policemen were on patrol. "
            "Their deaths bring the month's toll to 14. The police said two policemen were killed.",
            [
                ("two policemen", 2, "exact", "killed", "security"),
                ("two policemen", 2, "exact", "killed", "security"),
                ("two policemen", 2, "exact", "killed", "security"),
            ],
            2,
            {"security": 2},
        ),
        (
            "Five soldiers were killed in Kandahar on Monday. On Tuesday the army buried the five soldiers.",
            [
                ("Five soldiers", 5, "exact", "killed", "security"),
                ("the five soldiers", 5, "exact", "killed", "security"),
            ],
            5,
            {"security": 5},
        ),
    ],
    ids=["same-wording", "restated-with-qualifier", "three-times", "next-day-restatement"],
)
def test_a_repeated_figure_is_counted_once(text, marks, total, by_group):
    result = killed(text, *marks)
    assert (result["total"], result["by_group"]) == (total, by_group)


def test_a_restatement_with_a_qualifier_is_a_lower_bound_and_names_both_spans():
    text = "Clashes killed at least 35 civilians. A spokesman said 35 civilians died."
    result = tally(
        spans_in(
            text,
            ("at least 35 civilians", 35, "at_least", "killed", "civilian"),
            ("35 civilians", 35, "exact", "killed", "civilian"),
        ),
        text=text,
    )
    assert result["killed"].lower_bound is True
    assert result["killed"].span_ids == [1, 2]


# --- rule 3: a total with its breakdown --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marks", "total", "by_group"),
    [
        (
            "At least 57 people - including 35 civilians, nine soldiers and 13 policemen - have been killed.",
            [
                ("At least 57 people", 57, "at_least", "killed", "mixed_or_unknown"),
                ("35 civilians", 35, "exact", "killed", "civilian"),
                ("nine soldiers", 9, "exact", "killed", "security"),
                ("13 policemen", 13, "exact", "killed", "security"),
            ],
            57,
            {"civilian": 35, "security": 22, "mixed_or_unknown": 0},
        ),
        (
            "The strike killed 12 people. Eight of the dead were civilians and four were fighters.",
            [
                ("12 people", 12, "exact", "killed", "mixed_or_unknown"),
                ("Eight of the dead", 8, "exact", "killed", "civilian"),
                ("four", 4, "exact", "killed", "militant"),
            ],
            12,
            {"civilian": 8, "militant": 4, "mixed_or_unknown": 0},
        ),
        (
            "The attack killed 20 people, among them six soldiers.",
            [
                ("20 people", 20, "exact", "killed", "mixed_or_unknown"),
                ("six soldiers", 6, "exact", "killed", "security"),
            ],
            20,
            {"security": 6, "mixed_or_unknown": 14},
        ),
        (
            "Dozens of people, including at least 35 civilians, were killed.",
            [
                ("Dozens of people", None, "vague", "killed", "mixed_or_unknown"),
                ("at least 35 civilians", 35, "at_least", "killed", "civilian"),
            ],
            35,
            {"civilian": 35, "mixed_or_unknown": 0},
        ),
        (
            "Troops killed 12 militants, including three commanders.",
            [
                ("12 militants", 12, "exact", "killed", "militant"),
                ("three commanders", 3, "exact", "killed", "militant"),
            ],
            12,
            {"militant": 12},
        ),
    ],
    ids=[
        "57-and-its-breakdown",
        "breakdown-in-the-next-sentence",
        "part-breakdown",
        "vague-total",
        "subset-same-group",
    ],
)
def test_a_total_and_its_breakdown_are_reconciled(text, marks, total, by_group):
    result = killed(text, *marks)
    assert (result["total"], result["by_group"]) == (total, by_group)


def test_a_breakdown_larger_than_its_total_wins():
    text = "Ten people were killed: six soldiers and seven civilians, the army said."
    result = killed(
        text,
        ("Ten people", 10, "exact", "killed", "mixed_or_unknown"),
        ("six soldiers", 6, "exact", "killed", "security"),
        ("seven civilians", 7, "exact", "killed", "civilian"),
    )
    assert result["total"] == 13
    assert result["by_group"]["mixed_or_unknown"] == 0


# --- rules 1 and 4: separate incidents add up --------------------------------------------


@pytest.mark.parametrize(
    ("text", "marks", "total", "by_group"),
    [
        (
            "A roadside bomb killed five soldiers in Zabul. In another attack in Paktika, five soldiers died.",
            [
                ("five soldiers", 5, "exact", "killed", "security"),
                ("five soldiers", 5, "exact", "killed", "security"),
            ],
            10,
            {"security": 10},
        ),
        (
            "On Tuesday, gunmen killed four civilians in a market. On Friday, a bomb killed three civilians.",
            [
                ("four civilians", 4, "exact", "killed", "civilian"),
                ("three civilians", 3, "exact", "killed", "civilian"),
            ],
            7,
            {"civilian": 7},
        ),
        (
            "Bandits killed six villagers in Borno state. In Kaduna, gunmen killed nine villagers.",
            [
                ("six villagers", 6, "exact", "killed", "civilian"),
                ("LOCATION", "Borno state"),
                ("LOCATION", "Kaduna"),
                ("nine villagers", 9, "exact", "killed", "civilian"),
            ],
            15,
            {"civilian": 15},
        ),
        (
            "Militants killed three police officers on Monday. Separately, an IED killed two police officers.",
            [
                ("three police officers", 3, "exact", "killed", "security"),
                ("two police officers", 2, "exact", "killed", "security"),
            ],
            5,
            {"security": 5},
        ),
        (
            "On Sunday, a mortar killed two children. The mayor spoke on the radio. "
            "He called for calm. On Wednesday, an air strike hit a school. Six children were killed.",
            [
                ("two children", 2, "exact", "killed", "civilian"),
                ("Six children", 6, "exact", "killed", "civilian"),
            ],
            8,
            {"civilian": 8},
        ),
    ],
    ids=["marker", "another-day", "another-place", "separately", "day-in-the-sentence-before"],
)
def test_separate_incidents_add_up(text, marks, total, by_group):
    result = killed(text, *marks)
    assert (result["total"], result["by_group"]) == (total, by_group)


@pytest.mark.parametrize(
    "text",
    [
        # The day something was said is not a day of events.
        "Five soldiers were killed in Kandahar on Monday. Officials said on Tuesday that five soldiers died.",
        # A place the incident already names.
        "Five soldiers were killed in Helmand province. In Helmand, five soldiers were buried after they died.",
        # Background far before the figures says nothing of them.
        "Last year was calm. The town grew. Markets opened. Schools reopened. Five soldiers were killed. "
        "Later five soldiers were reported dead.",
    ],
    ids=["reporting-day", "known-place", "distant-background"],
)
def test_cues_that_do_not_start_an_incident(text):
    marks = [
        ("Five soldiers", 5, "exact", "killed", "security"),
        ("five soldiers", 5, "exact", "killed", "security"),
    ]
    if "Helmand province" in text:
        marks = [marks[0], ("LOCATION", "Helmand province"), marks[1]]
    assert killed(text, *marks)["total"] == 5


# --- rules 5 and 6: lower bounds and vague figures ---------------------------------------


@pytest.mark.parametrize(
    ("text", "marks", "expected"),
    [
        (
            "Several insurgents were killed in the raid.",
            [("Several insurgents", None, "vague", "killed", "militant")],
            {"total": 0, "lower_bound": True, "reported": True, "by_group": {"militant": 0}},
        ),
        (
            "Dozens of people were killed, including five soldiers.",
            [
                ("Dozens of people", None, "vague", "killed", "mixed_or_unknown"),
                ("five soldiers", 5, "exact", "killed", "security"),
            ],
            {
                "total": 5,
                "lower_bound": True,
                "reported": True,
                "by_group": {"security": 5, "mixed_or_unknown": 0},
            },
        ),
        (
            "About 30 people were killed.",
            [("About 30 people", 30, "about", "killed", "mixed_or_unknown")],
            {"total": 30, "lower_bound": True, "reported": True, "by_group": {"mixed_or_unknown": 30}},
        ),
        (
            "A number of policemen were killed and scores of civilians died.",
            [
                ("A number of policemen", None, "vague", "killed", "security"),
                ("scores of civilians", None, "vague", "killed", "civilian"),
            ],
            {"total": 0, "lower_bound": True, "reported": True, "by_group": {"civilian": 0, "security": 0}},
        ),
    ],
    ids=["vague-only", "vague-total-over-a-count", "about", "two-vague-groups"],
)
def test_a_vague_or_qualified_figure_makes_a_lower_bound(text, marks, expected):
    assert killed(text, *marks) == expected


def test_exact_figures_are_no_lower_bound_and_an_outcome_without_figures_is_not_reported():
    text = "A bomb killed two policemen and wounded three others."
    result = tally(
        spans_in(
            text,
            ("two policemen", 2, "exact", "killed", "security"),
            ("three others", 3, "exact", "wounded", "security"),
        ),
        text=text,
    ).to_json()
    assert result["killed"] == {
        "total": 2,
        "lower_bound": False,
        "reported": True,
        "by_group": {"security": 2},
    }
    assert result["wounded"]["total"] == 3
    assert result["killed_or_wounded"] == {
        "total": 0,
        "lower_bound": False,
        "reported": False,
        "by_group": {},
    }


# --- the headline repeated in the body ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "marks", "total", "lower_bound"),
    [
        (
            "Two insurgents killed in Helmand raid\n\nCoalition forces killed two insurgents in Nad Ali on Monday.",
            [
                ("Two insurgents", 2, "exact", "killed", "militant"),
                ("two insurgents", 2, "exact", "killed", "militant"),
            ],
            2,
            False,
        ),
        (
            "Bombing kills 12 in Mogadishu\n\nA car bomb killed 12 people on Saturday. "
            "In a separate attack, gunmen killed a soldier. Police said 12 people were killed in the bombing.",
            [
                ("12", 12, "exact", "killed", "mixed_or_unknown"),
                ("12 people", 12, "exact", "killed", "mixed_or_unknown"),
                ("a soldier", 1, "exact", "killed", "security"),
                ("12 people", 12, "exact", "killed", "mixed_or_unknown"),
            ],
            13,
            False,
        ),
        (
            "Dozens killed in Kunduz fighting\n\nAt least 40 people were killed as fighting raged in Kunduz.",
            [
                ("Dozens", None, "vague", "killed", "mixed_or_unknown"),
                ("At least 40 people", 40, "at_least", "killed", "mixed_or_unknown"),
            ],
            40,
            True,
        ),
        (
            "Air strikes kill 30 across Yemen\n\nAn air strike killed 18 people in Saada on Monday. "
            "In Hodeidah, 12 people died in a strike on a market.",
            [
                ("30", 30, "exact", "killed", "mixed_or_unknown"),
                ("18 people", 18, "exact", "killed", "mixed_or_unknown"),
                ("LOCATION", "Saada"),
                ("12 people", 12, "exact", "killed", "mixed_or_unknown"),
            ],
            30,
            False,
        ),
    ],
    ids=["same-figure", "headline-and-another-incident", "vague-headline", "headline-sums-two-incidents"],
)
def test_the_headline_is_compared_with_the_body_not_added(text, marks, total, lower_bound):
    result = killed(text, *marks)
    assert (result["total"], result["lower_bound"]) == (total, lower_bound)


def test_a_headline_larger_than_the_body_is_the_total():
    text = "Attack kills 15 soldiers\n\nMilitants stormed a base. Ten soldiers were killed, the army said."
    result = killed(
        text,
        ("15 soldiers", 15, "exact", "killed", "security"),
        ("Ten soldiers", 10, "exact", "killed", "security"),
    )
    assert result["total"] == 15


# --- rule 7 and what is not a figure -----------------------------------------------------


def test_named_victims_and_other_labels_are_not_counted():
    text = "The police chief, Ahmad Shah Salim, was killed in Kandahar."
    spans = [
        {"start": 17, "end": 34, "label": "ACTOR", "attrs": {}},
        {"start": 50, "end": 58, "label": "LOCATION", "attrs": {}},
    ]
    assert not tally(spans, text=text)["killed"].reported


# --- cues ---------------------------------------------------------------------------------


def test_cues_round_trip_through_json_and_the_parse_sentences_are_kept():
    text = "Gen. Ahmed said the U.S. Army helped. In another attack in Kandahar, 3 police died on Friday."
    rule = find_cues(text)
    assert [sentence.start for sentence in rule.sentences] == [0, 38]
    assert rule.sentences[1].marker == "in another attack"
    assert rule.sentences[1].days == ("friday",)
    parsed = find_cues(text, [0, 5, 38])
    assert parsed.source == "parse"
    assert Cues.from_json(json.loads(json.dumps(parsed.to_json()))) == parsed


def test_a_first_line_is_a_headline_only_when_it_stands_alone_and_reads_like_one():
    assert find_cues("Two killed in Kabul\n\nA bomb killed two people.").headline_end == len(
        "Two killed in Kabul"
    )
    assert find_cues("A bomb killed two people.\n\nPolice said so.").headline_end == 0
    assert find_cues("One line only").headline_end == 0


def test_stored_cues_give_the_same_tally_without_the_text():
    text = "On Tuesday, gunmen killed four civilians. On Friday, a bomb killed three civilians."
    spans = spans_in(
        text,
        ("four civilians", 4, "exact", "killed", "civilian"),
        ("three civilians", 3, "exact", "killed", "civilian"),
    )
    stored = Cues.from_json(find_cues(text).to_json())
    assert tally(spans, cues=stored).to_json() == tally(spans, text=text).to_json()


# --- a tally given as data ----------------------------------------------------------------


def test_tally_errors_name_the_field():
    assert tally_errors({"killed": {"total": 3, "lower_bound": False, "by_group": {"civilian": 3}}}) == []
    assert tally_errors([]) == ["tally must be an object, not an array"]
    errors = tally_errors(
        {
            "dead": {},
            "killed": {"total": -1, "reported": "yes", "by_group": {"aliens": 1}},
            "wounded": {"size": 2},
        }
    )
    assert any("unknown outcome 'dead'" in error for error in errors)
    assert any(error.startswith("tally.killed.total must be a whole number") for error in errors)
    assert any(error.startswith("tally.killed.reported must be true or false") for error in errors)
    assert any("unknown group 'aliens'" in error for error in errors)
    assert any(error.startswith("tally.wounded.size: unknown key") for error in errors)


def test_a_partial_tally_is_completed():
    full = completed({"killed": {"total": 3}})
    assert full["killed"] == {"total": 3, "lower_bound": False, "reported": True, "by_group": {}}
    assert full["wounded"] == {"total": 0, "lower_bound": False, "reported": False, "by_group": {}}


# --- the seed gold, counted by hand -------------------------------------------------------


def test_the_seed_gold_tallies_equal_the_hand_counts():
    """tests/nlp/data/seed_tallies.json was counted by hand, with the reasoning beside each, by someone else."""
    hand = json.loads((DATA / "seed_tallies.json").read_text(encoding="utf-8"))
    records = read_gold(SEED_GOLD)
    assert {record["id"] for record in records} == set(hand)
    for record in records:
        assert tally(record["spans"], text=record["text"]).to_json() == hand[record["id"]]["tally"], record[
            "id"
        ]


def test_tally_errors_use_json_words_and_refuse_a_tally_that_contradicts_itself():
    assert tally_errors({"killed": {"total": None}}) == [
        "tally.killed.total must be a whole number from 0 to 1,000,000, not null"
    ]
    assert tally_errors({"killed": {"total": 3, "by_group": {"civilian": 2, "security": 2}}}) == [
        "tally.killed.by_group adds up to 4, more than its total 3"
    ]
    assert tally_errors({"wounded": {"total": 2, "reported": False}}) == [
        "tally.wounded: reported is false, yet it gives a total, groups or a lower bound"
    ]
