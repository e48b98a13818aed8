"""Lidar fallback for perception: a detection's 3-D position from its bearing and a 2-D scan.

Why it exists: a camera without depth (or depth that is invalid at a detection: glass, black
cloth, too near, too far) still says *in which direction* an object is; a planar lidar says how
far away things are in every direction. Together they place the object.

How, and why this way:
- The detection's centroid pixel is turned into a 3-D viewing ray through the intrinsics and
  the camera mounting (REP 103: base x forward, y left, bearings positive to the left). The
  camera and the lidar sit at different places on the base (in the simulator the camera is
  0.17 m ahead of the lidar), so a lidar angle is *not* the camera's bearing: every scan return
  is turned into a point in the base frame (through the lidar's mounting, and through odometry
  when the scan was taken at another robot pose than the image), and the returns that lie
  within a small angular window around the camera's horizontal ray are the candidates. The
  window is the inner half of the detection box's horizontal extent, at least `window_deg`.
- Robust pick: candidates are sorted by distance along the ray and split into clusters where
  consecutive distances jump by more than `cluster_gap_m`; the *nearest* cluster is the object
  (the beams beside it see the wall behind), and its median distance is the range. The point
  is where the 3-D viewing ray is at that horizontal distance (so it has a height), moved back
  by the object's radius along the horizontal ray as for depth (the lidar, too, sees the front
  surface).
- Consistency with the camera: the bottom of the detection box, at that range, must not be
  below the floor (odom z = 0, `camera_z_m` is the height above it). When it is, the chosen
  return is *behind* the object (the beams passed over a low object, e.g. a ball whose top
  only just reaches the lidar plane, and hit the wall), and the detection gets no position
  rather than a wrong one.
- Consistency with the object's size: when the detection knows the object's radius, its box
  must be between 1/`size_ratio` and `size_ratio` times as wide as the object would look at
  that range. A return far behind the object (beams passing beside a narrow part, e.g. the
  legs under a person's wider shirt, or a shirt strip seen beside the head of a person too
  close to see whole) makes the box far wider than expected, or a side fragment far narrower;
  either way the return is not the object, and there is no position. Partial occlusion
  makes boxes narrower, hence the wide bounds.
- Objects on tables are above the lidar plane: the lidar sees the table (or whatever holds the
  object up), not the object. The position is then the table's near edge along the bearing,
  off by up to the table's depth behind it, and is marked: `above_plane` is set when the
  box's bottom is above the lidar's height (+ `floor_margin_m`). The caller lowers the
  confidence of such positions. Labels known to reach the floor (people: the shirt is what is
  detected, the legs are what the lidar sees) are never marked.
- An occluder at lidar height that the camera looks over (a bed edge, a low box) is nearer
  than the object and wins the nearest-cluster pick; nothing here can tell. Depth, when there
  is any, is always preferred.

Pure numpy; no rclpy. `now`, the scan and its pose are passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth_agent.core.vision import CameraMount, Detection, Intrinsics, PerceptionInputError

__all__ = [
    "LidarFix",
    "LidarMount",
    "Scan",
    "bearing_of_pixel",
    "check_scan",
    "locate_lidar",
    "pixel_ray",
]


@dataclass(frozen=True)
class LidarMount:
    """Where the lidar sits on the base: x, y (m), z = height above the floor (m), yaw left
    (rad). The scan plane is assumed level."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    yaw: float = 0.0


@dataclass(frozen=True)
class Scan:
    """One planar scan as sensor_msgs/LaserScan has it: beam i at `angle_min + i *
    angle_increment` (counter-clockwise, 0 = the lidar's forward) with range `ranges[i]`;
    non-finite or out-of-range values mean no return. `stamp` is when it was taken (on the
    clock `now` uses) and `robot` the odom pose (x, y, yaw) then (None: the image's pose)."""

    ranges: np.ndarray
    angle_min: float
    angle_increment: float
    range_min: float
    range_max: float
    stamp: float
    robot: tuple[float, float, float] | None = None

    def angles(self) -> np.ndarray:
        return self.angle_min + self.angle_increment * np.arange(len(self.ranges))


def check_scan(scan: Any) -> Scan:
    """Return `scan` if it is usable, else raise PerceptionInputError with the reason."""
    if not isinstance(scan, Scan):
        raise PerceptionInputError(f"scan must be a Scan, got {type(scan).__name__}")
    r = scan.ranges
    if not isinstance(r, np.ndarray) or r.ndim != 1 or r.size == 0:
        raise PerceptionInputError("scan ranges must be a non-empty 1-D array")
    values = (scan.angle_min, scan.angle_increment, scan.range_min, scan.range_max, scan.stamp)
    if not all(math.isfinite(float(v)) for v in values):
        raise PerceptionInputError(f"scan geometry and stamp must be finite, got {values}")
    if scan.angle_increment == 0:
        raise PerceptionInputError("scan angle_increment must not be 0")
    if not 0 <= scan.range_min < scan.range_max:
        raise PerceptionInputError(
            f"need 0 <= range_min < range_max, got {scan.range_min}, {scan.range_max}"
        )
    if scan.robot is not None and (
        len(scan.robot) != 3 or not all(math.isfinite(float(v)) for v in scan.robot)
    ):
        raise PerceptionInputError(f"scan robot pose must be finite (x, y, yaw): {scan.robot}")
    return scan


