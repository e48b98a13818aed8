"""Did the robot really do what it was told? Judged on the simulator's ground truth.

The nodes' own reports ("plan succeeded") are necessary but not sufficient: a demo or a
scenario passes only when the world agrees. The rules follow the plan's last action:
- an object picked and then put down at the operator (a "bring"): the object lies within
  `bring_radius_m` of the operator place and the gripper is empty;
- an object picked and put down elsewhere: it lies within `bring_radius_m` of the robot's
  final position and the gripper is empty;
- an object picked and not put down: the gripper holds it;
- a navigate_to as the last motion: the robot stands within `place_radius_m` of the place;
- anything else (turns, drives, answers): the plan's own outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from synth_agent.core.places import Places
from synth_agent.core.schemas import Plan


@dataclass(frozen=True)
class Outcome:
    success: bool
    reason: str


def object_key(name: str) -> str:
    """'red cup' -> 'red_cup', the simulator's body name."""
    return "_".join(name.lower().split())


def judge(
    plan: Plan | None,
    final_state: str | None,
    truth: dict[str, Any] | None,
    places: Places,
    bring_radius_m: float = 0.7,
    place_radius_m: float = 0.3,
) -> Outcome:
    """The verdict on one command, from its plan, the plan's final state and ground truth."""
    if plan is None:
        return Outcome(False, "no plan came back")
    if plan.type == "answer":
        return Outcome(True, f"answered: {plan.say}")
    if plan.type in ("clarify", "refuse"):
        return Outcome(False, f"the robot did not act ({plan.type}): {plan.say}")
    if final_state != "succeeded":
        return Outcome(False, f"the plan ended {final_state or 'never'}")
    if truth is None:
        return Outcome(False, "no ground truth to check against")
    skills = [s.skill for s in plan.steps]
    robot = truth["robot"]
    picked = [s.object for s in plan.steps if s.skill == "pick"]
    if picked:
        key = object_key(picked[-1])
        obj = truth["objects"].get(key)
        if obj is None:
            return Outcome(False, f"the world has no {picked[-1]}")
        if "place" not in skills[skills.index("pick") :]:
            ok = truth.get("held") == key
            return Outcome(ok, f"{'holding' if ok else 'not holding'} the {picked[-1]}")
        if truth.get("held"):
            return Outcome(False, f"still holding {truth['held']}")
        nav = [s.place for s in plan.steps if s.skill == "navigate_to"]
        target = places.get(nav[-1]) if nav else None
        where = (target.x, target.y) if target else (robot["x"], robot["y"])
        d = math.dist((obj["x"], obj["y"]), where)
        name = target.name if target else "the robot"
        ok = d <= bring_radius_m
        return Outcome(ok, f"the {picked[-1]} is {d:.2f} m from {name}")
    motions = [s for s in plan.steps if s.skill not in ("say", "describe", "wait", "stop")]
    if motions and motions[-1].skill == "navigate_to":
        goal = places.get(motions[-1].place)
        d = math.dist((robot["x"], robot["y"]), (goal.x, goal.y))
        return Outcome(d <= place_radius_m, f"the robot is {d:.2f} m from {goal.name}")
    return Outcome(True, "the plan succeeded")
