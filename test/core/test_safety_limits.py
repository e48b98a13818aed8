"""Velocity limits and smoothing: nav2 velocity_smoother's scenarios (SAFETY_SCENARIOS.md)."""

from __future__ import annotations

import pytest

from synth_agent.core.safety_limits import (
    Limits,
    Velocity,
    apply_constraints,
    clamp_velocity,
    find_eta_constraint,
    smooth,
)

from .safety_helpers import command, gate, published, run

DT = 1.0 / 20.0  # velocity_smoother's default 20 Hz


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_find_eta_constraint(sign):
    # accel 0.1 → 0.005 per cycle; decel 1.0 → 0.05 per cycle.
    def eta(a, b):
        return find_eta_constraint(sign * a, sign * b, 0.1, 1.0, DT)

    assert eta(0.5, 0.504) == -1.0
    assert eta(0.0, 0.004) == -1.0
    assert eta(-0.02, 0.02) == -1.0  # crossing zero: the (larger) decel bound applies
    assert eta(0.5, 1.5) == pytest.approx(0.005)
    assert eta(1.5, 0.5) == pytest.approx(0.05)
    assert eta(-0.2, 0.8) == pytest.approx(0.05)  # crossing zero counts as decel


def test_apply_constraints():
    acc, dec = 1.5, 2.0
    assert apply_constraints(1.0, 1.0, acc, dec, DT) == 1.0
    assert apply_constraints(0.5, 0.55, acc, dec, DT) == pytest.approx(0.55)
    assert apply_constraints(0.5, 0.45, acc, dec, DT) == pytest.approx(0.45)
    assert apply_constraints(1.0, 2.0, acc, dec, DT) == pytest.approx(1.075, abs=0.01)
    assert apply_constraints(0.5, 0.55, acc, dec, DT, eta=0.075) == pytest.approx(0.503, abs=0.01)


# Exact binary step sizes (1/16 s) so "exactly accel*dt per step" can be asserted tightly.
RAMP_DT = 1.0 / 16.0
ACC, DEC = 1.0, 2.0


@pytest.mark.parametrize(
    "start,target",
    [
        (0.5, 1.5),  # positive to positive, accelerating
        (1.5, 0.5),  # positive to positive, decelerating
        (0.0, 1.0),  # zero to positive
        (0.0, -1.0),  # zero to negative
        (1.0, 0.0),  # positive to zero
        (-1.0, 0.0),  # negative to zero
        (-1.0, 2.0),  # negative to positive: decel until zero, accel after
        (1.0, -2.0),  # positive to negative
        (-1.5, -0.5),  # negative to negative, decelerating
    ],
)
def test_ramps_step_by_step(start, target):
    v = start
    steps = 0
    while v != target:
        nxt = apply_constraints(v, target, ACC, DEC, RAMP_DT)
        braking = not (abs(target) >= abs(v) and v * target >= 0.0)
        rate = (DEC if braking else ACC) * RAMP_DT
        expected = min(rate, abs(target - v))
        assert abs(nxt - v) == pytest.approx(expected, abs=1e-3), (v, nxt)
        if v * nxt < 0.0:
            pytest.fail(f"crossed zero in one step from {v} to {nxt}")
        v = nxt
        steps += 1
        assert steps < 200
    for _ in range(3):  # held once reached
        assert apply_constraints(v, target, ACC, DEC, RAMP_DT) == target


def test_smooth_keeps_curvature_when_scaling():
    limits = Limits(1.0, 2.0, 1.0, 1.0, 10.0, 10.0, scale_velocities=True)
    out = smooth(Velocity(), Velocity(1.0, 0.0, 1.0), limits, 0.1)
    assert out.vx == pytest.approx(0.1)
    assert out.wz == pytest.approx(0.1)  # the angular axis could go further; it is slowed too
    free = smooth(
        Velocity(),
        Velocity(1.0, 0.0, 1.0),
        Limits(1.0, 2.0, 1.0, 1.0, 10.0, 10.0, scale_velocities=False),
        0.1,
    )
    assert free.wz == pytest.approx(1.0)


def test_clamp_velocity_scales_all_axes_or_each():
    lim = Limits(0.5, 2.5, 1, 1, 1, 1, scale_velocities=True)
    out, hit = clamp_velocity(Velocity(1.0, 0.0, 2.0), lim)
    assert out == pytest.approx((0.5, 0.0, 1.0))
    assert hit == ["max_linear_velocity"]
    out, hit = clamp_velocity(
        Velocity(1.0, 0.0, 2.0), Limits(0.5, 2.5, 1, 1, 1, 1, scale_velocities=False)
    )
    assert out == pytest.approx((0.5, 0.0, 2.0))
    out, hit = clamp_velocity(Velocity(0.1, 0.3, -5.0), lim)
    assert out.vy == 0.0 and out.wz == pytest.approx(-2.5)
    assert set(hit) == {"holonomic", "max_angular_velocity"}


def smoother_gate(**kw):
    return gate(
        max_linear_velocity=0.5,
        max_angular_velocity=2.5,
        max_linear_acceleration=2.5,
        max_linear_deceleration=2.5,
        max_angular_acceleration=3.2,
        max_angular_deceleration=3.2,
        command_timeout=1.0,
        output_rate=20.0,
        stop_publish_timeout=0.0,
        sources={"timeouts": (1.0, 1.0)},  # velocity_timeout 1.0 s
        **kw,
    )


