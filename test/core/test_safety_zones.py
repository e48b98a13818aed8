"""Zones from the scan (nav2 collision_monitor's scenarios) and the geofence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth_agent.core.safety_limits import Velocity
from synth_agent.core.safety_zones import (
    Pose2D,
    ScanError,
    ScanPoints,
    ZoneConfig,
    apply_geofence,
    apply_zones,
    polygon_from_flat,
    signed_distance,
    time_to_collision,
)

from .safety_helpers import command, gate, published, run

EPSILON = 1e-5


def zones(**kw) -> ZoneConfig:
    base = dict(
        robot_radius=0.0,
        stop_distance=1.0,
        slowdown_distance=2.0,
        slowdown_ratio=0.7,
        limit_distance=3.0,
        limit_linear_velocity=0.4,
        limit_angular_velocity=0.09,
        time_before_collision=0.0,
        simulation_time_step=0.01,
    )
    base.update(kw)
    return ZoneConfig(**base)


def ahead(distance: float) -> ScanPoints:
    return ScanPoints.from_xy([(distance, 0.0)])


def test_stop_slowdown_limit():
    """testProcessStopSlowdownLimit: nested Limit (3.0), SlowDown (2.0), Stop (1.0)."""
    cfg = zones()
    cmd = Velocity(0.5, 0.2, 0.1)
    r = apply_zones(cmd, ahead(4.5), cfg)
    assert r.velocity == cmd and r.zone == ""
    r = apply_zones(cmd, ahead(3.0), cfg)
    k = min(0.4 / math.hypot(0.5, 0.2), 0.09 / 0.1)
    assert r.zone == "limit"
    assert r.velocity == pytest.approx((0.5 * k, 0.2 * k, 0.1 * k), abs=EPSILON)
    r = apply_zones(cmd, ahead(1.5), cfg)
    assert r.zone == "slowdown"
    assert r.velocity == pytest.approx((0.35, 0.14, 0.07), abs=EPSILON)
    r = apply_zones(cmd, ahead(0.5), cfg)
    assert r.zone == "stop" and "0.50 m" in r.reason
    # Unlike collision_monitor, turning stays allowed: a circle turning in place hits nothing.
    assert r.velocity == pytest.approx((0.0, 0.0, 0.1), abs=EPSILON)
    r = apply_zones(cmd, ahead(4.5), cfg)
    assert r.velocity == cmd and r.zone == "" and r.reason == ""


def test_stop_zone_allows_backing_off_and_turning_away():
    cfg = zones(robot_radius=0.2, stop_distance=0.3, slowdown_distance=0.0, limit_distance=0.0)
    wall = ahead(0.35)  # 0.15 m from the robot's edge
    assert apply_zones(Velocity(0.3, 0.0, 0.0), wall, cfg).velocity == (0.0, 0.0, 0.0)
    back = Velocity(-0.3, 0.0, 0.5)
    assert apply_zones(back, wall, cfg).velocity == back
    sideways = Velocity(0.0, 0.3, 0.0)  # holonomic: sliding along the wall does not close in
    assert apply_zones(sideways, wall, cfg).velocity == sideways
    spin = Velocity(0.0, 0.0, 1.0)
    assert apply_zones(spin, wall, cfg).velocity == spin
    behind = ScanPoints.from_xy([(-0.3, 0.0)])
    assert apply_zones(Velocity(0.3, 0.0, 0.0), behind, cfg).velocity == (0.3, 0.0, 0.0)


def test_approach_scales_by_time_to_collision():
    """testProcessApproach: circle r 1.0, obstacle 0.2 m ahead of the footprint."""
    cfg = zones(
        robot_radius=1.0,
        stop_distance=0.0,
        slowdown_distance=0.0,
        limit_distance=0.0,
        time_before_collision=1.0,
        simulation_time_step=0.01,
    )
    cmd = Velocity(0.5, 0.2, 0.0)
    speed = cmd.speed
    direction = (cmd.vx / speed, cmd.vy / speed)
    obstacle = ScanPoints.from_xy([(1.2 * direction[0], 1.2 * direction[1])])
    r = apply_zones(cmd, obstacle, cfg)
    expected = (0.2 / speed) / 1.0
    assert r.zone == "approach"
    tol = speed * 0.01 / 1.0
    assert r.velocity.speed == pytest.approx(speed * expected, abs=tol)
    # Inside the footprint: no motion toward it however large the command.
    inside = ScanPoints.from_xy([(0.5 * direction[0], 0.5 * direction[1])])
    r = apply_zones(Velocity(1e9, 0.0, 0.0), inside, cfg)
    assert r.velocity.speed == 0.0
    # Recovers when the obstacle is gone.
    assert apply_zones(cmd, ScanPoints.empty(), cfg).velocity == cmd


def test_approach_along_an_arc():
    # Turning left at 0.5 m/s, 1 rad/s: an arc of radius 0.5 around (0, 0.5). A point on that
    # circle a quarter turn ahead, at (0.5, 0.5), is hit after about pi/2 s minus the footprint.
    v = Velocity(0.5, 0.0, 1.0)
    pts = ScanPoints.from_xy([(0.5, 0.5)])
    ttc = time_to_collision(v, pts, 0.1, 3.0, 0.01)
    assert ttc is not None
    assert ttc == pytest.approx(math.pi / 2 - 0.1 / 0.5, abs=0.03)
    straight = time_to_collision(Velocity(0.5, 0.0, 0.0), pts, 0.1, 3.0, 0.01)
    assert straight is None  # driving straight passes it


def test_cross_over_the_safer_mode_wins():
    """testCrossOver: slowdown zone plus approach; the smaller speed wins."""
    cfg = zones(
        robot_radius=0.2,
        stop_distance=0.0,
        slowdown_distance=1.0,
        slowdown_ratio=0.7,
        limit_distance=0.0,
        time_before_collision=1.0,
        simulation_time_step=0.01,
    )
    wall = ahead(1.1)  # 0.9 m from the edge: inside the slowdown zone
    fast = apply_zones(Velocity(3.0, 0.0, 0.0), wall, cfg)
    assert fast.zone == "approach" and fast.velocity.vx == pytest.approx(0.9, abs=0.03)
    slow = apply_zones(Velocity(0.3, 0.0, 0.0), wall, cfg)
    assert slow.zone == "slowdown" and slow.velocity.vx == pytest.approx(0.21)


def test_rules_with_distance_zero_are_off():
    cfg = zones(
        robot_radius=0.0,
        stop_distance=0.0,
        slowdown_distance=0.0,
        limit_distance=0.0,
        time_before_collision=0.0,
    )
    cmd = Velocity(0.5, 0.0, 0.0)
    assert apply_zones(cmd, ahead(0.05), cfg).velocity == cmd


def test_scan_conversion_drops_no_returns_and_rejects_malformed_scans():
    ranges = [1.0, float("nan"), float("inf"), 0.01, 50.0, 2.0]
    pts = ScanPoints.from_scan(ranges, -0.1, 0.1, 0.05, 10.0)
    assert len(pts.x) == 2
    assert pts.x[0] == pytest.approx(math.cos(-0.1))
    assert pts.y[1] == pytest.approx(2.0 * math.sin(0.4))
    mounted = ScanPoints.from_scan([1.0], 0.0, 0.1, 0.0, 5.0, pose=(0.1, 0.0, math.pi))
    assert mounted.x[0] == pytest.approx(-0.9)  # a rear-facing scanner 0.1 m ahead of centre
    for bad in (
        dict(ranges=[], angle_min=0.0, angle_increment=0.1),
        dict(ranges=[1.0], angle_min=float("nan"), angle_increment=0.1),
        dict(ranges=[1.0], angle_min=0.0, angle_increment=0.0),
    ):
        with pytest.raises(ScanError):
            ScanPoints.from_scan(range_min=0.0, range_max=5.0, **bad)
    with pytest.raises(ScanError):
        ScanPoints.from_scan([1.0], 0.0, 0.1, 5.0, 1.0)


# -- through the gate --------------------------------------------------------------------------


def scan_gate(**kw):
    kw.setdefault("use_scan", True)
    kw.setdefault("scan_timeout", 0.5)
    kw.setdefault("max_linear_acceleration", 100.0)
    kw.setdefault("command_timeout", 10.0)
    kw.setdefault("sources", {"timeouts": (10.0, 10.0)})
    return gate(**kw)


def feed_scan(g, now, distance=None, ahead_only=False):
    """A 360-ray scan: clear, an obstacle all around, or only in the 20 degrees ahead."""
    ranges = [float("inf")] * 360 if distance is None else [distance] * 360
    if ahead_only:
        ranges = [distance if 170 <= i <= 190 else float("inf") for i in range(360)]
    return g.on_scan(ranges, -math.pi, 2 * math.pi / 360, 0.05, 20.0, now)


def test_missing_scan_stops_the_robot_fail_safe():
    """testSourceTimeout: a configured scan that never arrives → stop, with the reason."""
    g = scan_gate()
    _, v = command(g, 0.0, vx=0.3)
    assert v.velocity.is_zero()
    assert ("fail_safe", "scan") in {(n.kind, n.rule) for n in v.interventions}
    assert "no scan received" in g.diagnostics(0.0)[1]
    feed_scan(g, 0.05)
    assert g.step(0.05).velocity.vx > 0.0
    # Stale after scan_timeout: full stop, even from speed (no ramp).
    v = g.step(0.6)
    assert v.velocity.is_zero() and any("stale" in n.reason for n in v.interventions)


def test_scan_timeout_zero_disables_the_staleness_check():
    """testSourceTimeoutOverride."""
    g = scan_gate(scan_timeout=0.0)
    feed_scan(g, 0.0)
    _, v = command(g, 100.0, vx=0.3)
    assert v.velocity.vx > 0.0


def test_obstacle_stop_and_cease_publishing_zero():
    """testCeasePublishZeroVel: after a stop the zero is not re-published once
    stop_publish_timeout has passed; output resumes when the obstacle clears."""
    g = scan_gate(stop_publish_timeout=0.1, output_rate=100.0, scan_timeout=5.0)
    feed_scan(g, 0.0)
    command(g, 0.0, vx=0.3)
    trace = run(g, 0.0, 0.49)
    assert trace[-1][1].velocity.vx == pytest.approx(0.3)
    feed_scan(g, 0.5, distance=0.25)  # 0.05 m from the edge
    trace = run(g, 0.5, 1.0)
    assert trace[0][1].velocity.is_zero()  # immediately, not ramped
    zeros = published(trace)
    assert zeros and all(t <= 0.5 + 0.1 + 1e-9 for t, _ in zeros)
    assert not trace[-1][1].publish
    feed_scan(g, 1.0)
    trace = run(g, 1.0, 1.2)
    assert trace[-1][1].publish and trace[-1][1].velocity.vx == pytest.approx(0.3)


def test_rejected_scan_keeps_ageing_the_last_good_one():
    g = scan_gate(scan_frame="laser")
    assert g.on_scan([1.0], 0.0, 0.1, 0.0, 5.0, 0.0, frame_id="laser").accepted
    d = g.on_scan([1.0], 0.0, 0.1, 0.0, 5.0, 0.3, frame_id="camera")
    assert not d.accepted and "frame" in d.reason
    d = g.on_scan([1.0], 0.0, 0.0, 0.0, 5.0, 0.4, frame_id="laser")
    assert not d.accepted
    assert g.scan_fault(0.6).startswith("scan stale")


# -- geofence ----------------------------------------------------------------------------------

SQUARE = polygon_from_flat([0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0])


def test_signed_distance():
    assert signed_distance(SQUARE, 2.0, 2.0) == pytest.approx(2.0)
    assert signed_distance(SQUARE, 3.5, 1.0) == pytest.approx(0.5)
    assert signed_distance(SQUARE, 5.0, 2.0) == pytest.approx(-1.0)
    assert signed_distance(SQUARE, 4.0, 2.0) == pytest.approx(0.0)


def fence(v, x, y, yaw=0.0):
    return apply_geofence(v, Pose2D(x, y, yaw), SQUARE, 0.2, 1.5, 0.05)


def test_geofence_stops_at_the_edge_and_lets_the_robot_back_in():
    fwd = Velocity(0.5, 0.0, 0.3)
    assert fence(fwd, 2.0, 2.0) == (fwd, "")
    out, reason = fence(fwd, 3.7, 2.0)
    assert out == (0.0, 0.0, 0.3) and reason.startswith("geofence")
    assert fence(Velocity(-0.5, 0.0, 0.0), 3.7, 2.0)[1] == ""  # backing away from the edge
    assert fence(fwd, 3.7, 2.0, yaw=math.pi)[1] == ""  # facing inward
    # Already outside: only moves back in are allowed.
    assert fence(fwd, 4.5, 2.0, yaw=math.pi)[1] == ""
    assert fence(fwd, 4.5, 2.0)[0].speed == 0.0
    # Along the edge, not closer to it.
    assert fence(fwd, 3.7, 2.0, yaw=math.pi / 2)[1] == ""


def test_geofence_in_the_gate_needs_fresh_odometry():
    g = gate(geofence=(0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 0.0, 4.0), max_linear_acceleration=100.0)
    _, v = command(g, 0.0, vx=0.3, wz=0.2)
    assert v.velocity.vx == 0.0 and v.velocity.wz != 0.0  # no odometry: turn only
    assert any("no odometry" in n.reason for n in v.interventions)
    assert g.on_odom(2.0, 2.0, 0.0, 0.05, frame_id="odom").accepted
    _, v = command(g, 0.05, vx=0.3)
    assert v.velocity.vx > 0.0
    assert g.on_odom(3.8, 2.0, 0.0, 0.1, frame_id="odom").accepted
    _, v = command(g, 0.1, vx=0.3)
    assert v.velocity.vx == 0.0 and "geofence" in {n.kind for n in v.interventions}
    assert not g.on_odom(float("nan"), 2.0, 0.0, 0.15).accepted
    assert not g.on_odom(1.0, 2.0, 0.0, 0.15, frame_id="map").accepted
    assert g.odom_fault(0.7).startswith("odometry stale")


def test_scan_points_are_numpy_and_finite():
    pts = ScanPoints.from_scan([1.0] * 10, 0.0, 0.1, 0.0, 5.0)
    assert isinstance(pts.x, np.ndarray) and np.all(np.isfinite(pts.r))
    with pytest.raises(ScanError):
        ScanPoints.from_xy([(float("nan"), 0.0)])


def test_slowdown_in_the_gate_holds_the_scaled_speed_and_cuts_at_once():
    """The zone caps the output instead of scaling the fed-back state again each step (which
    would shrink the speed toward zero), and the cut to the slower speed is immediate."""
    g = scan_gate(max_linear_acceleration=0.8, scan_timeout=10.0, time_before_collision=0.0)
    feed_scan(g, 0.0)
    command(g, 0.0, vx=0.4)
    assert run(g, 0.05, 1.0)[-1][1].velocity.vx == pytest.approx(0.4)
    feed_scan(g, 1.0, distance=0.5)  # 0.3 m from the edge: slowdown x0.5
    trace = run(g, 1.0, 3.0)
    assert trace[0][1].velocity.vx == pytest.approx(0.2)
    assert all(v.velocity.vx == pytest.approx(0.2) for _, v in trace)
    feed_scan(g, 3.0)  # clear again: ramps back up, at the acceleration limit
    trace = run(g, 3.05, 4.0)
    assert trace[0][1].velocity.vx == pytest.approx(0.2 + 0.8 * 0.05)
    assert trace[-1][1].velocity.vx == pytest.approx(0.4)


def test_reversing_while_moving_toward_an_obstacle_stops_the_forward_motion_first():
    g = scan_gate(max_linear_deceleration=0.5, scan_timeout=10.0, time_before_collision=0.0)
    feed_scan(g, 0.0)
    command(g, 0.0, vx=0.4)
    run(g, 0.05, 1.0)
    feed_scan(g, 1.0, distance=0.28, ahead_only=True)  # inside the stop zone ahead
    _, v = command(g, 1.0, vx=-0.2)  # the operator reverses: the ramp would still go forward
    assert v.velocity.vx == 0.0
    trace = run(g, 1.05, 1.5)
    assert all(t.velocity.vx <= 0.0 for _, t in trace)
    assert trace[-1][1].velocity.vx == pytest.approx(-0.2)


# -- debounce (collision_monitor polygons_test: trigger/release counts) ------------------------


def test_polygons_test_debounce_of_trigger_and_release_counts():
    """A zone acts after `zone_trigger_count` consecutive scans inside and keeps acting until
    `zone_release_count` consecutive scans are clear."""
    g = scan_gate(
        zone_trigger_count=3, zone_release_count=2, time_before_collision=0.0, scan_timeout=10.0
    )
    feed_scan(g, 0.0)
    command(g, 0.0, vx=0.3)
    assert run(g, 0.05, 1.0)[-1][1].velocity.vx == pytest.approx(0.3)
    # One spurious scan inside the stop zone, then clear: never acts.
    feed_scan(g, 1.0, distance=0.25, ahead_only=True)
    assert g.step(1.0).velocity.vx == pytest.approx(0.3)
    feed_scan(g, 1.05)
    assert g.step(1.05).velocity.vx == pytest.approx(0.3)
    # Three in a row: the third triggers the stop.
    for k, t in enumerate((1.1, 1.15, 1.2)):
        feed_scan(g, t, distance=0.25, ahead_only=True)
        v = g.step(t)
        assert (v.velocity.vx == 0.0) == (k == 2), (t, v.velocity)
    # Release: the first clear scan keeps the stop (held points), the second releases it.
    feed_scan(g, 1.25)
    assert g.step(1.25).velocity.vx == 0.0
    feed_scan(g, 1.3)
    assert g.step(1.3).velocity.vx > 0.0


def test_debounce_1_1_is_the_default_and_acts_on_the_first_scan():
    g = scan_gate(time_before_collision=0.0)
    assert (g.config.zone_trigger_count, g.config.zone_release_count) == (1, 1)
    feed_scan(g, 0.0, distance=0.25, ahead_only=True)
    _, v = command(g, 0.0, vx=0.3)
    assert v.velocity.vx == 0.0
    feed_scan(g, 0.05)
    assert g.step(0.05).velocity.vx > 0.0


def test_debounce_never_delays_a_point_touching_the_footprint():
    g = scan_gate(zone_trigger_count=5, time_before_collision=0.0)
    feed_scan(g, 0.0, distance=0.15, ahead_only=True)  # inside the 0.2 m radius
    _, v = command(g, 0.0, vx=0.3)
    assert v.velocity.vx == 0.0
    assert ("zone", "stop") in {(n.kind, n.rule) for n in v.interventions}


def test_debounce_applies_to_slowdown_too():
    g = scan_gate(zone_trigger_count=2, time_before_collision=0.0, scan_timeout=10.0)
    feed_scan(g, 0.0)
    command(g, 0.0, vx=0.4)
    run(g, 0.05, 1.0)
    feed_scan(g, 1.0, distance=0.5)  # 0.3 m from the edge: slowdown zone
    assert g.step(1.0).velocity.vx == pytest.approx(0.4)
    feed_scan(g, 1.05, distance=0.5)
    assert g.step(1.05).velocity.vx == pytest.approx(0.2)


# -- velocity-dependent zones (testVelocityPolygonStop, velocity_polygons_test) ----------------

VELOCITY_ZONES = {
    "names": ("forward", "backward"),
    "linear_min": (0.0, -0.5),
    "linear_max": (0.5, 0.0),
    "angular_min": (-1.5, -1.5),
    "angular_max": (1.5, 1.5),
    "stop_distance": (0.5, 0.1),
    "slowdown_distance": (0.0, 0.0),
    "limit_distance": (0.0, 0.0),
}


def velocity_gate(**kw):
    return scan_gate(
        time_before_collision=0.0, slowdown_distance=0.0, velocity_zones=VELOCITY_ZONES, **kw
    )


def test_testVelocityPolygonStop_forward_and_backward_zones():  # noqa: N802 - nav2's name
    """The zone is chosen by the current command: forward (0..0.5 m/s) stops at 0.5 m, backward
    (-0.5..0) at 0.1 m. Without velocity zones the static 0.1 m would let both through."""
    g = velocity_gate()
    feed_scan(g, 0.0, distance=0.5, ahead_only=True)  # 0.3 m ahead of the edge
    _, v = command(g, 0.0, vx=0.3)
    assert v.velocity.vx == 0.0
    stop = next(n for n in v.interventions if n.rule == "stop")
    assert "[forward]" in stop.reason
    assert g.state(0.0)["limits"]["velocity_zone"] == "forward"
    static = scan_gate(time_before_collision=0.0, slowdown_distance=0.0)
    feed_scan(static, 0.0, distance=0.5, ahead_only=True)
    assert command(static, 0.0, vx=0.3)[1].velocity.vx > 0.0
    # The same obstacle 0.3 m behind, driving backward: the backward zone (0.1 m) lets it pass.
    g = velocity_gate()
    ranges = [0.5 if i < 10 or i > 350 else float("inf") for i in range(360)]
    g.on_scan(ranges, -math.pi, 2 * math.pi / 360, 0.05, 20.0, 0.0)
    _, v = command(g, 0.0, vx=-0.3)
    assert v.velocity.vx < 0.0
    assert g.state(0.0)["limits"]["velocity_zone"] == "backward"


def test_velocity_polygons_test_switching_and_out_of_range():
    g = velocity_gate(max_linear_velocity=1.0, max_linear_deceleration=100.0)
    feed_scan(g, 0.0, distance=0.5, ahead_only=True)
    _, v = command(g, 0.0, vx=-0.3)  # backward: the obstacle is ahead, nothing to stop
    assert v.velocity.vx < 0.0
    assert g.state(0.0)["limits"]["velocity_zone"] == "backward"
    feed_scan(g, 0.05, distance=0.5, ahead_only=True)
    _, v = command(g, 0.05, vx=0.3)  # switching to forward selects the forward zone
    assert v.velocity.vx == 0.0
    # Out of every range (0.8 m/s > 0.5): the static distances apply (stop at 0.1 m).
    g = velocity_gate(max_linear_velocity=1.0, max_linear_acceleration=100.0)
    feed_scan(g, 0.0, distance=0.5, ahead_only=True)
    _, v = command(g, 0.0, vx=0.8)
    assert v.velocity.vx == pytest.approx(0.8)
    feed_scan(g, 0.05, distance=0.28, ahead_only=True)  # 0.08 m: inside the static stop zone
    assert command(g, 0.05, vx=0.8)[1].velocity.vx == 0.0


def test_select_zone_first_match_and_fallback():
    from synth_agent.core.safety import VelocityZonesConfig
    from synth_agent.core.safety_zones import select_zone

    base = zones()
    vz = VelocityZonesConfig(**VELOCITY_ZONES).as_zones()
    cfg, name = select_zone(Velocity(0.0, 0.0, 0.0), base, vz)
    assert name == "forward" and cfg.stop_distance == 0.5  # 0 is in both: the first wins
    cfg, name = select_zone(Velocity(-0.2, 0.0, 0.0), base, vz)
    assert name == "backward" and cfg.stop_distance == 0.1
    cfg, name = select_zone(Velocity(0.2, 0.0, 2.0), base, vz)
    assert name == "" and cfg == base


# -- enable/disable (testToggleService, the `enabled` parameter) -------------------------------


def test_testToggleService_disabled_zones_do_not_act_but_the_rest_does():  # noqa: N802
    g = scan_gate(time_before_collision=0.0, max_linear_acceleration=0.8)
    feed_scan(g, 0.0, distance=0.25, ahead_only=True)  # inside the stop zone
    assert command(g, 0.0, vx=0.3)[1].velocity.vx == 0.0
    d = g.set_zones_enabled(False, 0.05)
    assert d.accepted and "disabled" in d.reason
    _, v = command(g, 0.05, vx=0.3)
    assert v.velocity.vx == pytest.approx(0.8 * 0.05)  # zone off, the ramp still on
    _, v = command(g, 0.1, vx=5.0)
    assert v.velocity.vx <= 0.5  # the velocity limit stays on
    assert not g.on_command("agent", (math.nan, 0, 0), (0, 0, 0), 0.15).accepted  # hygiene on
    v = g.step(2.0)  # the scan is stale: no fail-safe stop while the zones are off ...
    assert not any(n.kind == "fail_safe" for n in v.interventions)
    level, message, _ = g.diagnostics(2.0)
    assert level == 1 and message.endswith("scan zones disabled")
    g.set_estop(True, 2.1)  # ... but the e-stop always acts
    assert g.step(2.1).velocity.is_zero() and g.latched
    g.set_estop(False, 2.2)
    assert g.reset(2.2).accepted
    assert g.set_zones_enabled(True, 2.3).accepted
    feed_scan(g, 2.3, distance=0.25, ahead_only=True)
    assert command(g, 2.3, vx=0.3)[1].velocity.vx == 0.0  # the zone acts again
    toggles = [e for e in g.audit.tail if e["kind"] == "toggle"]
    assert [e["enabled"] for e in toggles] == [False, True]
    assert g.state(2.3)["zones_enabled"] is True


def test_enabled_parameter_sets_and_toggles_the_zones():
    import dataclasses

    g = scan_gate(zones_enabled=False, time_before_collision=0.0)
    assert not g.zones_enabled and g.scan_fault(0.0) == ""
    _, v = command(g, 0.0, vx=0.3)  # no scan at all, zones off: drives
    assert v.velocity.vx > 0.0
    g.reconfigure(dataclasses.replace(g.config, zones_enabled=True), 0.05)
    assert g.zones_enabled
    assert command(g, 0.05, vx=0.3)[1].velocity.is_zero()  # no scan: fail safe again
    assert any(e["kind"] == "toggle" and "parameter" in e["reason"] for e in g.audit.tail)


def test_every_toggle_is_audited_even_without_a_change():
    g = scan_gate()
    g.set_zones_enabled(True, 0.0)
    g.set_zones_enabled(True, 0.1)
    reasons = [e["reason"] for e in g.audit.tail if e["kind"] == "toggle"]
    assert len(reasons) == 2 and all("unchanged" in r for r in reasons)