def pixel_ray(u: float, v: float, k: Intrinsics, mount: CameraMount) -> np.ndarray:
    """Direction (not normalised) of the viewing ray through pixel (u, v), in the base frame."""
    return mount.rotation() @ np.array([(u - k.cx) / k.fx, (v - k.cy) / k.fy, 1.0])


def bearing_of_pixel(u: float, v: float, k: Intrinsics, mount: CameraMount) -> float:
    """Horizontal bearing (rad, base frame, positive = left) of the ray through (u, v), as seen
    from the camera."""
    d = pixel_ray(u, v, k, mount)
    return math.atan2(float(d[1]), float(d[0]))


def _to_base(points: np.ndarray, pose: tuple[float, float, float], robot) -> np.ndarray:
    """2-D points in the base frame at `pose` -> base frame at `robot` (both odom poses)."""
    if pose == robot:
        return points
    c, s = math.cos(pose[2]), math.sin(pose[2])
    odom = np.column_stack(
        [
            pose[0] + c * points[:, 0] - s * points[:, 1],
            pose[1] + s * points[:, 0] + c * points[:, 1],
        ]
    )
    dx, dy = odom[:, 0] - robot[0], odom[:, 1] - robot[1]
    c, s = math.cos(robot[2]), math.sin(robot[2])
    return np.column_stack([c * dx + s * dy, -s * dx + c * dy])


def _to_odom(p: np.ndarray, robot: tuple[float, float, float]) -> np.ndarray:
    c, s = math.cos(robot[2]), math.sin(robot[2])
    return np.array([robot[0] + c * p[0] - s * p[1], robot[1] + s * p[0] + c * p[1], p[2]])


@dataclass(frozen=True)
class LidarFix:
    """A detection placed by the lidar: odom point, whether it is above the lidar plane (the
    lidar saw what holds it up), how many beams gave the range, and the bearing (rad)."""

    position: np.ndarray
    above_plane: bool
    beams: int
    bearing: float


def locate_lidar(
    det: Detection,
    scan: Scan,
    k: Intrinsics,
    mount: CameraMount,
    lidar: LidarMount,
    robot: tuple[float, float, float],
    *,
    window_deg: float = 2.0,
    cluster_gap_m: float = 0.15,
    floor_margin_m: float = 0.05,
    on_floor: bool = False,
    size_ratio: float = 2.0,
) -> LidarFix | str:
    """The odom point of `det` from its bearing and `scan` (see the module docstring), or a
    string saying why there is none."""
    u, v = det.centroid
    d = pixel_ray(u, v, k, mount)
    horiz = float(math.hypot(d[0], d[1]))
    if horiz < 1e-6:
        return "the viewing ray is vertical"
    h = d[:2] / horiz
    bearing = math.atan2(float(h[1]), float(h[0]))
    x, _, w, bh = det.box
    edges = [bearing_of_pixel(float(c), v, k, mount) for c in (x, x + w)]
    half = max(math.radians(window_deg) / 2, abs(edges[0] - edges[1]) / 4)

    ranges = np.asarray(scan.ranges, dtype=np.float64)
    ok = np.isfinite(ranges) & (ranges >= scan.range_min) & (ranges <= scan.range_max)
    if not ok.any():
        return f"no lidar return at all (bearing {math.degrees(bearing):.1f} deg)"
    phi = lidar.yaw + scan.angles()[ok]
    r = ranges[ok]
    hits = np.column_stack([lidar.x + r * np.cos(phi), lidar.y + r * np.sin(phi)])
    hits = _to_base(hits, scan.robot or robot, robot)
    q = hits - np.array([mount.x, mount.y])
    along = q @ h
    across = h[0] * q[:, 1] - h[1] * q[:, 0]  # left of the ray: positive
    near = (along > 0) & (np.abs(np.arctan2(across, np.maximum(along, 1e-9))) <= half)
    if not near.any():
        return (
            f"no lidar return within {math.degrees(half):.1f} deg of bearing "
            f"{math.degrees(bearing):.1f} deg"
        )
    t = np.sort(along[near])
    breaks = np.nonzero(np.diff(t) > cluster_gap_m)[0]
    cluster = t[: breaks[0] + 1] if breaks.size else t
    dist = float(np.median(cluster))

    cam = np.array([mount.x, mount.y, mount.z])
    p = cam + d * (dist / horiz)
    bottom = pixel_ray(u, float(det.box[1] + bh), k, mount)
    bottom_h = float(math.hypot(bottom[0], bottom[1]))
    bottom_z = mount.z + float(bottom[2]) * dist / max(bottom_h, 1e-6)
    if bottom_z < -floor_margin_m:
        return (
            f"lidar return at {dist:.2f} m on bearing {math.degrees(bearing):.1f} deg is behind "
            f"the object (its bottom would be {-bottom_z:.2f} m below the floor)"
        )
    if det.radius_m > 0:
        expected_px = k.fx * 2 * det.radius_m / (dist + det.radius_m)
        ratio = w / expected_px
        if not 1 / size_ratio <= ratio <= size_ratio:
            return (
                f"lidar return at {dist:.2f} m on bearing {math.degrees(bearing):.1f} deg is not "
                f"the object: its box is {w} px wide, {expected_px:.0f} px expected there"
            )
    above = not on_floor and bottom_z > lidar.z + floor_margin_m
    if det.radius_m > 0:
        p[:2] += det.radius_m * h
    return LidarFix(_to_odom(p, robot), above, int(cluster.size), bearing)
