"""Detectors and camera geometry for perception: pixels in, labelled boxes and odom points out.

Why it is built this way:
- Every detector is a plain function (or a small object) from a BGR image to a list of
  `Detection`s with a pixel box. None of them knows about depth, time or frames; `locate()` turns
  any box into a 3-D point the same way, so a new detector (fiducials, people, a learned model)
  gets positions, tracking and the scene for free.
- Colour detection is HSV thresholding with a configurable table (`ColourClass`). Hue is the
  colour; the saturation and value floors are what keep white walls, grey furniture, shadows
  and sensor noise out. A morphological opening removes speckle, and a blob must be big enough
  and solid enough (area / box area) to count, which rejects thin streaks of clutter. A blob
  that touches the left or right image border is ignored: the object continues outside the
  image, so the blob's centroid (hence the position) is biased by up to the object's radius,
  and it will be seen whole a moment later. Top and bottom cuts are kept: they do not move the
  horizontal position, and a person closer than ~2.4 m is always cut at the top.
- Depth is sampled as the median over the inner half of the box, not at the centroid pixel: the
  centroid of a blob can sit on an edge (a cup handle, a ball's rim) where depth jumps, and the
  median ignores NaN holes and the odd stray pixel.
- Depth sees the *front surface* of an object, but the scene reports where the object *is*. A
  detection may carry the object's horizontal radius (`radius_m`, from the colour table), and
  `locate()` pushes the surface point that far further along the horizontal viewing ray, to the
  object's axis. For a person (torso radius 0.17 m) this is the difference between being within
  0.15 m of the truth or not; for flat things (markers) the radius is 0.
- A learned detector is either the user's own object (`load_detector`, `package.module:factory`)
  or an ONNX model run by OpenCV's DNN module (`OnnxDetector`), so the common case (a YOLO model
  exported to ONNX) needs no code and no extra runtime. One output format is supported, the
  YOLO detection head as the usual exporters write it: `[1, 4+C, N]` (YOLOv8/v11, ultralytics
  `export(format="onnx")`) or `[1, N, 5+C]` (YOLOv5), boxes as centre x, centre y, width,
  height in the letterboxed input's pixels, C = the number of lines of the labels file. Which
  of the two is decided from the output shape and C when the model is loaded, and a model whose
  output is neither fails then, with the shape it has and the shapes it should have.
- Geometry is explicit matrices with REP 103/105 conventions: the optical frame is x right,
  y down, z forward; the robot base is x forward, y left, z up; the camera is mounted at
  (x, y, z) on the base, yawed left by `yaw` and pitched *down* by `pitch`.

Pure Python + numpy + OpenCV; no rclpy.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np


class PerceptionInputError(ValueError):
    """An image, depth map, camera model or pose that perception cannot use; the text says why."""


class DetectorLoadError(ValueError):
    """A configured detector that cannot be built (missing file, bad model); the text says why."""


@dataclass(frozen=True)
class Detection:
    """One thing seen in one image. `box` is (x, y, w, h) in pixels; `centroid` is (u, v)."""

    label: str
    confidence: float
    box: tuple[int, int, int, int]
    centroid: tuple[float, float]
    source: str
    colour: str | None = None
    radius_m: float = 0.0  # horizontal radius of the object: front surface -> centre


@dataclass(frozen=True)
class ColourClass:
    """A row of the colour table: a named object, its HSV range (OpenCV scale: H 0..179,
    S and V 0..255) and its horizontal radius in metres. A hue range with `low[0] > high[0]`
    wraps through 0 (red)."""

    label: str
    colour: str | None
    low: tuple[int, int, int]
    high: tuple[int, int, int]
    radius_m: float = 0.0


# ------------------------------------------------------------------------------------------
# Input checks


def check_bgr(image: Any) -> np.ndarray:
    """Return `image` if it is a non-empty HxWx3 uint8 array, else raise with the reason."""
    if not isinstance(image, np.ndarray):
        raise PerceptionInputError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise PerceptionInputError(f"image must be HxWx3 (BGR), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise PerceptionInputError("image is empty")
    if image.dtype != np.uint8:
        raise PerceptionInputError(f"image must be uint8, got {image.dtype}")
    return image


def check_depth(depth: Any, shape: tuple[int, int]) -> np.ndarray:
    """Return depth as float32 metres (HxW, same size as the image); NaN/inf/<=0 mean unknown."""
    if not isinstance(depth, np.ndarray):
        raise PerceptionInputError(f"depth must be a numpy array, got {type(depth).__name__}")
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    if depth.ndim != 2:
        raise PerceptionInputError(f"depth must be HxW, got shape {depth.shape}")
    if depth.shape != shape:
        raise PerceptionInputError(f"depth is {depth.shape}, image is {shape}: sizes must match")
    if not np.issubdtype(depth.dtype, np.floating):
        raise PerceptionInputError(f"depth must be float metres, got {depth.dtype}")
    return depth.astype(np.float32, copy=False)


# ------------------------------------------------------------------------------------------
# Camera model and frames


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole camera model (from sensor_msgs/CameraInfo `k`, row-major 3x3)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(v) for v in values):
            raise PerceptionInputError(f"camera intrinsics must be finite, got {values}")
        if self.fx <= 0 or self.fy <= 0:
            raise PerceptionInputError(f"focal lengths must be > 0, got fx={self.fx} fy={self.fy}")
        if self.width <= 0 or self.height <= 0:
            raise PerceptionInputError(f"camera size must be > 0, got {self.width}x{self.height}")

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> Intrinsics:
        """From the 9 numbers of CameraInfo.k."""
        if len(k) != 9:
            raise PerceptionInputError(f"K must have 9 elements, got {len(k)}")
        return cls(float(k[0]), float(k[4]), float(k[2]), float(k[5]), int(width), int(height))

    @classmethod
    def from_fov(cls, width: int, height: int, fovy_deg: float) -> Intrinsics:
        """A centred pinhole with square pixels and vertical field of view `fovy_deg`."""
        f = (height / 2.0) / math.tan(math.radians(fovy_deg) / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)


@dataclass(frozen=True)
class CameraMount:
    """Where the camera sits on the robot base: position (m), yaw left and pitch down (rad)."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0

    def rotation(self) -> np.ndarray:
        """3x3 rotation taking optical-frame vectors into the base frame."""
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        # Optical axes in the base frame for a camera looking along +x, pitched down by `pitch`.
        x_opt = np.array([0.0, -1.0, 0.0])
        z_opt = np.array([cp, 0.0, -sp])
        y_opt = np.cross(z_opt, x_opt)
        r = np.column_stack([x_opt, y_opt, z_opt])
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        yaw = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        return yaw @ r


