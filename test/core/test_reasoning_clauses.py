"""Clause-by-clause plans (`compose.py`): multi-step commands keep every step, reports come back
to the operator, people are found before they are followed, guided or handed something. The
sentences are written for these tests, not taken from the evaluation data."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synth_agent.core.places import load_places
from synth_agent.core.reasoning import Reasoner, ReasoningConfig, response_intent
from synth_agent.core.reasoning.compose import read, report_place
from synth_agent.core.reasoning.dataset import Row
from synth_agent.core.reasoning.evaluate import (
    DATA_INTENT,
    expressible,
    gold_steps,
    plan_steps_vocab,
)

PLACES = load_places()


class Fixed:
    """A classifier that always answers one intent (the composer must agree with it)."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    def predict(self, text: str) -> tuple[str, float]:
        return self.intent, 0.9


def respond(text: str, intent: str, open_world: bool = True):
    cfg = ReasoningConfig(open_world=open_world)
    return Reasoner(cfg, PLACES, Fixed(intent)).respond(text, 0.0)


def steps(d) -> list[tuple]:
    return [tuple(s.model_dump(exclude_none=True).values()) for s in d.plan.steps]


CASES = [
    (
        "head to the hallway, then look for the green box, grab it and drop it in the bedroom",
        "place",
        [("navigate_to", "hallway"), ("find", "green box"), ("pick", "green box"),
         ("navigate_to", "bedroom"), ("place",)],
    ),
    (
        "take the yellow bottle from the bathroom and hand it to me",
        "bring",
        [("navigate_to", "bathroom"), ("find", "yellow bottle"), ("pick", "yellow bottle"),
         ("navigate_to", "operator"), ("place",)],
    ),
    (
        "search for the blue ball in the bedroom, pick it up and carry it to Priya in the kitchen",
        "bring",
        [("navigate_to", "bedroom"), ("find", "blue ball"), ("pick", "blue ball"),
         ("navigate_to", "kitchen"), ("find", "priya"), ("approach", "person"), ("place",)],
    ),
    (
        "go to the kitchen, find the cup and tell me how many there are",
        "describe",
        [("navigate_to", "kitchen"), ("find", "cup"), ("describe",),
         ("navigate_to", "operator"),
         ("say", "I'm back from the kitchen; I told you there what I saw.")],
    ),
    (
        "tell me how many chairs are in the garden shed",
        "describe",
        [("navigate_to", "garden_shed"), ("describe",), ("navigate_to", "operator"),
         ("say", "I'm back from the garden shed; I told you there what I saw.")],
    ),
    (
        "let me know the hair colour of the person at the front door",
        "describe",
        [("navigate_to", "front_door"), ("find", "person"), ("describe",),
         ("navigate_to", "operator"),
         ("say", "I'm back from the front door; I told you there what I saw.")],
    ),
    (
        "wave to the woman with glasses in the bathroom and follow her",
        "follow",
        [("navigate_to", "bathroom"), ("find", "woman with glasses"), ("say", "Hello!"),
         ("follow", "woman with glasses")],
    ),
    (
        "meet Tomas by the dock then look for him in the bedroom",
        "find",
        [("navigate_to", "dock"), ("find", "tomas"), ("navigate_to", "bedroom"),
         ("find", "tomas")],
    ),
    (
        "follow the kneeling man in the living room",
        "follow",
        [("navigate_to", "living_room"), ("find", "kneeling man"),
         ("follow", "kneeling man")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "intent", "want"), CASES)
def test_every_clause_becomes_its_steps(text, intent, want):
    d = respond(text, intent)
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want
    assert response_intent(d) == intent


def test_a_plan_that_disagrees_with_the_classifier_falls_back_to_the_skeleton():
    # The composed plan ends in meeting someone, not navigate; the skeleton's [navigate_to
    # bedroom] would leave out the goal, so nothing moves and the operator is asked (before
    # c659e0b's successor: the trip alone, with a note). ("... and find the red cup" no longer
    # reaches the classifier: a find clause at the end is read as the goal from the words.)
    d = respond("go to the bedroom and meet the woman", "navigate")
    assert d.plan.type == "clarify" and not d.plan.steps
    assert "“meet the woman”" in d.plan.say  # ... and the operator hears what is left out
    assert steps(respond("go to the bedroom and find the red cup", "navigate")) == [
        ("navigate_to", "bedroom"), ("find", "red cup")]  # fmt: skip
    # An exact motion before the goal is a step of its own now (it was left out with a note).
    d = respond("turn left 90 degrees and find the red cup", "find")
    assert steps(d) == [("turn", 90.0), ("find", "red cup")]
    assert "couldn't fit" not in d.plan.say


def test_one_unreadable_clause_leaves_the_whole_command_to_the_skeletons():
    assert read("go to the kitchen and juggle three oranges") is None
    assert read("go to the kitchen and find the cup") is not None


GUIDES = [
    ("walk the visitor over to the bathroom", "bathroom",
     [("find", "visitor"), ("guide", "bathroom", "visitor")]),
    ("please escort Marta from the dock to the hallway", "hallway",
     [("navigate_to", "dock"), ("find", "marta"), ("guide", "hallway", "marta")]),
    ("lead the man by the sofa to the kitchen", "kitchen",
     [("navigate_to", "sofa"), ("find", "man"), ("guide", "kitchen", "man")]),
    ("take her to the bedroom", "bedroom",
     [("find", "person"), ("guide", "bedroom", "person")]),
    ("show the plumber the way to the bathroom", "bathroom",
     [("find", "plumber"), ("guide", "bathroom", "plumber")]),
    ("meet Lena in the kitchen and escort her to the dock", "dock",
     [("navigate_to", "kitchen"), ("find", "lena"), ("guide", "dock", "lena")]),
    ("wave to the girl in the hallway, then take them to the living room", "living_room",
     [("navigate_to", "hallway"), ("find", "girl"), ("say", "Hello!"),
      ("guide", "living_room", "girl")]),
    ("accompany Omar to the bedroom, you will find him in the bathroom", "bedroom",
     [("navigate_to", "bathroom"), ("find", "omar"), ("guide", "bedroom", "omar")]),
    ("escort the woman pointing to the left from the sofa to the hallway", "hallway",
     [("navigate_to", "sofa"), ("find", "woman pointing to the left"),
      ("guide", "hallway", "woman pointing to the left")]),
    ("take me to the kitchen", "kitchen",
     [("navigate_to", "operator"), ("guide", "kitchen", "person")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "place", "want"), GUIDES)
def test_guiding_a_person_finds_them_then_guides(text, place, want):
    d = respond(text, "other")  # the classifier's label for guiding: the anchor decides
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want
    assert response_intent(d) == "guide"
    assert d.plan.steps[-1].place == place


@pytest.mark.parametrize(
    "text",
    ["take the green box to the kitchen", "bring the red cup to the bedroom",
     "please walk slowly to the bathroom",
     "take the bottles and bring them to the bedroom"],
)  # fmt: skip
def test_carrying_an_object_is_not_guiding(text):
    d = respond(text, "place" if "bottles" not in text else "bring")
    assert "guide" not in [s.skill for s in d.plan.steps]


def test_guiding_to_an_unknown_place_asks_like_navigate_to():
    d = respond("escort the delivery man to the garage", "other", open_world=False)
    assert d.plan.type == "clarify" and "garage" in d.plan.say and not d.plan.steps
    nav = respond("go to the garage", "navigate", open_world=False)
    assert nav.plan.type == "clarify" and nav.plan.say == d.plan.say


def test_guiding_from_an_unknown_spot_searches_instead_of_asking():
    d = respond("guide the person at the window to the kitchen", "other", open_world=False)
    assert steps(d) == [("find", "person"), ("guide", "kitchen", "person")]


def test_a_guide_plan_is_said_and_validated():
    d = respond("escort Marta to the hallway", "other")
    assert "show Marta the way to the hallway" in d.plan.say  # the name as written
    assert "show marta the way" in respond("escort marta to the hallway", "other").plan.say
    assert "show the visitor the way" in respond("escort the visitor to the hallway",
                                                 "other").plan.say  # fmt: skip
    assert d.plan.steps[-1].model_dump() == {"skill": "guide", "place": "hallway",
                                             "person": "marta"}  # fmt: skip


def test_a_report_for_someone_else_comes_to_the_operator_and_says_so():
    d = respond(
        "tell the posture of the person at the sofa to the person at the window", "describe"
    )
    assert steps(d)[:4] == [("navigate_to", "sofa"), ("find", "person"), ("describe",),
                            ("navigate_to", "operator")]  # fmt: skip
    assert "told you instead" in d.plan.steps[-1].text


def test_closed_world_asks_about_a_place_said_outright():
    d = respond("go to the garage then find the cup", "find", open_world=False)
    assert d.plan.type == "clarify"
    assert "garage" in d.plan.say
    d = respond("go to the bathroom then find the cup", "find", open_world=False)
    assert steps(d) == [("navigate_to", "bathroom"), ("find", "cup")]


def test_a_report_about_here_is_still_a_question():
    assert report_place("tell me how many cups there are") is None
    assert report_place("tell me how many cups are on the shelf") == "the shelf"
    d = respond("how many cups are on the shelf?", "describe")
    assert d.plan.type == "answer"  # a question, not "tell me": answered from the scene


def test_evaluation_vocabulary_and_guide_rows():
    d = respond("take the red cup from the kitchen and give it to Noor", "bring")
    assert plan_steps_vocab(d.plan) == ["navigate", "pick", "find", "bring"]
    guide = Row("x", "other", "frida-cortex", {"steps": ["navigate", "find", "guide"]})
    fetch = Row("y", "bring", "frida-cortex", {"steps": ["navigate", "pick", "navigate", "give"]})
    assert expressible(guide) and expressible(fetch)
    assert gold_steps(fetch) == ["navigate", "pick", "navigate", "bring"]
    assert gold_steps(guide) == ["navigate", "find", "guide"]
    d = respond("escort Marta from the dock to the hallway", "other")
    assert plan_steps_vocab(d.plan) == gold_steps(guide)
    assert DATA_INTENT[response_intent(d)] == "other"  # the data files guiding under other


# --- carrying an object to a place ------------------------------------------------------------
CARRY_TO_LIVING_ROOM = [
    "take the red cup to the living room",
    "carry the red cup to the living room",
    "move the red cup to the living room",
    "bring the red cup to the living room",
    "get the red cup to the living room",
    "please move the red cup into the living room",
    "could you take the red cup over to the living room",
]
FETCH_CARRY_PUT = [("find", "red cup"), ("pick", "red cup"), ("navigate_to", "living_room"),
                   ("place",)]  # fmt: skip


@pytest.mark.parametrize("text", CARRY_TO_LIVING_ROOM)
@pytest.mark.parametrize("intent", [None, "bring", "pick", "other"])
def test_carrying_an_object_to_a_place_fetches_it_carries_it_and_puts_it_there(text, intent):
    # Before: "take" went to the living room first and never put the cup down, "move" was
    # refused, and a classifier's "bring" took the cup to the operator instead.
    r = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None)
    d = r.respond(text, 0.0)
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == FETCH_CARRY_PUT
    assert response_intent(d) == "bring"  # the data's word for carrying something somewhere
    assert "living room" in d.plan.say and "leave" not in d.plan.say


def test_putting_an_object_in_a_place_is_the_same_steps_with_the_place_intent():
    d = Reasoner(ReasoningConfig(), PLACES).respond("put the red cup in the living room", 0.0)
    assert steps(d) == FETCH_CARRY_PUT
    assert response_intent(d) == "place"


@pytest.mark.parametrize("text", ["bring me the red cup", "bring the red cup to me",
                                  "bring it to me"])  # fmt: skip
def test_bringing_to_me_still_goes_to_the_operator(text):
    r = Reasoner(ReasoningConfig(), PLACES)
    r.memory.last_object = "red cup"  # what "it" refers to
    d = r.respond(text, 0.0)
    assert steps(d) == [("find", "red cup"), ("pick", "red cup"), ("navigate_to", "operator"),
                        ("place",)]  # fmt: skip
    assert response_intent(d) == "bring"


def test_carrying_what_is_in_hand_goes_straight_there():
    r = Reasoner(ReasoningConfig(), PLACES)
    r.memory.held = "blue ball"
    d = r.respond("take it to the kitchen", 0.0)
    assert steps(d) == [("navigate_to", "kitchen"), ("place",)]


def test_carrying_from_a_named_place_goes_there_first():
    d = Reasoner(ReasoningConfig(), PLACES).respond(
        "take the green box from the living room to the bedroom", 0.0
    )
    assert steps(d) == [("navigate_to", "living_room"), ("find", "green box"),
                        ("pick", "green box"), ("navigate_to", "bedroom"), ("place",)]  # fmt: skip


def test_carrying_to_an_unknown_place_asks_instead_of_bringing_it_to_me():
    d = Reasoner(ReasoningConfig(), PLACES, Fixed("bring")).respond(
        "take the red cup to the garage", 0.0
    )
    assert d.plan.type == "clarify" and "garage" in d.plan.say and not d.plan.steps


def test_carrying_after_other_clauses_keeps_them_all():
    d = respond("go to the kitchen, pick up the red cup and take it to the bedroom", "bring",
                open_world=False)  # fmt: skip
    assert steps(d) == [("navigate_to", "kitchen"), ("find", "red cup"), ("pick", "red cup"),
                        ("navigate_to", "bedroom"), ("place",)]  # fmt: skip
    assert response_intent(d) == "bring"


# --- going up to an object after a trip -------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "place", "obj"),
    [("go to the kitchen and approach the red cup", "kitchen", "red cup"),
     ("go to the bedroom and approach the blue ball", "bedroom", "blue ball"),
     ("head to the living room, then get close to the green box", "living_room", "green box")],
)  # fmt: skip
@pytest.mark.parametrize("intent", [None, "navigate"])
def test_approaching_an_object_after_a_trip_keeps_both_clauses(text, place, obj, intent):
    # Before: [navigate_to] only, the approach silently dropped.
    r = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None)
    d = r.respond(text, 0.0)
    assert steps(d) == [("navigate_to", place), ("find", obj), ("approach", obj)]
    assert response_intent(d) == "find"


