"""Motor control's configuration and the plain values its skills exchange.

The motor_control node is a shell around closed-loop skill controllers (`core/skills.py`) run by a
plan executor (`core/plan_executor.py`); this module holds what they share: the one config
dataclass the node declares its parameters from (mirrored by `config/motor_control.yaml`), the
observation a controller reads each control period, and the command it returns. Everything is
plain floats and numpy arrays with SI units, so the controllers are tested against a kinematic
model without ROS.

The speeds and accelerations here are what the controller *asks for*; the safety gate enforces its
own limits independently, so these are set a little below the gate's to keep it from clamping a
smooth profile into a jerky one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from synth_agent.core.config import require_non_negative, require_positive
from synth_agent.core.schemas import Scene


@dataclass(frozen=True)
class MotorControlConfig:
    """Defaults of the motor_control node (config/motor_control.yaml mirrors this)."""

    control_rate_hz: float = 20.0
    # What the controller asks for (the gate limits independently).
    max_linear_mps: float = 0.4
    max_angular_radps: float = 1.2
    linear_accel_mps2: float = 0.5
    angular_accel_radps2: float = 2.0
    min_linear_mps: float = 0.03
    min_angular_radps: float = 0.15
    heading_gain: float = 2.5
    # Tolerances of drive/turn (issue 7: 2 cm, 2 degrees).
    position_tolerance_m: float = 0.02
    angle_tolerance_deg: float = 2.0
    # Command-to-motion delay of the loop (the gate's output period, the motor's response, the
    # odometry period): drive and turn brake and stop on where the robot will be after it, or a
    # turn at speed overshoots by about 2 degrees in the simulator.
    response_delay_s: float = 0.1
    # navigate_to: global route through doorways, then a VFH-style local planner over the scan.
    places_file: str = ""
    robot_radius_m: float = 0.2
    clearance_m: float = 0.12
    doorway_approach_m: float = 0.5
    waypoint_tolerance_m: float = 0.2
    goal_tolerance_m: float = 0.05
    lookahead_m: float = 1.0
    planner_sectors: int = 72
    scan_max_range_m: float = 8.0
    # Where the lidar sits on the base, ahead of its origin (the simulated robot's is 5 cm behind):
    # a return is placed from there, or everything ahead looks 5 cm further than it is.
    lidar_x_m: float = -0.05
    # Localisation against a map (core/localization.py): scans matched to a map_server map
    # correct the odometry's drift, so places (given in the map's frame) are reached where they
    # are. map_file "" = the package's config/map.yaml (the simulated apartment); false = steer
    # on odometry alone.
    localization: bool = True
    map_file: str = ""
    localization_max_turn_radps: float = 0.5  # no matching while turning faster (scan skew)
    # Delegate navigate_to to Nav2's NavigateToPose action (when nav2_msgs imports; else the
    # node logs an error and keeps the built-in planner). Goals are sent in `nav2_frame`.
    use_nav2: bool = False
    nav2_action: str = "navigate_to_pose"
    nav2_frame: str = "map"
    # Stuck detection and recovery.
    stuck_timeout_s: float = 5.0
    stuck_min_progress_m: float = 0.1
    recovery_backoff_m: float = 0.2
    recovery_rotate_deg: float = 60.0
    max_recoveries: int = 3
    # Object skills.
    approach_standoff_m: float = 0.4
    # approach picks a side of the object where its disc keeps this clear of furniture (above
    # the safety gate's 0.1 m stop distance, so the gate does not stop the last creep), standing
    # at most approach_max_standoff_m from the object: the gripper, 0.21 m ahead of the centre,
    # reaches 0.3 m, so 0.51 m less a margin for the object's estimated position.
    approach_clearance_m: float = 0.13
    approach_max_standoff_m: float = 0.48
    object_stale_s: float = 3.0
    find_timeout_s: float = 120.0
    search_turn_radps: float = 0.6
    follow_distance_m: float = 1.0
    follow_lost_timeout_s: float = 5.0
    # guide: lead a person to a place. The camera looks ahead, so a person walking behind is out
    # of view: after guide_lost_s without a sighting the robot stops and looks back; it also
    # stops when they are seen further back than guide_wait_distance_m, goes on once they are
    # within guide_resume_distance_m, and gives up after guide_lost_timeout_s of waiting.
    guide_wait_distance_m: float = 2.0
    guide_resume_distance_m: float = 1.2
    guide_lost_s: float = 6.0
    guide_lost_timeout_s: float = 30.0
    gripper_open: float = 0.0
    gripper_closed: float = 1.0
    gripper_settle_s: float = 1.0
    grip_confirm_timeout_s: float = 3.0
    grip_hold_distance_m: float = 0.3
    # Grasp confirmation from the gripper's joint in joint_states (see `Pick`, `PlaceSkill`):
    # its position is read as a closure, 0 at `gripper_joint_open` .. 1 at
    # `gripper_joint_closed` (fully closed on nothing), in whatever unit the joint reports
    # (metres of finger gap, radians, a 0..1 command). Fingers that stop at or beyond
    # `grip_empty_closure` closed on nothing; fingers at or below `grip_released_closure` are
    # open; in between they stopped on an object. gripper_joint "" = no gripper feedback.
    gripper_joint: str = "gripper_joint"
    gripper_joint_open: float = 0.0
    gripper_joint_closed: float = 1.0
    grip_empty_closure: float = 0.95
    grip_released_closure: float = 0.2
    gripper_state_timeout_s: float = 1.0
    # Simulator only: let sim/ground_truth's "held" decide grasps instead of the gripper joint
    # and the scene. A real robot has no ground truth; leave this off there.
    confirm_with_ground_truth: bool = False
    # Per-step timeouts: base + factor * nominal duration of the step.
    step_timeout_base_s: float = 5.0
    step_timeout_factor: float = 3.0
    # After a plan ends or is preempted, keep sending zero this long, then go quiet.
    stop_hold_s: float = 0.5

    def at_speed(self, fraction: float) -> MotorControlConfig:
        """This config with its speed limits scaled by `fraction` (0 < fraction <= 1): a plan
        said "slowly" (`Plan.speed`). Minimum speeds stay below the new maxima; step time
        budgets, computed from the maxima, grow to match."""
        if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
            raise ValueError(f"speed: expected 0 < speed <= 1, got {fraction!r}")
        if fraction == 1.0:
            return self
        lin, ang = self.max_linear_mps * fraction, self.max_angular_radps * fraction
        return replace(
            self,
            max_linear_mps=lin,
            max_angular_radps=ang,
            min_linear_mps=min(self.min_linear_mps, 0.5 * lin),
            min_angular_radps=min(self.min_angular_radps, 0.5 * ang),
            search_turn_radps=self.search_turn_radps * fraction,
        )

    def __post_init__(self) -> None:
        positive = (
            "control_rate_hz", "max_linear_mps", "max_angular_radps", "linear_accel_mps2",
            "angular_accel_radps2", "heading_gain", "position_tolerance_m",
            "angle_tolerance_deg", "robot_radius_m", "doorway_approach_m",
            "waypoint_tolerance_m", "goal_tolerance_m", "lookahead_m", "scan_max_range_m",
            "stuck_timeout_s", "stuck_min_progress_m", "approach_standoff_m", "object_stale_s",
            "approach_clearance_m", "approach_max_standoff_m",
            "find_timeout_s", "search_turn_radps", "follow_distance_m", "follow_lost_timeout_s",
            "guide_wait_distance_m", "guide_resume_distance_m", "guide_lost_s",
            "guide_lost_timeout_s",
            "grip_confirm_timeout_s", "grip_hold_distance_m", "step_timeout_factor",
            "localization_max_turn_radps", "gripper_state_timeout_s",
        )  # fmt: skip
        require_positive(self, *positive)
        non_negative = (
            "min_linear_mps", "min_angular_radps", "response_delay_s", "clearance_m",
            "recovery_backoff_m",
            "recovery_rotate_deg", "gripper_settle_s", "step_timeout_base_s", "stop_hold_s",
        )  # fmt: skip
        require_non_negative(self, *non_negative)
        if not 1.0 <= self.control_rate_hz <= 200.0:
            raise ValueError(f"control_rate_hz: expected 1..200, got {self.control_rate_hz}")
        if self.min_linear_mps >= self.max_linear_mps:
            raise ValueError("min_linear_mps: must be below max_linear_mps")
        if self.min_angular_radps >= self.max_angular_radps:
            raise ValueError("min_angular_radps: must be below max_angular_radps")
        if self.response_delay_s > 1.0:
            raise ValueError(f"response_delay_s: expected 0..1, got {self.response_delay_s}")
        if self.position_tolerance_m > 0.5 or self.angle_tolerance_deg > 45.0:
            raise ValueError("position_tolerance_m <= 0.5 and angle_tolerance_deg <= 45 expected")
        if not (math.isfinite(self.lidar_x_m) and abs(self.lidar_x_m) <= 1.0):
            raise ValueError(f"lidar_x_m: expected -1..1, got {self.lidar_x_m!r}")
        if self.planner_sectors < 8 or self.planner_sectors > 720:
            raise ValueError(f"planner_sectors: expected 8..720, got {self.planner_sectors}")
        if self.use_nav2 and not (self.nav2_action and self.nav2_frame):
            raise ValueError("nav2_action and nav2_frame: must not be empty when use_nav2 is true")
        if self.max_recoveries < 0:
            raise ValueError(f"max_recoveries: must be at least 0, got {self.max_recoveries}")
        if self.approach_standoff_m <= self.robot_radius_m:
            raise ValueError("approach_standoff_m: must exceed robot_radius_m")
        if self.approach_max_standoff_m < self.approach_standoff_m:
            raise ValueError("approach_max_standoff_m: must be at least approach_standoff_m")
        if self.guide_resume_distance_m >= self.guide_wait_distance_m:
            raise ValueError("guide_resume_distance_m: must be below guide_wait_distance_m")
        for name in ("gripper_open", "gripper_closed"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name}: expected 0..1, got {value!r}")
        for name in ("gripper_joint_open", "gripper_joint_closed"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name}: expected a finite joint position")
        if self.gripper_joint_open == self.gripper_joint_closed:
            raise ValueError("gripper_joint_open and gripper_joint_closed: must differ")
        if not 0.0 < self.grip_released_closure < self.grip_empty_closure <= 1.0:
            raise ValueError(
                "grip_released_closure and grip_empty_closure: expected "
                f"0 < released < empty <= 1, got {self.grip_released_closure!r} and "
                f"{self.grip_empty_closure!r}"
            )

    @property
    def period_s(self) -> float:
        return 1.0 / self.control_rate_hz

    @property
    def angle_tolerance_rad(self) -> float:
        return math.radians(self.angle_tolerance_deg)

    def gripper_closure(self, position: float) -> float:
        """The gripper joint's `position` as a closure: 0 fully open .. 1 closed on nothing."""
        span = self.gripper_joint_closed - self.gripper_joint_open
        return (position - self.gripper_joint_open) / span


