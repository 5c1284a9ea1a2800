"""The merge strategies and the kinds of candidate (services/curation_merge), without a database."""

from __future__ import annotations

import pytest

from annotator.services.curation_merge import candidates, kinds_of, merge, proposals, span_key


def s(start, end, label, **attrs):
    return {"start": start, "end": end, "label": label, "attrs": attrs}


def keys(found):
    return [(p.start, p.end, p.label) for p in found]


ARMY = s(0, 10, "ACTOR")
KABUL = s(20, 25, "LOCATION")
DEAD = s(30, 40, "CASUALTY", count=3, qualifier="exact", outcome="killed", group="civilian")


@pytest.mark.parametrize("strategy", ["unanimous", "majority"])
def test_a_span_every_version_has_is_merged_by_both_strategies(strategy):
    versions = {"ann": [ARMY, KABUL], "bob": [ARMY, KABUL], "cy": [ARMY, KABUL]}
    assert keys(merge(versions, strategy)) == [(0, 10, "ACTOR"), (20, 25, "LOCATION")]
    assert candidates(versions, [ARMY, KABUL], {}) == []


def test_unanimous_needs_every_version_and_majority_more_than_half():
    versions = {"ann": [ARMY, KABUL], "bob": [ARMY, KABUL], "cy": [ARMY]}
    assert keys(merge(versions, "unanimous")) == [(0, 10, "ACTOR")]
    assert keys(merge(versions, "majority")) == [(0, 10, "ACTOR"), (20, 25, "LOCATION")]


def test_half_of_the_versions_is_no_majority():
    versions = {"ann": [KABUL], "bob": []}
    assert merge(versions, "majority") == []
    assert merge({"ann": [KABUL], "bob": [KABUL], "cy": [], "di": []}, "majority") == []


def test_a_span_only_one_annotator_has_is_a_missing_candidate_naming_them():
    versions = {"ann": [ARMY, KABUL], "bob": [ARMY]}
    draft = merge(versions, "unanimous")
    found = candidates(versions, [vars_of(p) for p in draft], {})
    assert [(c.label, c.annotators, c.kinds, c.open) for c in found] == [
        ("LOCATION", ("ann",), ("missing",), True)
    ]


def test_a_boundary_conflict_gives_two_boundary_candidates():
    versions = {"ann": [s(0, 10, "ACTOR")], "bob": [s(4, 10, "ACTOR")]}
    assert merge(versions, "unanimous") == []
    found = candidates(versions, [], {})
    assert [(c.start, c.kind, c.annotators) for c in found] == [
        (0, "boundary", ("ann",)),
        (4, "boundary", ("bob",)),
    ]


def test_a_label_conflict_over_the_same_characters_is_a_label_candidate():
    versions = {"ann": [s(20, 25, "LOCATION")], "bob": [s(20, 25, "ACTOR")], "cy": [s(20, 25, "LOCATION")]}
    assert keys(merge(versions, "majority")) == [(20, 25, "LOCATION")]
    found = candidates(versions, [s(20, 25, "LOCATION")], {})
    assert [(c.label, c.kind, c.annotators) for c in found] == [("ACTOR", "label", ("bob",))]


def test_an_attribute_conflict_is_its_own_kind_and_keeps_both_sets_of_attributes_apart():
    three = s(30, 40, "CASUALTY", count=3, qualifier="exact", outcome="killed", group="civilian")
    four = s(30, 40, "CASUALTY", count=4, qualifier="exact", outcome="killed", group="civilian")
    versions = {"ann": [three], "bob": [four]}
    assert span_key(30, 40, "CASUALTY", three["attrs"]) != span_key(30, 40, "CASUALTY", four["attrs"])
    assert merge(versions, "unanimous") == []
    found = candidates(versions, [], {})
    assert [(c.attrs["count"], c.kind) for c in found] == [(3, "attributes"), (4, "attributes")]


