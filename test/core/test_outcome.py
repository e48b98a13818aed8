"""Ground-truth verdicts on commands."""

from synth_agent.core.outcome import judge, object_key
from synth_agent.core.places import load_places
from synth_agent.core.schemas import parse_plan

PLACES = load_places()
OP = PLACES.operator
KITCHEN = PLACES.get("kitchen")


def plan(*steps, kind="plan", say=""):
    return parse_plan({"id": "p", "command": "c", "type": kind, "steps": list(steps), "say": say})


def truth(robot=(0.0, 0.0), cup=(1.7, 2.1, 0.8), held=None):
    return {
        "robot": {"x": robot[0], "y": robot[1], "yaw": 0.0},
        "objects": {"red_cup": {"x": cup[0], "y": cup[1], "z": cup[2]}},
        "held": held,
    }


BRING = plan(
    {"skill": "find", "object": "red cup"},
    {"skill": "pick", "object": "red cup"},
    {"skill": "navigate_to", "place": "operator"},
    {"skill": "place"},
)


def test_bring_needs_the_cup_at_the_operator_and_released():
    at_op = truth(robot=(OP.x, OP.y), cup=(OP.x, OP.y - 0.3, 0.05))
    assert judge(BRING, "succeeded", at_op, PLACES).success
    still_held = truth(robot=(OP.x, OP.y), cup=(OP.x, OP.y - 0.3, 0.3), held="red_cup")
    assert not judge(BRING, "succeeded", still_held, PLACES).success
    left_in_kitchen = truth(robot=(OP.x, OP.y))
    verdict = judge(BRING, "succeeded", left_in_kitchen, PLACES)
    assert not verdict.success and "from operator" in verdict.reason


def test_reported_success_is_not_enough_and_failure_is_failure():
    assert not judge(BRING, "failed", truth(), PLACES).success
    assert not judge(BRING, None, truth(), PLACES).success
    assert not judge(None, None, None, PLACES).success


def test_navigation_is_judged_by_where_the_robot_stands():
    go = plan({"skill": "navigate_to", "place": "kitchen"}, {"skill": "say", "text": "here"})
    assert judge(go, "succeeded", truth(robot=(KITCHEN.x, KITCHEN.y + 0.1)), PLACES).success
    assert not judge(go, "succeeded", truth(robot=(KITCHEN.x + 1, KITCHEN.y)), PLACES).success


def test_pick_without_place_needs_the_object_held():
    pick = plan({"skill": "pick", "object": "red cup"})
    assert judge(pick, "succeeded", truth(held="red_cup"), PLACES).success
    assert not judge(pick, "succeeded", truth(), PLACES).success


def test_answers_refusals_and_questions():
    assert judge(plan(kind="answer", say="I see a cup."), None, None, PLACES).success
    assert not judge(plan(kind="refuse", say="No."), None, None, PLACES).success
    assert not judge(plan(kind="clarify", say="Which?"), None, None, PLACES).success


def test_object_key():
    assert object_key("Red  Cup") == "red_cup"
