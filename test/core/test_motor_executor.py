"""PlanExecutor: statuses, preemption, cancel, timeouts, bad plans, safety pauses."""

from __future__ import annotations

import math

import pytest

from synth_agent.core.motor import MotorControlConfig
from synth_agent.core.plan_executor import PlanExecutor
from synth_agent.core.schemas import parse_plan
from test.core._motor_world import TWO_ROOMS, TWO_ROOMS_PLACES, World
from test.core.test_motor_skills import _scene

CFG = MotorControlConfig()
DT = CFG.period_s


def plan(pid: str, *steps: dict):
    return parse_plan({"id": pid, "command": "test", "type": "plan", "steps": list(steps)})


def drive_loop(ex: PlanExecutor, world: World, t0: float, t_max: float, **obs):
    """Tick until the plan ends; return (time, statuses, feedback, commands)."""
    statuses, feedback, cmds, t = [], [], [], t0
    while t < t_max:
        tick = ex.tick(world.obs(**obs), t)
        statuses += tick.statuses
        feedback += tick.feedback
        cmds.append(tick.command)
        world.apply(tick.command, DT)
        t += DT
        if any(s.plan_done for s in tick.statuses):
            break
    return t, statuses, feedback, cmds


def test_turn_then_drive_plan_succeeds_with_statuses():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = World([])
    first = ex.submit(
        plan("p1", {"skill": "turn", "angle_deg": 90}, {"skill": "drive", "distance_m": 1.0}), 0.0
    )
    assert [s.state for s in first.statuses] == ["accepted", "running"]
    assert first.feedback == ["Turning 90 degrees left"]
    _, statuses, feedback, _ = drive_loop(ex, world, 0.0, 60.0)
    assert abs(world.x) < 0.03 and abs(world.y - 1.0) <= 0.02
    assert abs(math.degrees(world.yaw) - 90.0) <= 2.0
    states = [(s.step, s.state) for s in statuses]
    assert states == [(0, "succeeded"), (1, "running"), (1, "succeeded"), (None, "succeeded")]
    assert "Driving 1.00 m forward" in feedback
    assert not ex.busy
    # After the plan: zeros for stop_hold_s, then quiet.
    assert ex.tick(world.obs(), 100.0).command is None


def test_unknown_place_fails_with_reason_and_never_moves():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    tick = ex.submit(
        plan(
            "bad",
            {"skill": "drive", "distance_m": 1.0},
            {"skill": "navigate_to", "place": "garage"},
        ),
        0.0,
    )
    assert [s.state for s in tick.statuses] == ["failed"]
    assert tick.statuses[0].plan_done and "garage" in tick.statuses[0].detail
    assert "unknown place" in tick.statuses[0].detail and tick.feedback
    world = World([])
    for i in range(20):
        t = ex.tick(world.obs(), i * DT)
        assert t.command is None or (t.command.linear == 0.0 and t.command.angular == 0.0)


def test_non_plan_responses_are_not_executed():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    answer = parse_plan({"id": "a", "command": "what", "type": "answer", "say": "a cup"})
    tick = ex.submit(answer, 0.0)
    assert tick.statuses[0].state == "failed" and not ex.busy


@pytest.mark.parametrize("how", ["cancel", "new_plan"])
def test_preemption_stops_within_one_control_period(how):
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = World([])
    ex.submit(plan("p1", {"skill": "drive", "distance_m": 3.0}), 0.0)
    t, *_ = drive_loop(ex, world, 0.0, 2.0)
    assert world.v > 0.3  # at speed
    if how == "cancel":
        tick = ex.cancel(t)
        assert [(s.step, s.state) for s in tick.statuses] == [(0, "canceled"), (None, "canceled")]
    else:
        tick = ex.submit(plan("p2", {"skill": "wait", "seconds": 1.0}), t)
        states = [(s.plan_id, s.step, s.state) for s in tick.statuses]
        assert states[:2] == [("p1", 0, "preempted"), ("p1", None, "preempted")]
        assert "preempted by plan p2" in tick.statuses[1].detail
        assert states[2:] == [("p2", None, "accepted"), ("p2", 0, "running")]
    assert tick.command.linear == 0.0 and tick.command.angular == 0.0
    world.apply(tick.command, DT)
    nxt = ex.tick(world.obs(), t + DT)
    assert nxt.command.linear == 0.0 and nxt.command.angular == 0.0


