"""ACTOR and LOCATION spans: gazetteers, force patterns and the boundary rules of GUIDELINES.md."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc

from annotator.nlp.entities import RANK_CURATED, RANK_NER, Candidate, ConflictEntities


def spans(annotate, text, label=None):
    return [span["text"] for span in annotate(text) if label is None or span["label"] == label]


# -- rules on hand-built docs ---------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["President", "Hamid", "Karzai"], "Hamid Karzai"),
        (["Gen.", "Abdul", "Raziq"], "Abdul Raziq"),
        (["Lt.", "Gen.", "Sami", "Sadat"], "Sami Sadat"),
        (["Secretary", "-", "General", "Antonio", "Guterres"], "Antonio Guterres"),
        (["Acting", "Assistant", "Defense", "Secretary", "Kelly", "Magsamen"], "Kelly Magsamen"),
        (["Dr.", "Abdullah"], "Abdullah"),
        (["Qari", "Yousef", "Ahmadi"], "Qari Yousef Ahmadi"),
    ],
)
def test_trim_drops_titles_determiners_and_punctuation(small_entities, blank, words, expected):
    doc = Doc(blank.vocab, words=words)
    start, end = small_entities._trim(doc, 0, len(doc), person=True)
    assert doc[start:end].text == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [(["the", "Interior", "Ministry", ","], "Interior Ministry"), (["“", "Taliban", "”"], "Taliban")],
)
def test_trim_keeps_titles_in_organizations(small_entities, blank, words, expected):
    doc = Doc(blank.vocab, words=words)
    start, end = small_entities._trim(doc, 0, len(doc), person=False)
    assert doc[start:end].text == expected


def test_trim_keeps_a_lone_title_word_as_name(small_entities, blank):
    doc = Doc(blank.vocab, words=["Major"])
    assert small_entities._trim(doc, 0, 1, person=True) == (0, 1)


@pytest.mark.parametrize(
    ("words", "parts"),
    [
        (["Helmand", "province", "'s", "Sangin"], ["Helmand province", "Sangin"]),
        (["Kabul", "’s"], ["Kabul"]),
        (["Sangin"], ["Sangin"]),
    ],
)
def test_possessives_split_names(blank, words, parts):
    doc = Doc(blank.vocab, words=words)
    assert [doc[a:b].text for a, b in ConflictEntities._split_possessives(doc, 0, len(doc))] == parts


@pytest.mark.parametrize(
    ("text", "form", "matches"),
    [
        ("ANSF", "ANSF", True),
        ("Ansf", "ANSF", False),
        ("Taliban", "Taliban", True),
        ("TALIBAN", "Taliban", True),
        ("taliban", "Taliban", False),
        ("al-Shabaab", "al-Shabaab", True),
        ("Al-Shabaab", "al-Shabaab", True),
    ],
)
def test_actor_forms_respect_case(text, form, matches):
    assert ConflictEntities._actor_form_matches(text, form) is matches


def test_select_prefers_casualties_then_longer_then_trusted_spans():
    chosen = ConflictEntities.select(
        [
            Candidate(0, 1, "ACTOR", "ner", RANK_NER),
            Candidate(0, 3, "ACTOR", "patterns:forces", RANK_CURATED),
            Candidate(2, 5, "CASUALTY", "casualty:rules", 0),
            Candidate(6, 7, "ACTOR", "ner", RANK_NER),
            Candidate(6, 7, "LOCATION", "gazetteer:places", RANK_CURATED),
        ],
        8,
    )
    assert [(c.start, c.end, c.label) for c in chosen] == [
        (0, 1, "ACTOR"),
        (2, 5, "CASUALTY"),
        (6, 7, "LOCATION"),
    ]


@pytest.mark.parametrize(
    "words",
    [
        ["Afghan", "troops", "(", "Abdul", "Malik", "/", "AFP/", "Getty", "Images", ")"],
        ["Soldiers", "rest", "(", "AP", "Photo", "/", "Rahmat", "Gul", ")"],
        ["KABUL", "(", "Reuters", ")"],
    ],
)
def test_parenthesized_credits_are_blocked(small_entities, blank, words):
    doc = Doc(blank.vocab, words=words)
    blocked = small_entities.credit_tokens(doc)
    opening = words.index("(")
    assert blocked == set(range(opening, len(words)))


def test_parentheses_without_credit_stay(small_entities, blank):
    doc = Doc(blank.vocab, words=["the", "Rapid", "Support", "Forces", "(", "RSF", ")"])
    assert small_entities.credit_tokens(doc) == set()


@pytest.mark.parametrize(
    ("words", "tags", "hits"),
    [
        (["in", "Helmand", "today"], ["IN", "NNP", "NN"], ["Helmand"]),
        (["in", "HELMAND"], ["IN", "NNP"], ["HELMAND"]),
        (["in", "helmand"], ["IN", "NN"], []),
        (["Mosul", "fell"], ["NN", "VBD"], []),
    ],
)
def test_places_must_be_written_as_names(small_entities, blank, words, tags, hits):
    doc = Doc(blank.vocab, words=words, tags=tags)
    assert [doc[a:b].text for a, b in small_entities.place_hits(doc)] == hits


def test_places_flagged_suffix_need_their_place_word(small_entities, blank):
    doc = Doc(
        blank.vocab, words=["Reg", "said", "in", "Reg", "district"], tags=["NNP", "VBD", "IN", "NNP", "NN"]
    )
    found = {(c.start, c.end) for c in small_entities.candidates(doc) if c.label == "LOCATION"}
    assert found == {(3, 5)}


# -- the full pipeline on sentences written for the tests -------------------------


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("President Joe Biden said the alliance would hold.", "Joe Biden"),
        ("Defense Minister Rustem Umerov visited troops near Avdiivka on Monday.", "Rustem Umerov"),
        ("Lt. Gen. Sami Sadat commanded the operation.", "Sami Sadat"),
        ("Taliban spokesman Zabihullah Mujahid denied the claim.", "Zabihullah Mujahid"),
        ("UN Secretary-General Antonio Guterres condemned the attack.", "Antonio Guterres"),
        ("Governor Babagana Zulum condemned the attack.", "Babagana Zulum"),
        ("Police Commissioner Abubakar Umar said officers were deployed.", "Abubakar Umar"),
        ("Air Vice Marshal Olusegun Philips briefed reporters.", "Olusegun Philips"),
        ("Lt.-Gen. Taoreed Lagbaja inspected the troops.", "Taoreed Lagbaja"),
        ("Brig. Gen. Ahmed Mohammed said the troops had pursued the attackers.", "Ahmed Mohammed"),
        ("Col. Abdi Hassan told reporters that the base was intact.", "Abdi Hassan"),
        ("A spokesman, Maj. Gen. Edward Buba, said the operation was a success.", "Edward Buba"),
        ("Military spokesman Lt. Col. Abdul Rahman Ali said the road was open.", "Abdul Rahman Ali"),
    ],
)
def test_titles_stay_out_of_actor_spans(annotate, text, actor):
    assert actor in spans(annotate, text, "ACTOR")


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Army spokesman Brig. Gen. Onyema Nwachukwu said troops were on the trail of the attackers.",
            "Onyema Nwachukwu",
        ),
        ("Rear Admiral Aminu Hassan visited the base.", "Aminu Hassan"),
    ],
)
def test_a_title_yields_no_span_of_its_own(annotate, text, name):
    found = spans(annotate, text, "ACTOR")
    assert name in found
    assert not any(word in found for word in ("Brig", "Brig.", "Gen.", "Rear Admiral"))


@pytest.mark.model
@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "KHOST, Afghanistan - A suicide car bomber struck a convoy on Monday.",
            [("KHOST", "LOCATION"), ("Afghanistan", "LOCATION")],
        ),
        (
            "MAIDUGURI, Nigeria - Fighters of the Islamic State West Africa Province attacked a base.",
            [
                ("MAIDUGURI", "LOCATION"),
                ("Nigeria", "LOCATION"),
                ("Islamic State West Africa Province", "ACTOR"),
            ],
        ),
    ],
)
def test_a_dateline_country_is_a_place(annotate, text, expected):
    assert [(span["text"], span["label"]) for span in annotate(text)] == expected


def test_a_place_word_before_a_title_stays_with_the_place(annotate):
    found = annotate("Borno state Governor Babagana Zulum condemned the attack.")
    assert [(span["text"], span["label"]) for span in found] == [
        ("Borno state", "LOCATION"),
        ("Babagana Zulum", "ACTOR"),
    ]


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "actors"),
    [
        (
            "Nigerian troops repelled an attack by Islamic State West Africa Province (ISWAP) fighters.",
            ["Nigerian troops", "Islamic State West Africa Province", "ISWAP"],
        ),
        ("The Allied Democratic Forces (ADF) raided a village.", ["Allied Democratic Forces", "ADF"]),
        (
            "The Multinational Joint Task Force (MNJTF) said its troops repelled the attack.",
            ["Multinational Joint Task Force", "MNJTF"],
        ),
        ("The Rapid Support Forces (RSF) shelled the city on Monday.", ["Rapid Support Forces", "RSF"]),
        ("Malian armed forces (FAMa) said they repelled the attack.", ["Malian armed forces", "FAMa"]),
        (
            "Jamaat Nusrat al-Islam wal-Muslimin (JNIM) claimed the attack.",
            ["Jamaat Nusrat al-Islam wal-Muslimin", "JNIM"],
        ),
    ],
)
def test_names_with_their_acronym_are_two_actors(annotate, text, actors):
    assert spans(annotate, text, "ACTOR") == actors


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "locations"),
    [
        ("Fighting continued in Kunduz province on Sunday.", ["Kunduz province"]),
        ("The militants attacked checkpoints in Nad Ali district overnight.", ["Nad Ali district"]),
        ("Boko Haram fighters raided a village in Borno state.", ["Borno state"]),
        ("Clashes erupted in Kandahar province's Zhari district.", ["Kandahar province", "Zhari district"]),
        ("Gunmen stormed a school in the northern province of Faryab.", ["Faryab"]),
        ("KABUL, Afghanistan (AP) — A bomb exploded near a mosque.", ["KABUL", "Afghanistan"]),
    ],
)
def test_place_words_the_text_attaches_stay_in(annotate, text, locations):
    assert spans(annotate, text, "LOCATION") == locations


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "actors"),
    [
        ("Police said an ANSF-led operation cleared the area.", ["ANSF"]),
        ("A NATO-led mission will train local forces.", ["NATO"]),
        (
            "The U.S.-led coalition said it had carried out three air strikes near Raqqa.",
            ["U.S.-led coalition"],
        ),
        ("Government troops retook the town on Friday.", ["Government troops"]),
        (
            "Somali security forces repelled an attack by al-Shabaab militants.",
            ["Somali security forces", "al-Shabaab militants"],
        ),
        ("Russian troops and police entered the city.", ["Russian troops", "police"]),
        (
            "The Israeli military said Hamas fighters fired rockets from Rafah.",
            ["Israeli military", "Hamas fighters"],
        ),
        ("Afghan officials said the road was closed.", []),
        (
            "Somali National Army forces, backed by African Union troops, recaptured the town.",
            ["Somali National Army forces", "African Union troops"],
        ),
        ("Syrian regime forces and allied militias shelled the village.", ["Syrian regime forces"]),
        ("Houthi fighters attacked government positions.", ["Houthi fighters"]),
        ("Nigerian troops pursued the attackers.", ["Nigerian troops"]),
        ("Iraqi counter-terrorism forces entered the city.", ["Iraqi counter-terrorism forces"]),
        ("The decision followed a major U.S. military offensive in the region.", []),
    ],
)
def test_force_mentions_need_an_affiliation(annotate, text, actors):
    assert spans(annotate, text, "ACTOR") == actors


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Iraqi soldiers patrol a street in Mosul. (Photo by Ahmad Al-Rubaye/AFP via Getty Images)",
            ["Iraqi soldiers", "Mosul"],
        ),
        (
            "Syrian army units advanced on Idlib.\n\n(Reporting by Suleiman Al-Khalidi; Editing by Alex Richardson)",
            ["Syrian army units", "Idlib"],
        ),
        (
            "Rebels shelled Goma.\n\nAssociated Press writer Jane Doe in Nairobi contributed to this report.",
            ["Goma"],
        ),
        ("Government troops retook the town, Reuters reported.", ["Government troops"]),
    ],
)
def test_bylines_credits_and_agencies_stay_out(annotate, text, expected):
    assert spans(annotate, text) == expected


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Moscow denied the accusation, and talks with Washington stalled.",
            [("Moscow", "ACTOR"), ("Washington", "ACTOR")],
        ),
        ("Kinshasa accuses Rwanda of backing the rebels.", [("Kinshasa", "ACTOR"), ("Rwanda", "ACTOR")]),
        ("The aid reached Afghanistan in March.", [("Afghanistan", "LOCATION")]),
    ],
)
def test_capitals_and_countries_that_act_are_actors(annotate, text, expected):
    assert [(span["text"], span["label"]) for span in annotate(text)] == expected


@pytest.mark.model
def test_spans_record_their_origin(annotate):
    found = {
        span["text"]: span["source"]
        for span in annotate("Taliban fighters attacked Kunduz province, Hamid Karzai said.")
    }
    assert found == {
        "Taliban fighters": "gazetteer:actors",
        "Kunduz province": "gazetteer:places",
        "Hamid Karzai": "ner",
    }
