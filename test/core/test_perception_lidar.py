"""The lidar fallback: detections placed from their bearing and a 2-D scan when there is no depth.

Synthetic camera frames (`perception_synth`: coloured discs at known odom points) and a
synthetic scan ray-cast against circles in the lidar plane, with the simulator's mountings
(camera 0.17 m ahead of and 0.4 m above the lidar), so the parallax between the two sensors is
part of every test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from synth_agent.core.perception import Frame, Perception, PerceptionConfig, Scan
from synth_agent.core.perception_lidar import (
    LidarFix,
    LidarMount,
    bearing_of_pixel,
    check_scan,
    locate_lidar,
)
from synth_agent.core.vision import CameraMount, PerceptionInputError
from test.core.perception_synth import MOUNT, K, render

LIDAR = LidarMount(x=-0.05, y=0.0, z=0.195)
BEAMS = 360
WALL_M = 6.0


def synth_scan(
    circles: list[tuple[float, float, float]],
    robot: tuple[float, float, float],
    lidar: LidarMount = LIDAR,
    stamp: float = 0.0,
    wall_m: float = WALL_M,
    scan_robot: tuple[float, float, float] | None = None,
) -> Scan:
    """A 360-beam scan from `lidar` on a robot at `robot` (odom) that sees circles (x, y, r)
    given in odom, and a round wall `wall_m` around the lidar."""
    rx, ry, ryaw = robot
    c, s = math.cos(ryaw), math.sin(ryaw)
    origin = np.array([rx + c * lidar.x - s * lidar.y, ry + s * lidar.x + c * lidar.y])
    inc = 2 * math.pi / BEAMS
    angles = -math.pi + inc * np.arange(BEAMS)
    ranges = np.full(BEAMS, wall_m, np.float32)
    for i, a in enumerate(angles):
        d = np.array([math.cos(ryaw + lidar.yaw + a), math.sin(ryaw + lidar.yaw + a)])
        for cx, cy, r in circles:
            oc = origin - np.array([cx, cy])
            b = float(oc @ d)
            disc = b * b - float(oc @ oc - r * r)
            if disc >= 0:
                t = -b - math.sqrt(disc)
                if 0 < t < ranges[i]:
                    ranges[i] = t
    return Scan(ranges, -math.pi, inc, 0.12, 8.0, stamp, scan_robot)


def config(**overrides) -> PerceptionConfig:
    """The defaults with the synthetic camera's mounting and the simulator's lidar."""
    base = dict(
        camera_x_m=MOUNT.x,
        camera_y_m=MOUNT.y,
        camera_z_m=MOUNT.z,
        camera_pitch_deg=math.degrees(MOUNT.pitch),
        aruco_enabled=False,
    )
    base.update(overrides)
    return dataclasses.replace(PerceptionConfig(), **base)


def run(frame: Frame, **overrides):
    p = Perception(config(**overrides))
    p.process(frame, now=0.0)
    return p.process(frame, now=0.1)


def horizontal_error(o, truth) -> float:
    return math.dist((o.position.x, o.position.y), truth[:2])


# ------------------------------------------------------------------------------------------
# Bearing geometry (REP 103: x forward, y left, bearings positive to the left)


def test_bearing_is_zero_at_the_optical_centre_positive_left_negative_right():
    assert bearing_of_pixel(K.cx, K.cy, K, MOUNT) == pytest.approx(0.0, abs=1e-12)
    left = bearing_of_pixel(K.cx - 100, K.cy, K, MOUNT)
    right = bearing_of_pixel(K.cx + 100, K.cy, K, MOUNT)
    assert left > 0 > right and left == pytest.approx(-right)
    # Level camera: the bearing is atan of the column offset over the focal length.
    level = CameraMount(x=0.1, y=0.0, z=0.5)
    assert bearing_of_pixel(K.cx - 100, K.cy, K, level) == pytest.approx(math.atan(100 / K.fx))
    # The image's left edge is half the horizontal field of view to the left.
    hfov = 2 * math.atan(K.width / 2 / K.fx)
    assert bearing_of_pixel(K.cx - K.width / 2, K.cy, K, level) == pytest.approx(hfov / 2)


def test_bearing_follows_a_yawed_off_centre_camera():
    yawed = CameraMount(x=0.1, y=0.2, z=0.5, yaw=math.radians(30), pitch=math.radians(8))
    assert bearing_of_pixel(K.cx, K.cy, K, yawed) == pytest.approx(math.radians(30))
    assert bearing_of_pixel(K.cx - 50, K.cy, K, yawed) > math.radians(30)


@pytest.mark.parametrize("side", [1.0, -1.0], ids=["left", "right"])
def test_an_object_to_the_left_or_right_is_placed_on_that_side(side):
    robot = (0.0, 0.0, 0.0)
    truth = (2.5, side * 0.7, 1.1)  # a person's torso centre
    img, _, in_view = render([("person", truth)], robot, radius_m=0.17)
    assert in_view
    scan = synth_scan([(truth[0], truth[1], 0.13)], robot)  # the legs in the lidar plane
    result = run(Frame(img, None, K, robot, scan))
    (o,) = result.scene.objects
    assert math.copysign(1.0, o.position.y) == side and math.copysign(1.0, o.bearing) == side
    assert horizontal_error(o, truth) < 0.15


def test_an_off_centre_yawed_camera_and_lidar_place_the_object():
    robot = (1.0, -2.0, 0.6)
    mount = CameraMount(x=0.2, y=-0.15, z=0.6, yaw=math.radians(-20), pitch=math.radians(8))
    lidar = LidarMount(x=0.1, y=0.1, z=0.2, yaw=math.radians(90))
    c, s = math.cos(robot[2] - 0.35), math.sin(robot[2] - 0.35)
    truth = (robot[0] + 2.2 * c, robot[1] + 2.2 * s, 0.1)  # a ball on the floor
    img, _, in_view = render([("blue ball", truth)], robot, mount=mount, radius_m=0.1)
    assert in_view
    scan = synth_scan([(truth[0], truth[1], 0.1)], robot, lidar)
    overrides = dict(
        camera_x_m=mount.x,
        camera_y_m=mount.y,
        camera_yaw_deg=math.degrees(mount.yaw),
        lidar_x_m=lidar.x,
        lidar_y_m=lidar.y,
        lidar_z_m=lidar.z,
        lidar_yaw_deg=math.degrees(lidar.yaw),
    )
    result = run(Frame(img, None, K, robot, scan), **overrides)
    (o,) = result.scene.objects
    assert o.label == "blue ball" and result.lidar_located == 1
    assert math.dist((o.position.x, o.position.y, o.position.z), truth) < 0.15


# ------------------------------------------------------------------------------------------
# Placement without depth


@pytest.mark.parametrize(
    "label, truth, radius, lidar_radius",
    [
        ("person", (3.2, 2.4, 1.1), 0.17, 0.13),  # shirt seen, legs under it in the scan
        ("green box", (2.4, 1.6, 0.05), 0.05, 0.05),  # a box standing on the floor
        ("blue ball", (1.8, 1.2, 0.1), 0.1, 0.1),
    ],
)
def test_a_floor_standing_object_without_depth_is_placed_within_15cm(
    label, truth, radius, lidar_radius
):
    robot = (1.0, 0.5, 0.5)
    img, _, in_view = render([(label, truth)], robot, radius_m=radius)
    assert in_view
    scan = synth_scan([(truth[0], truth[1], lidar_radius)], robot)
    result = run(Frame(img, None, K, robot, scan))
    (o,) = result.scene.objects
    assert o.label == label and result.unlocated == 0 and result.lidar_located == 1
    err = horizontal_error(o, truth)
    assert err < 0.15, f"{label} placed {err:.3f} m from the truth"
    assert o.confidence > 0.5  # on the floor: not marked as above the lidar plane


def test_the_scan_from_another_robot_pose_is_motion_compensated():
    robot = (0.0, 0.0, 0.3)
    truth = (2.6, 1.5, 1.1)
    img, _, _ = render([("person", truth)], robot, radius_m=0.17)
    earlier = (-0.1, 0.05, 0.1)  # the robot was turning and moving when the scan was taken
    scan = synth_scan([(truth[0], truth[1], 0.13)], earlier, scan_robot=earlier)
    (o,) = run(Frame(img, None, K, robot, scan)).scene.objects
    assert horizontal_error(o, truth) < 0.15
    # Ignoring the pose difference would miss it or put it elsewhere.
    stale = dataclasses.replace(scan, robot=None)
    objects = run(Frame(img, None, K, robot, stale)).scene.objects
    assert all(horizontal_error(o, truth) > 0.15 for o in objects)


def test_an_object_on_a_table_is_placed_at_the_table_edge_with_lower_confidence():
    robot = (0.0, 0.0, 0.0)
    cup = (2.4, 0.3, 0.8)
    img, _, _ = render([("red cup", cup)], robot, radius_m=0.04)
    table = (2.6, 0.3, 0.4)  # the lidar sees the table's near edge 0.2 m before the cup
    scan = synth_scan([table[:3]], robot)
    result = run(Frame(img, None, K, robot, scan))
    (o,) = result.scene.objects
    assert o.confidence <= PerceptionConfig().lidar_above_plane_confidence
    assert horizontal_error(o, cup) < 0.3
    assert o.position.z == pytest.approx(cup[2], abs=0.1)  # height from the viewing ray


def test_no_return_near_the_bearing_means_no_position_but_the_detection_is_counted():
    robot = (0.0, 0.0, 0.0)
    truth = (2.5, 0.5, 1.1)
    img, _, _ = render([("person", truth)], robot, radius_m=0.17)
    scan = synth_scan([(truth[0], truth[1], 0.13)], robot, wall_m=math.inf)
    bearing = math.atan2(truth[1], truth[0] - LIDAR.x)
    # Only returns well away from the person's bearing (everything else: no return).
    angles = scan.angles()
    far = np.abs(np.arctan2(np.sin(angles - bearing), np.cos(angles - bearing))) > 0.5
    ranges = np.where(far, 3.0, np.inf).astype(np.float32)
    empty = dataclasses.replace(scan, ranges=ranges)
    result = run(Frame(img, None, K, robot, empty))
    assert result.scene.objects == []
    assert result.unlocated == 1 and len(result.detections) == 1
    assert "person: no lidar return within" in result.unlocated_reasons[0]


def test_a_return_behind_a_low_object_is_refused():
    # The beams pass over the ball (nothing in the scan) and hit the wall 2.5 m behind it: at
    # that range the ball's bottom would be under the floor.
    robot = (0.0, 0.0, 0.0)
    ball = (1.5, -0.2, 0.1)
    img, _, _ = render([("blue ball", ball)], robot, radius_m=0.1)
    scan = synth_scan([], robot, wall_m=4.0)
    result = run(Frame(img, None, K, robot, scan))
    assert result.scene.objects == [] and result.unlocated == 1
    assert "behind the object" in result.unlocated_reasons[0]


def test_a_return_inconsistent_with_the_objects_size_is_refused():
    robot = (0.0, 0.0, 0.0)
    truth = (2.0, 0.0, 1.0)
    img, _, in_view = render([("person", truth)], robot, radius_m=0.17)
    assert in_view
    # Something thin 0.6 m ahead (a chair leg) is all the lidar sees on the bearing.
    scan = synth_scan([(0.6, 0.0, 0.02)], robot)
    result = run(Frame(img, None, K, robot, scan))
    assert result.scene.objects == [] and "px expected" in result.unlocated_reasons[0]


def test_depth_is_preferred_and_the_lidar_only_fills_in_where_depth_is_invalid():
    robot = (0.0, 0.0, 0.0)
    truth = (2.5, 0.4, 1.1)
    img, depth, _ = render([("person", truth)], robot, radius_m=0.17)
    wrong = synth_scan([(truth[0] + 1.0, truth[1], 0.13)], robot)  # a misleading scan
    result = run(Frame(img, depth, K, robot, wrong), colour_radius_m=[0.04, 0.1, 0.05, 0.035, 0.0])
    (o,) = result.scene.objects
    assert result.lidar_located == 0 and horizontal_error(o, truth) < 0.05
    holes = np.full_like(depth, np.nan)  # depth invalid everywhere: the lidar places it
    right = synth_scan([(truth[0], truth[1], 0.13)], robot)
    result = run(Frame(img, holes, K, robot, right))
    (o,) = result.scene.objects
    assert result.lidar_located == 1 and horizontal_error(o, truth) < 0.15


def test_a_stale_scan_or_the_fallback_off_means_no_position():
    robot = (0.0, 0.0, 0.0)
    truth = (2.5, 0.4, 1.1)
    img, _, _ = render([("person", truth)], robot, radius_m=0.17)
    scan = synth_scan([(truth[0], truth[1], 0.13)], robot, stamp=-5.0)
    result = run(Frame(img, None, K, robot, scan))
    assert result.scene.objects == [] and "old" in result.unlocated_reasons[0]
    fresh = dataclasses.replace(scan, stamp=0.0)
    result = run(Frame(img, None, K, robot, fresh), use_lidar_fallback=False)
    assert result.scene.objects == [] and "fallback off" in result.unlocated_reasons[0]
    result = run(Frame(img, None, K, robot, None))
    assert result.scene.objects == [] and "no scan" in result.unlocated_reasons[0]


def test_locate_lidar_returns_a_fix_with_beams_and_bearing():
    robot = (0.0, 0.0, 0.0)
    truth = (2.0, -0.5, 1.1)
    img, _, _ = render([("person", truth)], robot, radius_m=0.17)
    det = Perception(config()).detect(img)[0]
    fix = locate_lidar(det, synth_scan([(truth[0], truth[1], 0.13)], robot), K, MOUNT, LIDAR,
                       robot, on_floor=True)  # fmt: skip
    assert isinstance(fix, LidarFix) and fix.beams >= 2 and not fix.above_plane
    assert fix.bearing == pytest.approx(math.atan2(truth[1], truth[0] - MOUNT.x), abs=0.02)


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(ranges=np.zeros((2, 3), np.float32)), "1-D"),
        (dict(angle_increment=0.0), "angle_increment"),
        (dict(range_min=5.0, range_max=1.0), "range_min"),
        (dict(stamp=math.nan), "finite"),
        (dict(robot=(0.0, math.inf, 0.0)), "robot pose"),
    ],
)
def test_malformed_scans_are_rejected_with_a_reason(change, reason):
    scan = dataclasses.replace(synth_scan([], (0.0, 0.0, 0.0)), **change)
    with pytest.raises(PerceptionInputError, match=reason):
        check_scan(scan)
    img, _, _ = render([], (0.0, 0.0, 0.0))
    with pytest.raises(PerceptionInputError, match=reason):
        Perception(config()).process(Frame(img, None, K, (0.0, 0.0, 0.0), scan), 0.0)


def test_lidar_parameters_are_validated():
    with pytest.raises(ValueError, match="lidar_window_deg"):
        PerceptionConfig(lidar_window_deg=0.0)
    with pytest.raises(ValueError, match="lidar_above_plane_confidence"):
        PerceptionConfig(lidar_above_plane_confidence=1.5)
    with pytest.raises(ValueError, match="depth_timeout_s"):
        PerceptionConfig(depth_timeout_s=0.0)
    with pytest.raises(ValueError, match="lidar_size_ratio"):
        PerceptionConfig(lidar_size_ratio=0.5)