def pixel_to_optical(u: float, v: float, depth_m: float, k: Intrinsics) -> np.ndarray:
    """Back-project pixel (u, v) at z-depth `depth_m` into the optical frame."""
    return np.array([(u - k.cx) * depth_m / k.fx, (v - k.cy) * depth_m / k.fy, depth_m])


def optical_to_odom(
    p_optical: np.ndarray, mount: CameraMount, robot: tuple[float, float, float]
) -> np.ndarray:
    """Optical-frame point -> base frame (mount) -> odom frame (robot pose x, y, yaw)."""
    p_base = mount.rotation() @ np.asarray(p_optical, dtype=float) + np.array(
        [mount.x, mount.y, mount.z]
    )
    rx, ry, ryaw = robot
    c, s = math.cos(ryaw), math.sin(ryaw)
    return np.array(
        [rx + c * p_base[0] - s * p_base[1], ry + s * p_base[0] + c * p_base[1], p_base[2]]
    )


def sample_depth(
    depth: np.ndarray, box: tuple[int, int, int, int], depth_min: float, depth_max: float
) -> float | None:
    """Median valid depth over the inner half of `box`, or None when nothing there is valid."""
    x, y, w, h = box
    x0, x1 = x + w // 4, x + max(w // 4 + 1, (3 * w) // 4)
    y0, y1 = y + h // 4, y + max(h // 4 + 1, (3 * h) // 4)
    patch = depth[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]
    valid = patch[np.isfinite(patch) & (patch >= depth_min) & (patch <= depth_max)]
    if valid.size == 0:
        return None
    return float(np.median(valid))