def test_step_timeout_fails_with_reason():
    cfg = MotorControlConfig(step_timeout_base_s=1.0, step_timeout_factor=1.0)
    ex = PlanExecutor(cfg, TWO_ROOMS_PLACES)
    world = World([])
    ex.submit(plan("p", {"skill": "drive", "distance_m": 1.0}), 0.0)
    # The robot's wheels do nothing (a stalled base): the drive can never finish.
    t, statuses = 0.0, []
    while t < 30.0:
        tick = ex.tick(world.obs(), t)
        statuses += tick.statuses
        t += DT
        if not ex.busy:
            break
    budget = 1.0 + 1.0 * (1.0 / cfg.max_linear_mps + 1.0)
    assert abs(t - budget) < 0.2
    assert statuses[-1].state == "failed" and "timed out" in statuses[-1].detail


def test_navigate_plan_between_rooms():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = World(TWO_ROOMS, x=1.0, y=1.5)
    tick = ex.submit(plan("nav", {"skill": "navigate_to", "place": "east"}), 0.0)
    assert tick.feedback == ["Heading to the east"]
    _, statuses, _, _ = drive_loop(ex, world, 0.0, 120.0)
    assert statuses[-1].state == "succeeded", statuses[-1]
    assert math.hypot(world.x - 7.0, world.y - 2.3) <= 0.05
    assert world.min_clearance > CFG.robot_radius_m


def test_say_and_describe_give_feedback():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = World([])
    ex.submit(plan("s", {"skill": "say", "text": "Hello there"}, {"skill": "describe"}), 0.0)
    _, statuses, feedback, _ = drive_loop(ex, world, 0.0, 5.0)
    assert "Hello there" in feedback
    assert "I don't see anything I recognise." in feedback
    assert statuses[-1].state == "succeeded"


def test_safety_stop_pauses_and_estop_fails():
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = World([])
    ex.submit(plan("p", {"skill": "drive", "distance_m": 2.0}), 0.0)
    drive_loop(ex, world, 0.0, 1.0)
    tick = ex.tick(world.obs(safety="stopping"), 1.0)
    assert tick.command.linear == 0.0 and "Paused" in tick.feedback[0]
    for i in range(100):  # a long pause does not time the step out
        assert ex.tick(world.obs(safety="stopping"), 1.0 + i * DT).command.linear == 0.0
    assert ex.busy
    tick = ex.tick(world.obs(safety="estop"), 7.0)
    assert tick.command.linear == 0.0
    assert tick.statuses[-1].plan_done and tick.statuses[-1].state == "failed"
    assert "emergency stop" in tick.statuses[-1].detail


class FakeNav2:
    """A Navigator standing in for Nav2: records goals and cancels; the test sets the verdict."""

    def __init__(self) -> None:
        self.goals: list[tuple[float, float, float]] = []
        self.cancels = 0
        self.verdict: tuple[str, str] = ("active", "")

    def go(self, x: float, y: float, yaw: float) -> None:
        self.goals.append((x, y, yaw))
        self.verdict = ("active", "")

    def state(self) -> tuple[str, str]:
        return self.verdict

    def cancel(self) -> None:
        self.cancels += 1
        self.verdict = ("idle", "")


def test_navigate_to_is_delegated_to_a_navigator_and_stays_quiet():
    nav = FakeNav2()
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES, nav)
    world = World(TWO_ROOMS, x=1.0, y=1.5)
    ex.submit(plan("n", {"skill": "navigate_to", "place": "east"}), 0.0)
    east = TWO_ROOMS_PLACES.get("east")
    tick = ex.tick(world.obs(), 0.05)
    assert nav.goals == [(east.x, east.y, east.yaw)]
    for i in range(5):  # Nav2 drives: no competing zeros on agent/cmd_vel
        assert ex.tick(world.obs(), 0.1 + i * DT).command is None
    nav.verdict = ("succeeded", "")
    tick = ex.tick(world.obs(), 1.0)
    assert [(s.step, s.state) for s in tick.statuses] == [(0, "succeeded"), (None, "succeeded")]
    assert "(Nav2)" in tick.statuses[0].detail and nav.cancels == 0


