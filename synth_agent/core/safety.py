"""The safety gate's logic: the last word on every actuator command, in one readable place.

The node (`synth_agent.nodes.safety_gate_node`) only converts messages and calls this class; all
decisions are made here from plain values and an explicit `now` (seconds, ROS time), so every
rule is tested directly and replayably, and simulated time works.

Pipeline for the base, run on every accepted command and on the output timer:
  1. arbitration (twist_mux): the highest-priority source with a fresh command wins, sources
     below an engaged lock's priority are masked (`locks.*`, `safety_limits`);
  2. watchdog: no fresh command for `command_timeout` → the target becomes zero;
  3. velocity limits, then acceleration/deceleration per step (velocity_smoother);
  4. zones from the scan (collision_monitor), with optional trigger/release debounce and
     velocity-dependent distances (`safety_zones`); a stale or missing scan → stop (fail safe);
  5. geofence from odometry (stale odometry → no linear motion);
  6. e-stop: latched zero that skips the ramp and everything above;
  7. deadband (velocity_smoother): axes below `deadband_velocity` are published as 0.
Steps 4-6 act immediately on the smoothed command (a stop is never softened), and the result is
fed back as the smoother's state, so motion resumes from what was actually sent (before the
deadband, as nav2 does, so a deadband above one step's change cannot hold the robot at zero).
The output is published while non-zero and for `stop_publish_timeout` after it became zero,
then the gate goes quiet (collision_monitor's "cease publishing zero").

What can be switched off at run time: only step 4 (`zones_enabled`, or the SetBool service
`safety/zones_enable` in the node), like collision_monitor's toggle. The e-stop, limits,
watchdog, arbitration and locks, geofence, arm/gripper checks and input hygiene have no off
switch. Every toggle is audited, shown in `safety/state` and keeps /diagnostics at WARN.

Every optional feature defaults to off, so the defaults behave as the gate did before them:
debounce 1/1, no velocity zones, deadband 0, zones enabled, no locks.

Every change the gate makes is an `Intervention` (kind, rule, reason). Continuous ones are
reported in `state()` and in diagnostics while they last and written to the audit log when they
start and end; rejections of bad input are counted, logged and rate-limited in the audit log.

Parameters: a `SafetyGateConfig` dataclass (its fields are the node's ROS parameters and mirror
`config/safety_gate.yaml`). ROS parameters cannot hold a map of structs, so command sources are
parallel lists, one entry per source at the same index:
    sources.names:      [teleop, agent]
    sources.topics:     [teleop/cmd_vel, agent/cmd_vel]
    sources.priorities: [100, 10]        (higher wins)
    sources.timeouts:   [0.5, 0.5]       (s; 0 = never expires, as in twist_mux)
Arm joint limits, locks (`locks.names/topics/priorities/timeouts`) and velocity zones
(`velocity_zones.names/linear_min/linear_max/angular_min/angular_max/stop_distance/
slowdown_distance/limit_distance`) are parallel lists too (`arm.joint_names`,
`arm.position_min`, `arm.position_max`, `arm.max_velocity`). An empty list switches a
feature off: `geofence: []` means no fence, `arm.joint_names: []` means no arm (every non-empty
trajectory is rejected), `locks.names: []` no locks, `velocity_zones.names: []` static zones.
The ROS params-file parser leaves `[]` unset rather than failing; the node then reads the
declared-but-unset parameter as the empty list, so `[]` in YAML and on the command line work.

SAFETY_SCENARIOS.md coverage. Files: limits, zones, mux, gate, arm, config =
test/core/test_safety_<name>.py; it = test/integration/test_safety_gate_node.py; prop =
test/property/test_safety_properties.py (all four invariants, every feature drawn).

  nav2_velocity_smoother
  openLoopTestTimer(6dof)        limits: test_open_loop_timer_one_command_then_timeout,
                                 test_open_loop_6dof_limits,
                                 test_openLoopTestTimer_with_deadband_and_scale_velocities,
                                 test_openLoopTestTimer6dof_with_deadband_per_axis
  approxClosedLoopTestTimer      limits: test_open_loop_timer_one_command_then_timeout (step <
                                 0.126); closed-loop feedback itself: n/a, the gate limits what it
                                 sends (odometry feeds only the geofence)
  testfindEtaConstraint          limits: test_find_eta_constraint
  testapplyConstraints           limits: test_apply_constraints
  testapplyConstraints*To* (8)   limits: test_ramps_step_by_step (9 cases)
  testCommandCallback            limits: test_command_callback_accepts_large_but_finite_values
  testClosedLoopSub              n/a (no feedback-type switch, see above)
  testInvalidParams*, ...Size    config: test_bad_values_are_refused_with_a_clear_message
  testDynamicParameter           it: test_run_time_parameter_changes_are_validated; gate:
                                 test_reconfigure_applies_new_limits_and_keeps_commands
  deadband, scale_velocities     limits:
                                 test_small_commands_below_the_deadband_publish_zero_then_go_quiet,
                                 test_scale_velocities_keeps_curvature_through_the_gate,
                                 test_clamp_velocity_scales_all_axes_or_each
  nav2_collision_monitor
  testProcessStopSlowdownLimit   zones: test_stop_slowdown_limit
  testProcessApproach(Rotation)  zones: test_approach_scales_by_time_to_collision,
                                 test_approach_along_an_arc (circle footprint: turning in place
                                 never closes in, so pure rotation is not limited)
  testCrossOver                  zones: test_cross_over_the_safer_mode_wins
  testSourceTimeout(Override)    zones: test_missing_scan_stops_the_robot_fail_safe,
                                 test_scan_timeout_zero_disables_the_staleness_check; it:
                                 test_obstacle_stop_from_a_real_laserscan
  testCeasePublishZeroVel        zones: test_obstacle_stop_and_cease_publishing_zero
  testToggleService              zones:
                                 test_testToggleService_disabled_zones_do_not_act_but_the_rest_does,
                                 test_enabled_parameter_sets_and_toggles_the_zones,
                                 test_every_toggle_is_audited_even_without_a_change; it:
                                 test_zones_enable_service_toggles_only_the_scan_zones
  testPolygon/SourceNotEnabled   zones: test_rules_with_distance_zero_are_off (distance 0 = rule
                                 off; use_scan false = no source)
  testProcessNonActive           n/a (not a lifecycle node); an idle gate publishes nothing: mux:
                                 test_empty_no_input_no_output
  testIncorrect*Type, *NotSet    config: test_bad_values_are_refused_with_a_clear_message (one zone
                                 and one source type here)
  test*PointsMarkers             n/a (no markers; the acting rule and distance are in safety/state,
                                 /diagnostics, audit)
  testVelocityPolygonStop        zones: test_testVelocityPolygonStop_forward_and_backward_zones
                                 (GlobalHeight: n/a, 2-D scan)
  testSourceAssociatedToPolygon  n/a (one scan source feeds every rule)
  testPolygonSource              n/a (LaserScan only; SafetyGate.on_points takes any obstacle
                                 points)
  polygons_test                  config (parameters); zones: test_stop_slowdown_limit (edge counts
                                 as inside), test_approach_scales_by_time_to_collision (collision
                                 time),
                                 test_scan_conversion_drops_no_returns_and_rejects_malformed_scans
                                 (invalid points),
                                 test_polygons_test_debounce_of_trigger_and_release_counts,
                                 test_debounce_1_1_is_the_default_and_acts_on_the_first_scan,
                                 test_debounce_never_delays_a_point_touching_the_footprint,
                                 test_debounce_applies_to_slowdown_too
  velocity_polygons_test         zones: test_velocity_polygons_test_switching_and_out_of_range,
                                 test_select_zone_first_match_and_fallback (holonomic direction
                                 angles: n/a, ranges are on vx and wz)
  sources_test                   zones: test_missing_scan_stops_the_robot_fail_safe (outdated),
                                 test_rejected_scan_keeps_ageing_the_last_good_one (wrong frame),
                                 test_scan_conversion_drops_no_returns_and_rejects_malformed_scans
                                 (range validation); gate: test_clock_jumping_back_forgets_inputs
                                 (time shift); pointcloud, costmap: n/a
  exclusion_zone_test            n/a: TF-based, and the gate uses no TF (the scanner pose is the
                                 fixed scan_pose)
  kinematics_test                zones: test_approach_along_an_arc (projectState),
                                 test_scan_conversion_drops_no_returns_and_rejects_malformed_scans
                                 (scan_pose transform)
  collision_detector_node_test   n/a (no detector-only node)
  twist_mux
  test_empty                     mux: test_empty_no_input_no_output
  test_basic                     mux: test_basic_relays_unchanged
  priority (commented out)       mux: test_priority_override_and_timeout_fall_back,
                                 test_lower_priority_never_overrides_a_fresh_higher_one,
                                 test_equal_priorities_go_to_the_most_recent_command; it:
                                 test_priority_override_and_fall_back
  locks (no running test)        mux: test_system_config_lock_2_true_masks_lower_priorities_only,
                                 test_system_config_lock_timeout_zero_never_expires,
                                 test_system_config_lock_1_engages_when_silent_past_its_timeout,
                                 test_a_lock_brings_the_robot_to_rest_at_the_deceleration_limit; it:
                                 test_lock_topic_blocks_lower_priority_sources
  timeouts (TODO there)          mux: test_timeout_zero_never_expires_but_the_watchdog_still_applies
  test_joystick_relay            n/a (no joystick relay; teleop is one more source)
  ros2_control joint_limits
  JointSaturationLimiter         arm (rejects whole instead of saturating):
                                 test_within_limits_passes_unchanged,
                                 test_violations_reject_the_whole_trajectory_with_a_reason,
                                 test_at_the_limit_is_allowed,
                                 test_no_arm_configured_rejects_any_motion; acceleration, jerk,
                                 effort: n/a (limits are position and velocity)
  JointRange/SoftLimiter         arm: test_at_the_limit_is_allowed,
                                 test_violations_reject_the_whole_trajectory_with_a_reason; moving
                                 back inward from outside: n/a (commanded positions are checked, not
                                 joint state)
  NaN must not corrupt state     arm: test_a_rejected_trajectory_leaves_nothing_behind; gate:
                                 test_bad_commands_are_rejected_counted_and_do_not_poison_state;
                                 prop: every property draws NaN and inf
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from synth_agent.core.geometry import yaw_from_quaternion  # noqa: F401 - re-exported
from synth_agent.core.safety_arm import JointLimit, Trajectory, check_gripper, check_trajectory
from synth_agent.core.safety_audit import AuditLog
from synth_agent.core.safety_limits import (
    ZERO,
    Limits,
    Lock,
    Source,
    SourceMux,
    Velocity,
    apply_deadband,
    clamp_velocity,
    smooth,
)
from synth_agent.core.safety_zones import (
    Pose2D,
    ScanError,
    ScanPoints,
    VelocityZone,
    ZoneConfig,
    ZoneDebounce,
    apply_geofence,
    apply_zones,
    polygon_area,
    polygon_from_flat,
    select_zone,
)

# ---------------------------------------------------------------------------------------------
# Configuration


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclass(frozen=True)
class SourcesConfig:
    """Command sources as parallel lists (see the module docstring)."""

    names: tuple[str, ...] = ("teleop", "agent")
    topics: tuple[str, ...] = ("teleop/cmd_vel", "agent/cmd_vel")
    priorities: tuple[int, ...] = (100, 10)
    timeouts: tuple[float, ...] = (0.5, 0.5)

    def __post_init__(self) -> None:
        n = len(self.names)
        _check(n >= 1, "sources.names: at least one command source is needed")
        _check(
            len(self.topics) == n and len(self.priorities) == n and len(self.timeouts) == n,
            f"sources: names, topics, priorities and timeouts must have the same length "
            f"(got {n}, {len(self.topics)}, {len(self.priorities)}, {len(self.timeouts)})",
        )
        _check(all(self.names) and len(set(self.names)) == n, "sources.names: empty or repeated")
        _check(all(self.topics) and len(set(self.topics)) == n, "sources.topics: empty or repeated")
        _check(all(t >= 0.0 for t in self.timeouts), "sources.timeouts: must be >= 0 (0 = never)")

    def as_sources(self) -> list[Source]:
        return [
            Source(n, int(p), float(t))
            for n, p, t in zip(self.names, self.priorities, self.timeouts, strict=True)
        ]


@dataclass(frozen=True)
class ArmConfig:
    """Joint limits per arm joint as parallel lists; no joints = no arm."""

    joint_names: tuple[str, ...] = ()
    position_min: tuple[float, ...] = ()
    position_max: tuple[float, ...] = ()
    max_velocity: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        _check(
            len(self.position_min) == n
            and len(self.position_max) == n
            and len(self.max_velocity) == n,
            "arm: joint_names, position_min, position_max and max_velocity must have the same "
            f"length (got {n}, {len(self.position_min)}, {len(self.position_max)}, "
            f"{len(self.max_velocity)})",
        )
        _check(
            all(self.joint_names) and len(set(self.joint_names)) == n,
            "arm.joint_names: empty or repeated",
        )
        for name, lo, hi, v in zip(
            self.joint_names, self.position_min, self.position_max, self.max_velocity, strict=True
        ):
            _check(lo < hi, f"arm: {name} position_min {lo} must be below position_max {hi}")
            _check(v > 0.0, f"arm: {name} max_velocity must be > 0, got {v}")

    def as_limits(self) -> list[JointLimit]:
        return [
            JointLimit(n, lo, hi, v)
            for n, lo, hi, v in zip(
                self.joint_names,
                self.position_min,
                self.position_max,
                self.max_velocity,
                strict=True,
            )
        ]


@dataclass(frozen=True)
class LocksConfig:
    """twist_mux locks as parallel lists (std_msgs/Bool topics); none by default."""

    names: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    timeouts: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.names)
        _check(
            len(self.topics) == n and len(self.priorities) == n and len(self.timeouts) == n,
            f"locks: names, topics, priorities and timeouts must have the same length "
            f"(got {n}, {len(self.topics)}, {len(self.priorities)}, {len(self.timeouts)})",
        )
        _check(all(self.names) and len(set(self.names)) == n, "locks.names: empty or repeated")
        _check(all(self.topics) and len(set(self.topics)) == n, "locks.topics: empty or repeated")
        _check(
            all(math.isfinite(t) and t >= 0.0 for t in self.timeouts),
            "locks.timeouts: must be >= 0 (0 = never expires)",
        )

    def as_locks(self) -> list[Lock]:
        return [
            Lock(n, int(p), float(t))
            for n, p, t in zip(self.names, self.priorities, self.timeouts, strict=True)
        ]


@dataclass(frozen=True)
class VelocityZonesConfig:
    """Velocity-dependent zone distances as parallel lists (collision_monitor's
    VelocityPolygon); the first range containing (vx, wz) wins; none by default."""

    names: tuple[str, ...] = ()
    linear_min: tuple[float, ...] = ()
    linear_max: tuple[float, ...] = ()
    angular_min: tuple[float, ...] = ()
    angular_max: tuple[float, ...] = ()
    stop_distance: tuple[float, ...] = ()
    slowdown_distance: tuple[float, ...] = ()
    limit_distance: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.names)
        lists = [getattr(self, f.name) for f in dataclasses.fields(self)]
        _check(
            all(len(x) == n for x in lists),
            "velocity_zones: every list must have one entry per name "
            f"(got {[len(x) for x in lists]})",
        )
        _check(
            all(self.names) and len(set(self.names)) == n, "velocity_zones.names: empty or repeated"
        )
        for z in self.as_zones():
            values = dataclasses.astuple(z)[1:]
            _check(all(math.isfinite(v) for v in values), f"velocity_zones: {z.name} not finite")
            _check(
                z.linear_min <= z.linear_max and z.angular_min <= z.angular_max,
                f"velocity_zones: {z.name} has a min above its max",
            )
            _check(
                min(z.stop_distance, z.slowdown_distance, z.limit_distance) >= 0.0,
                f"velocity_zones: {z.name} distances must be >= 0",
            )
            _check(
                z.slowdown_distance == 0.0 or z.slowdown_distance >= z.stop_distance,
                f"velocity_zones: {z.name} slowdown_distance must be >= stop_distance (or 0)",
            )

    def as_zones(self) -> list[VelocityZone]:
        return [
            VelocityZone(*row)
            for row in zip(
                self.names,
                self.linear_min,
                self.linear_max,
                self.angular_min,
                self.angular_max,
                self.stop_distance,
                self.slowdown_distance,
                self.limit_distance,
                strict=True,
            )
        ]


@dataclass(frozen=True)
class SafetyGateConfig:
    """Parameters of the safety gate, SI units; defaults suit a small indoor base."""

    # Command inputs.
    use_stamped: bool = False  # TwistStamped instead of Twist, in and out
    base_frame: str = "base_link"  # required frame of stamped commands ("" = any)
    max_input_magnitude: float = 100.0  # |component| above this is absurd: rejected, not clamped
    # Velocity and acceleration limits (velocity_smoother).
    max_linear_velocity: float = 0.5
    max_angular_velocity: float = 1.5
    max_linear_acceleration: float = 0.8
    max_linear_deceleration: float = 4.0
    max_angular_acceleration: float = 3.0
    max_angular_deceleration: float = 4.0
    holonomic: bool = False  # pass linear.y (limited like linear.x); else it is zeroed
    scale_velocities: bool = True  # slow all axes together, keeping the path's curvature
    deadband_velocity: tuple[float, ...] = (0.0, 0.0, 0.0)  # vx, vy, wz below → 0 (published)
    # Watchdog and output.
    command_timeout: float = 0.5
    output_rate: float = 20.0
    stop_publish_timeout: float = 0.5  # keep publishing zero this long after stopping
    # Zones (collision_monitor), distances from the robot's edge; 0 = rule off.
    robot_radius: float = 0.2
    use_scan: bool = True  # a configured scan that is missing or stale stops the robot
    scan_timeout: float = 0.5  # 0 = never stale
    scan_frame: str = ""  # required frame_id of the scan ("" = any)
    scan_pose: tuple[float, ...] = (-0.05, 0.0, 0.0)  # scanner x, y, yaw on the base
    stop_distance: float = 0.1
    slowdown_distance: float = 0.4
    slowdown_ratio: float = 0.5
    limit_distance: float = 0.0
    limit_linear_velocity: float = 0.2
    limit_angular_velocity: float = 0.6
    time_before_collision: float = 1.0  # approach rule; 0 = off
    simulation_time_step: float = 0.05
    zones_enabled: bool = True  # initial state of the scan zones (toggle: safety/zones_enable)
    zone_trigger_count: int = 1  # consecutive scans inside before a zone acts
    zone_release_count: int = 1  # consecutive scans clear before it stops acting
    # Geofence: x1, y1, x2, y2, ... in the odom frame; empty = off.
    geofence: tuple[float, ...] = ()
    odom_frame: str = "odom"  # required frame_id of odometry ("" = any)
    odom_timeout: float = 0.5
    # Gripper (0 open ... 1 closed) and arm.
    gripper_min: float = 0.0
    gripper_max: float = 1.0
    # Reporting.
    audit_log: str = ""  # "" = $ROS_HOME/synth_agent/safety_audit.jsonl
    diagnostics_period: float = 1.0
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    locks: LocksConfig = field(default_factory=LocksConfig)
    velocity_zones: VelocityZonesConfig = field(default_factory=VelocityZonesConfig)
    arm: ArmConfig = field(default_factory=ArmConfig)

    def __post_init__(self) -> None:
        for name in (
            "max_linear_velocity",
            "max_angular_velocity",
            "max_linear_acceleration",
            "max_linear_deceleration",
            "max_angular_acceleration",
            "max_angular_deceleration",
            "command_timeout",
            "output_rate",
            "simulation_time_step",
            "limit_linear_velocity",
            "limit_angular_velocity",
            "diagnostics_period",
            "odom_timeout",
        ):
            value = getattr(self, name)
            _check(math.isfinite(value) and value > 0.0, f"{name} must be > 0, got {value}")
        for name in (
            "stop_publish_timeout",
            "robot_radius",
            "scan_timeout",
            "stop_distance",
            "slowdown_distance",
            "limit_distance",
            "time_before_collision",
        ):
            value = getattr(self, name)
            _check(math.isfinite(value) and value >= 0.0, f"{name} must be >= 0, got {value}")
        _check(
            self.output_rate <= 1000.0, f"output_rate must be <= 1000 Hz, got {self.output_rate}"
        )
        _check(
            0.0 <= self.slowdown_ratio <= 1.0,
            f"slowdown_ratio must be in [0, 1], got {self.slowdown_ratio}",
        )
        _check(
            self.max_input_magnitude > max(self.max_linear_velocity, self.max_angular_velocity),
            "max_input_magnitude must be above the velocity limits "
            f"(got {self.max_input_magnitude})",
        )
        _check(
            self.slowdown_distance == 0.0 or self.slowdown_distance >= self.stop_distance,
            f"slowdown_distance {self.slowdown_distance} must be >= stop_distance "
            f"{self.stop_distance} (or 0 = off)",
        )
        _check(len(self.scan_pose) == 3, f"scan_pose must be [x, y, yaw], got {self.scan_pose}")
        _check(all(math.isfinite(v) for v in self.scan_pose), "scan_pose must be finite")
        _check(
            len(self.geofence) == 0 or (len(self.geofence) >= 6 and len(self.geofence) % 2 == 0),
            "geofence must be empty (off) or x1, y1, x2, y2, ... with at least 3 vertices, "
            f"got {len(self.geofence)} numbers",
        )
        if self.geofence:
            _check(all(math.isfinite(v) for v in self.geofence), "geofence must be finite")
            _check(
                abs(polygon_area(polygon_from_flat(self.geofence))) > 1e-9,
                "geofence polygon has no area",
            )
        _check(
            self.gripper_min < self.gripper_max,
            f"gripper_min {self.gripper_min} must be below gripper_max {self.gripper_max}",
        )
        _check(
            len(self.deadband_velocity) == 3,
            f"deadband_velocity must be [vx, vy, wz], got {self.deadband_velocity}",
        )
        _check(
            all(math.isfinite(d) and d >= 0.0 for d in self.deadband_velocity),
            "deadband_velocity must be >= 0",
        )
        dx, dy, dw = self.deadband_velocity
        _check(
            dx < self.max_linear_velocity
            and dy < self.max_linear_velocity
            and dw < self.max_angular_velocity,
            "deadband_velocity must be below the velocity limits (it would zero every command)",
        )
        _check(
            self.zone_trigger_count >= 1 and self.zone_release_count >= 1,
            "zone_trigger_count and zone_release_count must be >= 1 "
            f"(got {self.zone_trigger_count}, {self.zone_release_count})",
        )
        _check(
            not set(self.locks.topics) & set(self.sources.topics),
            "locks.topics must differ from sources.topics",
        )

    @property
    def period(self) -> float:
        return 1.0 / self.output_rate

    def limits(self) -> Limits:
        return Limits(
            self.max_linear_velocity,
            self.max_angular_velocity,
            self.max_linear_acceleration,
            self.max_linear_deceleration,
            self.max_angular_acceleration,
            self.max_angular_deceleration,
            self.holonomic,
            self.scale_velocities,
        )

    def zones(self) -> ZoneConfig:
        return ZoneConfig(
            self.robot_radius,
            self.stop_distance,
            self.slowdown_distance,
            self.slowdown_ratio,
            self.limit_distance,
            self.limit_linear_velocity,
            self.limit_angular_velocity,
            self.time_before_collision,
            self.simulation_time_step,
        )

    def debounce(self) -> ZoneDebounce:
        """The debounce, each rule's zone as far as any configured distance reaches."""
        zones = self.velocity_zones.as_zones()
        off = -math.inf

        def reach(static: float, per_zone: list[float]) -> float:
            d = max([static, *per_zone])
            return d if d > 0.0 else off

        return ZoneDebounce(
            self.zone_trigger_count,
            self.zone_release_count,
            self.robot_radius,
            {
                "stop": max([self.stop_distance, *(z.stop_distance for z in zones)]),
                "slowdown": reach(self.slowdown_distance, [z.slowdown_distance for z in zones]),
                "limit": reach(self.limit_distance, [z.limit_distance for z in zones]),
                "approach": self.max_linear_velocity * self.time_before_collision
                if self.time_before_collision > 0.0
                else off,
            },
        )