def test_approaching_alone_is_unchanged():
    d = Reasoner(ReasoningConfig(), PLACES).respond("approach the green box", 0.0)
    assert steps(d) == [("find", "green box"), ("approach", "green box")]


# --- no clause is ever dropped silently -------------------------------------------------------
# One clause per skill verb, with the step that carries it out. Written here, independent of the
# reasoner's own table, so the property checks the plans, not the table.
SKILL_CLAUSES = [
    ("go to the {place}", "navigate_to"),
    ("find the {obj}", "find"),
    ("approach the {obj}", "approach"),
    ("pick up the {obj}", "pick"),
    ("bring it to me", "place"),
    ("put it in the {place}", "place"),
    ("take the {obj} to the {place}", "place"),
    ("follow me", "follow"),
    ("follow the person", "follow"),
    ("turn left 90 degrees", "turn"),
    ("drive forward 1 m", "drive"),
    ("wait 5 seconds", "wait"),
    ("look around", "describe"),
    ("describe the room", "describe"),
]
CLASSIFIERS = [None, "navigate", "find", "pick", "bring", "place", "follow", "describe", "other"]


def _clause_kept(clauses: list[tuple[str, str]], joiner: str, intent: str | None) -> None:
    """Each clause is carried out by a step of its skill, or the plan's `say` names it, or the
    robot asks or refuses instead of acting; an answer from the scene only when every clause
    asks to look."""
    fill = [("kitchen", "red cup"), ("bedroom", "blue ball"), ("living_room", "green box")]
    texts = [
        c.format(place=p.replace("_", " "), obj=o)
        for (c, _), (p, o) in zip(clauses, fill[: len(clauses)], strict=True)
    ]
    text = joiner.join(texts)
    d = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None).respond(text, 0.0)
    if d.plan.type == "answer":
        assert all(skill == "describe" for _, skill in clauses), (text, intent, d.plan.say)
    if d.plan.type != "plan":
        return  # asked or refused: nothing done without the operator hearing about it
    # Per skill: clauses beyond the steps of that skill must be named (which of two "go to"
    # clauses the one trip carries out is the reasoner's call: it names the other).
    have = [s.skill for s in d.plan.steps]
    for skill in {skill for _, skill in clauses}:
        wanted = [c for c, (_, k) in zip(texts, clauses, strict=True) if k == skill]
        named = [c for c in wanted if f"“{c}”" in d.plan.say]
        assert len(wanted) - have.count(skill) <= len(named), (text, intent, have, d.plan.say)