def test_attribute_order_does_not_make_two_spans_differ():
    one = {"start": 0, "end": 4, "label": "CASUALTY", "attrs": {"count": 2, "outcome": "killed"}}
    other = {"start": 0, "end": 4, "label": "CASUALTY", "attrs": {"outcome": "killed", "count": 2}}
    assert len(proposals({"ann": [one], "bob": [other]})) == 1


def test_nested_and_overlapping_candidates_are_each_listed_with_every_kind_they_have():
    versions = {
        "ann": [s(0, 17, "ACTOR")],  # "the Nigerian army"
        "bob": [s(4, 12, "LOCATION"), s(13, 17, "ACTOR")],  # "Nigerian" / "army", nested in ann's
        "cy": [s(4, 17, "ACTOR")],  # overlaps all three
    }
    found = {(c.start, c.end, c.label): c.kinds for c in candidates(versions, [], {})}
    assert found == {
        (0, 17, "ACTOR"): ("label", "boundary"),
        (4, 12, "LOCATION"): ("label",),
        (4, 17, "ACTOR"): ("label", "boundary"),
        (13, 17, "ACTOR"): ("boundary",),
    }


def test_majority_never_puts_overlapping_spans_in_the_draft():
    versions = {
        "ann": [s(0, 17, "ACTOR")],
        "bob": [s(0, 17, "ACTOR")],
        "cy": [s(4, 17, "ACTOR")],
        "di": [s(4, 17, "ACTOR")],
        "ed": [s(0, 17, "ACTOR")],
    }
    assert keys(merge(versions, "majority")) == [(0, 17, "ACTOR")]


def test_answered_candidates_are_listed_but_not_open():
    versions = {"ann": [ARMY], "bob": [KABUL]}
    found = candidates(
        versions,
        [ARMY],
        {span_key(0, 10, "ACTOR", {}): "accepted", span_key(20, 25, "LOCATION", {}): "rejected"},
    )
    assert [(c.label, c.decision, c.in_draft, c.open) for c in found] == [
        ("ACTOR", "accepted", True, False),
        ("LOCATION", "rejected", False, False),
    ]


def test_a_candidate_the_draft_holds_anyway_is_not_listed():
    versions = {"ann": [ARMY], "bob": []}
    assert candidates(versions, [ARMY], {}) == []


def test_a_span_every_version_has_but_the_reviewer_removed_is_a_candidate_again():
    versions = {"ann": [DEAD], "bob": [DEAD]}
    found = candidates(versions, [], {})
    assert [c.kinds for c in found] == [("missing",)]
    assert kinds_of(found[0].proposal, versions) == ("missing",)


def test_no_versions_merge_to_nothing_and_a_single_version_is_its_own_draft():
    assert merge({}, "unanimous") == []
    assert keys(merge({"ann": [ARMY, KABUL]}, "unanimous")) == [(0, 10, "ACTOR"), (20, 25, "LOCATION")]


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown merge strategy 'vote'"):
        merge({"ann": [ARMY]}, "vote")


def vars_of(proposal):
    return {"start": proposal.start, "end": proposal.end, "label": proposal.label, "attrs": proposal.attrs}


def test_a_draft_span_the_reviewer_changed_settles_the_candidates_it_overlaps():
    versions = {"ann": [s(0, 10, "ACTOR")], "bob": [s(0, 10, "ACTOR"), s(20, 25, "LOCATION")]}
    grown = {**s(0, 14, "ACTOR"), "changed": True}
    found = {(c.start, c.end): (c.settled, c.open) for c in candidates(versions, [grown], {})}
    assert found == {(0, 10): (True, False), (20, 25): (False, True)}
    # A merged span (not changed by the reviewer) settles nothing.
    found = {
        (c.start, c.end): c.open for c in candidates(versions, [{**s(0, 14, "ACTOR"), "changed": False}], {})
    }
    assert found == {(0, 10): True, (20, 25): True}