def test_open_loop_timer_one_command_then_timeout():
    """openLoopTestTimer: one 1.0 m/s command, 1.5 s of output: 20-29 messages, all ≤ 0.5,
    and the last one exactly 0 because the input timed out."""
    g = smoother_gate()
    _, first = command(g, 0.0, vx=1.0)
    trace = [(0.0, first)] + run(g, 0.05, 1.5)
    out = [v.velocity.vx for _, v in published(trace)]
    assert 19 < len(out) < 30
    assert out[-1] == 0.0
    assert all(abs(x) <= 0.5 for x in out)
    assert max(out) == pytest.approx(0.5)
    increases = [b - a for a, b in zip(out, out[1:], strict=False)]
    assert max(increases) < 0.126  # approxClosedLoopTestTimer: 2.5 / 20 = 0.125 per step


def test_open_loop_6dof_limits():
    g = smoother_gate(holonomic=True)
    g.on_command("agent", (1.0, -1.0, 0.0), (0.0, 0.0, 9.0), 0.0)
    trace = [(0.0, g.step(0.0))] + run(g, 0.05, 2.0)  # the turn takes 2.5 / 3.2 s to stop
    for _, v in trace:
        assert v.velocity.speed <= 0.5 + 1e-12
        assert abs(v.velocity.wz) <= 2.5 + 1e-12
    assert published(trace)[-1][1].velocity.is_zero()


def test_command_callback_accepts_large_but_finite_values():
    """testCommandCallback: linear.x 100.0 is accepted on input; limiting happens later."""
    g = smoother_gate()
    decision, verdict = command(g, 0.0, vx=100.0)
    assert decision.accepted
    assert verdict.velocity.vx == pytest.approx(0.125)
    assert ("clamp", "max_linear_velocity") in {(n.kind, n.rule) for n in verdict.interventions}


def test_step_length_follows_command_times_and_is_capped_at_one_period():
    """Commands arriving faster than the output rate never buy more acceleration."""
    g = smoother_gate()
    _, v = command(g, 0.0, vx=0.5)  # the first step from rest is one output period
    prev = v.velocity.vx
    assert prev == pytest.approx(0.125)
    for k in range(1, 100):
        _, v = command(g, k * 0.001, vx=0.5)
        assert v.velocity.vx - prev <= 2.5 * 0.001 + 1e-12
        prev = v.velocity.vx
    assert prev == pytest.approx(0.125 + 99 * 0.0025)
    # After a long silence (the gate stopped and went quiet), one step is one period at most.
    g2 = smoother_gate()
    command(g2, 0.0, vx=0.0)
    _, v = command(g2, 100.0, vx=0.5)
    assert v.velocity.vx == pytest.approx(0.125)


# -- deadband (velocity_smoother's deadband_velocity) ------------------------------------------


def test_openLoopTestTimer_with_deadband_and_scale_velocities():  # noqa: N802 - nav2's name
    """openLoopTestTimer: one 1.0 m/s command with deadband 0.2 and scale_velocities: 20-29
    outputs, the last exactly 0, the first non-zero above the deadband, all ≤ 0.5."""
    g = smoother_gate(deadband_velocity=(0.2, 0.0, 0.0), scale_velocities=True)
    _, first = command(g, 0.0, vx=1.0)
    trace = [(0.0, first)] + run(g, 0.05, 1.5)
    out = [v.velocity.vx for _, v in published(trace)]
    assert 19 < len(out) < 30
    assert out[-1] == 0.0
    nonzero = [x for x in out if x != 0.0]
    assert nonzero[0] > 0.2
    assert all(abs(x) <= 0.5 for x in out)
    # The smoother's state ramps through the deadband (nav2 deadbands the published value only):
    # 0.125 is held back, the next step publishes 0.25, not a robot stuck at zero.
    assert first.velocity.vx == 0.0 and g.output.vx == 0.0  # timed out by now
    assert trace[1][1].velocity.vx == pytest.approx(0.25)
    assert ("clamp", "deadband") in {(n.kind, n.rule) for n in first.interventions}


def test_openLoopTestTimer6dof_with_deadband_per_axis():  # noqa: N802 - nav2's name
    g = smoother_gate(holonomic=True, deadband_velocity=(0.2, 0.2, 0.5))
    g.on_command("agent", (1.0, -1.0, 0.0), (0.0, 0.0, 9.0), 0.0)
    trace = [(0.0, g.step(0.0))] + run(g, 0.05, 2.0)
    for _, v in trace:
        vx, vy, wz = v.velocity
        assert vx == 0.0 or abs(vx) >= 0.2
        assert vy == 0.0 or abs(vy) >= 0.2
        assert wz == 0.0 or abs(wz) >= 0.5
        assert v.velocity.speed <= 0.5 + 1e-12 and abs(wz) <= 2.5 + 1e-12
    assert published(trace)[-1][1].velocity.is_zero()


def test_small_commands_below_the_deadband_publish_zero_then_go_quiet():
    g = smoother_gate(deadband_velocity=(0.1, 0.0, 0.3))
    trace = []
    for k in range(20):
        t = k * 0.05
        trace.append((t, command(g, t, vx=0.05, wz=0.2)[1]))
    assert all(v.velocity.is_zero() for _, v in trace)
    assert not trace[-1][1].publish  # a zero is not repeated forever
    assert g.output.vx == pytest.approx(0.05)  # the state is not deadbanded


def test_deadband_zero_is_the_default_and_changes_nothing():
    assert gate().config.deadband_velocity == (0.0, 0.0, 0.0)
    g = smoother_gate()
    _, v = command(g, 0.0, vx=0.01)
    assert v.velocity.vx == pytest.approx(0.01)


def test_scale_velocities_keeps_curvature_through_the_gate():
    """openLoopTestTimer's scale_velocities=true: the ramp slows every axis together."""
    g = smoother_gate(scale_velocities=True)
    _, v = command(g, 0.0, vx=0.5, wz=2.0)
    assert v.velocity.wz / v.velocity.vx == pytest.approx(2.0 / 0.5)