@pytest.mark.parametrize("intent", CLASSIFIERS)
def test_no_clause_of_two_is_dropped_silently(intent):
    for a, b in itertools.product(SKILL_CLAUSES, repeat=2):
        for joiner in (" and ", ", then "):
            _clause_kept([a, b], joiner, intent)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(st.sampled_from(SKILL_CLAUSES), min_size=3, max_size=3),
    st.sampled_from([" and ", ", ", " then "]),
    st.sampled_from(CLASSIFIERS),
)
def test_no_clause_of_three_is_dropped_silently(clauses, joiner, intent):
    _clause_kept(clauses, joiner, intent)


def test_a_question_in_a_command_with_actions_is_not_answered_alone():
    # Before: the scene was described and "pick up the red cup" dropped without a word.
    d = Reasoner(ReasoningConfig(), PLACES).respond("pick up the red cup and describe the room",
                                                    0.0)  # fmt: skip
    if d.plan.type == "clarify":  # the goal (describe) did not fit: asked, nothing done
        assert not d.plan.steps and "“describe the room”" in d.plan.say
    else:
        assert d.plan.type == "plan"
        assert [s.skill for s in d.plan.steps][:2] == ["find", "pick"]
        assert "“describe the room”" in d.plan.say or "describe" in [s.skill for s in d.plan.steps]
    d = Reasoner(ReasoningConfig(), PLACES).respond("describe the room", 0.0)
    assert d.plan.type == "answer"


