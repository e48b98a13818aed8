"""Perception core: camera frame + depth + robot pose -> validated `synth_agent/scene/v1`.

Why it is built this way:
- One frozen `PerceptionConfig` holds every parameter (the node declares ROS parameters from
  it; `config/perception.yaml` mirrors it). ROS parameters cannot hold a list of structs, so the
  colour table is *parallel lists*: entry i is `colour_labels[i]` (what the object is called in
  the scene, e.g. "red cup"), `colour_names[i]` (its colour word, "" for none) and the HSV range
  `colour_hsv_low[3i:3i+3]` .. `colour_hsv_high[3i:3i+3]` on OpenCV's scale (H 0..179, S and V
  0..255). A hue range whose low H is above its high H wraps through 0, which is how red is
  written. `__post_init__` checks that the lists line up, so a mistyped table fails at start-up
  with the index of the bad entry, not silently at run time.
- The defaults match the embedded simulator: its four objects (red cup, blue ball, green box,
  yellow bottle) and its person, whose teal shirt is what the camera sees of it (HOG people
  detection is trained on photographs; it is the detector for real cameras, off by default).
  Saturation floors are set so that wood, skin, the person's dark-blue trousers and grey
  furniture never match. On a real camera the "person" colour entry must go (anything teal
  would be a person) and `people_enabled` be on; `config/perception.yaml` says so too.
- `Perception.process()` is the whole per-frame pipeline: detect -> locate (depth, intrinsics,
  camera mount, robot pose) -> track -> scene. It takes `now` as an argument and never reads a
  clock, so tests replay exactly and the node passes ROS (possibly simulated) time.
- Depth sees an object's front surface; `colour_radius_m[i]` (the object's horizontal radius)
  moves the point back to the object's centre, so the scene says where the thing *is*. The
  defaults are the simulator's objects' radii and the person's torso radius.
- One object can show up as several blobs in one frame (a person cut by the image border shows
  two strips of shirt either side of an arm or the frame). Same-label observations closer than
  the object's diameter (+ 5 cm) are merged before tracking, because two solid objects of one
  kind cannot be closer than that; otherwise the fragment would become a second, false track.
- Without depth (a camera that has none, depth that is stale or invalid at a detection) a
  detection is placed from its bearing and the latest lidar scan (`perception_lidar`, whose
  docstring says how and where that is weaker: objects on tables are above the lidar plane, so
  the lidar sees the table, and such positions get `lidar_above_plane_confidence` times the
  detector's confidence). A detection that neither can place is counted in
  `PerceptionResult.unlocated`, with the reason in `unlocated_reasons`.
- Acceptance on the real simulator (test/core/test_perception_sim.py): from many robot poses
  every object clearly in view within 0.15 m of ground truth, and no false positive over 60 s
  of driving with the person walking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from synth_agent.core.perception_lidar import LidarFix, LidarMount, Scan, check_scan, locate_lidar
from synth_agent.core.schemas import Pose2D, Position, Scene, SceneObject
from synth_agent.core.tracker import Observation, Track, Tracker
from synth_agent.core.vision import (
    ArucoDetector,
    CameraMount,
    ColourClass,
    Detection,
    Detector,
    DetectorLoadError,
    HogPeopleDetector,
    Intrinsics,
    OnnxDetector,
    PerceptionInputError,
    QrDetector,
    check_bgr,
    check_depth,
    detect_colours,
    load_detector,
    locate,
)

__all__ = [
    "Detection",
    "DetectorLoadError",
    "Frame",
    "Intrinsics",
    "Perception",
    "PerceptionConfig",
    "PerceptionInputError",
    "PerceptionResult",
    "Scan",
    "build_learned_detector",
    "build_scene",
    "annotate",
    "merge_fragments",
]


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


@dataclass(frozen=True)
class PerceptionConfig:
    """Every perception parameter; SI units, angles in degrees where named _deg."""

    # Most frames processed per second; frames arriving faster (or while busy) are dropped.
    max_rate_hz: float = 15.0
    # The scene is republished at least this often (so forgetting shows without new frames).
    scene_rate_hz: float = 5.0
    # agent/image_annotated is published at most this often (0 turns it off).
    annotated_rate_hz: float = 2.0
    # Detectors, each switchable.
    colour_enabled: bool = True
    aruco_enabled: bool = True
    aruco_dictionary: str = "DICT_4X4_50"
    qr_enabled: bool = False
    # People: on a real camera turn people_enabled on (OpenCV's HOG detector, label "person")
    # and remove the "person" colour entry below, which is the simulator's teal shirt and would
    # report anything teal as a person.
    people_enabled: bool = False
    people_min_confidence: float = 0.6
    # A learned detector (empty = none): "onnx" runs a YOLO-style ONNX model with OpenCV
    # (weights = the .onnx file, labels = a text file of its class names, one a line; output
    # [1, 4+C, N] as YOLOv8/v11 or [1, N, 5+C] as YOLOv5, see core/vision.py), or
    # "package.module:factory" builds your own (the factory gets weights=). One that cannot be
    # built is logged and reported on /diagnostics, and the node runs without it.
    learned_detector: str = ""
    learned_detector_weights: str = ""
    learned_detector_labels: str = ""
    learned_detector_input_size: int = 640
    learned_detector_min_confidence: float = 0.5
    learned_detector_nms_iou: float = 0.45
    # Only these of the learned detector's classes are reported (empty = all), e.g. a COCO model
    # cut down to ["cup", "bottle", "person"]; for "onnx" each must be one of its labels.
    learned_detector_classes: list[str] = field(default_factory=list)
    # Colour table (parallel lists, see the module docstring).
    colour_labels: list[str] = field(
        default_factory=lambda: ["red cup", "blue ball", "green box", "yellow bottle", "person"]
    )
    colour_names: list[str] = field(default_factory=lambda: ["red", "blue", "green", "yellow", ""])
    colour_hsv_low: list[int] = field(
        default_factory=lambda: [170, 120, 60, 100, 180, 50, 45, 120, 50, 18, 170, 80, 86, 150, 40]
    )
    colour_hsv_high: list[int] = field(
        default_factory=lambda: [
            8,
            255,
            255,
            130,
            255,
            255,
            85,
            255,
            255,
            35,
            255,
            255,
            100,
            255,
            255,
        ]
    )
    # Horizontal radius of each colour entry's object (m): the front surface seen by depth is
    # moved this far back along the viewing ray, to the object's centre.
    colour_radius_m: list[float] = field(default_factory=lambda: [0.04, 0.1, 0.05, 0.035, 0.17])
    min_blob_area_px: int = 60
    max_blob_area_fraction: float = 0.5
    min_blob_fill: float = 0.3
    # Colour blobs this close (px) to the left or right image border are ignored: the object
    # is cut there, so its position would be off by up to its radius (0 keeps them).
    blob_border_px: int = 2
    # Depth: valid range, and the scale of integer depth images (16UC1 millimetres -> metres).
    depth_min_m: float = 0.1
    depth_max_m: float = 8.0
    depth_scale: float = 0.001
    # Camera mounting on the robot base (base_link; z is the height above the floor).
    camera_x_m: float = 0.12
    camera_y_m: float = 0.0
    camera_z_m: float = 0.6
    camera_yaw_deg: float = 0.0
    camera_pitch_deg: float = 8.0
    # Depth input: off = the node does not subscribe to depth (a camera without one). Each
    # colour image is paired with the depth image whose header stamp is within
    # sync_tolerance_s of its own (0 = exactly equal; see perception_sync). Either half waits
    # at most depth_timeout_s (node receipt time) for the other; with no depth at all for that
    # long, images are processed without depth until depth is back.
    use_depth: bool = True
    depth_timeout_s: float = 0.5
    sync_tolerance_s: float = 0.01
    # Lidar fallback (see perception_lidar): place detections without usable depth from their
    # bearing and the latest scan, if it is at most scan_timeout_s old.
    use_lidar_fallback: bool = True
    scan_timeout_s: float = 0.5
    # Lidar mounting on the base (z is the height of the scan plane above the floor).
    lidar_x_m: float = -0.05
    lidar_y_m: float = 0.0
    lidar_z_m: float = 0.195
    lidar_yaw_deg: float = 0.0
    # Returns within this angle around the bearing (at least; wide boxes use their inner half),
    # split into clusters at gaps larger than lidar_cluster_gap_m: the nearest cluster counts.
    lidar_window_deg: float = 2.0
    lidar_cluster_gap_m: float = 0.15
    # A detection whose bottom, at the lidar range, is more than this below the floor has no
    # position (the return is behind it); more than this above the scan plane: the lidar saw
    # what holds it up, and the confidence is multiplied by lidar_above_plane_confidence.
    lidar_floor_margin_m: float = 0.05
    lidar_above_plane_confidence: float = 0.5
    # A box narrower or wider than this factor times the object's width at the lidar range
    # (known radius only) means the return is not the object: no position.
    lidar_size_ratio: float = 2.0
    # Labels whose detected part may be above the scan plane while the thing stands on the
    # floor (a person's shirt above the legs the lidar sees): never marked above the plane.
    lidar_floor_labels: list[str] = field(default_factory=lambda: ["person"])
    # Tracking.
    match_distance_m: float = 0.5
    smoothing: float = 0.5
    min_hits: int = 2
    forget_after_s: float = 2.0
    memory_s: float = 300.0
    odom_frame: str = "odom"

    def __post_init__(self) -> None:
        _check(
            0 < self.max_rate_hz <= 120, f"max_rate_hz must be in (0, 120], got {self.max_rate_hz}"
        )
        _check(
            0 < self.scene_rate_hz <= 100,
            f"scene_rate_hz must be in (0, 100], got {self.scene_rate_hz}",
        )
        _check(
            0 <= self.annotated_rate_hz <= 60,
            f"annotated_rate_hz must be in [0, 60], got {self.annotated_rate_hz}",
        )
        _check(0 <= self.people_min_confidence <= 1, "people_min_confidence must be in [0, 1]")
        if self.aruco_enabled:
            _check(
                hasattr(cv2.aruco, self.aruco_dictionary)
                and self.aruco_dictionary.startswith("DICT_"),
                f"unknown aruco_dictionary {self.aruco_dictionary!r}",
            )
        if self.learned_detector:
            _check(
                self.learned_detector == "onnx" or ":" in self.learned_detector,
                "learned_detector must be 'onnx' or 'package.module:factory', "
                f"got {self.learned_detector!r}",
            )
        _check(
            32 <= self.learned_detector_input_size <= 4096,
            "learned_detector_input_size must be in [32, 4096], "
            f"got {self.learned_detector_input_size}",
        )
        _check(
            0 <= self.learned_detector_min_confidence <= 1,
            "learned_detector_min_confidence must be in [0, 1]",
        )
        _check(0 < self.learned_detector_nms_iou <= 1, "learned_detector_nms_iou must be in (0, 1]")
        for i, name in enumerate(self.learned_detector_classes):
            _check(bool(name.strip()), f"learned_detector_classes[{i}] must not be empty")
        n = len(self.colour_labels)
        _check(
            len(self.colour_names) == n,
            f"colour_names has {len(self.colour_names)} entries, colour_labels has {n}",
        )
        for name in ("colour_hsv_low", "colour_hsv_high"):
            values = getattr(self, name)
            _check(
                len(values) == 3 * n,
                f"{name} needs 3 numbers (H, S, V) per colour entry: {3 * n}, got {len(values)}",
            )
            for i, v in enumerate(values):
                top = 179 if i % 3 == 0 else 255
                _check(
                    0 <= v <= top, f"{name}[{i}] (entry {i // 3}) must be in [0, {top}], got {v}"
                )
        _check(
            len(self.colour_radius_m) == n,
            f"colour_radius_m has {len(self.colour_radius_m)} entries, colour_labels has {n}",
        )
        for i, r in enumerate(self.colour_radius_m):
            _check(
                math.isfinite(r) and 0 <= r <= 2, f"colour_radius_m[{i}] must be in [0, 2], got {r}"
            )
        for i, label in enumerate(self.colour_labels):
            _check(bool(label.strip()), f"colour_labels[{i}] must not be empty")
            lo, hi = self.colour_hsv_low[3 * i : 3 * i + 3], self.colour_hsv_high[3 * i : 3 * i + 3]
            _check(
                lo[1] <= hi[1] and lo[2] <= hi[2],
                f"colour entry {i} ({label}): S and V low must not exceed high",
            )
        _check(
            self.min_blob_area_px >= 1,
            f"min_blob_area_px must be >= 1, got {self.min_blob_area_px}",
        )
        _check(0 < self.max_blob_area_fraction <= 1, "max_blob_area_fraction must be in (0, 1]")
        _check(0 <= self.min_blob_fill <= 1, "min_blob_fill must be in [0, 1]")
        _check(self.blob_border_px >= 0, f"blob_border_px must be >= 0, got {self.blob_border_px}")
        _check(
            0 <= self.depth_min_m < self.depth_max_m,
            f"need 0 <= depth_min_m < depth_max_m, got {self.depth_min_m}, {self.depth_max_m}",
        )
        _check(self.depth_scale > 0, f"depth_scale must be > 0, got {self.depth_scale}")
        _check(-90 <= self.camera_pitch_deg <= 90, "camera_pitch_deg must be in [-90, 90]")
        _check(-180 <= self.camera_yaw_deg <= 180, "camera_yaw_deg must be in [-180, 180]")
        _check(
            0 < self.depth_timeout_s <= 60,
            f"depth_timeout_s must be in (0, 60], got {self.depth_timeout_s}",
        )
        _check(
            0 <= self.sync_tolerance_s <= 1,
            f"sync_tolerance_s must be in [0, 1], got {self.sync_tolerance_s}",
        )
        _check(
            0 < self.scan_timeout_s <= 60,
            f"scan_timeout_s must be in (0, 60], got {self.scan_timeout_s}",
        )
        for name in ("lidar_x_m", "lidar_y_m", "lidar_z_m"):
            _check(math.isfinite(getattr(self, name)), f"{name} must be finite")
        _check(-180 <= self.lidar_yaw_deg <= 180, "lidar_yaw_deg must be in [-180, 180]")
        _check(
            0 < self.lidar_window_deg <= 45,
            f"lidar_window_deg must be in (0, 45], got {self.lidar_window_deg}",
        )
        _check(self.lidar_cluster_gap_m > 0, "lidar_cluster_gap_m must be > 0")
        _check(self.lidar_floor_margin_m >= 0, "lidar_floor_margin_m must be >= 0")
        _check(
            0 <= self.lidar_above_plane_confidence <= 1,
            "lidar_above_plane_confidence must be in [0, 1]",
        )
        _check(self.lidar_size_ratio >= 1, "lidar_size_ratio must be >= 1")
        _check(
            self.match_distance_m > 0, f"match_distance_m must be > 0, got {self.match_distance_m}"
        )
        _check(0 < self.smoothing <= 1, f"smoothing must be in (0, 1], got {self.smoothing}")
        _check(self.min_hits >= 1, f"min_hits must be >= 1, got {self.min_hits}")
        _check(self.forget_after_s > 0, f"forget_after_s must be > 0, got {self.forget_after_s}")
        _check(
            self.memory_s >= self.forget_after_s,
            f"memory_s ({self.memory_s}) must be >= forget_after_s ({self.forget_after_s})",
        )
        _check(bool(self.odom_frame), "odom_frame must not be empty")

    def colour_table(self) -> list[ColourClass]:
        """The colour table as rows."""
        rows = []
        for i, label in enumerate(self.colour_labels):
            lo = tuple(int(v) for v in self.colour_hsv_low[3 * i : 3 * i + 3])
            hi = tuple(int(v) for v in self.colour_hsv_high[3 * i : 3 * i + 3])
            rows.append(
                ColourClass(
                    label,
                    self.colour_names[i] or None,
                    lo,  # type: ignore[arg-type]
                    hi,  # type: ignore[arg-type]
                    float(self.colour_radius_m[i]),
                )
            )
        return rows

    def mount(self) -> CameraMount:
        """The camera mounting as a `CameraMount` (radians)."""
        return CameraMount(
            self.camera_x_m,
            self.camera_y_m,
            self.camera_z_m,
            math.radians(self.camera_yaw_deg),
            math.radians(self.camera_pitch_deg),
        )

    def lidar_mount(self) -> LidarMount:
        """The lidar mounting as a `LidarMount` (radians)."""
        return LidarMount(
            self.lidar_x_m, self.lidar_y_m, self.lidar_z_m, math.radians(self.lidar_yaw_deg)
        )


@dataclass(frozen=True)
class Frame:
    """One camera frame with what is needed to place it in the world; `scan` is the latest
    lidar scan (None: no lidar), used only for detections without usable depth."""

    bgr: np.ndarray
    depth: np.ndarray | None
    intrinsics: Intrinsics
    robot: tuple[float, float, float]  # x, y, yaw in odom
    scan: Scan | None = None


@dataclass
class PerceptionResult:
    """The scene after a frame, plus what was detected in it (for annotation and diagnostics)."""

    scene: Scene
    detections: list[Detection]
    unlocated: int = 0  # detections that neither depth nor lidar could place
    unlocated_reasons: list[str] = field(default_factory=list)  # "label: why", one each
    lidar_located: int = 0  # detections placed by the lidar fallback


def merge_fragments(
    observations: list[Observation], radii: list[float], margin_m: float = 0.05
) -> list[Observation]:
    """Merge same-label observations of one frame that are closer than the object's diameter
    plus `margin_m` (fragments of one object); the merged one is the confidence-weighted mean.
    `radii[i]` is the radius of `observations[i]`'s object."""
    groups: list[tuple[list[Observation], float]] = []
    for obs, r in zip(observations, radii, strict=True):
        for members, radius in groups:
            head = members[0]
            if head.label == obs.label and math.dist(head.position, obs.position) <= (
                2 * max(r, radius) + margin_m
            ):
                members.append(obs)
                break
        else:
            groups.append(([obs], r))
    out = []
    for members, _ in groups:
        if len(members) == 1:
            out.append(members[0])
            continue
        w = np.array([max(m.confidence, 1e-3) for m in members])
        pos = np.average(np.array([m.position for m in members]), axis=0, weights=w)
        best = max(members, key=lambda m: m.confidence)
        out.append(
            Observation(
                best.label,
                (float(pos[0]), float(pos[1]), float(pos[2])),
                best.confidence,
                best.colour,
            )
        )
    return out