def test_a_delegated_navigation_fails_with_nav2s_reason_and_is_canceled_on_preemption():
    nav = FakeNav2()
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES, nav)
    world = World(TWO_ROOMS, x=1.0, y=1.5)
    ex.submit(plan("a", {"skill": "navigate_to", "place": "east"}), 0.0)
    ex.tick(world.obs(), 0.05)
    nav.verdict = ("failed", "NavigateToPose ended with status 6")
    tick = ex.tick(world.obs(), 0.1)
    end = tick.statuses[-1]
    assert end.state == "failed" and "status 6" in end.detail
    assert tick.command is not None and tick.command.linear == 0.0
    assert "I couldn't get to the east." in tick.feedback
    # A running Nav2 goal is canceled by a new plan and by agent/cancel.
    for how in ("plan", "cancel"):
        ex.submit(plan(f"b-{how}", {"skill": "navigate_to", "place": "west"}), 1.0)
        ex.tick(world.obs(), 1.05)
        before = nav.cancels
        if how == "plan":
            ex.submit(plan("c", {"skill": "wait", "seconds": 0.1}), 1.1)
        else:
            ex.cancel(1.1)
        assert nav.cancels == before + 1
        ex.cancel(1.2)


def test_find_cancels_its_delegated_navigation_when_the_object_shows_up():
    nav = FakeNav2()
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES, nav)
    world = World(TWO_ROOMS, x=1.0, y=1.5)
    ex.submit(plan("f", {"skill": "find", "object": "red cup"}), 0.0)
    t = 0.0
    while not nav.goals and t < 30.0:  # the full turn first, then the first place to visit
        t += DT
        tick = ex.tick(world.obs(), t)
        world.apply(tick.command, DT)
    assert nav.goals, "find sends its search places to the navigator"
    scene = _scene(t, ("red cup", "red", 2.0, 1.5))
    tick = ex.tick(world.obs(scene=scene), t + DT)
    assert tick.statuses[-1].state == "succeeded" and nav.cancels == 1


def _speeds(speed: float | None, *steps: dict, world: World | None = None):
    raw = {"id": "slow", "command": "test", "type": "plan", "steps": list(steps)}
    if speed is not None:
        raw["speed"] = speed
    ex = PlanExecutor(CFG, TWO_ROOMS_PLACES)
    world = world or World([])
    ex.submit(parse_plan(raw), 0.0)
    _, statuses, _, cmds = drive_loop(ex, world, 0.0, 240.0)
    cmds = [c for c in cmds if c is not None]
    return statuses[-1], max(abs(c.linear) for c in cmds), max(abs(c.angular) for c in cmds)


@pytest.mark.parametrize(
    "steps",
    [({"skill": "drive", "distance_m": 2.0},), ({"skill": "turn", "angle_deg": 180.0},),
     ({"skill": "navigate_to", "place": "east"},)],
)  # fmt: skip
def test_a_slow_plan_stays_under_its_fraction_of_the_limits_and_still_arrives(steps):
    def world():
        return World(TWO_ROOMS, x=1.0, y=1.5) if steps[0]["skill"] == "navigate_to" else World([])

    full, v_full, w_full = _speeds(None, *steps, world=world())
    slow, v_slow, w_slow = _speeds(0.5, *steps, world=world())
    assert full.state == slow.state == "succeeded", (full, slow)
    assert v_slow <= 0.5 * CFG.max_linear_mps + 1e-9
    assert w_slow <= 0.5 * CFG.max_angular_radps + 1e-9
    # ... where the full-speed plan used more than that (the test can tell them apart).
    assert v_full > 0.5 * CFG.max_linear_mps or w_full > 0.5 * CFG.max_angular_radps


def test_at_speed_scales_the_limits_and_keeps_minimums_below_them():
    slow = CFG.at_speed(0.1)
    assert slow.max_linear_mps == pytest.approx(0.1 * CFG.max_linear_mps)
    assert slow.min_linear_mps < slow.max_linear_mps
    assert slow.min_angular_radps < slow.max_angular_radps
    assert CFG.at_speed(1.0) is CFG
    for bad in (0.0, -0.5, 1.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed"):
            CFG.at_speed(bad)


def test_a_slow_plan_says_that_nav2s_trips_keep_their_own_speed():
    for speed, told in ((0.5, True), (None, False)):
        ex = PlanExecutor(CFG, TWO_ROOMS_PLACES, FakeNav2())
        raw = {"id": "s", "command": "t", "type": "plan",
               "steps": [{"skill": "navigate_to", "place": "east"}]}  # fmt: skip
        if speed is not None:
            raw["speed"] = speed
        tick = ex.submit(parse_plan(raw), 0.0)
        assert any("Nav2" in f and "not slowly" in f for f in tick.feedback) == told
