"""The gate as a whole: e-stop, watchdog, input hygiene, audit log, state and diagnostics."""

from __future__ import annotations

import json
import math

import pytest

from synth_agent.core.safety import SafetyGate, yaw_from_quaternion
from synth_agent.core.safety_arm import Trajectory, TrajectoryPoint
from synth_agent.core.safety_audit import AuditLog, default_audit_path

from .safety_helpers import command, config, gate, published, run


def cruising(g: SafetyGate, vx: float = 0.4, until: float = 1.0) -> float:
    """Drive at vx with commands at 20 Hz until `until`; return the last time."""
    t = 0.0
    while t <= until + 1e-9:
        command(g, t, vx=vx)
        t = round(t + 0.05, 6)
    return t - 0.05


# -- e-stop ------------------------------------------------------------------------------------


def test_estop_is_immediate_latched_and_needs_a_reset_with_the_input_clear():
    g = gate()
    t = cruising(g)
    assert g.step(t).velocity.vx == pytest.approx(0.4)
    g.set_estop(True, t + 0.01)
    v = g.step(t + 0.01)
    assert v.publish and v.velocity.is_zero() and v.mode == "estop"  # no ramp
    # Latched: commands are refused and nothing moves, even after the topic goes false.
    d, v = command(g, t + 0.1, vx=0.4)
    assert not d.accepted and v.velocity.is_zero()
    g.set_estop(False, t + 0.2)
    assert g.latched
    _, v = command(g, t + 0.25, vx=0.4)
    assert v.velocity.is_zero()
    # Reset refused while the stop input is true.
    g.set_estop(True, t + 0.3)
    d = g.reset(t + 0.3)
    assert not d.accepted and "stop input still true" in d.reason
    g.set_estop(False, t + 0.4)
    assert g.reset(t + 0.4).accepted and not g.latched
    # Nothing from before the stop resumes on its own: only a fresh command moves the robot.
    assert g.step(t + 0.45).velocity.is_zero()
    _, v = command(g, t + 0.5, vx=0.4)
    assert 0.0 < v.velocity.vx < 0.4  # and it ramps up again


def test_estop_service_input_also_holds_the_latch():
    g = gate()
    g.set_estop(True, 0.0, via="service")
    assert g.latched
    g.set_estop(False, 0.1, via="topic")
    assert not g.reset(0.2).accepted
    g.set_estop(False, 0.3, via="service")
    assert g.reset(0.4).accepted


def test_estop_publishes_zero_even_when_idle_then_goes_quiet():
    g = gate(stop_publish_timeout=0.2)
    assert not g.step(0.0).publish
    g.set_estop(True, 1.0)
    trace = run(g, 1.0, 2.0)
    pub = published(trace)
    assert pub and pub[0][0] == 1.0 and all(v.velocity.is_zero() for _, v in pub)
    assert all(t <= 1.2 + 1e-9 for t, _ in pub)
    assert g.diagnostics(2.0)[0] == 2


def test_estop_blocks_gripper_and_arm():
    g = gate(
        arm={
            "joint_names": ("j1",),
            "position_min": (-1.0,),
            "position_max": (1.0,),
            "max_velocity": (1.0,),
        }
    )
    traj = Trajectory(("j1",), (TrajectoryPoint((0.1,), time_from_start=1.0),))
    assert g.on_gripper(0.5, 0.0).accepted
    assert g.on_trajectory(traj, 0.0).accepted
    g.set_estop(True, 0.1)
    assert not g.on_gripper(0.5, 0.2).accepted
    assert not g.on_trajectory(traj, 0.2).accepted
    assert g.on_trajectory(Trajectory(("j1",), ()), 0.2).accepted  # "stop" is always allowed


# -- watchdog ----------------------------------------------------------------------------------


def test_watchdog_ramps_to_zero_publishes_zero_then_stops_publishing():
    g = gate(command_timeout=0.5, stop_publish_timeout=0.3)
    last = cruising(g, vx=0.5, until=1.0)
    trace = run(g, last + 0.05, last + 3.0)
    pub = published(trace)
    stop_at = next(t for t, v in trace if v.velocity.is_zero())
    ramp = 0.5 / g.config.max_linear_deceleration
    assert stop_at <= last + g.config.command_timeout + ramp + g.config.period + 1e-9
    moving = [v.velocity.vx for t, v in trace if t < stop_at]
    # Ramped, not cut: each step at most decel * period.
    steps = [a - b for a, b in zip([0.5] + moving, moving + [0.0], strict=True)]
    assert max(steps) <= g.config.max_linear_deceleration * g.config.period + 1e-9
    assert any(n.kind == "timeout" for _, v in trace for n in v.interventions)
    assert pub[-1][1].velocity.is_zero()
    assert pub[-1][0] <= stop_at + 0.3 + 1e-9
    assert trace[-1][1].mode == "idle" and not trace[-1][1].publish


def test_timer_adds_no_output_while_commands_stream_faster():
    g = gate(output_rate=20.0)
    command(g, 0.0, vx=0.2)
    assert g.tick(0.01) is None  # a command produced an output 10 ms ago
    assert g.tick(0.03) is not None