def locate(
    det: Detection,
    depth: np.ndarray,
    k: Intrinsics,
    mount: CameraMount,
    robot: tuple[float, float, float],
    depth_min: float,
    depth_max: float,
) -> np.ndarray | None:
    """The odom-frame point of a detection, or None without valid depth: the visible surface at
    its centroid, moved `det.radius_m` further along the horizontal viewing ray (to the centre
    of a round object)."""
    z = sample_depth(depth, det.box, depth_min, depth_max)
    if z is None:
        return None
    p = optical_to_odom(pixel_to_optical(det.centroid[0], det.centroid[1], z, k), mount, robot)
    if det.radius_m > 0:
        ray = p[:2] - optical_to_odom(np.zeros(3), mount, robot)[:2]
        norm = float(np.hypot(ray[0], ray[1]))
        if norm > 1e-6:
            p[:2] += det.radius_m * ray / norm
    return p


# ------------------------------------------------------------------------------------------
# Detectors


def detect_colours(
    bgr: np.ndarray,
    table: Sequence[ColourClass],
    min_area_px: int,
    max_area_fraction: float = 0.5,
    min_fill: float = 0.3,
    hsv: np.ndarray | None = None,
    border_px: int = 0,
) -> list[Detection]:
    """Blobs of each table colour that are big and solid enough, largest first per label;
    blobs within `border_px` of the left or right image border are left out."""
    check_bgr(bgr)
    width = bgr.shape[1]
    if hsv is None:
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    max_area = max_area_fraction * bgr.shape[0] * bgr.shape[1]
    kernel = np.ones((3, 3), np.uint8)
    out: list[Detection] = []
    for cls in table:
        lo, hi = np.array(cls.low, np.uint8), np.array(cls.high, np.uint8)
        if cls.low[0] > cls.high[0]:  # hue wraps through 0
            mask = cv2.inRange(hsv, lo, np.array([179, hi[1], hi[2]], np.uint8))
            mask |= cv2.inRange(hsv, np.array([0, lo[1], lo[2]], np.uint8), hi)
        else:
            mask = cv2.inRange(hsv, lo, hi)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        n, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        found = []
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < min_area_px or area > max_area:
                continue
            if border_px > 0 and (x < border_px or x + w > width - border_px):
                continue
            fill = area / float(w * h)
            if fill < min_fill:
                continue
            conf = min(1.0, 0.5 + 0.5 * fill)
            cu, cv_ = (float(c) for c in centroids[i])
            found.append(
                (
                    area,
                    Detection(
                        cls.label,
                        conf,
                        (x, y, w, h),
                        (cu, cv_),
                        "colour",
                        cls.colour,
                        cls.radius_m,
                    ),
                )
            )
        out.extend(d for _, d in sorted(found, key=lambda t: -t[0]))
    return out


