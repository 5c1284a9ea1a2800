"""Agreement among annotators: every figure equals nervaluate, scikit-learn and krippendorff called directly."""

from __future__ import annotations

import math
import warnings
from itertools import combinations

import krippendorff
import numpy as np
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from nervaluate import Evaluator
from sklearn.metrics import cohen_kappa_score

from annotator.errors import NotFound
from annotator.labels import CASUALTY, CASUALTY_ATTRIBUTES, LABELS
from annotator.models import AnnotationState
from annotator.services.agreement import (
    Agreement,
    _cover,
    agreement,
    cohen_kappa,
    compute,
    pair_key,
)
from tests.factories import make_article, make_span, make_user
from tests.services.test_evaluate_nervaluate import nervaluate_entities, sort
from tests.services.test_export_gold import counted_queries

TEXT = "Taliban fighters killed nine soldiers in Helmand province on Sunday, officials said."
# Runs of whitespace make whitespace tokens, which are no units.
SPACED = "Two  more died\n\nin   Kabul on Monday ,  police said ."
NINE = {"count": 9, "qualifier": "exact", "outcome": "killed", "group": "security"}
TOKENIZER = spacy.blank("en").tokenizer


def span(start, end, label, attrs=None):
    return {"start": start, "end": end, "label": label, "attrs": attrs or {}}


# Spans of TEXT: "Taliban fighters", "nine soldiers", "Helmand province", "officials".
ACTOR = span(0, 16, "ACTOR")
CASUALTIES = span(24, 37, "CASUALTY", NINE)
HELMAND = span(41, 57, "LOCATION")
OFFICIALS = span(69, 78, "ACTOR")


# --- the reference: the libraries called directly ------------------------------------------


def token_labels(text, spans, labels):
    """Return the label of each non-whitespace token: the span covering its first character, or O."""
    found = []
    for token in TOKENIZER(text):
        if token.is_space:
            continue
        covering = [
            each for each in spans if each["label"] in labels and each["start"] <= token.idx < each["end"]
        ]
        assert len(covering) <= 1, "the reference expects spans apart"
        found.append(covering[0]["label"] if covering else "O")
    return found


def nervaluate_f1(first_docs, second_docs, labels):
    """Return {scheme: {"micro": f1, LABEL: f1}} of nervaluate, the first side as gold; 1.0 when both are empty."""
    theirs = Evaluator(
        [nervaluate_entities(sort(spans)) for spans in first_docs],
        [nervaluate_entities(sort(spans)) for spans in second_docs],
        tags=list(labels),
        loader="dict",
    ).evaluate()
    found = {}
    for ours, scheme in (("strict", "strict"), ("lenient", "ent_type")):
        found[ours] = {"micro": both_empty_agree(theirs["overall"].get(scheme))}
        for label in labels:
            entity = theirs["entities"].get(label)
            found[ours][label] = both_empty_agree(None if entity is None else entity[scheme])
    return found


def both_empty_agree(result):
    """Return nervaluate's F1, but 1.0 where neither side has a span (nervaluate says 0, or nothing)."""
    if result is None or result.possible == result.actual == 0:
        return 1.0
    return result.f1


def sklearn_kappa(first, second):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(first, second)
    return None if math.isnan(value) else value