# ---------------------------------------------------------------------------------------------
# Results


class Intervention(NamedTuple):
    """One change the gate made: kind (clamp, zone, geofence, timeout, estop, fail_safe,
    rejection), a stable rule name, and a sentence with the numbers."""

    kind: str
    rule: str
    reason: str


class Decision(NamedTuple):
    """The answer to one input: accepted, or rejected with the reason."""

    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """The base command after the gate, whether to publish it, and why it is what it is."""

    publish: bool
    velocity: Velocity
    mode: str  # idle | driving | stopping | estop
    source: str | None
    interventions: tuple[Intervention, ...] = ()


# ---------------------------------------------------------------------------------------------
# The gate

CLOCK_JUMP_TOLERANCE = 1e-3  # s; ROS time going back by more than this resets the gate's inputs


class SafetyGate:
    """All of the gate's state and rules. Not thread-safe: call from one thread (the node uses
    a single-threaded executor, so its callbacks never overlap)."""

    def __init__(self, config: SafetyGateConfig, audit: AuditLog | None = None) -> None:
        self.audit = audit if audit is not None else AuditLog(None)
        self.config = config
        self._apply_config(config)
        self.mux = SourceMux(config.sources.as_sources(), config.locks.as_locks())
        self.zones_enabled = config.zones_enabled
        self._engaged: tuple[str, ...] = ()
        self._velocity_zone = ""
        self._current = ZERO
        self._zero_since: float | None = -math.inf  # silent until the first non-zero output
        self._last_step: float | None = None
        self._now: float | None = None
        self._scan: ScanPoints | None = None
        self._scan_time = -math.inf
        self._pose: Pose2D | None = None
        self._pose_time = -math.inf
        self.latched = False
        self.estop_topic = False
        self.estop_service = False
        self._estop_reason = ""
        self._source: str | None = None
        self._active: dict[str, Intervention] = {}
        self._last_verdict: Verdict | None = None
        self.last_intervention: dict[str, Any] | None = None
        self.rejected: dict[str, int] = {}
        self._last_rejection = -math.inf
        self._last_rejection_reason = ""

    @property
    def output(self) -> Velocity:
        """The last base command computed (the smoother's state)."""
        return self._current

    # -- configuration -------------------------------------------------------------------------

    def _apply_config(self, config: SafetyGateConfig) -> None:
        self.limits = config.limits()
        self.zone_config = config.zones()
        self.velocity_zones = config.velocity_zones.as_zones()
        self.debounce = config.debounce()
        self.debounce.reset(getattr(self, "_scan", None))
        self.fence = polygon_from_flat(config.geofence) if config.geofence else ()
        self.joint_limits = config.arm.as_limits()

    def reconfigure(self, config: SafetyGateConfig, now: float) -> None:
        """Take a new (already validated) config; commands of sources that still exist are kept."""
        old, old_config = self.mux, self.config
        self.config = config
        self._apply_config(config)
        self.mux = SourceMux(config.sources.as_sources(), config.locks.as_locks())
        for name in self.mux.sources:
            if name in old._last:
                self.mux._last[name] = old._last[name]
        for name in self.mux.locks:
            if name in old._lock_msgs:
                self.mux._lock_msgs[name] = old._lock_msgs[name]
        self._engaged = tuple(n for n in self._engaged if n in self.mux.locks)
        self.audit.record(now, "config", "parameters", "parameters changed")
        if config.zones_enabled != old_config.zones_enabled:
            self.set_zones_enabled(config.zones_enabled, now, via="parameter")

    # -- time ----------------------------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Fail safe on a clock that jumps back (NTP, a restarted simulator): ages computed
        against the old time would make old commands look fresh, so forget all inputs."""
        if self._now is not None and now < self._now - CLOCK_JUMP_TOLERANCE:
            self.mux.clear()
            self.mux.clear_locks()
            self._scan, self._scan_time = None, -math.inf
            self.debounce.reset(None)
            self._pose, self._pose_time = None, -math.inf
            self._last_step = None
            self._current = ZERO
            self.audit.record(
                now, "fail_safe", "clock", f"clock jumped back {self._now - now:.3f} s"
            )
        self._now = now

    # -- inputs --------------------------------------------------------------------------------

    def _reject(self, now: float, rule: str, reason: str) -> Decision:
        self.rejected[rule] = self.rejected.get(rule, 0) + 1
        self._last_rejection = now
        self._last_rejection_reason = reason
        self.last_intervention = {"kind": "rejection", "rule": rule, "reason": reason, "time": now}
        self.audit.record(now, "rejection", rule, reason, rate_limited=True)
        return Decision(False, reason)

    def on_command(
        self,
        source: str,
        linear: Sequence[float],
        angular: Sequence[float],
        now: float,
        frame_id: str | None = None,
    ) -> Decision:
        """A velocity request from `source` (Twist fields; `frame_id` when stamped)."""
        self._advance(now)
        if source not in self.mux.sources:
            return self._reject(now, "unknown_source", f"command from unknown source {source!r}")
        values = tuple(linear) + tuple(angular)
        if len(values) != 6:
            return self._reject(now, "malformed", f"{source}: command needs 6 components")
        if not all(math.isfinite(v) for v in values):
            return self._reject(now, "non_finite", f"{source}: non-finite command {values}")
        limit = self.config.max_input_magnitude
        if any(abs(v) > limit for v in values):
            return self._reject(
                now, "absurd_magnitude", f"{source}: command component above {limit:g}: {values}"
            )
        base = self.config.base_frame
        if frame_id is not None and base and frame_id and frame_id != base:
            return self._reject(
                now, "wrong_frame", f"{source}: frame {frame_id!r}, expected {base!r}"
            )
        if self.latched:
            return self._reject(now, "estop_latched", f"{source}: command ignored, e-stop latched")
        if values[2] != 0.0 or values[3] != 0.0 or values[4] != 0.0:
            self.audit.record(
                now,
                "clamp",
                "non_planar_axes",
                f"{source}: linear.z/angular.x/angular.y dropped (planar base)",
                rate_limited=True,
            )
        self.mux.update(source, Velocity(values[0], values[1], values[5]), now)
        return Decision(True)

    def on_scan(
        self,
        ranges: Sequence[float],
        angle_min: float,
        angle_increment: float,
        range_min: float,
        range_max: float,
        now: float,
        frame_id: str = "",
    ) -> Decision:
        """A LaserScan's fields; a malformed or wrong-frame scan is rejected (the last good one
        keeps ageing, so the fail-safe stop still comes)."""
        self._advance(now)
        want = self.config.scan_frame
        if want and frame_id != want:
            return self._reject(now, "wrong_frame", f"scan frame {frame_id!r}, expected {want!r}")
        try:
            points = ScanPoints.from_scan(
                ranges, angle_min, angle_increment, range_min, range_max, self.config.scan_pose
            )
        except ScanError as e:
            return self._reject(now, "malformed_scan", str(e))
        return self.on_points(points, now)

    def on_points(self, points: ScanPoints, now: float) -> Decision:
        """Obstacle points already in the base frame (the scan path ends here)."""
        self._advance(now)
        self._scan, self._scan_time = points, now
        self.debounce.update(points)
        return Decision(True)

    def on_lock(self, name: str, locked: bool, now: float) -> Decision:
        """A twist_mux lock input (std_msgs/Bool): true engages it, false releases it."""
        self._advance(now)
        if name not in self.mux.locks:
            return self._reject(now, "unknown_lock", f"lock input from unknown lock {name!r}")
        self.mux.update_lock(name, bool(locked), now)
        return Decision(True)

    def set_zones_enabled(self, enabled: bool, now: float, via: str = "service") -> Decision:
        """Switch the scan zones on or off (collision_monitor's toggle).

        Disabling switches off only what reads the scan: the stop, slowdown, limit and
        approach rules and the stale-scan fail-safe. The e-stop, velocity and acceleration
        limits, watchdog, source arbitration and locks, geofence, arm and gripper checks and
        input hygiene stay active whatever this says. Every call is audited.
        """
        self._advance(now)
        enabled = bool(enabled)
        was, self.zones_enabled = self.zones_enabled, enabled
        state = "enabled" if enabled else "disabled"
        change = "" if was != enabled else " (unchanged)"
        reason = f"scan zones {state} via {via}{change}"
        if not enabled:
            reason += "; e-stop, limits, watchdog, locks, geofence and input checks stay active"
        self.audit.record(now, "toggle", "zones_enabled", reason, enabled=enabled)
        return Decision(True, reason)

    def on_odom(
        self,
        x: float,
        y: float,
        yaw: float,
        now: float,
        frame_id: str = "",
    ) -> Decision:
        """The base's pose in the odom frame (for the geofence)."""
        self._advance(now)
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(yaw)):
            return self._reject(now, "non_finite", f"odometry pose is not finite: {(x, y, yaw)}")
        want = self.config.odom_frame
        if want and frame_id and frame_id != want:
            return self._reject(
                now, "wrong_frame", f"odometry frame {frame_id!r}, expected {want!r}"
            )
        self._pose, self._pose_time = Pose2D(x, y, yaw), now
        return Decision(True)

    def set_estop(self, stop: bool, now: float, via: str = "topic") -> None:
        """A stop input (`via` "topic" or "service"); true latches the e-stop at once."""
        self._advance(now)
        if via == "service":
            self.estop_service = bool(stop)
        else:
            self.estop_topic = bool(stop)
        if stop and not self.latched:
            self.latched = True
            self._estop_reason = f"e-stop latched via {via}"
            self._current = ZERO
            self._zero_since = now  # publish the zero now, even if the gate was quiet
            self.mux.clear()  # nothing commanded before the stop may resume after the reset
            self.last_intervention = {
                "kind": "estop",
                "rule": "estop",
                "reason": self._estop_reason,
                "time": now,
            }
            self.audit.record(now, "estop", "stop_input", f"stop input true via {via}")

    def reset(self, now: float) -> Decision:
        """Clear a latched e-stop, only while every stop input is false."""
        self._advance(now)
        if self.estop_topic or self.estop_service:
            held = [
                n for n, v in (("topic", self.estop_topic), ("service", self.estop_service)) if v
            ]
            reason = f"cannot reset: stop input still true ({', '.join(held)})"
            self.audit.record(now, "estop", "reset_refused", reason)
            return Decision(False, reason)
        if not self.latched:
            return Decision(True, "e-stop was not latched")
        self.latched = False
        self.mux.clear()
        self._current = ZERO
        self.audit.record(now, "estop", "reset", "e-stop cleared by reset")
        return Decision(True, "e-stop cleared")

    def on_gripper(self, value: float, now: float) -> Decision:
        self._advance(now)
        if self.latched:
            return self._reject(now, "estop_latched", "gripper command refused: e-stop latched")
        reason = check_gripper(value, self.config.gripper_min, self.config.gripper_max)
        return self._reject(now, "gripper", reason) if reason else Decision(True)

    def on_trajectory(self, traj: Trajectory, now: float) -> Decision:
        self._advance(now)
        if self.latched and traj.points:
            return self._reject(now, "estop_latched", "arm trajectory refused: e-stop latched")
        reason = check_trajectory(traj, self.joint_limits)
        return self._reject(now, "arm_limits", reason) if reason else Decision(True)

    # -- output --------------------------------------------------------------------------------

    def scan_fault(self, now: float) -> str:
        """Why the scan cannot be trusted now, or ""."""
        if not self.config.use_scan or not self.zones_enabled:
            return ""
        if self._scan is None:
            return "no scan received"
        age = now - self._scan_time
        if self.config.scan_timeout > 0.0 and age > self.config.scan_timeout:
            return f"scan stale ({age:.2f} s old)"
        return ""

    def odom_fault(self, now: float) -> str:
        if not self.fence:
            return ""
        if self._pose is None:
            return "no odometry for the geofence"
        age = now - self._pose_time
        if age > self.config.odom_timeout:
            return f"odometry stale ({age:.2f} s old)"
        return ""

    def tick(self, now: float) -> Verdict | None:
        """The output timer: step unless a command already produced an output within half a
        period (so the timer adds no messages while commands stream in faster)."""
        if self._last_step is not None and 0.0 <= now - self._last_step < 0.5 * self.config.period:
            return None
        return self.step(now)

    def step(self, now: float) -> Verdict:
        """Compute the base command for time `now` and whether to publish it."""
        self._advance(now)
        cfg = self.config
        period = cfg.period
        dt = period if self._last_step is None else min(max(now - self._last_step, 0.0), period)
        if dt > period * (1.0 - 1e-6):
            dt = period  # a timer tick a hair early (float time) still counts as a full period
        self._last_step = now
        notes: list[Intervention] = []
        source: str | None = None
        if self.latched:
            out = ZERO
            notes.append(Intervention("estop", "estop", self._estop_reason))
        else:
            selected = self.mux.select(now, cfg.command_timeout)
            if selected is None:
                target = ZERO
            else:
                source, target = selected
            masked = self.mux.masked(now, cfg.command_timeout) if self.mux.locks else []
            if masked:
                floor = self.mux.lock_priority(now)
                notes.append(
                    Intervention(
                        "lock",
                        "+".join(self.mux.engaged_locks(now)),
                        f"lock engaged (priority {floor}): blocks {', '.join(sorted(masked))}",
                    )
                )
            clamped, hit = clamp_velocity(target, self.limits)
            for rule in hit:
                notes.append(Intervention("clamp", rule, f"clamped: {rule} ({_fmt(target)})"))
            # Safety rules first shape the target (so the ramp heads for the safe speed) ...
            safe = self._zones(clamped, now, notes)
            v = smooth(self._current, safe, self.limits, dt)
            if safe != clamped:
                # ... then cap the output at once: a rule that lowered the target is not
                # softened by the deceleration limit. A cap (not a second scaling) keeps the
                # fed-back state at the safe speed instead of shrinking it every step.
                v = _cap(v, safe.speed, abs(safe.wz))
            if v.speed > self.limits.max_linear * (1.0 + 1e-12):
                # Axis-by-axis ramps of a holonomic base can leave the speed disc between two
                # in-range commands; the velocity limit wins.
                v = _cap(v, self.limits.max_linear, self.limits.max_angular)
                if "max_linear_velocity" not in hit:
                    notes.append(Intervention("clamp", "max_linear_velocity", "clamped: speed"))
            if v != safe:
                rule = (
                    "deceleration"
                    if v.speed + abs(v.wz) < (self._current.speed + abs(self._current.wz))
                    else "acceleration"
                )
                notes.append(Intervention("clamp", rule, f"ramping: {rule} limit"))
            # Zeroing rules once more on the motion actually sent: while a reversal ramps through
            # zero, the robot still moves the old way, maybe toward an obstacle or the fence.
            v = self._zones(v, now, notes, stop_only=True)
            out = v
        if not out.is_finite():  # unreachable by construction; never let it out if it happens
            notes.append(Intervention("fail_safe", "internal", "non-finite output replaced by 0"))
            out = ZERO
        self._current = out  # the smoother's state: not deadbanded (velocity_smoother's last_cmd_)
        sent = apply_deadband(out, cfg.deadband_velocity)
        if sent != out:
            notes.append(Intervention("clamp", "deadband", f"deadband: {_fmt(out)} -> 0"))
        if sent.is_zero():
            if self._zero_since is None:
                self._zero_since = now
            publish = now - self._zero_since <= cfg.stop_publish_timeout
        else:
            self._zero_since = None
            publish = True
        if self.mux.locks:
            engaged = tuple(self.mux.engaged_locks(now))
            if engaged != self._engaged:
                for name in set(engaged) ^ set(self._engaged):
                    what = "engaged" if name in engaged else "released"
                    self.audit.record(now, "lock", name, f"lock {name} {what}")
                self._engaged = engaged
        if self.latched:
            mode = "estop"
        elif source is not None:
            mode = "driving"
        elif publish:
            mode = "stopping"
            last = self.mux.last_command_time()
            if last is not None and not any(n.kind == "lock" for n in notes):
                notes.append(
                    Intervention(
                        "timeout",
                        "command_timeout",
                        f"watchdog: no fresh command for {now - last:.2f} s, stopping",
                    )
                )
        else:
            mode = "idle"
        if source != self._source:
            self.audit.record(
                now,
                "source",
                "arbitration",
                f"active source: {self._source or 'none'} -> {source or 'none'}",
            )
            self._source = source
        self._track(now, notes)
        verdict = Verdict(publish, sent, mode, source, tuple(notes))
        self._last_verdict = verdict
        return verdict

    def _zones(
        self, v: Velocity, now: float, notes: list[Intervention], stop_only: bool = False
    ) -> Velocity:
        """Scan fail-safe, zones and geofence; `stop_only` keeps only the rules that zero."""
        seen = {(n.kind, n.rule) for n in notes}

        def note(kind: str, rule: str, reason: str) -> None:
            if (kind, rule) not in seen:
                notes.append(Intervention(kind, rule, reason))
                seen.add((kind, rule))

        fault = self.scan_fault(now)
        if fault:
            if not v.is_zero():
                note("fail_safe", "scan", f"stop: {fault}")
            return ZERO
        if self.zones_enabled and self.config.use_scan and self._scan is not None:
            zone_cfg, vzone = select_zone(v, self.zone_config, self.velocity_zones)
            if not stop_only:
                self._velocity_zone = vzone
            result = apply_zones(
                v, self._scan, zone_cfg, scaling=not stop_only, rule_points=self.debounce.points
            )
            if result.zone:
                reason = f"{result.reason} [{vzone}]" if vzone else result.reason
                note("zone", result.zone, reason)
            v = result.velocity
        if self.fence and v.speed > 0.0:
            fault = self.odom_fault(now)
            if fault:
                note("fail_safe", "odometry", f"no linear motion: {fault}")
                return Velocity(0.0, 0.0, v.wz)
            assert self._pose is not None
            v, reason = apply_geofence(
                v,
                self._pose,
                self.fence,
                self.config.robot_radius,
                self.config.max_linear_deceleration,
                self.config.period,
            )
            if reason:
                note("geofence", "geofence", reason)
        return v

    def _track(self, now: float, notes: list[Intervention]) -> None:
        """Audit continuous interventions on their edges and remember the latest one."""
        current = {f"{n.kind}:{n.rule}": n for n in notes}
        for key, n in current.items():
            if key not in self._active:
                self.audit.record(now, n.kind, n.rule, n.reason, event="start")
        for key, n in self._active.items():
            if key not in current:
                self.audit.record(now, n.kind, n.rule, n.reason, event="end")
        self._active = current
        if notes:
            n = notes[-1]
            self.last_intervention = {
                "kind": n.kind,
                "rule": n.rule,
                "reason": n.reason,
                "time": now,
            }

    # -- reporting -----------------------------------------------------------------------------

    def faults(self, now: float) -> list[str]:
        return [f for f in (self.scan_fault(now), self.odom_fault(now)) if f]

    def state(self, now: float) -> dict[str, Any]:
        """Everything `safety/state` reports (JSON-serialisable)."""
        v = self._last_verdict
        cfg = self.config
        zone = next((n for n in (v.interventions if v else ()) if n.kind == "zone"), None)
        return {
            "t": round(now, 6),
            "mode": v.mode if v else "idle",
            "source": v.source if v else None,
            "publishing": bool(v and v.publish),
            "output": dict(zip(("vx", "vy", "wz"), self._current, strict=True)),
            "estop": {
                "latched": self.latched,
                "topic_input": self.estop_topic,
                "service_input": self.estop_service,
            },
            "limits": {
                "max_linear_velocity": cfg.max_linear_velocity,
                "max_angular_velocity": cfg.max_angular_velocity,
                "max_linear_acceleration": cfg.max_linear_acceleration,
                "max_linear_deceleration": cfg.max_linear_deceleration,
                "max_angular_acceleration": cfg.max_angular_acceleration,
                "max_angular_deceleration": cfg.max_angular_deceleration,
                "zone": zone.rule if zone else None,
                "velocity_zone": self._velocity_zone or None,
                "geofence": bool(self.fence),
                "deadband_velocity": list(cfg.deadband_velocity),
            },
            "zones_enabled": self.zones_enabled,
            "locks": {
                name: {
                    "engaged": self.mux.is_locked(name, now),
                    "input": self.mux.lock_input(name),
                    "priority": lock.priority,
                }
                for name, lock in self.mux.locks.items()
            },
            "interventions": [n._asdict() for n in (v.interventions if v else ())],
            "last_intervention": self.last_intervention,
            "rejected": dict(self.rejected),
            "faults": self.faults(now),
        }

    def status_key(self) -> tuple:
        """Changes whenever `safety/state` has something new to say (besides its clock)."""
        v = self._last_verdict
        return (
            v.mode if v else "idle",
            v.source if v else None,
            tuple(self._active),
            self.latched,
            sum(self.rejected.values()),
            self.zones_enabled,
            self._engaged,
        )

    def diagnostics(self, now: float) -> tuple[int, str, dict[str, str]]:
        """(level 0 OK / 1 WARN / 2 ERROR, message, key-values) for /diagnostics; disabled
        scan zones are at least a WARN and named at the end of the message."""
        level, message, values = self._diagnostics(now)
        if self.config.use_scan and not self.zones_enabled:
            note = "scan zones disabled"
            return max(level, 1), note if level == 0 else f"{message}; {note}", values
        return level, message, values

    def _diagnostics(self, now: float) -> tuple[int, str, dict[str, str]]:
        st = self.state(now)
        values = {
            "mode": st["mode"],
            "source": str(st["source"]),
            "estop_latched": str(self.latched),
            "rejected": str(sum(self.rejected.values())),
            "last_intervention": (self.last_intervention or {}).get("reason", ""),
            "zones_enabled": str(self.zones_enabled),
        }
        faults = st["faults"]
        if self.latched:
            return 2, self._estop_reason, values
        if faults and st["mode"] != "idle":
            return 2, "; ".join(faults), values
        notes = st["interventions"]
        if notes:
            return 1, "; ".join(n["reason"] for n in notes), values
        if now - self._last_rejection <= self.config.diagnostics_period:
            return 1, f"rejected input: {self._last_rejection_reason}", values
        if faults:
            return 1, "; ".join(faults), values
        return 0, "ok", values


def _cap(v: Velocity, max_speed: float, max_turn: float) -> Velocity:
    """`v` with its linear speed and turn rate no larger than the caps (direction kept)."""
    vx, vy, wz = v
    speed = v.speed
    if speed > max_speed:
        k = max_speed / speed
        vx, vy = vx * k, vy * k
    if abs(wz) > max_turn:
        wz = math.copysign(max_turn, wz)
    return Velocity(vx, vy, wz)


def _fmt(v: Velocity) -> str:
    return f"requested vx {v.vx:.3g} m/s, vy {v.vy:.3g} m/s, wz {v.wz:.3g} rad/s"