def build_learned_detector(config: PerceptionConfig) -> Detector | None:
    """The learned detector `config.learned_detector` names, or None when it names none;
    DetectorLoadError (with the reason) when it cannot be built."""
    spec = config.learned_detector
    if not spec:
        return None
    if spec == "onnx":
        detector = OnnxDetector(
            config.learned_detector_weights,
            config.learned_detector_labels,
            config.learned_detector_input_size,
            config.learned_detector_min_confidence,
            config.learned_detector_nms_iou,
        )
        unknown = [c for c in config.learned_detector_classes if c not in detector.labels]
        if unknown:
            raise DetectorLoadError(
                f"learned_detector_classes: {', '.join(map(repr, unknown))} not among the "
                f"model's {len(detector.labels)} labels ({config.learned_detector_labels})"
            )
        return detector
    return load_detector(spec, config.learned_detector_weights)


class OnlyClasses:
    """Another detector's detections of the listed labels only (`learned_detector_classes`)."""

    def __init__(self, detector: Detector, labels: frozenset[str]) -> None:
        self.detector = detector
        self.labels = labels

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        return [d for d in self.detector.detect(bgr) if d.label in self.labels]


def _wrap(angle: float) -> float:
    return math.atan2(math.sin(angle), math.cos(angle))


def build_scene(
    tracks: list[Track],
    robot: tuple[float, float, float],
    now: float,
    forget_after_s: float,
    frame: str = "odom",
) -> Scene:
    """A validated scene: every track with distance and bearing from the robot (bearing in the
    robot frame, positive = left), `visible` while seen within `forget_after_s`."""
    rx, ry, ryaw = robot
    objects = []
    for t in tracks:
        x, y, z = (float(v) for v in t.position)
        dx, dy = x - rx, y - ry
        objects.append(
            SceneObject(
                id=t.id,
                label=t.label,
                colour=t.colour,
                confidence=min(1.0, max(0.0, float(t.confidence))),
                position=Position(x=x, y=y, z=z),
                distance=math.hypot(dx, dy),
                bearing=_wrap(math.atan2(dy, dx) - ryaw),
                last_seen=t.last_seen,
                visible=now - t.last_seen <= forget_after_s,
            )
        )
    return Scene(stamp=now, frame=frame, robot=Pose2D(x=rx, y=ry, yaw=ryaw), objects=objects)