def krippendorff_alpha(matrix):
    """Return nominal alpha of an annotators × units matrix (nan: missing), None where undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        except ValueError:  # one value in the domain, or no unit with two values
            return None
    return None if math.isnan(value) else float(value)


def reference(versions, texts, *, labels=LABELS, model=None):
    """Return the figures ``compute`` gives, each from nervaluate, scikit-learn or krippendorff."""
    labels = tuple(labels)
    compared = {article: by for article, by in versions.items() if len(by) >= 2}
    names = sorted({name for by in compared.values() for name in by})
    found = {"articles": len(compared), "pairwise": {}, "per_article": [], "vs_model": {}}
    for first, second in combinations(names, 2):
        shared = [article for article, by in compared.items() if first in by and second in by]
        entry = {"articles": len(shared), "cohen_kappa": None, "f1": None}
        if shared:
            entry["f1"] = nervaluate_f1(
                [compared[a][first] for a in shared], [compared[a][second] for a in shared], labels
            )
            entry["cohen_kappa"] = sklearn_kappa(
                [t for a in shared for t in token_labels(texts[a], compared[a][first], labels)],
                [t for a in shared for t in token_labels(texts[a], compared[a][second], labels)],
            )
        found["pairwise"][pair_key(first, second)] = entry
    for article, by in compared.items():
        pairs = list(combinations(sorted(by), 2))
        strict = [nervaluate_f1([by[one]], [by[other]], labels)["strict"]["micro"] for one, other in pairs]
        found["per_article"].append({"id": article, "annotators": sorted(by), "strict_f1": np.mean(strict)})
    # Krippendorff: annotators × tokens of every compared article, nan where one did not accept it.
    codes = {"O": 0, **{label: index + 1 for index, label in enumerate(labels)}}
    rows = {name: [] for name in names}
    for article, by in compared.items():
        units = len(token_labels(texts[article], [], labels))
        for name in names:
            if name in by:
                rows[name].extend(codes[t] for t in token_labels(texts[article], by[name], labels))
            else:
                rows[name].extend([np.nan] * units)
    matrix = np.array([rows[name] for name in names], dtype=float)
    found["krippendorff_alpha"] = krippendorff_alpha(matrix) if compared else None
    found["label_alpha"] = {}
    for label in labels:
        binary = np.where(np.isnan(matrix), np.nan, (matrix == codes[label]).astype(float))
        found["label_alpha"][label] = krippendorff_alpha(binary) if compared else None
    # Casualty attributes: spans apart, so strict matches are the spans both have exactly.
    matched, equal = 0, dict.fromkeys(CASUALTY_ATTRIBUTES, 0)
    if CASUALTY in labels:
        for by in compared.values():
            for one, other in combinations(sorted(by), 2):
                for mine in by[one]:
                    for theirs in by[other]:
                        if mine["label"] == theirs["label"] == CASUALTY and (mine["start"], mine["end"]) == (
                            theirs["start"],
                            theirs["end"],
                        ):
                            matched += 1
                            for name in CASUALTY_ATTRIBUTES:
                                equal[name] += mine["attrs"].get(name) == theirs["attrs"].get(name)
    found["casualty_attrs"] = {
        "matched": matched,
        **{name: equal[name] / matched if matched else None for name in CASUALTY_ATTRIBUTES},
    }
    for name in names:
        seen = [a for a, by in compared.items() if name in by and a in (model or {})]
        found["vs_model"][name] = (
            nervaluate_f1([compared[a][name] for a in seen], [model[a] for a in seen], labels)["strict"][
                "micro"
            ]
            if seen
            else None
        )
    return found


def approx(value):
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-12)


def assert_equals_reference(ours: Agreement, theirs: dict) -> None:
    data = ours.to_dict()
    assert data["articles"] == theirs["articles"]
    assert set(data["pairwise"]) == set(theirs["pairwise"])
    for key, expected in theirs["pairwise"].items():
        got = data["pairwise"][key]
        assert got["articles"] == expected["articles"], key
        assert got["cohen_kappa"] == approx(expected["cohen_kappa"]), key
        for scheme in ("strict", "lenient"):
            if expected["f1"] is None:
                assert got[scheme]["micro"]["f1"] is None
                continue
            assert got[scheme]["micro"]["f1"] == approx(expected["f1"][scheme]["micro"]), (key, scheme)
            for label in ours.labels:
                assert got[scheme]["per_label"][label]["f1"] == approx(expected["f1"][scheme][label]), (
                    key,
                    scheme,
                    label,
                )
    assert data["overall"]["krippendorff_alpha"] == approx(theirs["krippendorff_alpha"])
    for label in ours.labels:
        assert data["overall"]["per_label"][label]["krippendorff_alpha"] == approx(
            theirs["label_alpha"][label]
        )
    assert [(a["id"], a["annotators"]) for a in data["per_article"]] == [
        (a["id"], a["annotators"]) for a in theirs["per_article"]
    ]
    for got, expected in zip(data["per_article"], theirs["per_article"], strict=True):
        assert got["strict_f1"] == approx(expected["strict_f1"])
    pairs_f1 = [e["f1"] for e in theirs["pairwise"].values() if e["f1"] is not None]
    for scheme in ("strict", "lenient"):
        mean = np.mean([f1[scheme]["micro"] for f1 in pairs_f1]) if pairs_f1 else None
        assert data["overall"]["mean_pairwise_f1"][scheme] == approx(mean)
    assert data["casualty_attrs"]["matched"] == theirs["casualty_attrs"]["matched"]
    for name in CASUALTY_ATTRIBUTES:
        assert data["casualty_attrs"][name] == approx(theirs["casualty_attrs"][name])
    assert data["vs_model"] == {name: approx(f1) for name, f1 in theirs["vs_model"].items()}


def check(versions, *, texts=None, labels=LABELS, model=None) -> dict:
    """Compute the agreement of ``versions``, check it against the reference, and return its JSON."""
    texts = texts or dict.fromkeys(versions, TEXT)
    ours = compute(versions, texts, labels=labels, model=model)
    assert_equals_reference(ours, reference(versions, texts, labels=labels, model=model))
    return ours.to_dict()


# --- hand-made cases ----------------------------------------------------------------------


def test_total_agreement():
    version = [ACTOR, CASUALTIES, HELMAND, OFFICIALS]
    data = check(
        {"a1": {"ann": version, "bob": version, "cy": version}, "a2": {"ann": [HELMAND], "bob": [HELMAND]}}
    )
    assert data["overall"]["mean_pairwise_f1"] == {"strict": 1.0, "lenient": 1.0}
    assert data["overall"]["krippendorff_alpha"] == 1.0
    assert {pair["cohen_kappa"] for pair in data["pairwise"].values()} == {1.0}
    assert data["casualty_attrs"] == {
        "matched": 3,
        "count": 1.0,
        "qualifier": 1.0,
        "outcome": 1.0,
        "group": 1.0,
    }


def test_no_agreement():
    data = check({"a1": {"ann": [ACTOR, CASUALTIES], "bob": [HELMAND, OFFICIALS]}})
    pair = data["pairwise"]["ann|bob"]
    assert pair["strict"]["micro"]["f1"] == pair["lenient"]["micro"]["f1"] == 0.0
    assert pair["cohen_kappa"] < 0
    assert data["overall"]["krippendorff_alpha"] < 0


def test_one_annotator_missing_an_article():
    data = check(
        {
            "a1": {"ann": [ACTOR, HELMAND], "bob": [ACTOR], "cy": [ACTOR, HELMAND]},
            "a2": {"ann": [OFFICIALS], "bob": [OFFICIALS, CASUALTIES]},  # cy did not accept a2
            "a3": {"cy": [ACTOR]},  # only one annotator: not compared
        }
    )
    assert data["articles"] == 2
    assert {key: pair["articles"] for key, pair in data["pairwise"].items()} == {
        "ann|bob": 2,
        "ann|cy": 1,
        "bob|cy": 1,
    }
    assert data["pairwise"]["ann|cy"]["strict"]["micro"]["f1"] == 1.0
    assert [article["id"] for article in data["per_article"]] == ["a1", "a2"]
    assert data["per_article"][1]["annotators"] == ["ann", "bob"]


def test_boundary_only_differences():
    data = check({"a1": {"ann": [ACTOR, HELMAND], "bob": [span(0, 7, "ACTOR"), span(41, 48, "LOCATION")]}})
    pair = data["pairwise"]["ann|bob"]
    assert pair["strict"]["micro"]["f1"] == 0.0
    assert pair["lenient"]["micro"]["f1"] == 1.0
    assert 0 < pair["cohen_kappa"] < 1


def test_a_label_only_one_annotator_uses():
    data = check(
        {
            "a1": {"ann": [ACTOR, CASUALTIES, HELMAND], "bob": [ACTOR, HELMAND]},
            "a2": {"ann": [OFFICIALS], "bob": [OFFICIALS]},
        }
    )
    per_label = data["pairwise"]["ann|bob"]["strict"]["per_label"]
    assert (per_label["ACTOR"]["f1"], per_label["LOCATION"]["f1"], per_label["CASUALTY"]["f1"]) == (
        1.0,
        1.0,
        0.0,
    )
    assert data["overall"]["per_label"]["CASUALTY"]["krippendorff_alpha"] < 0
    assert data["casualty_attrs"]["matched"] == 0
    assert data["casualty_attrs"]["count"] is None


def test_labels_left_out_count_as_outside():
    versions = {"a1": {"ann": [ACTOR, CASUALTIES], "bob": [ACTOR, span(24, 37, "LOCATION")]}}
    data = check(versions, labels=("ACTOR", "CASUALTY"))
    assert data["pairwise"]["ann|bob"]["strict"]["micro"]["f1"] == pytest.approx(2 / 3)
    assert set(data["pairwise"]["ann|bob"]["strict"]["per_label"]) == {"ACTOR", "CASUALTY"}
    assert check(versions, labels=("ACTOR",))["overall"]["krippendorff_alpha"] == 1.0


def test_casualty_attributes_of_strict_matches():
    other = {**NINE, "count": 8, "group": "civilian"}
    data = check(
        {
            "a1": {
                "ann": [CASUALTIES],
                "bob": [span(24, 37, "CASUALTY", other)],
                "cy": [span(24, 33, "CASUALTY", NINE)],  # no strict match: left out
            }
        }
    )
    assert data["casualty_attrs"] == {
        "matched": 1,
        "count": 0.0,
        "qualifier": 1.0,
        "outcome": 1.0,
        "group": 0.0,
    }
    assert data["pairwise"]["ann|bob"]["casualty_attrs"]["matched"] == 1


def test_texts_with_whitespace_tokens():
    texts = {"a1": SPACED, "a2": TEXT}
    data = check(
        {
            "a1": {
                "ann": [span(0, 8, "CASUALTY", NINE), span(21, 26, "LOCATION")],
                "bob": [span(21, 26, "LOCATION")],
            },
            "a2": {"ann": [ACTOR], "bob": [ACTOR, HELMAND]},
        },
        texts=texts,
    )
    units = sum(len(token_labels(text, [], LABELS)) for text in texts.values())
    assert data["pairwise"]["ann|bob"]["tokens"] == data["overall"]["tokens"] == units
    assert units < sum(1 for text in texts.values() for _ in TOKENIZER(text))


def test_each_annotator_against_the_model():
    model = {"a1": [ACTOR, span(41, 48, "LOCATION")], "a2": []}
    data = check(
        {
            "a1": {"ann": [ACTOR, HELMAND], "bob": [ACTOR, span(41, 48, "LOCATION")]},
            "a2": {"ann": [], "bob": []},
        },
        model=model,
    )
    assert data["vs_model"] == {"ann": 0.5, "bob": 1.0}
    assert data["vs_model_scores"]["ann"]["articles"] == 2
    assert check({"a1": {"ann": [ACTOR], "bob": [ACTOR]}})["vs_model"] == {"ann": None, "bob": None}


def test_two_empty_versions_agree_perfectly_and_undefined_measures_are_none():
    data = check({"a1": {"ann": [], "bob": []}})
    pair = data["pairwise"]["ann|bob"]
    assert pair["strict"]["micro"]["f1"] == pair["lenient"]["micro"]["f1"] == 1.0
    assert pair["strict"]["per_label"]["ACTOR"] == {**pair["strict"]["per_label"]["ACTOR"], "f1": 1.0}
    # Every token O on both sides: one category, so kappa and alpha are undefined.
    assert pair["cohen_kappa"] is None
    assert data["overall"]["krippendorff_alpha"] is None
    assert data["overall"]["per_label"]["ACTOR"]["krippendorff_alpha"] is None
    assert data["per_article"] == [
        {"id": "a1", "article_id": None, "annotators": ["ann", "bob"], "strict_f1": 1.0, "lenient_f1": 1.0}
    ]


def test_both_sides_marking_every_token_alike_leave_kappa_undefined():
    everything = [span(0, len(TEXT), "ACTOR")]
    data = check({"a1": {"ann": everything, "bob": everything}})
    assert data["pairwise"]["ann|bob"]["strict"]["micro"]["f1"] == 1.0
    assert data["pairwise"]["ann|bob"]["cohen_kappa"] is None
    assert data["overall"]["krippendorff_alpha"] is None


def test_nothing_to_compare():
    for versions in ({}, {"a1": {"ann": [ACTOR]}}):
        ours = compute(versions, dict.fromkeys(versions, TEXT))
        data = ours.to_dict()
        assert data["articles"] == 0
        assert data["pairwise"] == {}
        assert data["overall"]["mean_pairwise_f1"] == {"strict": None, "lenient": None}
        assert data["overall"]["krippendorff_alpha"] is None
        assert data["per_article"] == []
        assert ours.table().count("\n") == 0
    # Named annotators who share no article: their pair is there, without figures.
    data = compute({"a1": {"ann": [ACTOR], "cy": [ACTOR]}}, {"a1": TEXT}, annotators=["ann", "bob"]).to_dict()
    assert data["articles"] == 0
    assert data["pairwise"]["ann|bob"]["articles"] == 0
    assert data["pairwise"]["ann|bob"]["strict"]["micro"]["f1"] is None
    assert data["pairwise"]["ann|bob"]["cohen_kappa"] is None


def test_json_keys():
    data = compute(
        {"a1": {"bob": [ACTOR], "ann": [ACTOR, CASUALTIES]}}, {"a1": TEXT}, model={"a1": [ACTOR]}
    ).to_dict()
    assert {
        "articles",
        "annotators",
        "pairwise",
        "overall",
        "casualty_attrs",
        "per_article",
        "vs_model",
    } <= set(data)
    assert data["annotators"] == ["ann", "bob"]
    assert list(data["pairwise"]) == ["ann|bob"]  # the names in sorted order
    pair = data["pairwise"]["ann|bob"]
    assert {"articles", "strict", "lenient", "cohen_kappa"} <= set(pair)
    for scheme in ("strict", "lenient"):
        assert set(pair[scheme]) == {"micro", "per_label"}
        assert {"precision", "recall", "f1"} <= set(pair[scheme]["micro"])
        assert set(pair[scheme]["per_label"]) == set(LABELS)
        assert {"precision", "recall", "f1"} <= set(pair[scheme]["per_label"]["CASUALTY"])
    assert {"mean_pairwise_f1", "krippendorff_alpha", "per_label"} <= set(data["overall"])
    assert set(data["overall"]["mean_pairwise_f1"]) == {"strict", "lenient"}
    assert set(data["overall"]["per_label"]) == set(LABELS)
    assert {"id", "annotators", "strict_f1"} <= set(data["per_article"][0])
    assert set(data["vs_model"]) == {"ann", "bob"}
    assert isinstance(data["vs_model"]["ann"], float)


def test_labels_must_be_known():
    with pytest.raises(ValueError, match="not PERSON"):
        compute({}, {}, labels=("PERSON",))
    with pytest.raises(ValueError, match="not none"):
        compute({}, {}, labels=())


def test_pair_keys_sort_the_names():
    assert pair_key("zoe", "adam") == pair_key("adam", "zoe") == "adam|zoe"


def test_adding_in_chunks_gives_the_same_figures():
    versions = {
        "a1": {"ann": [ACTOR, HELMAND], "bob": [ACTOR], "cy": [span(41, 48, "LOCATION")]},
        "a2": {"ann": [OFFICIALS, CASUALTIES], "bob": [OFFICIALS, CASUALTIES]},
        "a3": {"bob": [ACTOR], "cy": [OFFICIALS]},
    }
    texts = dict.fromkeys(versions, TEXT)
    whole = compute(versions, texts)
    chunked = Agreement(LABELS, ("ann", "bob", "cy"))
    for article, by in versions.items():
        chunked.add({article: by}, texts)
    assert chunked.to_dict() == whole.to_dict()


def test_the_table_names_pairs_alpha_and_the_least_agreed_articles():
    versions = {
        "a1": {"ann": [ACTOR, HELMAND], "bob": [ACTOR, HELMAND]},
        "a2": {"ann": [ACTOR], "bob": [HELMAND]},
        "a3": {"ann": [], "bob": []},
    }
    table = compute(versions, dict.fromkeys(versions, TEXT)).table()
    assert "Agreement over 3 articles that two or more of 2 annotators accepted" in table
    assert "mean over pairs: 0.667" in table  # strict: 1, 0 and 1 over the three articles, micro 2/3
    assert "Krippendorff's alpha (nominal)" in table
    lowest = table.split("least agreed articles")[1].splitlines()[1:]
    assert [line.split()[0] for line in lowest] == ["a2", "a1", "a3"]
    assert "n/a" in table  # nobody was pre-annotated


def test_overlapping_spans_give_a_token_the_span_that_starts_last():
    positions = np.array([0, 5, 10, 15, 20])
    found = _cover(
        positions, np.array([0, 8, 14]), np.array([18, 12, 30]), np.array([1, 2, 3], dtype=np.int8)
    )
    assert found.tolist() == [1, 1, 2, 3, 3]
    apart = _cover(positions, np.array([4, 14]), np.array([11, 16]), np.array([1, 2], dtype=np.int8))
    assert apart.tolist() == [0, 1, 1, 2, 0]


def test_kappa_of_a_confusion_matrix_equals_sklearn():
    first = ["O", "O", "ACTOR", "ACTOR", "LOCATION", "O", "CASUALTY"]
    second = ["O", "ACTOR", "ACTOR", "O", "LOCATION", "O", "O"]
    names = ["O", "ACTOR", "LOCATION", "CASUALTY"]
    confusion = np.zeros((4, 4), dtype=np.int64)
    for one, other in zip(first, second, strict=True):
        confusion[names.index(one), names.index(other)] += 1
    assert cohen_kappa(confusion) == pytest.approx(cohen_kappa_score(first, second), rel=1e-12)
    assert cohen_kappa(np.zeros((4, 4), dtype=np.int64)) is None


# --- any annotations ------------------------------------------------------------------------

NAMES = ("ann", "bob", "cy", "dee")
TEXTS = (TEXT, SPACED, "Kabul")
ATTRS = st.fixed_dictionaries(
    {
        "count": st.sampled_from([None, 1, 9]),
        "qualifier": st.sampled_from(["exact", "about"]),
        "outcome": st.sampled_from(["killed", "wounded"]),
        "group": st.sampled_from(["civilian", "security"]),
    }
)


@st.composite
def spans_of(draw, text):
    """Return spans apart over ``text``, at any offsets (not only token edges)."""
    spans, position = [], draw(st.integers(0, 4))
    while position < len(text) and len(spans) < 8:
        end = min(len(text), position + draw(st.integers(1, 14)))
        label = draw(st.sampled_from(LABELS))
        spans.append(span(position, end, label, draw(ATTRS) if label == CASUALTY else None))
        position = end + draw(st.integers(0, 12))
    return spans


@st.composite
def version_like(draw, base):
    """Return ``base`` with some spans dropped, relabelled, cut at either end or given other attributes."""
    spans = []
    for each in base:
        change = draw(st.sampled_from(["keep", "keep", "drop", "relabel", "start", "end", "attrs"]))
        each = dict(each)
        if change == "drop":
            continue
        if change == "relabel":
            each["label"] = draw(st.sampled_from(LABELS))
            each["attrs"] = draw(ATTRS) if each["label"] == CASUALTY else {}
        elif change == "start" and each["end"] - each["start"] > 1:
            each["start"] += 1
        elif change == "end" and each["end"] - each["start"] > 1:
            each["end"] -= 1
        elif change == "attrs" and each["label"] == CASUALTY:
            each["attrs"] = draw(ATTRS)
        spans.append(each)
    return spans


@st.composite
def annotations(draw):
    """Return (versions, texts, model): 1-3 articles, 2-4 annotators, some of whom did not accept some articles."""
    names = NAMES[: draw(st.integers(2, 4))]
    versions, texts, model = {}, {}, {}
    for index in range(draw(st.integers(1, 3))):
        article = f"a{index}"
        texts[article] = text = draw(st.sampled_from(TEXTS))
        base = draw(spans_of(text))
        versions[article] = {
            name: draw(st.one_of(version_like(base), spans_of(text)))
            for name in names
            if draw(st.integers(0, 3))  # a quarter of the versions are missing
        }
        if draw(st.booleans()):
            model[article] = draw(version_like(base))
    return versions, texts, model


@settings(max_examples=300, deadline=None)
@given(annotations(), st.sampled_from([LABELS, ("ACTOR",), ("LOCATION", "CASUALTY")]))
def test_every_figure_equals_the_libraries_on_any_annotations(generated, labels):
    versions, texts, model = generated
    ours = compute(versions, texts, labels=labels, model=model)
    assert_equals_reference(ours, reference(versions, texts, labels=labels, model=model))
    for value in (ours.krippendorff_alpha, *(pair.cohen_kappa for pair in ours.pairs.values())):
        assert value is None or -1.0 - 1e-9 <= value <= 1.0 + 1e-9


# --- reading the database -------------------------------------------------------------------


def accept(session, article, user, status="accepted"):
    session.add(AnnotationState(article_id=article.id, user_id=user.id, status=status))
    session.commit()


def add_version(session, article, user, spans, status="accepted"):
    for each in spans:
        make_span(session, article, origin="annotator", owner=user, **each)
    accept(session, article, user, status)


def preannotate(session, article, spans):
    for each in spans:
        make_span(session, article, origin="model", **each)
    article.preannotated_with = "test"
    session.add(article)
    session.commit()


def test_the_database_reader_reads_accepted_versions_only(session):
    ann, bob, cy = (make_user(session, username=name) for name in ("ann", "bob", "cy"))
    a1 = make_article(session, external_id="a1", text=TEXT)
    a2 = make_article(session, external_id="a2", text=SPACED)
    a3 = make_article(session, external_id="a3", text=TEXT)
    make_span(session, a1, start=0, end=7, label="ACTOR")  # gold: not anyone's version
    add_version(session, a1, ann, [ACTOR, CASUALTIES, HELMAND])
    add_version(session, a1, bob, [ACTOR, span(24, 37, "CASUALTY", {**NINE, "count": 8})])
    add_version(session, a1, cy, [HELMAND], status="in_progress")
    add_version(session, a2, ann, [span(21, 26, "LOCATION")])
    add_version(session, a2, cy, [span(21, 26, "LOCATION")])
    add_version(session, a2, bob, [span(0, 3, "ACTOR")], status="flagged")
    add_version(session, a3, ann, [ACTOR])  # nobody else accepted a3
    preannotate(session, a1, [ACTOR])
    ours = agreement(session)
    versions = {
        "a1": {
            "ann": [ACTOR, CASUALTIES, HELMAND],
            "bob": [ACTOR, span(24, 37, "CASUALTY", {**NINE, "count": 8})],
        },
        "a2": {"ann": [span(21, 26, "LOCATION")], "cy": [span(21, 26, "LOCATION")]},
    }
    expected = compute(versions, {"a1": TEXT, "a2": SPACED}, model={"a1": [ACTOR]})
    data = ours.to_dict()
    assert [(article.pop("article_id"), article["id"]) for article in data["per_article"]] == [
        (a1.id, "a1"),
        (a2.id, "a2"),
    ]
    reference_data = expected.to_dict()
    for article in reference_data["per_article"]:
        assert article.pop("article_id") is None
    assert data == reference_data
    assert data["casualty_attrs"]["count"] == 0.0
    assert data["vs_model"] == {"ann": 0.5, "bob": pytest.approx(2 / 3), "cy": None}


def test_the_database_reader_compares_the_named_annotators(session):
    ann, bob, cy = (make_user(session, username=name) for name in ("ann", "bob", "cy"))
    a1 = make_article(session, external_id="a1", text=TEXT)
    a2 = make_article(session, external_id="a2", text=TEXT)
    for user in (ann, bob, cy):
        add_version(session, a1, user, [ACTOR])
    add_version(session, a2, ann, [ACTOR])
    add_version(session, a2, cy, [HELMAND])
    data = agreement(session, annotators=["ann", "bob"], labels=("ACTOR",)).to_dict()
    assert data["annotators"] == ["ann", "bob"]
    assert data["articles"] == 1
    assert data["labels"] == ["ACTOR"]
    assert list(data["pairwise"]) == ["ann|bob"]
    assert agreement(session, annotators=["ann", "cy"]).to_dict()["pairwise"]["ann|cy"]["articles"] == 2
    with pytest.raises(NotFound, match="no user named 'nobody', 'zed'"):
        agreement(session, annotators=["ann", "zed", "nobody"])


def test_the_database_reader_with_nothing_to_compare(session):
    ann = make_user(session, username="ann")
    make_user(session, username="bob")
    add_version(session, make_article(session, external_id="a1", text=TEXT), ann, [ACTOR])
    data = agreement(session).to_dict()
    assert (data["articles"], data["annotators"], data["pairwise"]) == (0, [], {})
    named = agreement(session, annotators=["ann", "bob"]).to_dict()
    assert named["pairwise"]["ann|bob"]["articles"] == 0


def test_the_database_reader_takes_a_fixed_number_of_queries(session):
    users = [make_user(session, username=f"user{index}") for index in range(3)]

    def add(count, offset):
        for index in range(offset, offset + count):
            article = make_article(session, external_id=f"a{index:03d}", text=f"{TEXT} {index}")
            for user in users[: 2 + index % 2]:
                add_version(session, article, user, [ACTOR, span(41, 48 + index % 3, "LOCATION")])
            preannotate(session, article, [ACTOR])

    add(4, 0)
    with counted_queries(session) as few:
        assert agreement(session, chunk_size=1000).articles == 4
    add(40, 4)
    with counted_queries(session) as many:
        assert agreement(session, chunk_size=1000).articles == 44
    assert len(many) == len(few)
    # Chunks of any size give the same figures.
    assert agreement(session, chunk_size=7).to_dict() == agreement(session).to_dict()
