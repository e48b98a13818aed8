"""Invariants of the safety gate under any sequence of inputs (hypothesis).

Whatever arrives — commands from any source with NaN, inf or absurd values, scans with
obstacles anywhere, odometry, e-stop presses and releases on the topic or the service, resets,
irregular timing — the gate must never output anything over a limit or non-finite, must stop
within `command_timeout` plus one ramp after the last command, and must not move while the
e-stop is latched. Limits themselves are drawn too, so no property holds by accident of one
configuration.

The optional features are drawn as well, so none of them can break an invariant: zone debounce
counts, velocity-dependent zones, a deadband, twist_mux locks (with lock inputs and silences
among the events) and the zones toggle (switched on and off among the events, since disabling
the scan zones must never switch off the e-stop, the limits, the watchdog or input hygiene).
Ramp limits are checked on the smoother's state (`SafetyGate.output`); the published value must
be that state with the deadband applied, nothing else.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synth_agent.core.safety import (
    LocksConfig,
    SafetyGate,
    SafetyGateConfig,
    SourcesConfig,
    VelocityZonesConfig,
)
from synth_agent.core.safety_limits import Velocity, apply_deadband

pytestmark = pytest.mark.slow

EPS = 1e-9
AXES = ("vx", "vy", "wz")

# Finite values in and well beyond the limits, plus the values input hygiene must catch.
component = st.one_of(
    st.floats(-3.0, 3.0),
    st.sampled_from([0.0, math.nan, math.inf, -math.inf, 1e9, -1e9, 150.0]),
)


LOCKS = LocksConfig(
    names=("pause", "heartbeat"),
    topics=("pause", "heartbeat"),
    priorities=(50, 255),
    timeouts=(0.0, 0.3),
)
VELOCITY_ZONES = VelocityZonesConfig(
    names=("forward", "backward"),
    linear_min=(0.0, -2.0),
    linear_max=(2.0, 0.0),
    angular_min=(-4.0, -4.0),
    angular_max=(4.0, 4.0),
    stop_distance=(0.3, 0.05),
    slowdown_distance=(0.6, 0.0),
    limit_distance=(0.0, 0.2),
)


@st.composite
def configs(draw) -> SafetyGateConfig:
    lin = draw(st.floats(0.05, 2.0))
    ang = draw(st.floats(0.1, 4.0))
    deadband = draw(
        st.one_of(
            st.just((0.0, 0.0, 0.0)),
            st.tuples(
                st.floats(0.0, 0.9 * lin), st.floats(0.0, 0.9 * lin), st.floats(0.0, 0.9 * ang)
            ),
        )
    )
    return SafetyGateConfig(
        deadband_velocity=deadband,
        zones_enabled=draw(st.booleans()),
        zone_trigger_count=draw(st.integers(1, 3)),
        zone_release_count=draw(st.integers(1, 3)),
        locks=draw(st.sampled_from([LocksConfig(), LOCKS])),
        velocity_zones=draw(st.sampled_from([VelocityZonesConfig(), VELOCITY_ZONES])),
        max_linear_velocity=lin,
        max_angular_velocity=ang,
        max_linear_acceleration=draw(st.floats(0.1, 5.0)),
        max_linear_deceleration=draw(st.floats(0.1, 5.0)),
        max_angular_acceleration=draw(st.floats(0.1, 8.0)),
        max_angular_deceleration=draw(st.floats(0.1, 8.0)),
        holonomic=draw(st.booleans()),
        scale_velocities=draw(st.booleans()),
        command_timeout=draw(st.floats(0.1, 1.0)),
        output_rate=draw(st.sampled_from([10.0, 20.0, 50.0])),
        stop_publish_timeout=draw(st.sampled_from([0.0, 0.1, 0.5])),
        use_scan=draw(st.booleans()),
        scan_timeout=0.5,
        robot_radius=0.2,
        stop_distance=0.1,
        slowdown_distance=0.4,
        slowdown_ratio=draw(st.floats(0.0, 1.0)),
        limit_distance=draw(st.sampled_from([0.0, 0.8])),
        time_before_collision=draw(st.sampled_from([0.0, 1.0])),
        geofence=draw(st.sampled_from([(), (-2.0, -2.0, 2.0, -2.0, 2.0, 2.0, -2.0, 2.0)])),
        sources=SourcesConfig(timeouts=(draw(st.floats(0.0, 1.0)), draw(st.floats(0.0, 1.0)))),
        audit_log="",
    )


event = st.one_of(
    st.tuples(
        st.just("cmd"), st.sampled_from(["agent", "teleop"]), component, component, component
    ),
    st.tuples(
        st.just("scan"), st.one_of(st.none(), st.floats(0.05, 3.0)), st.floats(-math.pi, math.pi)
    ),
    st.tuples(
        st.just("odom"), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-math.pi, math.pi)
    ),
    st.tuples(st.just("estop"), st.booleans(), st.sampled_from(["topic", "service"])),
    st.tuples(st.just("reset")),
    st.tuples(st.just("tick")),
    st.tuples(st.just("lock"), st.sampled_from(["pause", "heartbeat"]), st.booleans()),
    st.tuples(st.just("toggle"), st.booleans()),
)


def feed(g: SafetyGate, ev: tuple, now: float) -> bool:
    """Apply one event; True when the node would step right after it (a command)."""
    kind = ev[0]
    if kind == "cmd":
        _, source, vx, vy, wz = ev
        g.on_command(source, (vx, vy, 0.0), (0.0, 0.0, wz), now)
        return True
    if kind == "scan":
        _, distance, bearing = ev
        ranges = [math.inf] * 72
        if distance is not None:
            i = int((bearing + math.pi) / (2 * math.pi) * 72) % 72
            for j in (i - 1, i, (i + 1) % 72):
                ranges[j] = distance
        g.on_scan(ranges, -math.pi, 2 * math.pi / 72, 0.05, 10.0, now)
    elif kind == "odom":
        g.on_odom(ev[1], ev[2], ev[3], now, "odom")
    elif kind == "estop":
        g.set_estop(ev[1], now, ev[2])
        return True
    elif kind == "reset":
        g.reset(now)
    elif kind == "lock":
        g.on_lock(ev[1], ev[2], now)  # rejected (and counted) when locks are not configured
    elif kind == "toggle":
        g.set_zones_enabled(ev[1], now)
    return False


def reachable(prev: float, new: float, acc: float, dec: float, dt: float) -> bool:
    """`new` is within one smoothing step of `prev` (speeding up by acc*dt at most, slowing
    down or crossing zero by dec*dt at most)."""
    if prev > 0.0:
        lo, hi = prev - dec * dt, prev + acc * dt
    elif prev < 0.0:
        lo, hi = prev - acc * dt, prev + dec * dt
    else:
        lo, hi = -acc * dt, acc * dt
    tol = 1e-9 + 1e-9 * abs(prev)
    return lo - tol <= new <= hi + tol


def toward_zero_of_reachable(prev: float, new: float, acc: float, dec: float, dt: float) -> bool:
    """`new` lies between 0 and a value reachable in one step: an immediate safety cut."""
    if prev > 0.0:
        lo, hi = min(0.0, prev - dec * dt), prev + acc * dt
    elif prev < 0.0:
        lo, hi = prev - acc * dt, max(0.0, prev + dec * dt)
    else:
        lo, hi = -acc * dt, acc * dt
    return lo - 1e-9 <= new <= hi + 1e-9


SAFETY_KINDS = {"zone", "geofence", "fail_safe", "estop"}
# A holonomic base smoothing each axis alone can leave the speed disc between two in-range
# commands; the velocity limit then wins over the deceleration limit (a cut toward zero).
SPEED_CAP = ("clamp", "max_linear_velocity")


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), events=st.lists(st.tuples(st.floats(0.0, 1.0), event), max_size=40))
def test_no_output_exceeds_a_limit_or_is_non_finite(cfg, events):
    g = SafetyGate(cfg)
    now, last_step = 0.0, None
    prev = Velocity()
    for gap, ev in events:
        now += gap * cfg.period  # irregular, never more than one period between events
        stepped = feed(g, ev, now)
        verdict = g.step(now) if stepped else g.tick(now)
        if verdict is None:
            continue
        sent = verdict.velocity
        v = g.output  # the smoother's state; what is published is it, deadbanded
        assert sent == apply_deadband(v, cfg.deadband_velocity)
        for x in (sent, v):
            assert x.is_finite(), x
            assert x.speed <= cfg.max_linear_velocity + EPS
            assert abs(x.wz) <= cfg.max_angular_velocity + EPS
            if not cfg.holonomic:
                assert x.vy == 0.0
        if verdict.source is not None and g.mux.locks:
            floor = g.mux.lock_priority(now)
            assert floor is None or g.mux.sources[verdict.source].priority >= floor
        dt = cfg.period if last_step is None else min(now - last_step, cfg.period)
        kinds = {n.kind for n in verdict.interventions}
        limits = (
            (cfg.max_linear_acceleration, cfg.max_linear_deceleration),
            (cfg.max_linear_acceleration, cfg.max_linear_deceleration),
            (cfg.max_angular_acceleration, cfg.max_angular_deceleration),
        )
        for axis, p, n, (acc, dec) in zip(AXES, prev, v, limits, strict=True):
            # Speeding up is always bound by the acceleration limit; slowing down faster than
            # the deceleration limit only happens as a safety cut, and only toward zero.
            assert toward_zero_of_reachable(p, n, acc, dec, dt), (axis, p, n, dt)
            if not reachable(p, n, acc, dec, dt):
                cuts = kinds & SAFETY_KINDS or SPEED_CAP in {
                    (i.kind, i.rule) for i in verdict.interventions
                }
                assert cuts, (axis, p, n, verdict.interventions)
        if g.latched:
            assert v.is_zero() and sent.is_zero() and verdict.mode == "estop"
        prev, last_step = v, now


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cfg=configs(),
    commands=st.lists(
        st.tuples(st.sampled_from(["agent", "teleop"]), component, component, component),
        min_size=1,
        max_size=30,
    ),
    gap=st.floats(0.1, 1.0),
)
def test_output_reaches_zero_within_command_timeout_plus_one_ramp(cfg, commands, gap):
    """After the last command, zero by `command_timeout` + the longest ramp (+ one period for
    the step grid), and silent once the zero has been repeated for stop_publish_timeout."""
    g = SafetyGate(cfg)
    now = 0.0
    last_accepted = 0.0
    trace = []
    for source, vx, vy, wz in commands:
        if g.on_command(source, (vx, vy, 0.0), (0.0, 0.0, wz), now).accepted:
            last_accepted = now
        trace.append((now, g.step(now)))
        now += gap * cfg.period
    ramp = max(
        cfg.max_linear_velocity / cfg.max_linear_deceleration,
        cfg.max_angular_velocity / cfg.max_angular_deceleration,
    )
    deadline = last_accepted + cfg.command_timeout + ramp + 2 * cfg.period
    end = deadline + cfg.stop_publish_timeout + 3 * cfg.period
    while now <= end:
        trace.append((now, g.step(now)))
        now += cfg.period
    moving = [t for t, v in trace if not v.velocity.is_zero()]
    zero_at = next((t for t, _ in trace if t > moving[-1]), None) if moving else trace[0][0]
    assert zero_at is not None and zero_at <= max(deadline, trace[0][0]) + EPS
    last = trace[-1][1]
    assert not last.publish and last.mode == "idle"
    assert g.output.is_zero()  # the state too, not only the deadbanded output


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cfg=configs(),
    events=st.lists(st.tuples(st.floats(0.0, 1.0), event), max_size=40),
    press_via=st.sampled_from(["topic", "service"]),
)
def test_nothing_moves_while_the_estop_is_latched(cfg, events, press_via):
    g = SafetyGate(cfg)
    g.set_estop(True, 0.0, press_via)
    now = 0.0
    for gap, ev in events:
        now += gap * cfg.period
        if ev[0] == "reset" or (ev[0] == "estop" and not ev[1]):
            continue  # keep the latch for this property
        feed(g, ev, now)  # zone toggles and lock inputs included: neither unlatches
        assert g.latched
        assert g.step(now).velocity.is_zero()
        assert g.output.is_zero()
        assert not g.on_gripper(0.5, now).accepted


@settings(max_examples=1000, deadline=None)
@given(
    inputs=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), max_size=30),
)
def test_reset_clears_the_latch_only_with_every_stop_input_false(inputs):
    g = SafetyGate(SafetyGateConfig(use_scan=False))
    now = 0.0
    for topic, service, reset in inputs:
        now += 0.01
        g.set_estop(topic, now, "topic")
        g.set_estop(service, now, "service")
        if topic or service:
            assert g.latched
        if reset:
            d = g.reset(now)
            assert d.accepted == (not topic and not service)
            assert g.latched == (topic or service)
