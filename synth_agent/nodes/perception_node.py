"""The `perception` node: camera (+ depth, odom) in, `agent/scene`, markers and an annotated
image out. All behaviour is in `synth_agent.core.perception`; this file only moves messages.

Threading, and why: image processing takes milliseconds to tens of milliseconds, and a
callback that does it would delay odometry and camera_info callbacks and let frames queue up in
the middleware, so the scene would describe the past. Instead every callback only caches the
latest message (colour and depth images in a small stamp-keyed buffer); once a frame's colour
and depth are both there it goes to one worker thread *if it is idle*, otherwise it is dropped
(and counted). The worker owns the core `Perception` object; the scene timer and the
`agent/get_scene` service read it only when the worker is not using it, so no callback ever
waits. Drop and reject counts are logged every 10 s and published on
`/diagnostics` every second (totals, and rates over the last second, so a monitor sees a camera
that went silent or started sending garbage without parsing logs). Drops are by design (the
camera is faster than `max_rate_hz`, or the worker is busy) and only inform; any rejected frame
in the last second, or frames arriving but none processed, is a WARN.

Malformed images (unknown encoding, size mismatch, empty) are dropped with a logged reason.

A learned detector that cannot be built (missing or unreadable model or labels file, an output
shape that is not the supported YOLO format, a `module:factory` that fails) is logged as an
error with the reason, and the node runs with its other detectors: the robot still sees what
the colour table, fiducials and HOG find, rather than seeing nothing. /diagnostics stays WARN,
naming the detector and why, for as long as the node runs without it.

Depth and lidar: depth is subscribed only with `use_depth` (off for a camera without one). A
colour image is processed with the depth image of the *same header stamp* (within
`sync_tolerance_s`), paired by `core.perception_sync.FrameSync` like message_filters'
synchronizers: pairing with the latest received depth instead gave each frame the previous
frame's depth (the sim publishes colour first), and while turning that put false objects on
the background behind real ones. The image callback buffers the image with the camera_info,
pose and scan of its arrival; the depth callback, the image callback or a 0.1 s timer releases
the pair. Images or depths that find no partner within `depth_timeout_s` are dropped and
counted (`unmatched` in logs and diagnostics); when no depth arrives for `depth_timeout_s`,
images are processed without depth (warned once, and again when depth is back), so a camera
whose depth stops or never starts does not stall perception. `scan` is subscribed with
`use_lidar_fallback`; the latest scan, stamped with the node's clock and the odometry pose at
receipt, goes with every frame, and the core uses it only for detections without usable depth.
Detections that neither can place are counted and their reasons logged (throttled).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import cv2
import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point, Vector3
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, LaserScan
from std_msgs.msg import ColorRGBA, String
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from synth_agent.core import contract
from synth_agent.core.geometry import yaw_from_quaternion
from synth_agent.core.perception import (
    DetectorLoadError,
    Frame,
    Intrinsics,
    Perception,
    PerceptionConfig,
    PerceptionInputError,
    Scan,
    annotate,
)
from synth_agent.core.perception_sync import FrameSync, Pair
from synth_agent.core.schemas import Scene, to_json
from synth_agent.nodes.diagnostics import diagnostic_array
from synth_agent.nodes.fastdds import use_large_image_transport
from synth_agent.nodes.image import ImageError, image_to_numpy, numpy_to_image
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node

GET_SCENE = "agent/get_scene"  # std_srvs/Trigger: message = a fresh scene as JSON
DIAGNOSTICS_PERIOD_S = 1.0
SYNC_POLL_PERIOD_S = 0.1  # how often stream timeouts are checked when no message arrives


def stamp_s(msg: Image) -> float:
    """A message's header stamp in seconds."""
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def frame_diagnostics(
    totals: dict[str, int], window: dict[str, int], window_s: float, busy_s: float
) -> tuple[int, str, dict[str, str]]:
    """(level, message, values) for /diagnostics from total frame counts and the counts over
    the last `window_s` seconds (keys received, processed, dropped, rejected); `busy_s` is the
    worker's processing time in that window."""
    received = window["received"]
    drop_rate = window["dropped"] / received if received else 0.0
    # A frame received just before the last report may be rejected after it: counted against
    # the frames of this window, at least the rejected ones themselves (never 0 %, never > 100 %).
    judged = max(received, window["rejected"])
    reject_rate = window["rejected"] / judged if judged else 0.0
    values = {f"{k} (total)": str(v) for k, v in totals.items()}
    values.update(
        {
            "received_hz": f"{received / window_s:.1f}",
            "processed_hz": f"{window['processed'] / window_s:.1f}",
            "drop_rate": f"{drop_rate:.3f}",
            "reject_rate": f"{reject_rate:.3f}",
            "processing_ms": (
                f"{1000.0 * busy_s / window['processed']:.1f}" if window["processed"] else "-"
            ),
        }
    )
    if window["rejected"]:
        level = int.from_bytes(DiagnosticStatus.WARN, "little")
        message = f"{window['rejected']} of {judged} frames rejected (see the log for why)"
    elif received and not window["processed"]:
        level = int.from_bytes(DiagnosticStatus.WARN, "little")
        message = f"{received} frames received, none processed (camera_info or odom missing?)"
    elif not received:
        level = int.from_bytes(DiagnosticStatus.OK, "little")
        message = "no camera frames"
    else:
        level = int.from_bytes(DiagnosticStatus.OK, "little")
        message = f"processing {window['processed'] / window_s:.1f} fps, dropped {drop_rate:.0%}"
    return level, message, values