# --- coming back to the operator ----------------------------------------------------------------
CARRY_BACK = [("navigate_to", "bedroom"), ("place",), ("navigate_to", "operator")]


@pytest.mark.parametrize(
    "text",
    ["take the red cup to the bedroom and then come back",
     "take the red cup to the bedroom and come here",
     "bring the red cup to the bedroom, then return to me"],
)  # fmt: skip
@pytest.mark.parametrize("intent", [None, "bring", "pick", "drive", "navigate"])
def test_carrying_then_coming_back_plans_both(text, intent):
    # Before: "come back" read as drive -0.5 by the guard and as "go back to the place before"
    # by the trip memory: [navigate_to operator] only, or "Back where?".
    d = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None).respond(text, 0.0)
    assert steps(d) == [("find", "red cup"), ("pick", "red cup"), *CARRY_BACK], d.plan.say
    assert response_intent(d) == "bring"
    assert "couldn't fit" not in d.plan.say


@pytest.mark.parametrize(
    ("text", "want", "intent"),
    [("go to the kitchen and come here", [("navigate_to", "kitchen")], "navigate"),
     ("go to the bedroom and come back to me", [("navigate_to", "bedroom")], "navigate"),
     ("find the red cup and then return to me", [("find", "red cup")], "find"),
     ("find the blue ball, then come back", [("find", "blue ball")], "find"),
     ("pick up the green box and come over here",
      [("find", "green box"), ("pick", "green box")], "pick")],
)  # fmt: skip
@pytest.mark.parametrize("classifier", [None, "bring"])
def test_a_trip_back_after_other_work_is_planned_not_dropped(text, want, intent, classifier):
    # Before: the trip back was left out without a word ("find ... and then return to me" was
    # [find red cup] alone).
    r = Reasoner(ReasoningConfig(), PLACES, Fixed(classifier) if classifier else None)
    d = r.respond(text, 0.0)
    assert steps(d) == [*want, ("navigate_to", "operator")], d.plan.say
    assert response_intent(d) == intent