class ArucoDetector:
    """ArUco / AprilTag fiducials (OpenCV `cv2.aruco`); label `marker <id>`."""

    def __init__(self, dictionary: str = "DICT_4X4_50") -> None:
        if not hasattr(cv2.aruco, dictionary):
            raise ValueError(f"unknown ArUco dictionary {dictionary!r}")
        d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
        self._detector = cv2.aruco.ArucoDetector(d, cv2.aruco.DetectorParameters())

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        gray = cv2.cvtColor(check_bgr(bgr), cv2.COLOR_BGR2GRAY)
        corners, ids, _ = self._detector.detectMarkers(gray)
        out = []
        if ids is None:
            return out
        for c, i in zip(corners, ids.ravel(), strict=True):
            pts = c.reshape(-1, 2)
            x, y, w, h = cv2.boundingRect(pts.astype(np.float32))
            u, v = (float(t) for t in pts.mean(axis=0))
            out.append(Detection(f"marker {int(i)}", 1.0, (x, y, w, h), (u, v), "aruco"))
        return out


class QrDetector:
    """QR codes (OpenCV `QRCodeDetector`); label `qr <decoded text>` (`qr` when unreadable)."""

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetector()

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        text, points, _ = self._detector.detectAndDecode(check_bgr(bgr))
        if points is None or len(points) == 0:
            return []
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        x, y, w, h = cv2.boundingRect(pts)
        u, v = (float(t) for t in pts.mean(axis=0))
        label = f"qr {text[:60]}" if text else "qr"
        return [Detection(label, 1.0 if text else 0.6, (x, y, w, h), (u, v), "qr")]


class HogPeopleDetector:
    """Upright people with OpenCV's HOG + linear SVM (trained on real photographs, so it is for
    real cameras; the simulator's person is found through the colour table)."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._min = min_confidence

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        rects, weights = self._hog.detectMultiScale(check_bgr(bgr), winStride=(8, 8), scale=1.05)
        out = []
        for (x, y, w, h), wgt in zip(rects, np.ravel(weights), strict=True):
            conf = float(1.0 / (1.0 + math.exp(-float(wgt))))
            if conf >= self._min:
                box = (int(x), int(y), int(w), int(h))
                out.append(Detection("person", conf, box, (x + w / 2.0, y + h / 2.0), "hog"))
        return out


@runtime_checkable
class Detector(Protocol):
    """What a plug-in (e.g. an ONNX or torch model) implements: BGR image -> detections."""

    def detect(self, bgr: np.ndarray) -> list[Detection]: ...


def load_detector(spec: str, weights: str = "") -> Detector:
    """Build a plug-in detector from `package.module:factory`; the factory gets `weights=`.

    The factory may return any object with `detect(bgr) -> list[Detection]`. Anything that goes
    wrong (no such module, the factory raises, no `detect`) is a DetectorLoadError."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise DetectorLoadError(f"detector must be 'package.module:factory', got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise DetectorLoadError(f"cannot load detector {spec!r}: {e}") from None
    try:
        detector = factory(weights=weights)
    except Exception as e:  # noqa: BLE001 - a user's factory may fail in any way; say which
        raise DetectorLoadError(f"detector {spec} failed to start: {e!r}") from e
    if not isinstance(detector, Detector):
        raise DetectorLoadError(f"{spec} returned {type(detector).__name__}, which has no detect()")
    return detector


# ------------------------------------------------------------------------------------------
# ONNX (YOLO-style) detector through OpenCV's DNN module

LETTERBOX_GREY = 114  # the padding colour YOLO models are trained with


