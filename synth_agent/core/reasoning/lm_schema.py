"""The JSON schema a language model generates under, built per request from the skills and world.

A 135M model left free repeats steps until the token cap and invents skills (issue 6). Under this
schema it can only write `{"steps": [...]}` with the robot's skills, each with its own arguments:
places from the known map (an enum) in a closed world, objects the robot knows or has seen,
numbers within the configured limits, at most `max_steps` steps and short strings. The schema
changes when the world does (a new object seen, a new place file), so it is built at request
time; the local backend caches compiled grammars by schema text.

Enums bound what the model can *say*, not what is *true*: a constrained model asked about "the
garage" will still pick some known place, so every plan is validated against the command and the
world afterwards (`generator.LMGenerator.validate`).
"""

from __future__ import annotations

from typing import Any

MAX_LM_STEPS = 6  # frida's longest command has 6 steps; more only feeds the untrained loop
NAME_LEN = 40
SAY_LEN = 80
_NAME_PATTERN = r"^[a-z0-9][a-z0-9 _'-]*$"


def _name(values: list[str] | None) -> dict[str, Any]:
    if values:
        return {"type": "string", "enum": sorted(dict.fromkeys(values))}
    return {"type": "string", "minLength": 1, "maxLength": NAME_LEN, "pattern": _NAME_PATTERN}


def _step(skill: str, **props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"skill": {"const": skill}, **props},
        "required": ["skill", *props],
        "additionalProperties": False,
    }


def plan_schema(
    places: list[str] | None,
    objects: list[str] | None,
    max_steps: int = MAX_LM_STEPS,
    max_drive_m: float = 5.0,
    max_turn_deg: float = 720.0,
    max_wait_s: float = 300.0,
) -> dict[str, Any]:
    """The schema for `{"steps": [...]}`.

    `places` / `objects`: the allowed names (enums), or None for any short lower-case name
    (open world). "operator" (the person giving the command) is always a place, and "person" an
    object."""
    place = _name(sorted({*places, "operator"}) if places is not None else None)
    obj = _name(sorted({*objects, "person"}) if objects is not None else None)
    steps = [
        _step("navigate_to", place=place),
        _step("find", object=obj),
        _step("pick", object=obj),
        _step("approach", object=obj),
        _step("place"),
        _step("follow", target=obj),
        _step("describe"),
        _step("say", text={"type": "string", "minLength": 1, "maxLength": SAY_LEN}),
        _step(
            "turn",
            angle_deg={
                "type": "integer",
                "minimum": -int(max_turn_deg),
                "maximum": int(max_turn_deg),
            },
        ),  # fmt: skip
        _step(
            "drive", distance_m={"type": "number", "minimum": -max_drive_m, "maximum": max_drive_m}
        ),  # fmt: skip
        _step("wait", seconds={"type": "number", "minimum": 0, "maximum": max_wait_s}),
    ]
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "items": {"anyOf": steps},
                "minItems": 1,
                "maxItems": max(1, min(max_steps, MAX_LM_STEPS)),
            }
        },
        "required": ["steps"],
        "additionalProperties": False,
    }
