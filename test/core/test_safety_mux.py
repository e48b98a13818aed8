"""Source arbitration: twist_mux's test configuration, including the priority and timeout test
that twist_mux's own ROS 2 port leaves commented out (SAFETY_SCENARIOS.md)."""

from __future__ import annotations

import dataclasses

import pytest

from synth_agent.core.safety import LocksConfig
from synth_agent.core.safety_limits import Source, SourceMux, Velocity

from .safety_helpers import gate, published, ticks

# test/system_config.yaml of twist_mux: vel_1 (0.7 s, 5), vel_2 (0 = never, 1), vel_3 (0.3 s, 10).
MUX_SOURCES = {
    "names": ("vel_1", "vel_2", "vel_3"),
    "topics": ("vel_1", "vel_2", "vel_3"),
    "priorities": (5, 1, 10),
    "timeouts": (0.7, 0.0, 0.3),
}


def mux_gate():
    """A gate that relays unchanged: limits and accelerations far above the test values, the
    watchdog far away (twist_mux has none)."""
    return gate(
        sources=MUX_SOURCES,
        max_linear_velocity=10.0,
        max_angular_velocity=10.0,
        max_linear_acceleration=1000.0,
        max_linear_deceleration=1000.0,
        max_angular_acceleration=1000.0,
        max_angular_deceleration=1000.0,
        command_timeout=100.0,
        output_rate=50.0,
    )


def send(g, source, now, vx, wz=0.0) -> None:
    assert g.on_command(source, (vx, 0.0, 0.0), (0.0, 0.0, wz), now).accepted


def test_empty_no_input_no_output():
    g = mux_gate()
    trace = [(t, g.step(t)) for t in ticks(0.0, 2.0, 0.02)]
    assert published(trace) == []
    assert all(v.mode == "idle" for _, v in trace)


def test_basic_relays_unchanged():
    g = mux_gate()
    for k in range(10):  # vel_1 at 5 Hz
        t = 0.2 * k
        send(g, "vel_1", t, 0.3, 0.1)
        v = g.step(t)
        assert v.publish and v.source == "vel_1"
        assert v.velocity == pytest.approx((0.3, 0.0, 0.1))
        assert v.interventions == ()


def test_priority_override_and_timeout_fall_back():
    """vel_3 overrides vel_1; after 0.5 s of silence on vel_3 (timeout 0.3 s) vel_1 is back."""
    g = mux_gate()
    seen = []
    for t in ticks(0.0, 2.0, 0.02):
        k = round(t / 0.02)
        if k % 10 == 0:  # vel_1 at 5 Hz throughout
            send(g, "vel_1", t, 0.1)
        if k % 5 == 0 and t < 1.0 - 1e-9:  # vel_3 at 10 Hz for the first second
            send(g, "vel_3", t, 0.7)
        seen.append((t, g.step(t)))
    during = [v for t, v in seen if 0.0 <= t < 0.95]
    assert all(v.source == "vel_3" and v.velocity.vx == pytest.approx(0.7) for v in during)
    # vel_3's last command was at 0.9 s; it is fresh up to 1.2 s and gone after.
    after = [v for t, v in seen if t >= 1.25]
    assert all(v.source == "vel_1" and v.velocity.vx == pytest.approx(0.1) for v in after)
    still = [v for t, v in seen if 0.9 <= t <= 1.19]
    assert all(v.source == "vel_3" for v in still)


def test_lower_priority_never_overrides_a_fresh_higher_one():
    g = mux_gate()
    send(g, "vel_3", 0.0, 0.5)
    send(g, "vel_1", 0.1, 0.2)  # newer, but lower priority
    assert g.step(0.1).source == "vel_3"
    assert g.step(0.31).source == "vel_1"  # vel_3 is 0.31 s old: past its 0.3 s timeout


def test_timeout_zero_never_expires_but_the_watchdog_still_applies():
    g = mux_gate()
    send(g, "vel_2", 0.0, 0.4)
    assert g.step(50.0).source == "vel_2"
    mux = SourceMux([Source("a", 1, 0.0)])
    mux.update("a", Velocity(1.0), 0.0)
    assert mux.select(99.0, command_timeout=100.0) is not None
    assert mux.select(100.5, command_timeout=100.0) is None


def test_equal_priorities_go_to_the_most_recent_command():
    mux = SourceMux([Source("a", 5, 1.0), Source("b", 5, 1.0)])
    mux.update("a", Velocity(1.0), 0.0)
    mux.update("b", Velocity(2.0), 0.1)
    assert mux.select(0.2, 10.0) == ("b", Velocity(2.0))
    mux.update("a", Velocity(3.0), 0.3)
    assert mux.select(0.4, 10.0) == ("a", Velocity(3.0))


def test_source_switches_are_audited():
    g = mux_gate()
    send(g, "vel_1", 0.0, 0.1)
    g.step(0.0)
    send(g, "vel_3", 0.1, 0.2)
    g.step(0.1)
    g.step(0.5)  # vel_3 expired
    switches = [e["reason"] for e in g.audit.tail if e["kind"] == "source"]
    assert switches == [
        "active source: none -> vel_1",
        "active source: vel_1 -> vel_3",
        "active source: vel_3 -> vel_1",
    ]