def read_labels(path: str) -> list[str]:
    """Class names, one a line (line i = class i, as in coco.names); blank lines are skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise DetectorLoadError(f"cannot read the labels file {path!r}: {e.strerror}") from None
    if not labels:
        raise DetectorLoadError(f"the labels file {path!r} has no labels")
    return labels


def letterbox(bgr: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """`bgr` scaled to fit a `size` x `size` square, centred on grey: (square, scale, pad_x,
    pad_y); an input pixel (u, v) is image pixel ((u - pad_x) / scale, (v - pad_y) / scale)."""
    h, w = bgr.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.full((size, size, 3), LETTERBOX_GREY, np.uint8)
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    out[pad_y : pad_y + nh, pad_x : pad_x + nw] = cv2.resize(
        bgr, (nw, nh), interpolation=cv2.INTER_LINEAR
    )
    return out, scale, float(pad_x), float(pad_y)


def yolo_layout(shape: Sequence[int], n_classes: int) -> str:
    """The layout of a YOLO output: "yolov8" for [1, 4+C, N], "yolov5" for [1, N, 5+C]; any
    other shape is a DetectorLoadError saying which shapes were expected."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 3 and shape[0] == 1:
        if shape[1] == 4 + n_classes:
            return "yolov8"
        if shape[2] == 5 + n_classes:
            return "yolov5"
    raise DetectorLoadError(
        f"the model's output is {list(shape)}; with {n_classes} labels it must be "
        f"[1, {4 + n_classes}, N] (YOLOv8/v11: cx, cy, w, h, {n_classes} class scores) or "
        f"[1, N, {5 + n_classes}] (YOLOv5: cx, cy, w, h, objectness, {n_classes} class scores). "
        "Is the labels file the one the model was trained with?"
    )


def decode_yolo(
    output: np.ndarray,
    n_classes: int,
    min_confidence: float,
    nms_iou: float,
    layout: str | None = None,
) -> list[tuple[int, float, tuple[float, float, float, float]]]:
    """(class, score, (x, y, w, h) in input pixels) of each box of a YOLO output that scores at
    least `min_confidence`, after per-class non-maximum suppression at IoU `nms_iou`; best
    first. The score is the best class score (times the objectness for YOLOv5). `layout`
    ("yolov8" / "yolov5", as `yolo_layout` tells) when known, else derived from the shape."""
    if layout is None:
        layout = yolo_layout(output.shape, n_classes)
    rows = np.asarray(output[0], np.float32)
    if layout == "yolov8":
        rows = rows.T  # [N, 4+C]
        class_scores = rows[:, 4:]
    else:
        class_scores = rows[:, 5:] * rows[:, 4:5]
    classes = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(len(rows)), classes]
    cx, cy, w, h = (rows[:, i] for i in range(4))
    ok = (scores >= min_confidence) & (w > 0) & (h > 0) & np.isfinite(rows[:, :4]).all(axis=1)
    if not ok.any():
        return []
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)[ok]
    scores, classes = scores[ok], classes[ok]
    keep = cv2.dnn.NMSBoxesBatched(
        boxes.tolist(), scores.tolist(), classes.tolist(), min_confidence, nms_iou
    )
    out = [
        (int(classes[i]), float(scores[i]), tuple(float(v) for v in boxes[i]))
        for i in np.ravel(keep)
    ]
    return sorted(out, key=lambda t: -t[1])  # type: ignore[return-value]


# Some ONNX graphs crash OpenCV's DNN module outright (a segmentation fault in OpenCV 4.x, e.g.
# ReduceMax over every axis with keepdims=0): the first forward pass runs in a child process,
# so such a model is refused with a reason instead of taking the perception node down.
_TRIAL = """
import sys, cv2, numpy as np
net = cv2.dnn.readNetFromONNX(sys.argv[1])
size = int(sys.argv[2])
net.setInput(cv2.dnn.blobFromImage(np.full((size, size, 3), 114, np.uint8), 1 / 255, swapRB=True))
net.forward()
"""
TRIAL_TIMEOUT_S = 120.0


