"""End to end in core: rendered frames from many robot poses -> a validated scene in odom."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest

from synth_agent.core.perception import (
    Frame,
    Perception,
    PerceptionConfig,
    PerceptionInputError,
    annotate,
    merge_fragments,
)
from synth_agent.core.schemas import parse_scene, to_json
from synth_agent.core.tracker import Observation
from synth_agent.core.vision import detect_colours
from test.core.perception_synth import K, render

# The simulator's objects (odom positions of a point on each, as in apartment.xml).
WORLD = [
    ("red cup", (1.6, 2.1, 0.8)),
    ("green box", (7.22, 1.55, 0.5)),
    ("blue ball", (2.7, 7.0, 0.1)),
    ("yellow bottle", (0.33, 5.7, 0.65)),
    ("person", (6.2, 0.7, 1.2)),
]
# Robot poses that look at one or more of them (x, y, yaw).
POSES = [
    (3.5, 2.0, math.pi),
    (3.0, 1.5, 2.9),
    (9.0, 1.7, math.pi),
    (8.5, 1.0, 3.0),
    (2.7, 4.5, math.pi / 2),
    (3.2, 5.0, 1.8),
    (2.0, 5.7, math.pi),
    (2.5, 4.0, 2.4),
    (4.0, 1.0, -3.0),
    (1.6, 4.5, -math.pi / 2),
    (8.0, 3.0, -2.0),
]


def perception(**overrides) -> Perception:
    # The synthetic objects are flat discs drawn at the truth point: no radius to correct for.
    overrides.setdefault("colour_radius_m", [0.0] * 5)
    return Perception(dataclasses.replace(PerceptionConfig(min_hits=1), **overrides))


@pytest.mark.parametrize("robot", POSES)
def test_every_object_in_view_is_reported_within_5cm(robot):
    img, depth, in_view = render(WORLD, robot, seed=hash(robot) % 1000)
    p = perception()
    result = p.process(Frame(img, depth, K, robot), now=1.0)
    got = {(o.label, o.id): o for o in result.scene.objects}
    assert sorted(label for label, _ in got) == sorted(label for label, _ in in_view)
    for label, truth in in_view:
        (o,) = [o for (lab, _), o in got.items() if lab == label]
        err = math.dist((o.position.x, o.position.y, o.position.z), truth)
        assert err < 0.05, f"{label} at {o.position} is {err:.3f} m from {truth}"
        assert o.distance == pytest.approx(math.dist(truth[:2], robot[:2]), abs=0.05)
        bearing = math.atan2(truth[1] - robot[1], truth[0] - robot[0]) - robot[2]
        assert math.cos(o.bearing - bearing) > math.cos(0.02)
        assert o.visible and o.last_seen == 1.0


def test_most_poses_see_something():
    seen = [len(render(WORLD, r)[2]) for r in POSES]
    assert sum(1 for n in seen if n) >= 10


def test_scene_is_valid_json_with_robot_pose_and_colours():
    robot = POSES[0]
    img, depth, _ = render(WORLD, robot)
    scene = perception().process(Frame(img, depth, K, robot), now=3.5).scene
    again = parse_scene(to_json(scene))
    assert again == scene
    assert (again.robot.x, again.robot.y, again.robot.yaw) == robot
    assert again.frame == "odom" and again.stamp == 3.5
    assert {o.label: o.colour for o in again.objects}["red cup"] == "red"


def test_ids_stay_stable_while_the_robot_moves_and_the_person_walks():
    p = perception(min_hits=2)
    ids: dict[str, set[str]] = {}
    for i in range(30):
        t = 0.1 * i
        robot = (3.5 + 0.02 * i, 2.0, math.pi - 0.01 * i)
        person = ("person", (1.5, 1.6 + 0.02 * i, 1.2))
        img, depth, in_view = render([WORLD[0], person], robot, seed=i)
        assert len(in_view) == 2
        scene = p.process(Frame(img, depth, K, robot), now=t).scene
        for o in scene.objects:
            ids.setdefault(o.label, set()).add(o.id)
    assert ids == {"red cup": {"red_cup-1"}, "person": {"person-1"}}


def test_objects_out_of_view_are_remembered_then_forgotten():
    p = perception(forget_after_s=1.0, memory_s=5.0)
    robot = POSES[0]
    img, depth, _ = render(WORLD, robot)
    p.process(Frame(img, depth, K, robot), now=0.0)
    turned = (robot[0], robot[1], -math.pi / 2)  # facing away: nothing in view
    empty, empty_depth, in_view = render(WORLD, turned)
    assert in_view == []
    scene = p.process(Frame(empty, empty_depth, K, turned), now=0.5).scene
    assert [o.visible for o in scene.objects] == [True]
    scene = p.process(Frame(empty, empty_depth, K, turned), now=2.0).scene
    (cup,) = scene.objects
    assert not cup.visible and cup.last_seen == 0.0
    assert cup.position.x == pytest.approx(1.6, abs=0.05)
    assert p.scene(turned, now=5.5).objects == []


def test_no_depth_means_no_position_but_no_crash():
    robot = POSES[0]
    img, depth, _ = render(WORLD, robot)
    p = perception()
    result = p.process(Frame(img, None, K, robot), now=0.0)
    assert result.scene.objects == [] and result.unlocated == len(result.detections) > 0
    nan_depth = np.full_like(depth, np.nan)
    result = p.process(Frame(img, nan_depth, K, robot), now=0.1)
    assert result.scene.objects == [] and result.unlocated > 0


def test_nothing_is_reported_in_an_empty_noisy_room():
    p = perception()
    rng = np.random.default_rng(3)
    for i in range(10):
        img = np.clip(rng.normal(120, 25, (480, 640, 3)), 0, 255).astype(np.uint8)
        depth = rng.uniform(0.5, 6.0, (480, 640)).astype(np.float32)
        scene = p.process(Frame(img, depth, K, (0.0, 0.0, 0.0)), now=0.1 * i).scene
        assert scene.objects == []


def test_malformed_frames_are_rejected_before_any_state_changes():
    p = perception()
    img, depth, _ = render(WORLD, POSES[0])
    with pytest.raises(PerceptionInputError, match="sizes must match"):
        p.process(Frame(img[:240, :320], depth[:240, :320], K, POSES[0]), now=0.0)
    with pytest.raises(PerceptionInputError, match="depth"):
        p.process(Frame(img, depth[:100], K, POSES[0]), now=0.0)
    with pytest.raises(PerceptionInputError, match="robot pose"):
        p.process(Frame(img, depth, K, (0.0, float("nan"), 0.0)), now=0.0)
    with pytest.raises(PerceptionInputError, match="now"):
        p.process(Frame(img, depth, K, POSES[0]), now=float("inf"))
    with pytest.raises(PerceptionInputError, match="empty"):
        p.process(Frame(np.zeros((0, 0, 3), np.uint8), None, K, POSES[0]), now=0.0)
    assert p.scene(POSES[0], 0.0).objects == []


def test_aruco_marker_gets_a_position():
    marker = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), 3, 100
    )
    img = np.full((480, 640, 3), 255, np.uint8)
    y0, x0 = int(K.cy) - 50, int(K.cx) - 50
    img[y0 : y0 + 100, x0 : x0 + 100] = marker[:, :, None]
    depth = np.full((480, 640), 2.0, np.float32)
    p = Perception(PerceptionConfig(min_hits=1, camera_pitch_deg=0.0, camera_x_m=0.0))
    (o,) = p.process(Frame(img, depth, K, (0.0, 0.0, 0.0)), now=0.0).scene.objects
    assert o.label == "marker 3" and o.colour is None
    assert (o.position.x, o.position.y, o.position.z) == pytest.approx((2.0, 0.0, 0.6), abs=0.02)


def test_the_colour_radius_moves_the_surface_point_back_to_the_centre():
    robot = POSES[0]
    img, depth, in_view = render(WORLD, robot)
    flat = perception().process(Frame(img, depth, K, robot), now=0.0).scene.objects
    round_ = perception(colour_radius_m=[0.04, 0.1, 0.05, 0.035, 0.17])
    (cup,) = [o for o in round_.process(Frame(img, depth, K, robot), 0.0).scene.objects]
    (flat_cup,) = flat
    # 4 cm further from the robot, along the horizontal viewing ray; same height.
    # (Distance and bearing are from the robot centre, the ray from the camera 12 cm ahead.)
    assert cup.distance == pytest.approx(flat_cup.distance + 0.04, abs=1e-3)
    assert cup.bearing == pytest.approx(flat_cup.bearing, abs=1e-3)
    assert cup.position.z == pytest.approx(flat_cup.position.z)


def test_fragments_of_one_object_are_merged_but_two_objects_are_not():
    obs = [
        Observation("person", (6.0, 0.7, 1.0), 0.9),
        Observation("person", (6.3, 0.7, 1.0), 0.6),
        Observation("red cup", (1.0, 1.0, 0.8), 1.0),
        Observation("red cup", (1.2, 1.0, 0.8), 1.0),
    ]
    merged = merge_fragments(obs, [0.17, 0.17, 0.04, 0.04])
    assert [o.label for o in merged] == ["person", "red cup", "red cup"]
    assert merged[0].position[0] == pytest.approx((6.0 * 0.9 + 6.3 * 0.6) / 1.5)
    assert merged[0].confidence == 0.9


def test_blobs_cut_by_the_left_or_right_border_are_ignored():
    img, depth, _ = render(WORLD, POSES[0])
    table = PerceptionConfig().colour_table()
    (cup,) = detect_colours(img, table, 60)
    x, y, w, h = cup.box
    shifted = np.full_like(img, 128)
    half = w - w // 2
    shifted[:, :half] = img[:, x + w // 2 : x + w]  # the cup's right half at the left edge
    assert detect_colours(shifted, table, 60, border_px=0)
    assert detect_colours(shifted, table, 60, border_px=2) == []


def test_annotate_draws_on_a_copy():
    img, depth, _ = render(WORLD, POSES[0])
    p = perception()
    dets = p.process(Frame(img, depth, K, POSES[0]), now=0.0).detections
    out = annotate(img, dets)
    assert out.shape == img.shape and not np.array_equal(out, img)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"max_rate_hz": 0.0}, "max_rate_hz"),
        ({"colour_names": ["red"]}, "colour_names"),
        ({"colour_hsv_low": [0, 0, 0]}, "3 numbers"),
        ({"colour_hsv_high": [200] + [255] * 14}, r"colour_hsv_high\[0\]"),
        ({"memory_s": 1.0}, "memory_s"),
        ({"smoothing": 1.5}, "smoothing"),
        ({"depth_min_m": 9.0}, "depth_min_m"),
        ({"aruco_dictionary": "DICT_BOGUS"}, "aruco_dictionary"),
        ({"learned_detector": "nocolon"}, "learned_detector"),
        ({"min_hits": 0}, "min_hits"),
        ({"colour_radius_m": [0.1]}, "colour_radius_m has 1"),
        ({"colour_radius_m": [0.1, 0.1, 0.1, 0.1, -1.0]}, r"colour_radius_m\[4\]"),
        ({"blob_border_px": -1}, "blob_border_px"),
    ],
)
def test_config_range_checks(overrides, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(PerceptionConfig(), **overrides)