def to_bgr(msg: Image) -> np.ndarray:
    """Any supported colour/mono Image as a BGR uint8 array (ImageError when impossible)."""
    arr = image_to_numpy(msg)
    enc = msg.encoding
    if enc in ("rgb8",):
        return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if enc in ("bgr8", "8UC3"):
        return arr
    if enc == "rgba8":
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
    if enc == "bgra8":
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    if enc in ("mono8", "8UC1"):
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    raise ImageError(f"encoding {enc!r} is not a colour image")


def to_depth_m(msg: Image, scale: float) -> np.ndarray:
    """A depth Image in metres; integer encodings are scaled and 0 becomes unknown (NaN)."""
    arr = image_to_numpy(msg)
    if msg.encoding == "32FC1":
        return arr.astype(np.float32, copy=False)
    if msg.encoding in ("16UC1", "mono16"):
        out = arr.astype(np.float32) * scale
        out[arr == 0] = np.nan
        return out
    raise ImageError(f"encoding {msg.encoding!r} is not a depth image")


class PerceptionNode(Node):
    def __init__(self) -> None:
        super().__init__("perception")
        self.config = declare_config(self, PerceptionConfig, on_change=self._on_config)
        self.detector_error: str | None = None
        try:
            self.perception = Perception(self.config)
        except DetectorLoadError as e:
            self.detector_error = f"{self.config.learned_detector!r} not loaded: {e}"
            self.get_logger().error(f"learned detector {self.detector_error}; running without it")
            self.perception = Perception(replace(self.config, learned_detector=""))
        self._busy = threading.Lock()  # held by the worker while it uses self.perception
        self._wake = threading.Event()
        self._pending: tuple | None = None  # image, depth, camera_info, robot, scan
        self._stop = False
        self._info: CameraInfo | None = None
        # Stamp-matched colour/depth pairs; an image travels with the camera_info, pose and
        # scan of its arrival. Receipt times are monotonic (is the stream alive?).
        self.sync: FrameSync[tuple, Image] = FrameSync(
            self.config.sync_tolerance_s,
            self.config.depth_timeout_s,
            time.monotonic(),
            depth_enabled=self.config.use_depth,
        )
        self._reported_unmatched = 0
        self._scan: tuple[LaserScan, float, tuple[float, float, float] | None] | None = None
        self._robot: tuple[float, float, float] | None = None
        self._last_start = -math.inf
        self._last_annotated = -math.inf
        self.received = self.processed = self.dropped = self.rejected = 0
        self.unlocated = 0  # detections neither depth nor lidar could place
        self._busy_s = 0.0  # worker time spent processing, for diagnostics
        self._last_counts = self._counts()
        self._last_busy_s = 0.0
        self._last_diag = time.monotonic()

        self.scene_pub = self.create_publisher(String, contract.SCENE.name, profile(contract.SCENE))
        self.markers_pub = self.create_publisher(
            MarkerArray, contract.MARKERS.name, profile(contract.MARKERS)
        )
        self.annotated_pub = self.create_publisher(
            Image, contract.IMAGE_ANNOTATED.name, profile(contract.IMAGE_ANNOTATED)
        )
        self.create_subscription(Image, contract.IMAGE.name, self._on_image, profile("sensor"))
        self.create_subscription(
            CameraInfo, contract.CAMERA_INFO.name, self._on_info, profile("sensor")
        )
        if self.config.use_depth:
            self.create_subscription(Image, contract.DEPTH.name, self._on_depth, profile("sensor"))
        if self.config.use_lidar_fallback:
            self.create_subscription(
                LaserScan, contract.SCAN.name, self._on_scan, profile("sensor")
            )
        self.create_subscription(Odometry, contract.ODOM.name, self._on_odom, profile("sensor"))
        self.create_service(Trigger, GET_SCENE, self._on_get_scene)
        self.create_timer(1.0 / self.config.scene_rate_hz, self._on_scene_timer)
        self.create_timer(10.0, self._report)
        self.create_timer(SYNC_POLL_PERIOD_S, self._on_sync_timer)
        self.diag_pub = self.create_publisher(
            DiagnosticArray, contract.DIAGNOSTICS.name, profile(contract.DIAGNOSTICS)
        )
        self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        self._worker = threading.Thread(target=self._work, name="perception", daemon=True)
        self._worker.start()
        self.get_logger().info("perception up")

    # -- callbacks: cache only ------------------------------------------------------------
    def _on_config(self, config: PerceptionConfig) -> None:
        self.get_logger().info("parameters changed; restart the node to rebuild detectors")

    def _on_info(self, msg: CameraInfo) -> None:
        self._info = msg

    def _on_depth(self, msg: Image) -> None:
        self._submit(self.sync.add_depth(stamp_s(msg), msg, time.monotonic()))

    def _on_scan(self, msg: LaserScan) -> None:
        self._scan = (msg, self._now(), self._robot)

    def _on_odom(self, msg: Odometry) -> None:
        p = msg.pose.pose
        q = p.orientation
        self._robot = (p.position.x, p.position.y, yaw_from_quaternion(q.x, q.y, q.z, q.w))

    def _on_image(self, msg: Image) -> None:
        self.received += 1
        # Buffered even without camera_info or odometry (dropped when released), so that its
        # depth image is matched rather than reported as without a partner.
        job = (msg, self._info, self._robot, self._scan)
        self._submit(self.sync.add_image(stamp_s(msg), job, time.monotonic()))

    def _on_sync_timer(self) -> None:
        self._submit(self.sync.poll(time.monotonic()))

    def _submit(self, pairs: list[Pair[tuple, Image]]) -> None:
        """Hand the newest ready pair to the worker if it is idle and the rate allows; every
        other ready pair is dropped (counted), never queued."""
        self._log_sync()
        if not pairs:
            return
        self.dropped += len(pairs) - 1
        pair = pairs[-1]
        img, info, robot, scan = pair.image
        now = time.monotonic()
        if info is None or robot is None:
            self.dropped += 1
            return
        if self._pending is not None or self._busy.locked():
            self.dropped += 1  # busy: drop, never queue
            return
        if now - self._last_start < 1.0 / self.config.max_rate_hz:
            self.dropped += 1
            return
        self._last_start = now
        self._pending = (img, pair.depth, info, robot, scan)
        self._wake.set()

    def _log_sync(self) -> None:
        silent = self.sync.silent_since_change()
        if silent is True:
            self.get_logger().warning(
                f"no depth image for {self.config.depth_timeout_s} s on {contract.DEPTH.name}: "
                "processing colour images without depth (lidar fallback) until it is back"
            )
        elif silent is False:
            self.get_logger().info("depth images are back: pairing colour and depth by stamp")
        if self.sync.unmatched > self._reported_unmatched:
            self.get_logger().warning(
                f"{self.sync.unmatched} colour/depth image(s) dropped without a partner within "
                f"sync_tolerance_s={self.config.sync_tolerance_s} s of their stamp "
                f"(pending images/depths: {self.sync.pending})",
                throttle_duration_sec=10.0,
            )
            self._reported_unmatched = self.sync.unmatched

    # -- worker ---------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _work(self) -> None:
        while not self._stop:
            if not self._wake.wait(0.2):
                continue
            self._wake.clear()
            job, self._pending = self._pending, None
            if job is None:
                continue
            with self._busy:
                started = time.perf_counter()
                try:
                    self._process(*job)
                except (ImageError, PerceptionInputError) as e:
                    self.rejected += 1
                    self.get_logger().warning(f"frame rejected: {e}", throttle_duration_sec=5.0)
                except Exception as e:  # noqa: BLE001 - the worker must survive a bad frame
                    self.rejected += 1
                    self.get_logger().error(f"processing failed: {e!r}")
                finally:
                    self._busy_s += time.perf_counter() - started

    def _process(self, img: Image, depth: Image | None, info: CameraInfo, robot, scan_job) -> None:
        bgr = to_bgr(img)
        k = Intrinsics.from_k(list(info.k), info.width, info.height)
        depth_m = to_depth_m(depth, self.config.depth_scale) if depth is not None else None
        if depth_m is not None and depth_m.shape != bgr.shape[:2]:
            depth_m = cv2.resize(depth_m, (bgr.shape[1], bgr.shape[0]), cv2.INTER_NEAREST)
        scan = None
        if scan_job is not None:
            msg, stamp, scan_robot = scan_job
            scan = Scan(
                np.asarray(msg.ranges, dtype=np.float32),
                msg.angle_min,
                msg.angle_increment,
                msg.range_min,
                msg.range_max,
                stamp,
                scan_robot,
            )
        now = self._now()
        result = self.perception.process(Frame(bgr, depth_m, k, robot, scan), now)
        self.processed += 1
        self.unlocated += result.unlocated
        if result.unlocated_reasons:
            self.get_logger().info(
                f"{result.unlocated} detection(s) without a position: "
                + "; ".join(result.unlocated_reasons),
                throttle_duration_sec=5.0,
            )
        self._publish(result.scene)
        rate = self.config.annotated_rate_hz
        mono = time.monotonic()
        if rate > 0 and mono - self._last_annotated >= 1.0 / rate:
            self._last_annotated = mono
            out = annotate(bgr, result.detections)
            self.annotated_pub.publish(numpy_to_image(out, "bgr8", img.header.frame_id))

    # -- outputs --------------------------------------------------------------------------
    def _publish(self, scene: Scene) -> None:
        self.scene_pub.publish(String(data=to_json(scene)))
        self.markers_pub.publish(self._markers(scene))

    def _markers(self, scene: Scene) -> MarkerArray:
        arr = MarkerArray()
        clear = Marker()
        clear.action = Marker.DELETEALL
        arr.markers.append(clear)
        for i, o in enumerate(scene.objects):
            for kind in (Marker.SPHERE, Marker.TEXT_VIEW_FACING):
                m = Marker()
                m.header.frame_id = scene.frame
                m.ns = "objects" if kind == Marker.SPHERE else "labels"
                m.id = i
                m.type = kind
                m.pose.position = Point(x=o.position.x, y=o.position.y, z=o.position.z)
                m.pose.orientation.w = 1.0
                alpha = 0.9 if o.visible else 0.3
                if kind == Marker.SPHERE:
                    m.scale = Vector3(x=0.12, y=0.12, z=0.12)
                    m.color = ColorRGBA(r=1.0, g=0.6, b=0.1, a=alpha)
                else:
                    m.pose.position.z += 0.2
                    m.scale.z = 0.12
                    m.text = o.id
                    m.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=alpha)
                arr.markers.append(m)
        return arr

    def _current_scene(self) -> Scene | None:
        if self._robot is None or not self._busy.acquire(blocking=False):
            return None
        try:
            return self.perception.scene(self._robot, self._now())
        finally:
            self._busy.release()

    def _on_scene_timer(self) -> None:
        scene = self._current_scene()
        if scene is not None:
            self._publish(scene)

    def _on_get_scene(self, request: Trigger.Request, response: Trigger.Response):
        deadline = time.monotonic() + 0.5
        scene = self._current_scene()
        while scene is None and self._robot is not None and time.monotonic() < deadline:
            time.sleep(0.01)
            scene = self._current_scene()
        response.success = scene is not None
        response.message = to_json(scene) if scene is not None else "no odometry yet or busy"
        return response

    def _counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "processed": self.processed,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "unmatched": self.sync.unmatched,
        }

    def _publish_diagnostics(self) -> None:
        mono = time.monotonic()
        totals, busy = self._counts(), self._busy_s
        window = {k: v - self._last_counts[k] for k, v in totals.items()}
        level, message, values = frame_diagnostics(
            totals, window, max(mono - self._last_diag, 1e-3), busy - self._last_busy_s
        )
        self._last_counts, self._last_busy_s, self._last_diag = totals, busy, mono
        if self.config.use_depth:
            values["depth"] = "silent: without depth" if self.sync.depth_silent else "paired"
        if self.detector_error is not None:
            values["learned detector"] = self.detector_error
            level = max(level, int.from_bytes(DiagnosticStatus.WARN, "little"))
            message = f"learned detector {self.detector_error}; {message}"
        self.diag_pub.publish(diagnostic_array(self, "camera frames", level, message, values))

    def _report(self) -> None:
        if self.received:
            pct = 100.0 * self.dropped / self.received
            self.get_logger().info(
                f"frames: received {self.received}, processed {self.processed}, "
                f"dropped {self.dropped} ({pct:.0f}%), rejected {self.rejected}, "
                f"colour/depth without a partner {self.sync.unmatched}; "
                f"detections without a position {self.unlocated}"
            )

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._worker.join(2.0)


def main(argv: list[str] | None = None) -> int:
    use_large_image_transport()  # before rclpy.init: full-size images in and out
    return spin_node(PerceptionNode, argv)
