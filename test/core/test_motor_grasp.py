"""Grasp confirmation from what a real robot has: the gripper joint and the scene, no ground truth.

A pick or place runs against the kinematic robot of `_motor_world` and a gripper model whose
fingers move towards the last command at a finite speed and stop on an object between them.
Ground truth (`held`) is None everywhere here unless a test says otherwise: that is the robot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from synth_agent.core.motor import Command, MotorControlConfig
from synth_agent.core.skills import Fingers, Pick, PlaceSkill
from test.core._motor_world import TWO_ROOMS_PLACES, World
from test.core.test_motor_skills import _scene

CFG = MotorControlConfig()
DT = CFG.period_s
CUP = ("cup", "red", 1.5, 0.0)  # the robot starts at the origin facing it


@dataclass
class Gripper:
    """Fingers moving `speed` of their travel per second towards the command (0 open .. 1
    closed), stopped at `object_at` while an object is between them; `stuck`: they never move."""

    closure: float = 0.0
    command: float = 0.0
    object_at: float | None = None
    speed: float = 2.0
    stuck: bool = False

    def apply(self, cmd: Command | None, dt: float) -> None:
        if cmd is not None and cmd.gripper is not None:
            self.command = cmd.gripper
        if self.stuck:
            return
        target = self.command
        if self.object_at is not None and self.closure <= self.object_at + 1e-9:
            target = min(target, self.object_at)
        step = self.speed * dt
        self.closure += max(-step, min(step, target - self.closure))


def run(skill, world, gripper, scene_at, t_max=90.0, joint=True, joint_age=0.0, **obs):
    """Step `skill` with the gripper joint (as the node reports it, `joint_age` old) until done;
    return (state, time, last command, time the gripper was first commanded closed)."""
    t, closed_at = 0.0, None
    while t < t_max:
        extra = dict(obs)
        if joint:
            extra.update(gripper=gripper.closure, gripper_t=t - joint_age)
        cmd, state = skill.step(world.obs(scene=scene_at(t), **extra), t)
        if closed_at is None and cmd.gripper == CFG.gripper_closed:
            closed_at = t
        world.apply(cmd, DT)
        gripper.apply(cmd, DT)
        t += DT
        if state.done:
            return state, t, cmd, closed_at
    raise AssertionError(f"{skill.name} did not finish in {t_max} s")


def cup_at(x=1.5, y=0.0):
    return lambda t: _scene(t, ("cup", "red", x, y))


def test_pick_succeeds_when_the_fingers_stop_on_the_object():
    gripper = Gripper(object_at=0.6)
    state, t, cmd, closed_at = run(Pick(CFG, "red cup"), World([]), gripper, cup_at())
    assert state.status == "succeeded", state
    assert state.detail == "holding red cup: fingers at 0.60 of their travel"
    assert cmd.gripper == CFG.gripper_closed
    assert t - closed_at < CFG.gripper_settle_s + 0.2  # decided once settled, not on a timeout


def test_pick_fails_when_the_gripper_closes_on_nothing():
    gripper = Gripper(object_at=None)  # nothing between the fingers: they close fully
    state, t, cmd, closed_at = run(Pick(CFG, "red cup"), World([]), gripper, cup_at())
    assert state.status == "failed"
    assert state.detail.startswith("the gripper closed on nothing (fingers at 1.00")
    assert state.say == "I couldn't pick up the red cup."
    assert cmd.gripper == CFG.gripper_open  # a failed pick lets go
    assert t - closed_at < CFG.gripper_settle_s + 0.2  # at once, not after the confirm timeout


def test_ground_truth_is_not_consulted_by_default():
    # The simulator says the cup is held; the fingers closed on nothing. The robot believes
    # its own gripper, not the simulator.
    state, *_ = run(Pick(CFG, "red cup"), World([]), Gripper(), cup_at(), held="red_cup")
    assert state.status == "failed" and "closed on nothing" in state.detail


def test_ground_truth_decides_when_asked_to():
    cfg = MotorControlConfig(confirm_with_ground_truth=True)
    state, *_ = run(Pick(cfg, "red cup"), World([]), Gripper(), cup_at(), held="red_cup")
    assert state.status == "succeeded" and state.detail == "holding red cup (ground truth)"
    # Before the simulator has said anything, the robot's own evidence decides.
    state, *_ = run(Pick(cfg, "red cup"), World([]), Gripper(), cup_at(), held=None)
    assert state.status == "failed" and "closed on nothing" in state.detail


def test_slowly_closing_fingers_are_waited_for():
    # 0.3 of the travel per second: still moving when the settle time is over.
    gripper = Gripper(object_at=0.6, speed=0.3)
    state, t, _, closed_at = run(Pick(CFG, "red cup"), World([]), gripper, cup_at())
    assert state.status == "succeeded", state
    assert t - closed_at >= 0.6 / 0.3  # not before the fingers got there


def test_a_gripper_that_never_closes_fails_after_the_timeout():
    gripper = Gripper(stuck=True)  # the command never arrives (or the fingers jammed open)
    state, t, _, closed_at = run(Pick(CFG, "red cup"), World([]), gripper, cup_at())
    assert state.status == "failed"
    assert state.detail == "the gripper did not close (fingers at 0.00 of their travel)"
    assert t - closed_at == pytest.approx(
        CFG.gripper_settle_s + CFG.grip_confirm_timeout_s, abs=0.2
    )


def test_fingers_on_something_while_the_object_is_seen_elsewhere_fail():
    # The fingers stopped on something, but the red cup is in view 0.7 m beyond the grasp
    # point: whatever is between the fingers, it is not the cup.
    skill = Pick(CFG, "red cup")
    scene = cup_at()
    world, gripper = World([]), Gripper(object_at=0.5)
    t = 0.0
    while skill.phase == "approach" and t < 60.0:
        cmd, state = skill.step(world.obs(scene=scene(t), gripper=0.0, gripper_t=t), t)
        world.apply(cmd, DT)
        gripper.apply(cmd, DT)
        t += DT
    # The cup is pushed away as the fingers close.
    cup = (world.x + 1.1 * math.cos(world.yaw), world.y + 1.1 * math.sin(world.yaw))
    state = None
    while t < 60.0:
        obs = world.obs(gripper=gripper.closure, gripper_t=t)
        obs.scene = _scene(t, ("cup", "red", *cup))
        cmd, state = skill.step(obs, t)
        gripper.apply(cmd, DT)
        t += DT
        if state.done:
            break
    assert state is not None and state.status == "failed"
    assert "but the red cup is seen 0.70 m from it" in state.detail


def test_a_stale_joint_state_is_no_gripper_state():
    # The joint state stopped arriving 2 s ago: the fingers' last position says nothing now.
    state, *_ = run(
        Pick(CFG, "red cup"), World([]), Gripper(object_at=0.6), cup_at(), joint_age=2.0
    )
    assert state.status == "succeeded"
    assert "unconfirmed: no gripper state" in state.detail


def test_without_gripper_feedback_the_scene_decides_and_says_unconfirmed():
    state, *_ = run(Pick(CFG, "red cup"), World([]), Gripper(), cup_at(), joint=False)
    assert state.status == "succeeded"
    assert state.detail == "holding red cup (unconfirmed: no gripper state; seen at the gripper)"


def test_without_gripper_feedback_a_cup_not_at_the_gripper_fails():
    skill = Pick(CFG, "red cup")
    world = World([])
    t = 0.0
    state = None
    while t < 60.0:
        # The cup is seen at 1.5 m until the robot stands in front of it; then it is gone.
        scene = _scene(t, CUP) if skill.phase == "approach" else _scene(t)
        cmd, state = skill.step(world.obs(scene=scene), t)
        world.apply(cmd, DT)
        t += DT
        if state.done:
            break
    assert state.status == "failed"
    assert state.detail == "no gripper state, and the red cup is not seen at the gripper"


def place(gripper, t_max=30.0, **kwargs):
    """Place at the robot's spot, starting with the fingers on a cup (closure 0.6)."""
    world = World([])
    return run(PlaceSkill(CFG, TWO_ROOMS_PLACES, None), world, gripper, t_max=t_max, **kwargs)