def test_unknown_source_is_rejected():
    g = mux_gate()
    d = g.on_command("intruder", (1.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0)
    assert not d.accepted and "unknown source" in d.reason
    assert g.rejected == {"unknown_source": 1}


# -- locks: twist_mux's test/system_config.yaml, whose lock logic has no running test there -----

# lock_1: timeout 0.5 s, priority 255; lock_2: timeout 0.0 (never expires), priority 10.
MUX_LOCKS = {
    "names": ("lock_1", "lock_2"),
    "topics": ("lock_1", "lock_2"),
    "priorities": (255, 10),
    "timeouts": (0.5, 0.0),
}


def lock_gate(locks=MUX_LOCKS):
    g = mux_gate()
    return type(g)(dataclasses.replace(g.config, locks=LocksConfig(**locks)))


def test_system_config_lock_2_true_masks_lower_priorities_only():
    """lock_2 (priority 10) true: vel_1 (5) and vel_2 (1) are masked, vel_3 (10, equal) is not
    (twist_mux's isMasked: priority < lock priority)."""
    g = lock_gate({k: v[1:] for k, v in MUX_LOCKS.items()})
    send(g, "vel_1", 0.0, 0.1)
    assert g.step(0.0).source == "vel_1"
    assert g.on_lock("lock_2", True, 0.02).accepted
    send(g, "vel_1", 0.04, 0.1)
    send(g, "vel_2", 0.04, 0.2)
    v = g.step(0.04)
    assert v.source is None and v.velocity.is_zero()
    lock = next(n for n in v.interventions if n.kind == "lock")
    assert lock.rule == "lock_2" and "vel_1" in lock.reason and "vel_2" in lock.reason
    send(g, "vel_3", 0.06, 0.3)
    assert g.step(0.06).source == "vel_3"
    g.on_lock("lock_2", False, 0.08)
    v = g.step(0.5)  # vel_3 (0.3 s) expired; vel_1 (0.7 s) is still fresh and unmasked
    assert v.source == "vel_1" and v.velocity.vx == pytest.approx(0.1)


def test_system_config_lock_timeout_zero_never_expires():
    g = lock_gate({k: v[1:] for k, v in MUX_LOCKS.items()})
    g.on_lock("lock_2", True, 0.0)
    for t in (0.0, 10.0, 100.0):
        send(g, "vel_2", t, 0.2)  # vel_2 never expires either
        assert g.step(t).source is None
    g.on_lock("lock_2", False, 100.0)
    for t in (100.0, 1000.0):
        send(g, "vel_2", t, 0.2)
        assert g.step(t).source == "vel_2"


def test_system_config_lock_1_engages_when_silent_past_its_timeout():
    """lock_1 (0.5 s, 255): engaged until its first message (never received = expired, as
    twist_mux), released by a heartbeat of false, engaged again 0.5 s after the heartbeat
    stops; at priority 255 it masks every source."""
    g = lock_gate()
    send(g, "vel_2", 0.0, 0.2)
    assert g.step(0.0).source is None
    assert g.state(0.0)["locks"]["lock_1"] == {"engaged": True, "input": None, "priority": 255}
    t = 0.0
    while t < 2.0:  # heartbeat at 5 Hz
        g.on_lock("lock_1", False, t)
        send(g, "vel_2", t, 0.2)
        assert g.step(t).source == "vel_2"
        t = round(t + 0.2, 6)
    last_beat = t - 0.2
    assert g.step(last_beat + 0.5).source == "vel_2"
    v = g.step(last_beat + 0.52)
    assert v.source is None and any(n.kind == "lock" for n in v.interventions)
    events = [(e["rule"], e["reason"]) for e in g.audit.tail if e["kind"] == "lock"]
    assert ("lock_1", "lock lock_1 released") in events
    assert ("lock_1", "lock lock_1 engaged") in events


def test_a_lock_brings_the_robot_to_rest_at_the_deceleration_limit():
    g = gate(
        locks={"names": ("pause",), "topics": ("pause",), "priorities": (50,), "timeouts": (0.0,)}
    )
    t = 0.0
    while t <= 1.0:
        send(g, "agent", t, 0.4)
        g.step(t)
        t = round(t + 0.05, 6)
    g.on_lock("pause", True, 1.05)
    send(g, "agent", 1.05, 0.4)
    v = g.step(1.05)
    decel = g.config.max_linear_deceleration
    assert v.velocity.vx == pytest.approx(0.4 - decel * 0.05)  # ramping down, not a cut
    assert v.mode == "stopping"
    assert not any(n.kind == "timeout" for n in v.interventions)  # a lock, not the watchdog
    send(g, "teleop", 1.1, -0.1)
    assert g.step(1.1).source == "teleop"  # above the lock's priority


def test_unknown_lock_is_rejected_and_no_locks_is_the_default():
    g = mux_gate()
    assert g.config.locks.names == ()
    d = g.on_lock("lock_9", True, 0.0)
    assert not d.accepted and g.rejected == {"unknown_lock": 1}