def test_a_dropped_goal_is_asked_about_not_half_done():
    # The carry (the goal) cannot be planned, so the trip back alone must not run.
    r = Reasoner(ReasoningConfig(), PLACES, Fixed("navigate"))
    steps_ = [{"skill": "navigate_to", "place": "operator"}]
    d = r._decide("take the red cup to the bedroom and then come back", "plan", "OK.",
                  "navigate", "test", steps_)  # fmt: skip
    assert d.plan.type == "clarify" and not d.plan.steps
    assert "“take the red cup to the bedroom”" in d.plan.say
    assert "“come back”" not in d.plan.say  # the trip back is there: not named


def test_come_back_alone_still_uses_the_trip_memory():
    r = Reasoner(ReasoningConfig(), PLACES)
    r.respond("go to the kitchen", 0.0)
    r.respond("go to the bedroom", 1.0)
    assert steps(r.respond("come back", 2.0)) == [("navigate_to", "kitchen")]
    assert steps(r.respond("come here", 3.0)) == [("navigate_to", "operator")]


# --- where an object is said to be --------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["take the red cup from the garage to the kitchen",
     "bring me the red cup from the garage",
     "bring the blue ball from the garage to the bedroom",
     "pick up the red cup from the garage"],
)  # fmt: skip
@pytest.mark.parametrize("intent", [None, "bring"])
def test_an_unknown_place_the_object_is_in_is_asked_about(text, intent):
    # Before: "from the garage" was dropped and the cup fetched from anywhere.
    d = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None).respond(text, 0.0)
    assert d.plan.type == "clarify" and not d.plan.steps, d.plan.say
    assert "garage" in d.plan.say and "kitchen" in d.plan.say  # the places it knows