def test_place_is_confirmed_by_the_fingers_opening():
    gripper = Gripper(closure=0.6, command=1.0, object_at=0.6)
    state, t, cmd, _ = place(gripper, scene_at=cup_at(CFG.approach_standoff_m))
    assert state.status == "succeeded"
    assert state.detail == (
        "released: fingers at 0.00 of their travel; the red cup is seen where it was put"
    )
    assert cmd.gripper == CFG.gripper_open
    assert t < CFG.gripper_settle_s + 0.2


def test_place_fails_when_the_fingers_do_not_open():
    gripper = Gripper(closure=0.6, command=1.0, object_at=0.6, stuck=True)
    state, t, _, _ = place(gripper, scene_at=cup_at(CFG.approach_standoff_m))
    assert state.status == "failed"
    assert state.detail == "the gripper did not open (fingers at 0.60 of their travel)"
    assert state.say
    assert t == pytest.approx(CFG.gripper_settle_s + CFG.grip_confirm_timeout_s, abs=0.2)


@pytest.mark.parametrize(
    ("scene_at", "detail"),
    [
        (cup_at(CFG.approach_standoff_m),
         "released (unconfirmed: no gripper state); the red cup is seen where it was put"),
        (lambda t: _scene(t),
         "released (unconfirmed: no gripper state, nothing seen where it was put)"),
    ],
)  # fmt: skip
def test_place_without_gripper_feedback_is_unconfirmed(scene_at, detail):
    state, *_ = place(Gripper(), scene_at=scene_at, joint=False)
    assert state.status == "succeeded" and state.detail == detail


def test_fingers_stopped_needs_a_quarter_second_of_still_readings():
    from synth_agent.core.motor import Observation

    fingers = Fingers(CFG)
    for i in range(4):  # 0.15 s of readings: too short to say
        fingers.read(Observation(gripper=0.6, gripper_t=i * 0.05), i * 0.05)
    assert not fingers.stopped()
    for i in range(4, 8):
        fingers.read(Observation(gripper=0.6, gripper_t=i * 0.05), i * 0.05)
    assert fingers.stopped()
    fingers.read(Observation(gripper=0.65, gripper_t=0.4), 0.4)  # moving again
    assert not fingers.stopped()
    # The same message read again (no new joint state) adds nothing.
    assert fingers.read(Observation(gripper=0.65, gripper_t=0.4), 0.45) == 0.65
    assert len(fingers.readings) == len({t for t, _ in fingers.readings})
