"""Parameters of the `sim` node, with their defaults and ranges, in one frozen dataclass.

`config/sim.yaml` mirrors these defaults (test/core/test_sim_config.py keeps the two equal) and
the node declares one ROS parameter per field. Rates are in simulated time: at
`real_time_factor` 2 every sensor publishes twice as often per wall-clock second. Lists are flat
because ROS parameters cannot hold nested lists: `initial_pose` is [x, y, yaw] and
`person_path` is [x0, y0, x1, y1, ...] (one point: the person stands there, facing
`person_yaw`; more: the person walks the closed loop through them).

This module imports neither rclpy nor mujoco, so the CLI and tests can read it cheaply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


def _non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator can be told; SI units, angles in radians unless named _deg."""

    # World: an MJCF file name in synth_agent/sim/assets, or a path.
    world: str = "apartment.xml"
    # Named places (config/places.yaml unless a path is given); drawn on the top-down view.
    places_file: str = "places.yaml"
    seed: int = 0
    real_time_factor: float = 1.0
    # Wall-clock rate of the physics tick; each tick steps as much simulated time as elapsed.
    tick_rate_hz: float = 100.0
    odom_rate_hz: float = 50.0
    joint_states_rate_hz: float = 50.0
    lidar_rate_hz: float = 10.0
    # 0 turns the camera off (no rendering at all).
    camera_rate_hz: float = 15.0
    ground_truth_rate_hz: float = 10.0
    image_width: int = 640
    image_height: int = 480
    camera_fovy_deg: float = 60.0
    depth_max_m: float = 10.0
    lidar_beams: int = 360
    lidar_range_min_m: float = 0.12
    lidar_range_max_m: float = 8.0
    lidar_noise_m: float = 0.005
    # Miscalibrated odometry, as on a real base: the wheel radius and the track the odometry
    # assumes are off by these fractions (0.02 = 2 % too large), so odometry drifts steadily.
    odom_wheel_radius_error: float = 0.0
    odom_track_error: float = 0.0
    # Robot pose at start and after sim/reset: [x, y, yaw] in the apartment (= odom) frame.
    initial_pose: list[float] = field(default_factory=lambda: [9.55, 1.7, math.pi])
    person_path: list[float] = field(default_factory=lambda: [6.2, 0.7])
    person_yaw: float = math.pi / 2
    person_speed_mps: float = 0.6
    # The base stops its wheels when cmd_vel has been silent this long (simulated seconds).
    cmd_timeout_s: float = 0.5
    max_linear_mps: float = 0.8
    max_angular_radps: float = 2.5
    # Closing the gripper holds the nearest object whose centre is this close (horizontally)
    # to the grasp point between the fingers.
    grasp_reach_m: float = 0.3
    odom_frame: str = "odom"
    base_frame: str = "base_link"
    camera_frame: str = "camera_optical_frame"
    laser_frame: str = "laser"

    def __post_init__(self) -> None:
        if not self.world:
            raise ValueError("world must name an MJCF file")
        if not 0 < self.real_time_factor <= 20:
            raise ValueError(f"real_time_factor must be in (0, 20], got {self.real_time_factor}")
        if not 10 <= self.tick_rate_hz <= 1000:
            raise ValueError(f"tick_rate_hz must be in [10, 1000], got {self.tick_rate_hz}")
        for name in (
            "odom_rate_hz",
            "joint_states_rate_hz",
            "lidar_rate_hz",
            "ground_truth_rate_hz",
        ):
            value = getattr(self, name)
            _positive(name, value)
            if value > self.tick_rate_hz:
                raise ValueError(
                    f"{name} ({value}) cannot exceed tick_rate_hz ({self.tick_rate_hz})"
                )
        _non_negative("camera_rate_hz", self.camera_rate_hz)
        if self.camera_rate_hz > 60:
            raise ValueError(f"camera_rate_hz must be <= 60, got {self.camera_rate_hz}")
        if not (16 <= self.image_width <= 1920 and 16 <= self.image_height <= 1080):
            raise ValueError(
                f"image size must be within 16x16 .. 1920x1080, got "
                f"{self.image_width}x{self.image_height}"
            )
        if not 10 <= self.camera_fovy_deg <= 150:
            raise ValueError(f"camera_fovy_deg must be in [10, 150], got {self.camera_fovy_deg}")
        _positive("depth_max_m", self.depth_max_m)
        if not 1 <= self.lidar_beams <= 4096:
            raise ValueError(f"lidar_beams must be in [1, 4096], got {self.lidar_beams}")
        _non_negative("lidar_range_min_m", self.lidar_range_min_m)
        if not self.lidar_range_max_m > self.lidar_range_min_m:
            raise ValueError("lidar_range_max_m must be greater than lidar_range_min_m")
        _non_negative("lidar_noise_m", self.lidar_noise_m)
        for name in ("odom_wheel_radius_error", "odom_track_error"):
            value = getattr(self, name)
            if not (math.isfinite(value) and abs(value) <= 0.2):
                raise ValueError(f"{name} must be a fraction within ±0.2, got {value!r}")
        if len(self.initial_pose) != 3:
            raise ValueError(f"initial_pose must be [x, y, yaw], got {self.initial_pose}")
        if len(self.person_path) < 2 or len(self.person_path) % 2:
            raise ValueError(
                f"person_path must be [x0, y0, x1, y1, ...] (at least one point), "
                f"got {self.person_path}"
            )
        _positive("person_speed_mps", self.person_speed_mps)
        _positive("cmd_timeout_s", self.cmd_timeout_s)
        _positive("max_linear_mps", self.max_linear_mps)
        _positive("max_angular_radps", self.max_angular_radps)
        if self.max_linear_mps > 1.0:
            raise ValueError(
                f"max_linear_mps must be <= 1.0 (wheel motor limit), got {self.max_linear_mps}"
            )
        _positive("grasp_reach_m", self.grasp_reach_m)
        for name in ("odom_frame", "base_frame", "camera_frame", "laser_frame"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")

    @property
    def person_points(self) -> list[tuple[float, float]]:
        """`person_path` as (x, y) points."""
        p = self.person_path
        return [(float(p[i]), float(p[i + 1])) for i in range(0, len(p), 2)]
