"""Colour detection, fiducials, camera geometry and input checks on synthetic images."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from synth_agent.core.perception import PerceptionConfig
from synth_agent.core.vision import (
    ArucoDetector,
    CameraMount,
    Detection,
    Intrinsics,
    PerceptionInputError,
    check_bgr,
    check_depth,
    detect_colours,
    load_detector,
    locate,
    optical_to_odom,
    pixel_to_optical,
    sample_depth,
)
from test.core.perception_synth import CLUTTER, MOUNT, SIM_COLOURS, K, blank, project

TABLE = PerceptionConfig().colour_table()


def detect(img):
    cfg = PerceptionConfig()
    return detect_colours(img, TABLE, cfg.min_blob_area_px, cfg.max_blob_area_fraction,
                          cfg.min_blob_fill)  # fmt: skip


@pytest.mark.parametrize("label", sorted(SIM_COLOURS))
@pytest.mark.parametrize("shade", [1.0, 0.55])
def test_each_sim_colour_is_found_with_its_label(label, shade):
    img, _ = blank()
    colour = tuple(int(c * shade) for c in SIM_COLOURS[label])
    cv2.circle(img, (300, 200), 25, colour, -1)
    dets = detect(img)
    assert [d.label for d in dets] == [label]
    (d,) = dets
    assert abs(d.centroid[0] - 300) < 1.0 and abs(d.centroid[1] - 200) < 1.0
    x, y, w, h = d.box
    assert abs(x - 275) <= 2 and abs(y - 175) <= 2 and 47 <= w <= 52 and 47 <= h <= 52
    assert 0.5 < d.confidence <= 1.0
    assert d.source == "colour"


def test_boxes_and_cylinders_are_found_too():
    img, _ = blank()
    cv2.rectangle(img, (100, 100), (140, 140), SIM_COLOURS["green box"], -1)
    cv2.rectangle(img, (400, 200), (420, 280), SIM_COLOURS["yellow bottle"], -1)
    labels = sorted(d.label for d in detect(img))
    assert labels == ["green box", "yellow bottle"]


def test_colour_words_come_from_the_table():
    img, _ = blank()
    cv2.circle(img, (100, 100), 20, SIM_COLOURS["red cup"], -1)
    cv2.circle(img, (300, 100), 20, SIM_COLOURS["person"], -1)
    by_label = {d.label: d.colour for d in detect(img)}
    assert by_label == {"red cup": "red", "person": None}


@pytest.mark.parametrize("seed", range(5))
def test_no_false_positives_on_clutter_and_noise(seed):
    rng = np.random.default_rng(seed)
    img, _ = blank(seed=seed, noise=20.0)
    # Big patches of every non-object colour of the flat, at several shades.
    for i, colour in enumerate(CLUTTER):
        shade = rng.uniform(0.4, 1.0)
        x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
        c = tuple(int(v * shade) for v in colour)
        cv2.rectangle(img, (x, y), (x + 80, y + 80), c, -1)
        del i
    # Saturated speckle and thin streaks of object colours: too small or too thin to count.
    for colour in SIM_COLOURS.values():
        for _ in range(30):
            x, y = int(rng.integers(0, 638)), int(rng.integers(0, 478))
            img[y : y + 2, x : x + 2] = colour
        x0, y0 = int(rng.integers(0, 300)), int(rng.integers(0, 400))
        cv2.line(img, (x0, y0), (x0 + 300, y0 + 60), colour, 1)
    assert detect(img) == []


def test_pure_noise_gives_nothing():
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert detect(img) == []


def test_small_blobs_are_ignored_and_two_blobs_are_two_detections():
    img, _ = blank()
    cv2.circle(img, (100, 100), 3, SIM_COLOURS["red cup"], -1)  # ~29 px < 60
    cv2.circle(img, (300, 300), 15, SIM_COLOURS["red cup"], -1)
    cv2.circle(img, (500, 300), 10, SIM_COLOURS["red cup"], -1)
    dets = detect(img)
    assert [d.label for d in dets] == ["red cup", "red cup"]
    assert dets[0].centroid[0] == pytest.approx(300, abs=1)  # largest first


# ------------------------------------------------------------------------------------------
# Geometry


def test_intrinsics_from_k_and_errors():
    k = Intrinsics.from_k([500, 0, 320, 0, 510, 240, 0, 0, 1], 640, 480)
    assert (k.fx, k.fy, k.cx, k.cy) == (500, 510, 320, 240)
    with pytest.raises(PerceptionInputError, match="9 elements"):
        Intrinsics.from_k([1, 2, 3], 640, 480)
    with pytest.raises(PerceptionInputError, match="focal"):
        Intrinsics.from_k([0, 0, 320, 0, 0, 240, 0, 0, 1], 640, 480)
    with pytest.raises(PerceptionInputError, match="finite"):
        Intrinsics(float("nan"), 1, 1, 1, 10, 10)


def test_optical_axis_points_forward_and_down_by_the_pitch():
    mount = CameraMount(z=0.6, pitch=math.radians(8.0))
    # 1 m along the optical axis.
    p = optical_to_odom(np.array([0.0, 0.0, 1.0]), mount, (0.0, 0.0, 0.0))
    assert p == pytest.approx([math.cos(math.radians(8)), 0.0, 0.6 - math.sin(math.radians(8))])
    # Image right is robot right (-y), image down is mostly down.
    right = mount.rotation() @ np.array([1.0, 0.0, 0.0])
    down = mount.rotation() @ np.array([0.0, 1.0, 0.0])
    assert right == pytest.approx([0, -1, 0])
    assert down[2] < -0.98


def test_robot_pose_rotates_and_translates():
    mount = CameraMount()
    p = optical_to_odom(np.array([0.0, 0.0, 2.0]), mount, (1.0, 2.0, math.pi / 2))
    assert p == pytest.approx([1.0, 4.0, 0.0], abs=1e-9)
    p = optical_to_odom(np.array([0.0, 0.0, 2.0]), CameraMount(yaw=math.pi / 2), (0, 0, 0))
    assert p == pytest.approx([0.0, 2.0, 0.0], abs=1e-9)


@pytest.mark.parametrize(
    "point,robot",
    [
        ((3.0, 0.5, 0.2), (0.0, 0.0, 0.0)),
        ((1.6, 2.1, 0.8), (3.0, 1.0, 2.8)),
        ((2.7, 7.0, 0.1), (2.0, 4.5, 1.4)),
        ((-1.0, -3.0, 1.2), (0.5, 0.0, -1.9)),
    ],
)
def test_pixel_and_depth_back_project_to_the_odom_point(point, robot):
    u, v, z = project(point, robot)
    back = optical_to_odom(pixel_to_optical(u, v, z, K), MOUNT, robot)
    assert back == pytest.approx(point, abs=1e-9)


def test_locate_uses_median_depth_inside_the_box():
    depth = np.full((480, 640), np.nan, np.float32)
    depth[210:270, 290:350] = 2.0
    depth[240, 320] = 50.0  # a stray far pixel
    det = Detection("x", 1.0, (290, 210, 60, 60), (K.cx, K.cy), "colour")
    p = locate(det, depth, K, CameraMount(), (0.0, 0.0, 0.0), 0.1, 8.0)
    assert p == pytest.approx([2.0, 0.0, 0.0], abs=0.01)
    assert sample_depth(np.full((480, 640), np.nan, np.float32), det.box, 0.1, 8.0) is None


# ------------------------------------------------------------------------------------------
# Malformed inputs


@pytest.mark.parametrize(
    "image,match",
    [
        (np.zeros((480, 640), np.uint8), "HxWx3"),
        (np.zeros((480, 640, 4), np.uint8), "HxWx3"),
        (np.zeros((0, 640, 3), np.uint8), "empty"),
        (np.zeros((480, 640, 3), np.float32), "uint8"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(image, match):
    with pytest.raises(PerceptionInputError, match=match):
        check_bgr(image)


def test_bad_depth_is_rejected_with_a_reason():
    with pytest.raises(PerceptionInputError, match="sizes must match"):
        check_depth(np.zeros((240, 320), np.float32), (480, 640))
    with pytest.raises(PerceptionInputError, match="float metres"):
        check_depth(np.zeros((480, 640), np.uint16), (480, 640))
    with pytest.raises(PerceptionInputError, match="HxW"):
        check_depth(np.zeros((480, 640, 2), np.float32), (480, 640))
    assert check_depth(np.zeros((480, 640, 1), np.float64), (480, 640)).dtype == np.float32


# ------------------------------------------------------------------------------------------
# Fiducials and plug-ins


def test_aruco_marker_is_detected_with_its_id():
    marker = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), 7, 120
    )
    img = np.full((480, 640, 3), 255, np.uint8)
    img[180:300, 260:380] = marker[:, :, None]
    dets = ArucoDetector("DICT_4X4_50").detect(img)
    assert [d.label for d in dets] == ["marker 7"]
    assert dets[0].centroid == pytest.approx((319.5, 239.5), abs=1.5)
    assert ArucoDetector().detect(blank()[0]) == []
    with pytest.raises(ValueError, match="unknown ArUco"):
        ArucoDetector("DICT_NOPE")


class _FixedDetector:
    def __init__(self, weights: str) -> None:
        self.weights = weights

    def detect(self, bgr):
        return [Detection("robot dog", 0.9, (10, 10, 20, 20), (20.0, 20.0), "learned")]


def make_fixed_detector(weights: str = "") -> _FixedDetector:
    return _FixedDetector(weights)


def not_a_detector(weights: str = "") -> object:
    return object()


def test_plugin_detector_loads_by_dotted_path():
    det = load_detector("test.core.test_perception_vision:make_fixed_detector", "w.onnx")
    assert det.weights == "w.onnx"
    assert det.detect(blank()[0])[0].label == "robot dog"
    with pytest.raises(ValueError, match="package.module:factory"):
        load_detector("no_colon")
    with pytest.raises(ValueError, match="cannot load"):
        load_detector("no.such.module:make")
    with pytest.raises(ValueError, match="no detect"):
        load_detector("test.core.test_perception_vision:not_a_detector")