@dataclass
class Observation:
    """What a controller reads in one control period. Pose in the odom frame (the frame of the
    scene and of the places file); the scan in the robot frame (angles in radians, counter-clockwise
    from straight ahead; non-finite or out-of-range readings mean nothing seen). `gripper` is the
    fingers' measured closure (0 open .. 1 closed on nothing, from the gripper joint in
    joint_states) and `gripper_t` when it was received, on the clock of `now` (None: no
    reading). `held` is the simulator's ground truth of what the gripper holds (None: unknown,
    "": nothing), consulted only with `confirm_with_ground_truth`; `safety` is the safety gate's
    mode (idle, driving, stopping, estop) when known."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0
    v: float = 0.0
    w: float = 0.0
    ranges: np.ndarray = field(default_factory=lambda: np.zeros(0))
    angles: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scene: Scene | None = None
    gripper: float | None = None
    gripper_t: float | None = None
    held: str | None = None
    safety: str | None = None


@dataclass(frozen=True)
class Command:
    """A velocity request (m/s, rad/s, REP 103) and optionally a gripper setpoint (0 open .. 1
    closed; None leaves the gripper alone)."""

    linear: float = 0.0
    angular: float = 0.0
    gripper: float | None = None


STOP = Command()

SkillStatus = Literal["running", "succeeded", "failed"]


@dataclass(frozen=True)
class SkillState:
    """A controller's verdict for one period: still running, or done with a reason. `say` is a
    sentence for the operator (agent/feedback), emitted once."""

    status: SkillStatus = "running"
    detail: str = ""
    say: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "running"


RUNNING = SkillState()


def wrap(angle: float) -> float:
    """An angle in radians wrapped to [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