@pytest.mark.parametrize("intent", [None, "find"])
def test_looking_in_an_unknown_place_is_asked_about(intent):
    # Before (closed world): "in the garage" was dropped and the cup looked for anywhere.
    r = Reasoner(ReasoningConfig(), PLACES, Fixed(intent) if intent else None)
    d = r.respond("find the red cup in the garage", 0.0)
    assert d.plan.type == "clarify" and not d.plan.steps and "garage" in d.plan.say
    assert steps(r.respond("find the red cup on the table", 1.0)) == [("find", "red cup")]


@pytest.mark.parametrize(
    ("text", "lead"),
    [("bring me the red cup from the shelf", []),
     ("bring me the red cup from the kitchen table", [("navigate_to", "kitchen")])],
)  # fmt: skip
def test_furniture_the_object_is_on_is_where_to_look_not_a_place(text, lead):
    d = Reasoner(ReasoningConfig(), PLACES).respond(text, 0.0)
    assert steps(d) == [*lead, ("find", "red cup"), ("pick", "red cup"),
                        ("navigate_to", "operator"), ("place",)]  # fmt: skip


# --- a verb said once, a list of things, one gripper ------------------------------------------
NAV = "navigate_to"
ELIDED = [
    ("go to the bedroom, then the kitchen", "navigate", [(NAV, "bedroom"), (NAV, "kitchen")]),
    ("go to the kitchen, the bedroom and then the hallway", "navigate",
     [(NAV, "kitchen"), (NAV, "bedroom"), (NAV, "hallway")]),
    ("visit the kitchen then the bedroom", "navigate", [(NAV, "kitchen"), (NAV, "bedroom")]),
    ("approach the red cup, then the green box", "find",
     [("find", "red cup"), ("approach", "red cup"), ("find", "green box"),
      ("approach", "green box")]),
    ("bring the red cup and the blue ball to the kitchen", "bring",
     [("find", "red cup"), ("pick", "red cup"), (NAV, "kitchen"), ("place",),
      ("find", "blue ball"), ("pick", "blue ball"), (NAV, "kitchen"), ("place",)]),
    ("bring me the red cup and the green box", "bring",
     [("find", "red cup"), ("pick", "red cup"), (NAV, "operator"), ("place",),
      ("find", "green box"), ("pick", "green box"), (NAV, "operator"), ("place",)]),
    ("go to the kitchen and pick up the red cup", "pick",
     [(NAV, "kitchen"), ("find", "red cup"), ("pick", "red cup")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "intent", "want"), ELIDED)
@pytest.mark.parametrize("classifier", ["as labelled", "bring"])
def test_a_verb_said_once_carries_on_to_every_thing_listed(text, intent, want, classifier):
    # "bring" as the classifier's answer: these plans come from the words, whatever it says
    # (before: "go to the bedroom, then the kitchen" went to the bedroom only, without a word).
    d = respond(text, intent if classifier == "as labelled" else classifier)
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want
    assert "couldn't fit" not in d.plan.say


def test_a_verbless_clause_is_read_only_after_a_verb_it_can_take():
    assert read("the kitchen and go to the bedroom") is None
    assert read("go to the kitchen and the cup is red") is None
    assert [a.what for a in read("find the cup and the ball")] == ["cup", "ball"]


def test_a_second_thing_to_pick_while_holding_one_is_asked_about():
    d = respond("pick up the red cup then the blue ball", "pick")
    assert d.plan.type == "clarify" and not d.plan.steps
    assert "one thing at a time" in d.plan.say and "the red cup" in d.plan.say


def test_a_plan_longer_than_max_steps_is_asked_about_not_cut_short():
    text = "take the red cup, the blue ball, the green box and the yellow bottle to the bedroom"
    assert len(read(text)) == 4
    d = respond(text, "bring")  # 16 steps; max_steps is 12
    assert d.plan.type == "clarify" and not d.plan.steps
    assert "more than 12 steps" in d.plan.say
    three = respond("take the red cup, the blue ball and the green box to the bedroom", "bring")
    assert len(three.plan.steps) == 12


def test_a_trip_to_a_named_place_is_not_carried_out_by_a_trip_elsewhere():
    # The skeleton for "bring" goes to the operator; that trip is not the one to the kitchen.
    r = Reasoner(ReasoningConfig(), PLACES, Fixed("bring"))
    assert r._left_out(
        "go to the kitchen and bring me the red cup",
        [{"skill": "find", "object": "red cup"}, {"skill": "pick", "object": "red cup"},
         {"skill": "navigate_to", "place": "operator"}, {"skill": "place"}],
    ) == ["go to the kitchen"]  # fmt: skip
    # A verbless clause is judged with the verb before it.
    assert r._left_out(
        "go to the kitchen, then the bedroom", [{"skill": "navigate_to", "place": "kitchen"}]
    ) == ["the bedroom"]


@pytest.mark.parametrize(
    ("text", "want"),
    [("go to the kitchen and look around", [(NAV, "kitchen"), ("describe",)]),
     ("go to the kitchen and look at the window", [(NAV, "kitchen"), ("describe",)]),
     ("go to the bedroom and take a look", [(NAV, "bedroom"), ("describe",)]),
     ("go to the kitchen, look at the red cup and come back",
      [(NAV, "kitchen"), ("find", "red cup"), ("describe",), (NAV, "operator")])],
)  # fmt: skip
@pytest.mark.parametrize("classifier", ["navigate", "describe"])
def test_looking_somewhere_goes_there_then_looks(text, want, classifier):
    # Before: "... and look around" was asked about ("couldn't fit"), "... and look at the
    # window" looked where the robot stood and left out the trip.
    d = respond(text, classifier)
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want
    assert response_intent(d) == "describe"


@pytest.mark.parametrize(
    ("text", "want"),
    [("go to the kitchen and wait there for 10 seconds", [(NAV, "kitchen"), ("wait", 10.0)]),
     ("go to the kitchen, wait 5 seconds and come back",
      [(NAV, "kitchen"), ("wait", 5.0), (NAV, "operator")]),
     ("go to the kitchen and turn around", [(NAV, "kitchen"), ("turn", 180.0)]),
     ("turn left 90 degrees and go to the kitchen", [("turn", 90.0), (NAV, "kitchen")]),
     ("go to the kitchen and step to the left",
      [(NAV, "kitchen"), ("turn", 90.0), ("drive", 0.5), ("turn", -90.0)]),
     ("take the blue ball to Anna",
      [("find", "blue ball"), ("pick", "blue ball"), ("find", "anna"), ("approach", "person"),
       ("place",)])],
)  # fmt: skip
@pytest.mark.parametrize("classifier", ["navigate", "bring"])
def test_exact_motions_and_recipients_are_steps_of_the_plan(text, want, classifier):
    # Before: the wait and the turn were "couldn't fit" questions, and the ball went to the
    # operator instead of Anna, without a word.
    d = respond(text, classifier)
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want


def test_a_motion_beyond_its_limit_inside_a_longer_command_is_asked_about():
    d = respond("go to the kitchen and drive forward 10 meters", "navigate")
    assert d.plan.type == "clarify" and "my limit is 5 m" in d.plan.say


@pytest.mark.parametrize(
    ("text", "side"),
    [("move 30 cm to the left", 0.3), ("strafe right", -0.5), ("slide right 20 centimeters", -0.2)],
)
def test_a_sideways_move_turns_drives_and_turns_back(text, side):
    # Before: "move 30 cm to the left" drove 0.3 m forward.
    d = respond(text, "drive")
    turn = 90.0 if side > 0 else -90.0
    assert steps(d) == [("turn", turn), ("drive", abs(side)), ("turn", -turn)]
    assert "can't move sideways" in d.plan.say and response_intent(d) == "drive"


@pytest.mark.parametrize(
    ("text", "want"),
    [("go to the kitchen and bedroom", [(NAV, "kitchen"), (NAV, "bedroom")]),
     ("go to the kitchen, bedroom and bathroom",
      [(NAV, "kitchen"), (NAV, "bedroom"), (NAV, "bathroom")]),
     ("go to the bedroom then to the kitchen", [(NAV, "bedroom"), (NAV, "kitchen")]),
     ("go to the kitchen and then in the bathroom", [(NAV, "kitchen"), (NAV, "bathroom")]),
     ("go to the kitchen and wait there", [(NAV, "kitchen")]),
     ("bring me the red cup, the blue ball and the green box",
      [s for o in ("red cup", "blue ball", "green box")
       for s in [("find", o), ("pick", o), (NAV, "operator"), ("place",)]]),
     ("bring the red cup to the kitchen, then the blue ball",
      [s for o in ("red cup", "blue ball")
       for s in [("find", o), ("pick", o), (NAV, "kitchen"), ("place",)]])],
)  # fmt: skip
def test_more_ways_of_saying_a_list_keep_every_item(text, want):
    # Before (review of this session's first version): the first of three objects only, the
    # kitchen only, or a stop for "... and wait there".
    d = respond(text, "navigate" if want[0][0] == NAV else "bring")
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want


@pytest.mark.parametrize(
    ("text", "asked"),
    [("go to the kitchen, wait there and come back", "How long should I wait"),
     ("wait until the door opens, then go to the kitchen", "“wait until the door opens”")],
)  # fmt: skip
def test_a_wait_the_robot_cannot_keep_is_asked_about_before_moving(text, asked):
    d = respond(text, "navigate")
    assert d.plan.type == "clarify" and asked in d.plan.say


def test_a_thing_named_but_not_read_is_never_dropped_silently():
    d = respond("bring the red cup and the person to the kitchen", "bring")
    assert d.plan.type != "plan" or "“the person to the kitchen”" in d.plan.say, d.plan


@pytest.mark.parametrize(
    ("text", "want"),
    [("visit the kitchen", [(NAV, "kitchen")]),
     ("take a look at the red cup", [("find", "red cup"), ("describe",)]),
     ("have a closer look at the blue ball", [("find", "blue ball"), ("describe",)])],
)  # fmt: skip
def test_single_clause_visits_and_looks(text, want):
    # Before: "Where should I go?" and "I don't know what “look” looks like".
    d = respond(text, "navigate" if want[0][0] == NAV else "describe")
    assert d.plan.type == "plan", d.plan.say
    assert steps(d) == want


def test_what_the_robot_says_back_reads_naturally():
    # Before: "find the anna", "turn -90 degrees", and "... and wait there" unmentioned.
    assert (
        "find Anna, then approach the person" in respond("give the box to Anna", "bring").plan.say
    )
    say = respond("go to the kitchen and step to the left", "drive").plan.say
    assert "turn 90 degrees left, then drive 0.5 m forward, then turn 90 degrees right" in say
    assert respond("go to the kitchen and wait there", "navigate").plan.say == (
        "OK: go to the kitchen. Then I'll stay there."
    )