# -- input hygiene -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "linear,angular,rule",
    [
        ((float("nan"), 0.0, 0.0), (0.0, 0.0, 0.0), "non_finite"),
        ((0.1, 0.0, 0.0), (0.0, 0.0, float("inf")), "non_finite"),
        ((0.1, 0.0, -float("inf")), (0.0, 0.0, 0.0), "non_finite"),
        ((1e9, 0.0, 0.0), (0.0, 0.0, 0.0), "absurd_magnitude"),
        ((0.1, 0.0, 0.0), (0.0, 0.0, -101.0), "absurd_magnitude"),
    ],
)
def test_bad_commands_are_rejected_counted_and_do_not_poison_state(linear, angular, rule):
    g = gate()
    command(g, 0.0, vx=0.3)
    before = g.step(0.05).velocity
    d = g.on_command("agent", linear, angular, 0.1)
    assert not d.accepted and d.reason
    assert g.rejected == {rule: 1}
    v = g.step(0.1)
    assert v.velocity.is_finite()
    # The previous command still drives, still ramp-limited from the previous output.
    assert v.velocity.vx == pytest.approx(min(0.3, before.vx + 0.8 * 0.05))
    assert g.last_intervention["kind"] == "rejection" or v.interventions
    assert g.state(0.1)["rejected"] == {rule: 1}


def test_a_nan_stream_times_the_source_out_instead_of_driving():
    g = gate(command_timeout=0.5, stop_publish_timeout=0.0)
    command(g, 0.0, vx=0.3)
    trace = []
    for k in range(1, 60):
        t = k * 0.05
        g.on_command("agent", (float("nan"), 0.0, 0.0), (0.0, 0.0, 0.0), t)
        trace.append(g.step(t))
    assert trace[-1].velocity.is_zero() and not trace[-1].publish
    assert g.rejected["non_finite"] == 59


def test_wrong_frame_stamped_command_is_rejected():
    g = gate(use_stamped=True, base_frame="base_link")
    assert not g.on_command("agent", (0.1, 0, 0), (0, 0, 0), 0.0, frame_id="map").accepted
    assert g.on_command("agent", (0.1, 0, 0), (0, 0, 0), 0.0, frame_id="base_link").accepted
    assert g.rejected == {"wrong_frame": 1}


def test_non_planar_axes_are_dropped_and_noted():
    g = gate()
    g.on_command("agent", (0.1, 0.0, 5.0), (1.0, 1.0, 0.0), 0.0)
    v = g.step(0.0)
    assert v.velocity.vy == 0.0 and v.velocity.vx > 0.0
    assert any(e["rule"] == "non_planar_axes" for e in g.audit.tail)


def test_clock_jumping_back_forgets_inputs():
    g = gate()
    cruising(g, until=10.0)
    v = g.step(2.0)  # ROS time went back 8 s (a restarted simulator)
    assert v.velocity.is_zero()
    assert any(e["rule"] == "clock" for e in g.audit.tail)


# -- reporting ---------------------------------------------------------------------------------


def test_audit_log_is_append_only_json_lines_with_edges_and_rate_limits(tmp_path):
    path = tmp_path / "audit" / "safety.jsonl"
    path.parent.mkdir()
    path.write_text('{"earlier": true}\n')
    audit = AuditLog(path, min_interval=1.0, wall_clock=lambda: 1234.5)
    g = gate(audit)
    for k in range(20):  # clamped for a second: one "start" line, not twenty
        command(g, k * 0.05, vx=2.0)
    for k in range(100):  # a NaN flood in 0.5 s: one line, the rest folded
        g.on_command("agent", (float("nan"), 0, 0), (0, 0, 0), 1.0 + k * 0.005)
    g.on_command("agent", (float("nan"), 0, 0), (0, 0, 0), 2.0)
    g.set_estop(True, 2.1)
    g.step(2.1)
    audit.close()
    lines = path.read_text().splitlines()
    assert lines[0] == '{"earlier": true}'
    entries = [json.loads(x) for x in lines[1:]]
    assert all({"t", "wall_time", "event", "kind", "rule", "reason"} <= set(e) for e in entries)
    clamp_starts = [e for e in entries if e["rule"] == "max_linear_velocity"]
    assert [e["event"] for e in clamp_starts] == ["start", "end"]  # ended by the e-stop
    nan = [e for e in entries if e["rule"] == "non_finite"]
    assert len(nan) == 2 and nan[1]["repeats"] == 99
    assert any(e["kind"] == "estop" and e["event"] == "start" for e in entries)


def test_default_audit_path_uses_ros_home(monkeypatch, tmp_path):
    monkeypatch.setenv("ROS_HOME", str(tmp_path))
    assert default_audit_path() == tmp_path / "synth_agent" / "safety_audit.jsonl"


def test_state_is_json_with_mode_source_limits_and_last_intervention():
    g = gate()
    command(g, 0.0, vx=2.0)
    st = g.state(0.0)
    json.dumps(st)
    assert st["mode"] == "driving" and st["source"] == "agent"
    assert st["limits"]["max_linear_velocity"] == 0.5
    assert st["last_intervention"]["time"] == 0.0
    assert {i["rule"] for i in st["interventions"]} >= {"max_linear_velocity", "acceleration"}


def test_diagnostics_levels():
    g = gate()
    assert g.diagnostics(0.0)[0] == 0
    command(g, 0.0, vx=2.0)
    level, message, values = g.diagnostics(0.0)
    assert level == 1 and "max_linear_velocity" in message
    g.set_estop(True, 0.1)
    assert g.diagnostics(0.1)[:2] == (2, "e-stop latched via topic")
    s = gate(use_scan=True)
    command(s, 0.0, vx=0.2)
    assert s.diagnostics(0.0)[0] == 2


def test_reconfigure_applies_new_limits_and_keeps_commands():
    g = gate()
    cruising(g, vx=0.5, until=1.0)
    g.reconfigure(config(max_linear_velocity=0.2), 1.05)
    trace = run(g, 1.05, 1.5)
    assert trace[-1][1].velocity.vx == pytest.approx(0.2)


def test_yaw_from_quaternion():
    half = math.pi / 8
    assert yaw_from_quaternion(0.0, 0.0, math.sin(half), math.cos(half)) == pytest.approx(
        math.pi / 4
    )
