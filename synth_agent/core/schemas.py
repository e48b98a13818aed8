"""JSON message schemas `synth_agent/plan/v1` and `synth_agent/scene/v1` as pydantic models.

Both ends validate: the publisher before it sends, the subscriber before it acts. A message that
fails is rejected with a `SchemaError` whose text names the failing field (`steps.0.angle_deg:
Input should be a finite number`), so logs and operator feedback say exactly what was wrong.

Skill steps are a discriminated union on `skill`, so a step with an unknown skill or a missing
or extra argument fails validation instead of reaching a controller. Numbers must be finite;
the world-level checks (is the place known, is the distance sensible for this robot) belong to
the reasoning node's verifier, not to the schema.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from synth_agent.core.contract import PLAN_SCHEMA, SCENE_SCHEMA


class SchemaError(ValueError):
    """A message did not match its schema; the text names each failing field."""


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NavigateTo(_Strict):
    skill: Literal["navigate_to"]
    place: Text


class Find(_Strict):
    skill: Literal["find"]
    object: Text


class Approach(_Strict):
    skill: Literal["approach"]
    object: Text


class Pick(_Strict):
    skill: Literal["pick"]
    object: Text


class Place(_Strict):
    skill: Literal["place"]
    place: Text | None = None


class Follow(_Strict):
    skill: Literal["follow"]
    target: Text = "person"


class Guide(_Strict):
    """Lead a person to a place: they walk behind the robot, which waits when they fall back."""

    skill: Literal["guide"]
    place: Text
    person: Text = "person"


class Turn(_Strict):
    skill: Literal["turn"]
    angle_deg: FiniteFloat


class Drive(_Strict):
    skill: Literal["drive"]
    distance_m: FiniteFloat


class Wait(_Strict):
    skill: Literal["wait"]
    seconds: Annotated[float, Field(allow_inf_nan=False, ge=0.0)]


class Describe(_Strict):
    skill: Literal["describe"]


class Say(_Strict):
    skill: Literal["say"]
    text: Annotated[str, Field(min_length=1, max_length=500)]


class Stop(_Strict):
    skill: Literal["stop"]


Step = Annotated[
    Union[
        NavigateTo,
        Find,
        Approach,
        Pick,
        Place,
        Follow,
        Guide,
        Turn,
        Drive,
        Wait,
        Describe,
        Say,
        Stop,
    ],
    Field(discriminator="skill"),
]
SKILLS: tuple[str, ...] = (
    "navigate_to", "find", "approach", "pick", "place", "follow", "guide",
    "turn", "drive", "wait", "describe", "say", "stop",
)  # fmt: skip


class Plan(_Strict):
    """The reasoning node's one response to one command."""

    schema_: Literal["synth_agent/plan/v1"] = Field(PLAN_SCHEMA, alias="schema")
    id: Annotated[str, Field(min_length=1, max_length=64)]
    command: str
    type: Literal["plan", "answer", "clarify", "refuse"]
    steps: list[Step] = Field(default_factory=list, max_length=32)
    say: str = ""
    # A fraction of motor control's speed limits for every step ("go to the kitchen slowly":
    # 0.5); None is full. It can only lower speeds: the safety gate caps independently.
    speed: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("steps")
    @classmethod
    def _steps_only_in_plans(cls, steps: list, info: Any) -> list:
        kind = info.data.get("type")
        if kind == "plan" and not steps:
            raise ValueError("a plan needs at least one step")
        if kind in ("answer", "clarify", "refuse") and steps:
            raise ValueError(f"a {kind} carries no steps")
        return steps


class Position(_Strict):
    x: FiniteFloat
    y: FiniteFloat
    z: FiniteFloat = 0.0


class Pose2D(_Strict):
    x: FiniteFloat
    y: FiniteFloat
    yaw: FiniteFloat


class SceneObject(_Strict):
    id: Annotated[str, Field(min_length=1)]
    label: Text
    colour: str | None = None
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    position: Position
    distance: Annotated[float, Field(allow_inf_nan=False, ge=0.0)]
    bearing: FiniteFloat
    last_seen: FiniteFloat
    visible: bool = True


class Scene(_Strict):
    """What perception believes is around the robot, positions in the `frame` (odom)."""

    schema_: Literal["synth_agent/scene/v1"] = Field(SCENE_SCHEMA, alias="schema")
    stamp: FiniteFloat
    frame: str = "odom"
    robot: Pose2D
    objects: list[SceneObject] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_STEP = TypeAdapter(Step)


def _parse(model: type[BaseModel], text: str | bytes | dict) -> Any:
    try:
        data = json.loads(text) if isinstance(text, (str, bytes)) else text
    except json.JSONDecodeError as e:
        raise SchemaError(f"not JSON: {e.msg} at character {e.pos}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"<root>: expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise SchemaError(_describe(e)) from None


def parse_plan(text: str | bytes | dict) -> Plan:
    """Validate a plan message; raise SchemaError naming the failing fields."""
    return _parse(Plan, text)


def parse_scene(text: str | bytes | dict) -> Scene:
    """Validate a scene message; raise SchemaError naming the failing fields."""
    return _parse(Scene, text)


def parse_step(data: dict) -> Step:
    """Validate one skill call."""
    try:
        return _STEP.validate_python(data)
    except ValidationError as e:
        raise SchemaError(_describe(e)) from None


def to_json(model: BaseModel) -> str:
    """Serialise a plan or scene with its `schema` field, as it goes on the wire."""
    return model.model_dump_json(by_alias=True, exclude_none=True)


def describe_steps(plan: Plan, names: bool = True) -> str:
    """A plan's steps on one line for people: `turn(angle_deg=90.0) → drive(distance_m=1.0)`
    (`names=False`: `navigate_to(kitchen) → find(red cup)`)."""

    def args(step) -> str:
        items = [(k, v) for k, v in step.model_dump().items() if k != "skill" and v is not None]
        return ", ".join(f"{k}={v}" if names else f"{v}" for k, v in items)

    return " → ".join(f"{s.skill}({args(s)})" for s in plan.steps)


def is_finite(*values: float) -> bool:
    """True when every value is a finite float (helper for message hygiene)."""
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


class Status(_Strict):
    """Progress of a plan on `agent/status`. `step` is the step index, or None for the plan as a
    whole; a plan ends with exactly one plan-level `succeeded`, `failed`, `canceled` (by the
    operator) or `preempted` (by a newer plan). `pending` marks a step waiting for the
    operator's confirmation."""

    plan_id: Annotated[str, Field(min_length=1, max_length=64)]
    step: Annotated[int, Field(ge=0)] | None = None
    skill: str | None = None
    state: Literal["accepted", "pending", "running", "succeeded", "failed", "canceled", "preempted"]
    detail: str = ""

    @property
    def plan_done(self) -> bool:
        return self.step is None and self.state in ("succeeded", "failed", "canceled", "preempted")


def parse_status(text: str | bytes | dict) -> Status:
    """Validate a status message; raise SchemaError naming the failing fields."""
    return _parse(Status, text)
