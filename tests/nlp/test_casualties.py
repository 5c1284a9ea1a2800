"""The casualty component on sentences written for the tests (none from the seeds)."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc

from annotator.nlp.casualties import CasualtyRecognizer

pytestmark = pytest.mark.model


def casualties(annotate, text):
    return [(span["text"], span["attrs"]) for span in annotate(text) if span["label"] == "CASUALTY"]


def only_casualty(annotate, text):
    found = casualties(annotate, text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "span", "count", "qualifier"),
    [
        ("A car bomb in Mosul killed nine civilians on Tuesday, police said.", "nine civilians", 9, "exact"),
        (
            "Militants ambushed a convoy in Borno state, killing at least 35 soldiers.",
            "at least 35 soldiers",
            35,
            "at_least",
        ),
        (
            "The shelling wounded more than 100 people in Kharkiv overnight.",
            "more than 100 people",
            100,
            "at_least",
        ),
        (
            "About 20 worshippers were injured when the mosque collapsed after the blast.",
            "About 20 worshippers",
            20,
            "about",
        ),
        (
            "The air strikes killed 1,800 fighters over the past year, the monitor said.",
            "1,800 fighters",
            1800,
            "exact",
        ),
        (
            "Dozens of protesters were killed by security forces in Khartoum.",
            "Dozens of protesters",
            None,
            "vague",
        ),
        ("Scores of villagers died in the attack.", "Scores of villagers", None, "vague"),
        ("Hundreds of civilians have been killed in Gaza this week.", "Hundreds of civilians", None, "vague"),
        (
            "Nearly 50 people were hurt in the stampede that followed the gunfire.",
            "Nearly 50 people",
            50,
            "about",
        ),
        ("Twelve people lost their lives when the boat was shelled.", "Twelve people", 12, "exact"),
        (
            "More than a dozen soldiers were killed in the raid.",
            "More than a dozen soldiers",
            12,
            "at_least",
        ),
    ],
)
def test_figures_are_read_with_count_and_qualifier(annotate, text, span, count, qualifier):
    found_span, attrs = only_casualty(annotate, text)
    assert found_span == span
    assert (attrs["count"], attrs["qualifier"]) == (count, qualifier)


@pytest.mark.parametrize(
    ("text", "span", "outcome"),
    [
        ("A drone strike killed four soldiers near Bakhmut.", "four soldiers", "killed"),
        ("Six children died when the school was hit.", "Six children", "killed"),
        ("The blast injured 23 passengers at the bus station.", "23 passengers", "wounded"),
        ("Fourteen policemen were wounded in the ambush.", "Fourteen policemen", "wounded"),
        ("The ambush killed or wounded 18 soldiers near Kidal.", "18 soldiers", "killed_or_wounded"),
        ("Gunmen killed and wounded 25 villagers in Zamfara.", "25 villagers", "killed_or_wounded"),
        (
            "More than 300 casualties were reported after the missile hit the market.",
            "More than 300 casualties",
            "killed_or_wounded",
        ),
        ("The death toll from the attack rose to 45, the health ministry said.", "45", "killed"),
    ],
)
def test_outcome_comes_from_the_linked_harm_word(annotate, text, span, outcome):
    found_span, attrs = only_casualty(annotate, text)
    assert found_span == span
    assert attrs["outcome"] == outcome


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The explosion killed three children and injured six others, officials said.",
            [("three children", "killed", "civilian"), ("six others", "wounded", "civilian")],
        ),
        (
            "The blast left 14 people dead and 30 injured.",
            [("14 people", "killed", "mixed_or_unknown"), ("30", "wounded", "mixed_or_unknown")],
        ),
        (
            "Israeli strikes killed 40 Palestinians overnight, including 15 women.",
            [("40 Palestinians", "killed", "mixed_or_unknown"), ("15 women", "killed", "civilian")],
        ),
        (
            "At least 12 Houthi fighters and four Saudi soldiers were killed in the clashes.",
            [
                ("At least 12 Houthi fighters", "killed", "militant"),
                ("four Saudi soldiers", "killed", "security"),
            ],
        ),
    ],
)
def test_several_figures_in_one_sentence(annotate, text, expected):
    found = [(span, attrs["outcome"], attrs["group"]) for span, attrs in casualties(annotate, text)]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("A roadside bomb killed nine civilians in Kandahar.", "civilian"),
        ("The attack on the hospital killed 11 patients and nurses.", "civilian"),
        ("Insurgents killed 17 police officers at a checkpoint.", "security"),
        ("The suicide bomber killed 7 members of the security forces.", "security"),
        ("Army helicopters killed 30 al-Shabaab militants in Lower Shabelle.", "militant"),
        ("Five Islamic State fighters were killed in the raid.", "militant"),
        ("Scores of civilians and rebels were killed in the fighting.", "mixed_or_unknown"),
        ("At least 20 people were killed in the market blast.", "mixed_or_unknown"),
    ],
)
def test_group_follows_the_counted_nouns(annotate, text, group):
    _, attrs = only_casualty(annotate, text)
    assert attrs["group"] == group


@pytest.mark.parametrize(
    "text",
    [
        "The government deployed 5,000 troops to the border region.",
        "About 800 militants took part in the assault on the city.",
        "More than 2,000 families fled their homes in Idlib.",
        "Aleppo, a city of two million people, was besieged for months.",
        "The rebels threatened to kill 100 hostages if their demands were not met.",
        "Some 15,000 soldiers remain in the country under the agreement.",
        "The commission received 1,800 complaints about the vote.",
        "No one was killed in the attack, officials said.",
        "The 34 provinces will hold elections next year, and 12 candidates are running.",
        "The attack happened in 2019, when 300 fighters stormed the town.",
    ],
)
def test_numbers_that_count_no_casualties_are_left_out(annotate, text):
    assert casualties(annotate, text) == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Several insurgents were killed in the operation, the army said.", "Several insurgents"),
        ("A number of militants were killed and the rest fled.", "A number of militants"),
        ("Many civilians died in the shelling of the market.", "Many civilians"),
        ("Troops killed several terrorists and recovered their weapons.", "several terrorists"),
        ("Several civilians were wounded by the shelling.", "Several civilians"),
        ("An insurgent mortar team was killed by an airstrike near Kunduz.", "An insurgent mortar team"),
        ("A handful of militants were killed.", "A handful of militants"),
    ],
)
def test_vague_figures_have_no_count(annotate, text, span):
    found_span, attrs = only_casualty(annotate, text)
    assert found_span == span
    assert (attrs["count"], attrs["qualifier"]) == (None, "vague")


@pytest.mark.parametrize(
    ("text", "span", "group"),
    [
        ("An insurgent was killed and two rifles were recovered.", "An insurgent", "militant"),
        (
            "Troops engaged the gunmen, killing the insurgent and recovering his weapon.",
            "the insurgent",
            "militant",
        ),
        ("A soldier died of his wounds on Tuesday.", "A soldier", "security"),
        ("A child was killed when the shell hit the house.", "A child", "civilian"),
        ("An army soldier was wounded in the exchange of fire.", "An army soldier", "security"),
    ],
)
def test_single_unnamed_victims_count_one(annotate, text, span, group):
    found_span, attrs = only_casualty(annotate, text)
    assert found_span == span
    assert (attrs["count"], attrs["qualifier"], attrs["group"]) == (1, "exact", group)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Three civilians, including a woman, were reportedly among those who were killed in the strike.",
            [("Three civilians", 3, "killed"), ("a woman", 1, "killed")],
        ),
        (
            "A police officer was killed and two others were injured in the blast.",
            [("A police officer", 1, "killed"), ("two others", 2, "wounded")],
        ),
    ],
)
def test_single_victims_beside_other_figures(annotate, text, expected):
    found = [(span, attrs["count"], attrs["outcome"]) for span, attrs in casualties(annotate, text)]
    assert found == expected


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("Two aid workers were killed when their convoy was ambushed.", "civilian"),
        ("An airstrike killed 14 Syrian regime forces near Idlib.", "security"),
        ("Five worshippers were killed when gunmen stormed the mosque.", "civilian"),
        ("Three government soldiers were killed in the ambush.", "security"),
        ("Several members of ISWAP were killed when troops raided the camp.", "militant"),
        ("The group said five of its fighters were killed in the clashes.", "militant"),
        ("Al-Shabaab said two of its members were killed in the raid.", "militant"),
        ("The army said three of its men were killed in the ambush.", "security"),
        ("Four pro-government militiamen were killed in the clashes.", "security"),
        ("Eleven Syrian regime soldiers were killed in the ambush.", "security"),
        ("A Taliban commander was killed in the raid.", "militant"),
        ("The strike killed 12 people, all civilians, the ministry said.", "civilian"),
        ("Twelve fighters from both sides were killed.", "mixed_or_unknown"),
        ("Fighting between the army and al-Shabaab killed 15 fighters.", "mixed_or_unknown"),
        ("Clashes between rival militias killed 12 fighters.", "militant"),
    ],
)
def test_group_follows_modifiers_and_attributed_actors(annotate, text, group):
    _, attrs = only_casualty(annotate, text)
    assert attrs["group"] == group


@pytest.mark.parametrize(
    ("text", "span", "outcome"),
    [
        ("Troops neutralised five terrorists and recovered weapons.", "five terrorists", "killed"),
        ("The army lost 14 soldiers in the battle.", "14 soldiers", "killed"),
        ("Four children were reported to have been among those killed.", "Four children", "killed"),
        ("An insurgent is believed to have been killed in the exchange of fire.", "An insurgent", "killed"),
        ("Eleven SDF fighters were killed in the raid.", "Eleven SDF fighters", "killed"),
        ("Twenty inmates were killed during the riot.", "Twenty inmates", "killed"),
        ("Two Hamas operatives were killed in the strike.", "Two Hamas operatives", "killed"),
        ("A Palestinian man was shot dead at the checkpoint.", "A Palestinian man", "killed"),
        (
            "Police said two residents were being treated for gunshot wounds.",
            "two residents",
            "wounded",
        ),
        (
            "Later that day, a patrol killed a two-man insurgent team planting explosives on a road.",
            "a two-man insurgent team",
            "killed",
        ),
    ],
)
def test_press_release_and_wire_wording(annotate, text, span, outcome):
    found_span, attrs = only_casualty(annotate, text)
    assert (found_span, attrs["outcome"]) == (span, outcome)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("The victim, a 25-year-old trader, died on the way to hospital.", ["The victim"]),
        ("A woman and her child were among the dead.", ["A woman"]),
        (
            "A spokesman for the provincial governor said a policeman and two civilians were killed.",
            ["a policeman", "two civilians"],
        ),
    ],
)
def test_one_person_is_counted_once(annotate, text, spans):
    assert [span for span, _ in casualties(annotate, text)] == spans


def test_the_speaker_of_a_reported_harm_is_no_victim(annotate):
    text = "A woman was killed when a shell hit her home, a health official said."
    assert [span for span, _ in casualties(annotate, text)] == ["A woman"]


@pytest.mark.parametrize(
    "text",
    [
        "Gunmen shot him dead outside his home.",
        "A soldier said the attackers fled into the forest.",
        "Gunmen abducted 20 students from a school in Kaduna.",
        "The strike killed a senior commander of the group, Abu Ahmed.",
        "The suicide bomber blew himself up at the gate.",
        "A man who killed his neighbour was arrested.",
        "The unit lost contact with 14 soldiers.",
    ],
)
def test_single_and_vague_mentions_that_are_no_victims(annotate, text):
    assert casualties(annotate, text) == []


@pytest.mark.parametrize(
    ("text", "victims"),
    [
        ("A gunman killed 3 people at a checkpoint.", ["3 people"]),
        (
            "KABUL, Afghanistan – A suicide bomber killed at least 12 civilians in Kabul on Monday.",
            ["at least 12 civilians"],
        ),
        ("The soldier whom the gunmen killed was buried on Friday.", ["The soldier"]),
    ],
)
def test_a_subject_who_kills_is_no_victim(annotate, text, victims):
    assert [span for span, _ in casualties(annotate, text)] == victims


def test_figures_need_a_parse(blank):
    recognizer = CasualtyRecognizer(blank.vocab)
    doc = Doc(blank.vocab, words=["Nine", "soldiers", "were", "killed"])
    # Without tags or a parse nothing links the figure to its harm word.
    assert recognizer.find(doc) == []


def test_spans_carry_attributes_and_source(nlp):
    doc = nlp("Two policemen were killed in Quetta.")
    span = next(span for span in doc.spans["casualties"])
    assert span.text == "Two policemen"
    assert span._.source == "casualty:rules"
    assert span._.attrs == {"count": 2, "qualifier": "exact", "outcome": "killed", "group": "security"}
