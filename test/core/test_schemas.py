"""Plan, scene and status schemas: what passes, what fails, and that failures name the field."""

import json

import pytest

from synth_agent.core.schemas import (
    SKILLS,
    Plan,
    SchemaError,
    parse_plan,
    parse_scene,
    parse_status,
    parse_step,
    to_json,
)

FETCH = {
    "id": "p1",
    "command": "bring me the red cup",
    "type": "plan",
    "steps": [
        {"skill": "navigate_to", "place": "kitchen"},
        {"skill": "find", "object": "red cup"},
        {"skill": "pick", "object": "red cup"},
        {"skill": "navigate_to", "place": "operator"},
        {"skill": "place"},
    ],
    "say": "Fetching the red cup.",
}


def test_architecture_example_plan_round_trips_with_schema_field():
    plan = parse_plan(json.dumps(FETCH))
    assert [s.skill for s in plan.steps] == ["navigate_to", "find", "pick", "navigate_to", "place"]
    wire = json.loads(to_json(plan))
    assert wire["schema"] == "synth_agent/plan/v1"
    assert parse_plan(wire) == plan


@pytest.mark.parametrize(
    "step, field",
    [
        ({"skill": "turn", "angle_deg": float("nan")}, "steps.0.turn.angle_deg"),
        ({"skill": "drive", "distance_m": "far"}, "steps.0.drive.distance_m"),
        ({"skill": "navigate_to"}, "steps.0.navigate_to.place"),
        ({"skill": "fly", "height_m": 3}, "steps.0"),
        ({"skill": "wait", "seconds": -1}, "steps.0.wait.seconds"),
        ({"skill": "stop", "speed": 1}, "steps.0.stop.speed"),
    ],
)
def test_bad_steps_fail_naming_the_field(step, field):
    bad = dict(FETCH, steps=[step])
    with pytest.raises(SchemaError) as err:
        parse_plan(bad)
    assert str(err.value).startswith(field), str(err.value)


def test_a_plan_speed_is_a_fraction_that_can_only_slow_it_down():
    assert "speed" not in json.loads(to_json(parse_plan(FETCH)))  # absent: full speed
    slow = parse_plan(dict(FETCH, speed=0.5))
    assert slow.speed == 0.5 and json.loads(to_json(slow))["speed"] == 0.5
    for bad in (0.0, -0.5, 1.5, "fast", float("inf")):
        with pytest.raises(SchemaError, match="speed"):
            parse_plan(dict(FETCH, speed=bad))
    with pytest.raises(SchemaError, match="speed"):
        parse_plan(json.dumps(dict(FETCH, speed=0.5)).replace("0.5", "NaN"))


def test_nan_in_raw_json_text_is_rejected():
    text = json.dumps(dict(FETCH, steps=[{"skill": "turn", "angle_deg": 1.0}])).replace(
        "1.0", "NaN"
    )
    with pytest.raises(SchemaError, match="angle_deg"):
        parse_plan(text)


def test_plan_without_steps_and_refusal_with_steps_fail():
    with pytest.raises(SchemaError, match="at least one step"):
        parse_plan(dict(FETCH, steps=[]))
    with pytest.raises(SchemaError, match="refuse carries no steps"):
        parse_plan(dict(FETCH, type="refuse"))
    refusal = parse_plan(dict(FETCH, type="refuse", steps=[], say="I can't open doors."))
    assert refusal.steps == []


def test_garbage_is_a_schema_error_not_a_crash():
    for text in ["", "{", "[1, 2]", "null", '{"id": 3}', b"\xff\xfe"]:
        with pytest.raises(SchemaError):
            parse_plan(text)


def test_every_registry_skill_has_a_step_model():
    minimal = {
        "navigate_to": {"place": "kitchen"},
        "find": {"object": "cup"},
        "approach": {"object": "cup"},
        "pick": {"object": "cup"},
        "place": {},
        "follow": {},
        "guide": {"place": "kitchen"},
        "turn": {"angle_deg": 90},
        "drive": {"distance_m": 1},
        "wait": {"seconds": 1},
        "describe": {},
        "say": {"text": "hello"},
        "stop": {},
    }
    assert set(minimal) == set(SKILLS)
    for skill, args in minimal.items():
        assert parse_step({"skill": skill, **args}).skill == skill
    assert parse_step({"skill": "follow"}).target == "person"
    assert parse_step({"skill": "guide", "place": "kitchen"}).person == "person"
    for bad in ({"skill": "guide"}, {"skill": "guide", "place": ""},
                {"skill": "guide", "place": "kitchen", "person": "x" * 201}):  # fmt: skip
        with pytest.raises(SchemaError):
            parse_step(bad)


def test_scene_validation():
    scene = {
        "stamp": 12.5,
        "robot": {"x": 0.0, "y": 1.0, "yaw": 0.1},
        "objects": [
            {
                "id": "t1",
                "label": "red cup",
                "colour": "red",
                "confidence": 0.9,
                "position": {"x": 1.0, "y": 2.0, "z": 0.8},
                "distance": 1.2,
                "bearing": 0.3,
                "last_seen": 12.4,
            }
        ],
    }
    parsed = parse_scene(scene)
    assert parsed.objects[0].label == "red cup"
    assert json.loads(to_json(parsed))["schema"] == "synth_agent/scene/v1"
    scene["objects"][0]["confidence"] = 1.5
    with pytest.raises(SchemaError, match=r"objects\.0\.confidence"):
        parse_scene(scene)
    with pytest.raises(SchemaError, match="schema"):
        parse_scene(dict(scene, schema="synth_agent/scene/v0"))


def test_status_plan_done():
    assert parse_status({"plan_id": "p1", "state": "succeeded"}).plan_done
    assert not parse_status({"plan_id": "p1", "step": 0, "state": "succeeded"}).plan_done
    with pytest.raises(SchemaError, match="state"):
        parse_status({"plan_id": "p1", "state": "exploded"})


def test_plan_is_immutable():
    plan = Plan.model_validate(FETCH)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen
        plan.id = "other"


def test_preempted_ends_a_plan_and_pending_does_not():
    assert parse_status({"plan_id": "p1", "state": "preempted"}).plan_done
    assert not parse_status({"plan_id": "p1", "step": 1, "state": "pending"}).plan_done


def test_describe_steps_for_people():
    from synth_agent.core.schemas import describe_steps

    plan = parse_plan(FETCH)
    assert describe_steps(plan, names=False) == (
        "navigate_to(kitchen) → find(red cup) → pick(red cup) → navigate_to(operator) → place()"
    )
    assert describe_steps(plan).startswith("navigate_to(place=kitchen) → find(object=red cup)")