def _trial_run(model_path: str, input_size: int) -> None:
    """Raise DetectorLoadError when a first forward pass kills or hangs its process. Errors
    OpenCV reports as exceptions are left to the in-process load, which words them better."""
    try:
        run = subprocess.run(
            [sys.executable, "-c", _TRIAL, model_path, str(input_size)],
            capture_output=True,
            timeout=TRIAL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise DetectorLoadError(
            f"the ONNX model {model_path!r} did not finish a trial forward pass in "
            f"{TRIAL_TIMEOUT_S:.0f} s"
        ) from None
    if run.returncode < 0:
        try:
            name = signal.Signals(-run.returncode).name
        except ValueError:  # a signal Python has no name for (a real-time one)
            name = f"signal {-run.returncode}"
        raise DetectorLoadError(
            f"the ONNX model {model_path!r} crashes OpenCV's DNN module ({name} on a trial "
            "forward pass): export it with another opset or simplify the graph"
        )


class OnnxDetector:
    """A YOLO-style ONNX model (see the module docstring for the output format) run by
    OpenCV's DNN module on the CPU; labels from a text file, one a line.

    The image is letterboxed to `input_size` (the model's square input), converted to RGB
    scaled to 0..1, as ultralytics models expect. Everything that can be wrong with the files
    (missing, unreadable, not ONNX, input size or output shape not what the model has) raises
    DetectorLoadError here, when the detector is built, not at the first frame."""

    def __init__(
        self,
        model_path: str,
        labels_path: str,
        input_size: int = 640,
        min_confidence: float = 0.5,
        nms_iou: float = 0.45,
    ) -> None:
        if not model_path:
            raise DetectorLoadError(
                "learned_detector 'onnx' needs learned_detector_weights: the path of a .onnx model"
            )
        if not labels_path:
            raise DetectorLoadError(
                "learned_detector 'onnx' needs learned_detector_labels: a text file with the "
                "model's class names, one a line"
            )
        self.labels = read_labels(labels_path)
        if os.path.isfile(model_path):
            _trial_run(model_path, int(input_size))
        try:
            self._net = cv2.dnn.readNetFromONNX(model_path)
        except cv2.error as e:
            why = "no such file" if not os.path.isfile(model_path) else _cv_reason(e)
            raise DetectorLoadError(f"cannot load the ONNX model {model_path!r}: {why}") from None
        self.input_size = int(input_size)
        self.min_confidence = float(min_confidence)
        self.nms_iou = float(nms_iou)
        probe = np.full((self.input_size, self.input_size, 3), LETTERBOX_GREY, np.uint8)
        try:
            shape = self._forward(probe).shape
        except cv2.error as e:
            raise DetectorLoadError(
                f"the ONNX model {model_path!r} does not run on a {self.input_size}x"
                f"{self.input_size} input (is learned_detector_input_size the model's input "
                f"size?): {_cv_reason(e)}"
            ) from None
        try:
            self.layout = yolo_layout(shape, len(self.labels))
        except DetectorLoadError as e:
            raise DetectorLoadError(f"{model_path}: {e}") from None

    def _forward(self, square_bgr: np.ndarray) -> np.ndarray:
        self._net.setInput(cv2.dnn.blobFromImage(square_bgr, 1.0 / 255.0, swapRB=True))
        return self._net.forward()

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        check_bgr(bgr)
        height, width = bgr.shape[:2]
        square, scale, pad_x, pad_y = letterbox(bgr, self.input_size)
        found = decode_yolo(
            self._forward(square), len(self.labels), self.min_confidence, self.nms_iou,
            self.layout,
        )  # fmt: skip
        out = []
        for cls, score, (x, y, w, h) in found:
            x0 = min(max((x - pad_x) / scale, 0.0), width)
            y0 = min(max((y - pad_y) / scale, 0.0), height)
            x1 = min(max((x + w - pad_x) / scale, 0.0), width)
            y1 = min(max((y + h - pad_y) / scale, 0.0), height)
            box = (int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0)))
            if box[2] < 1 or box[3] < 1:
                continue  # entirely in the letterbox padding
            centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
            out.append(Detection(self.labels[cls], score, box, centre, "onnx"))
        return out


def _cv_reason(e: cv2.error) -> str:
    """The informative part of an OpenCV error, without its source location and function."""
    text = " ".join(str(e).split())
    m = re.search(r"error: \([^)]*\) (.*?)(?: in function .*)?$", text)
    return m.group(1) if m else text