def check_robot(robot: tuple[float, float, float]) -> tuple[float, float, float]:
    """A finite (x, y, yaw) or PerceptionInputError."""
    if len(robot) != 3 or not all(math.isfinite(float(v)) for v in robot):
        raise PerceptionInputError(f"robot pose must be finite (x, y, yaw), got {robot}")
    return (float(robot[0]), float(robot[1]), float(robot[2]))


class Perception:
    """Detectors + tracker for one camera. Not thread-safe: call from one thread at a time.
    A learned detector that cannot be built raises DetectorLoadError from the constructor."""

    def __init__(self, config: PerceptionConfig, extra: list[Detector] | None = None) -> None:
        self.config = config
        self.table = config.colour_table()
        self.mount = config.mount()
        self.lidar = config.lidar_mount()
        self.detectors: list[Detector] = []
        if config.aruco_enabled:
            self.detectors.append(ArucoDetector(config.aruco_dictionary))
        if config.qr_enabled:
            self.detectors.append(QrDetector())
        if config.people_enabled:
            self.detectors.append(HogPeopleDetector(config.people_min_confidence))
        learned = build_learned_detector(config)
        if learned is not None and config.learned_detector_classes:
            learned = OnlyClasses(learned, frozenset(config.learned_detector_classes))
        if learned is not None:
            self.detectors.append(learned)
        self.detectors.extend(extra or [])
        self.tracker = Tracker(
            config.match_distance_m,
            config.smoothing,
            config.forget_after_s,
            config.memory_s,
            config.min_hits,
        )

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        """Every enabled detector's detections in one image."""
        check_bgr(bgr)
        dets: list[Detection] = []
        if self.config.colour_enabled and self.table:
            dets += detect_colours(
                bgr,
                self.table,
                self.config.min_blob_area_px,
                self.config.max_blob_area_fraction,
                self.config.min_blob_fill,
                border_px=self.config.blob_border_px,
            )
        for d in self.detectors:
            dets += d.detect(bgr)
        return dets

    def process(self, frame: Frame, now: float) -> PerceptionResult:
        """Detect, locate, track; return the scene at `now`. Bad inputs raise
        PerceptionInputError before any state changes."""
        if not math.isfinite(now):
            raise PerceptionInputError(f"now must be finite, got {now}")
        bgr = check_bgr(frame.bgr)
        h, w = bgr.shape[:2]
        k = frame.intrinsics
        if (k.width, k.height) != (w, h):
            raise PerceptionInputError(
                f"camera_info is {k.width}x{k.height}, image is {w}x{h}: sizes must match"
            )
        robot = check_robot(frame.robot)
        depth = check_depth(frame.depth, (h, w)) if frame.depth is not None else None
        scan = check_scan(frame.scan) if frame.scan is not None else None
        scan_problem = None
        if not self.config.use_lidar_fallback:
            scan_problem = "no depth there, lidar fallback off"
        elif scan is None:
            scan_problem = "no depth there and no scan"
        elif now - scan.stamp > self.config.scan_timeout_s:
            scan_problem = f"no depth there and the scan is {now - scan.stamp:.2f} s old"
        dets = self.detect(bgr)
        observations = []
        radii = []
        reasons: list[str] = []
        by_lidar = 0
        for d in dets:
            p = None
            confidence = d.confidence
            if depth is not None:
                p = locate(
                    d, depth, k, self.mount, robot, self.config.depth_min_m, self.config.depth_max_m
                )
            if p is None:
                fix = scan_problem or self._locate_lidar(d, scan, k, robot)  # type: ignore[arg-type]
                if isinstance(fix, str):
                    reasons.append(f"{d.label}: {fix}")
                    continue
                p = fix.position
                by_lidar += 1
                if fix.above_plane:
                    confidence *= self.config.lidar_above_plane_confidence
            observations.append(
                Observation(d.label, (float(p[0]), float(p[1]), float(p[2])), confidence, d.colour)
            )
            radii.append(d.radius_m)
        self.tracker.update(merge_fragments(observations, radii), now)
        return PerceptionResult(self.scene(robot, now), dets, len(reasons), reasons, by_lidar)

    def _locate_lidar(
        self, d: Detection, scan: Scan, k: Intrinsics, robot: tuple[float, float, float]
    ) -> LidarFix | str:
        c = self.config
        return locate_lidar(
            d,
            scan,
            k,
            self.mount,
            self.lidar,
            robot,
            window_deg=c.lidar_window_deg,
            cluster_gap_m=c.lidar_cluster_gap_m,
            floor_margin_m=c.lidar_floor_margin_m,
            on_floor=d.label in c.lidar_floor_labels,
            size_ratio=c.lidar_size_ratio,
        )

    def scene(self, robot: tuple[float, float, float], now: float) -> Scene:
        """The current belief as a scene (also between frames, e.g. from a timer)."""
        return build_scene(
            self.tracker.tracks(now),
            check_robot(robot),
            now,
            self.config.forget_after_s,
            self.config.odom_frame,
        )


def annotate(bgr: np.ndarray, detections: list[Detection]) -> np.ndarray:
    """A copy of the image with each detection's box and label drawn on it."""
    out = check_bgr(bgr).copy()
    for d in detections:
        x, y, w, h = d.box
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 255, 255), 2)
        cv2.putText(
            out,
            f"{d.label} {d.confidence:.2f}",
            (x, max(12, y - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return out
