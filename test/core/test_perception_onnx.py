"""The ONNX learned detector (`core/vision.py` OnnxDetector) with real ONNX models built here.

No weights are downloaded and the `onnx` package is not needed: `onnx_model()` writes the
protobuf (ONNX's ModelProto) directly, a few dozen lines, and the models are loaded and run by
OpenCV's DNN module exactly as a user's model would be. The model is a real computation on the
image, not constants: it finds the bounding box of the bright pixels of its (letterboxed)
input and reports it, plus fixed offsets, as YOLO candidates with fixed class scores, which
are zero when the image has no bright pixel. So a test knows what every candidate must decode
to in the original image (letterbox scale and padding undone), which ones non-maximum
suppression must remove, and which the confidence threshold must drop.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from synth_agent.core.perception import (
    Frame,
    Perception,
    PerceptionConfig,
    build_learned_detector,
)
from synth_agent.core.vision import (
    Detection,
    DetectorLoadError,
    Intrinsics,
    OnnxDetector,
    decode_yolo,
    letterbox,
)

# ------------------------------------------------------------------------------------------
# A minimal ONNX writer (protobuf wire format; field numbers from onnx/onnx.proto)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _int(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint(v)


def _bytes(field: int, b: bytes | str) -> bytes:
    b = b.encode() if isinstance(b, str) else b
    return _varint(field << 3 | 2) + _varint(len(b)) + b


def _tensor(name: str, arr: np.ndarray) -> bytes:  # TensorProto
    code = {np.dtype(np.float32): 1, np.dtype(np.int64): 7}[arr.dtype]
    dims = b"".join(_int(1, d) for d in arr.shape)
    return dims + _int(2, code) + _bytes(8, name) + _bytes(9, arr.tobytes())


def _attribute(name: str, v: int | list[int]) -> bytes:  # AttributeProto: INT or INTS
    if isinstance(v, list):
        return _bytes(1, name) + b"".join(_int(8, i) for i in v) + _int(20, 7)
    return _bytes(1, name) + _int(3, v) + _int(20, 2)


def node(op: str, inputs: list[str], output: str, **attrs: int | list[int]) -> bytes:
    """NodeProto with one output."""
    return (
        b"".join(_bytes(1, i) for i in inputs)
        + _bytes(2, output)
        + _bytes(3, output)
        + _bytes(4, op)
        + b"".join(_bytes(5, _attribute(k, v)) for k, v in attrs.items())
    )


def _value_info(name: str, shape: list[int]) -> bytes:  # a float tensor of `shape`
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, _int(1, 1) + _bytes(2, dims)))


def onnx_model(nodes: list[bytes], constants: dict[str, np.ndarray], inp, out) -> bytes:
    """ModelProto (IR 7, opset 13) of one graph; `inp`/`out` are (name, shape)."""
    graph = (
        b"".join(_bytes(1, n) for n in nodes)
        + _bytes(2, "test")
        + b"".join(_bytes(5, _tensor(k, v)) for k, v in constants.items())
        + _bytes(11, _value_info(*inp))
        + _bytes(12, _value_info(*out))
    )
    return _int(1, 7) + _bytes(2, "synth_agent tests") + _bytes(7, graph) + _bytes(8, _int(2, 13))


# ------------------------------------------------------------------------------------------
# The test model: the bright pixels' box, as YOLO candidates

SIZE = 64  # the model's square input
LABELS = ["person", "cup"]
# Candidates (columns): offsets added to (cx, cy, w, h) of the bright box, in input pixels,
# and the score of each class. 0: cup; 1: the cup again 2 px right, weaker (NMS removes it);
# 2: a person on the same box (another class: kept); 3: a weak cup (under the threshold);
# 4: a cup 15 px left, hardly overlapping the first (kept).
OFFSETS = np.array(
    [[0, 2, 0, 0, -15], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32
)
SCORES = np.array([[0, 0, 0.7, 0, 0], [0.9, 0.8, 0, 0.3, 0.6]], np.float32)


def bright_box_model(
    layout: str = "yolov8", objectness: np.ndarray | None = None, flat: bool = False
) -> bytes:
    """The ONNX model described in the module docstring, with output [1, 4+C, N] ("yolov8")
    or [1, N, 5+C] ("yolov5", with `objectness` per candidate); `flat` drops the batch axis
    (a wrong output shape)."""
    n = OFFSETS.shape[1]
    ramp = np.arange(SIZE, dtype=np.float32)
    const = {
        "half": np.array([0.5], np.float32),
        "size": np.array([float(SIZE)], np.float32),
        "two": np.array([2.0], np.float32),
        "x_hi": (ramp + 1).reshape(1, 1, SIZE),  # max(mask * x_hi) = right edge
        "x_lo": (SIZE - ramp).reshape(1, 1, SIZE),  # size - max(mask * x_lo) = left edge
        "y_hi": (ramp + 1).reshape(1, SIZE, 1),
        "y_lo": (SIZE - ramp).reshape(1, SIZE, 1),
        "column": np.array([4, 1], np.int64),
        "offsets": OFFSETS,
        "scores": SCORES,
    }
    nodes = [
        node("ReduceMean", ["images"], "grey", axes=[1], keepdims=0),  # [1, S, S], 0..1
        node("Greater", ["grey", "half"], "bright"),
        node("Cast", ["bright"], "mask", to=1),
    ]
    for edge in ("x_hi", "x_lo", "y_hi", "y_lo"):
        nodes += [
            node("Mul", ["mask", edge], f"{edge}_m"),
            node("ReduceMax", [f"{edge}_m"], f"{edge}_max", axes=[1, 2], keepdims=0),
        ]
    nodes += [
        node("Sub", ["size", "x_lo_max"], "x0"),
        node("Sub", ["size", "y_lo_max"], "y0"),
        node("Add", ["x0", "x_hi_max"], "x_sum"),
        node("Div", ["x_sum", "two"], "cx"),
        node("Add", ["y0", "y_hi_max"], "y_sum"),
        node("Div", ["y_sum", "two"], "cy"),
        node("Sub", ["x_hi_max", "x0"], "w"),
        node("Sub", ["y_hi_max", "y0"], "h"),
        node("Concat", ["cx", "cy", "w", "h"], "box", axis=0),
        node("Reshape", ["box", "column"], "box_column"),
        node("Add", ["box_column", "offsets"], "boxes"),  # [4, N]
        node("ReduceMax", ["mask"], "seen", axes=[1, 2], keepdims=0),  # 1 if anything bright
        node("Mul", ["scores", "seen"], "class_scores"),  # [C, N]
    ]
    c = len(LABELS)
    if layout == "yolov8":
        nodes.append(node("Concat", ["boxes", "class_scores"], "rows", axis=0))  # [4+C, N]
        shape = [1, 4 + c, n]
    else:
        const["objectness"] = np.asarray(objectness, np.float32).reshape(1, n)
        nodes += [
            node("Concat", ["boxes", "objectness", "class_scores"], "columns", axis=0),
            node("Transpose", ["columns"], "rows", perm=[1, 0]),  # [N, 5+C]
        ]
        shape = [1, n, 5 + c]
    if flat:
        shape = shape[1:]
    const["shape"] = np.array(shape, np.int64)
    nodes.append(node("Reshape", ["rows", "shape"], "output0"))
    return onnx_model(nodes, const, ("images", [1, 3, SIZE, SIZE]), ("output0", shape))


@pytest.fixture
def files(tmp_path: Path):
    """Write a model (bytes) and a labels file; return their paths."""

    def write(model: bytes, labels: list[str] = LABELS) -> tuple[str, str]:
        m, lab = tmp_path / "model.onnx", tmp_path / "labels.txt"
        m.write_bytes(model)
        lab.write_text("\n".join(labels) + "\n")
        return str(m), str(lab)

    return write


# The camera image: 128x96 with a bright 40x20 rectangle at (40, 30). Letterboxed to 64x64 it
# is scaled by 0.5 and padded 8 px at the top and bottom, so the model sees the rectangle at
# (20, 23) with size 20x10; every box below is in the original image's pixels.
def camera_image(bright: bool = True) -> np.ndarray:
    img = np.full((96, 128, 3), 30, np.uint8)
    if bright:
        img[30:50, 40:80] = 255
    return img


CUP = (40, 30, 40, 20)
CUP_LEFT = (10, 30, 40, 20)  # candidate 4: 15 input px = 30 image px to the left


def summary(dets: list[Detection]) -> list[tuple[str, float, tuple[int, int, int, int]]]:
    return [(d.label, round(d.confidence, 3), d.box) for d in dets]


# ------------------------------------------------------------------------------------------
# Decoding


def test_letterbox_scales_and_centres_the_image():
    square, scale, pad_x, pad_y = letterbox(camera_image(), SIZE)
    assert square.shape == (SIZE, SIZE, 3) and (scale, pad_x, pad_y) == (0.5, 0.0, 8.0)
    assert (square[:8] == 114).all() and (square[-8:] == 114).all()
    ys, xs = np.nonzero(square[:, :, 0] == 255)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (20, 39, 23, 32)


def test_yolov8_output_gives_boxes_labels_scores_after_nms(files):
    det = OnnxDetector(*files(bright_box_model()), SIZE, 0.5, 0.45)
    assert det.layout == "yolov8" and det.labels == LABELS
    dets = det.detect(camera_image())
    assert summary(dets) == [("cup", 0.9, CUP), ("person", 0.7, CUP), ("cup", 0.6, CUP_LEFT)]
    for d in dets:
        x, y, w, h = d.box
        assert d.source == "onnx" and d.centroid == pytest.approx((x + w / 2, y + h / 2))


def test_nms_and_confidence_thresholds_are_the_parameters(files):
    model, labels = files(bright_box_model())
    loose_nms = OnnxDetector(model, labels, SIZE, 0.5, 0.99).detect(camera_image())
    # Candidate 1 overlaps candidate 0 with IoU 18/22 = 0.82: kept when the limit is 0.99.
    assert ("cup", 0.8, (44, 30, 40, 20)) in summary(loose_nms) and len(loose_nms) == 4
    low = OnnxDetector(model, labels, SIZE, 0.25, 0.45).detect(camera_image())
    assert ("cup", 0.3, CUP) not in summary(low)  # still suppressed by the 0.9 cup
    assert [d.label for d in low] == ["cup", "person", "cup"]
    high = OnnxDetector(model, labels, SIZE, 0.85, 0.45).detect(camera_image())
    assert summary(high) == [("cup", 0.9, CUP)]


def test_an_image_without_the_object_gives_nothing(files):
    det = OnnxDetector(*files(bright_box_model()), SIZE)
    assert det.detect(camera_image(bright=False)) == []


def test_yolov5_output_multiplies_objectness_into_the_score(files):
    # Candidate 0 is only half an object: 0.9 * 0.5 = 0.45 < 0.5, so the 0.8 cup survives NMS.
    obj = np.array([0.5, 1, 1, 1, 1], np.float32)
    det = OnnxDetector(*files(bright_box_model("yolov5", obj)), SIZE, 0.5, 0.45)
    assert det.layout == "yolov5"
    assert summary(det.detect(camera_image())) == [
        ("cup", 0.8, (44, 30, 40, 20)),
        ("person", 0.7, CUP),
        ("cup", 0.6, CUP_LEFT),
    ]


def test_decode_drops_non_finite_and_empty_boxes():
    out = np.zeros((1, 6, 3), np.float32)
    out[0, :, 0] = [10, 10, 4, 4, 0.9, 0]  # good
    out[0, :, 1] = [30, 30, 0, 4, 0.9, 0]  # zero width
    out[0, :, 2] = [np.nan, 30, 4, 4, 0, 0.9]  # NaN
    assert decode_yolo(out, 2, 0.5, 0.45) == [(0, pytest.approx(0.9), (8.0, 8.0, 4.0, 4.0))]


# ------------------------------------------------------------------------------------------
# Through Perception and its config


def test_perception_places_the_learned_detections(files, tmp_path):
    model, labels = files(bright_box_model())
    cfg = PerceptionConfig(
        colour_enabled=False,
        aruco_enabled=False,
        learned_detector="onnx",
        learned_detector_weights=model,
        learned_detector_labels=labels,
        learned_detector_input_size=SIZE,
        camera_pitch_deg=0.0,
        use_lidar_fallback=False,
    )
    p = Perception(cfg)
    k = Intrinsics.from_fov(128, 96, 60.0)
    depth = np.full((96, 128), 2.0, np.float32)
    for t in (0.0, 0.1):  # min_hits = 2
        result = p.process(Frame(camera_image(), depth, k, (0.0, 0.0, 0.0)), t)
    assert sorted(o.label for o in result.scene.objects) == ["cup", "cup", "person"]
    for o in result.scene.objects:
        # 2 m ahead of the camera (at x 0.12 on the base); the boxes are left of the centre.
        assert o.position.x == pytest.approx(2.12, abs=1e-6) and o.position.y > 0
        assert o.distance == pytest.approx(math.hypot(o.position.x, o.position.y))


def test_build_learned_detector_by_name(files):
    model, labels = files(bright_box_model())
    assert build_learned_detector(PerceptionConfig()) is None
    onnx = build_learned_detector(
        PerceptionConfig(
            learned_detector="onnx",
            learned_detector_weights=model,
            learned_detector_labels=labels,
            learned_detector_input_size=SIZE,
            learned_detector_min_confidence=0.85,
        )
    )
    assert isinstance(onnx, OnnxDetector) and summary(onnx.detect(camera_image())) == [
        ("cup", 0.9, CUP)
    ]
    spec = "test.core.test_perception_vision:make_fixed_detector"
    plugin = build_learned_detector(PerceptionConfig(learned_detector=spec))
    assert plugin is not None and not isinstance(plugin, OnnxDetector)


def test_only_the_listed_classes_are_reported(files):
    model, labels = files(bright_box_model())
    base = dict(
        colour_enabled=False, aruco_enabled=False, learned_detector="onnx",
        learned_detector_weights=model, learned_detector_labels=labels,
        learned_detector_input_size=SIZE,
    )  # fmt: skip
    everything = Perception(PerceptionConfig(**base)).detect(camera_image())
    assert sorted({d.label for d in everything}) == ["cup", "person"]
    people = Perception(PerceptionConfig(**base, learned_detector_classes=["person"]))
    assert summary(people.detect(camera_image())) == [("person", 0.7, CUP)]
    with pytest.raises(DetectorLoadError, match="'mug' not among the model's 2 labels"):
        Perception(PerceptionConfig(**base, learned_detector_classes=["person", "mug"]))


def test_the_class_list_filters_a_plugin_detector_too():
    spec = "test.core.test_perception_vision:make_fixed_detector"  # reports one "robot dog"

    def labels(classes: list[str]) -> list[str]:
        cfg = PerceptionConfig(
            learned_detector=spec, colour_enabled=False, aruco_enabled=False,
            learned_detector_classes=classes,
        )  # fmt: skip
        return [d.label for d in Perception(cfg).detect(camera_image())]

    assert labels([]) == ["robot dog"] and labels(["robot dog", "cat"]) == ["robot dog"]
    assert labels(["cat"]) == []


def _failing_factory(weights: str):
    raise FileNotFoundError(weights)


def test_a_failing_factory_is_a_load_error():
    spec = "test.core.test_perception_onnx:_failing_factory"
    cfg = PerceptionConfig(learned_detector=spec, learned_detector_weights="/no/weights.pt")
    with pytest.raises(DetectorLoadError, match="failed to start.*/no/weights.pt"):
        Perception(cfg)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"learned_detector": "yolo"}, "'onnx' or 'package.module:factory'"),
        ({"learned_detector_input_size": 16}, "learned_detector_input_size"),
        ({"learned_detector_min_confidence": 1.5}, "learned_detector_min_confidence"),
        ({"learned_detector_nms_iou": 0.0}, "learned_detector_nms_iou"),
    ],
)
def test_config_checks(overrides, match):
    with pytest.raises(ValueError, match=match):
        PerceptionConfig(**overrides)


# ------------------------------------------------------------------------------------------
# Errors at start-up, with the reason


def test_missing_or_bad_files_are_load_errors_that_say_why(files, tmp_path):
    model, labels = files(bright_box_model())
    cases = [
        (("", labels), "needs learned_detector_weights"),
        ((model, ""), "needs learned_detector_labels"),
        ((str(tmp_path / "nope.onnx"), labels), "nope.onnx.*no such file"),
        ((model, str(tmp_path / "nope.txt")), "labels file.*nope.txt"),
    ]
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not an ONNX model")
    cases.append(((str(garbage), labels), "garbage.onnx.*Failed to parse ONNX model"))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    cases.append(((model, str(empty)), "has no labels"))
    for args, match in cases:
        with pytest.raises(DetectorLoadError, match=match):
            OnnxDetector(*args, SIZE)


def test_an_output_that_does_not_match_the_labels_is_a_load_error(files):
    # Three labels for a two-class model: neither [1, 7, N] nor [1, N, 8].
    model, labels = files(bright_box_model(), ["person", "cup", "ball"])
    with pytest.raises(DetectorLoadError, match=r"output is \[1, 6, 5\].*\[1, 7, N\].*\[1, N, 8\]"):
        OnnxDetector(model, labels, SIZE)
    model, labels = files(bright_box_model(flat=True))
    with pytest.raises(DetectorLoadError, match=r"output is \[6, 5\]"):
        OnnxDetector(model, labels, SIZE)


def test_a_wrong_input_size_is_a_load_error(files):
    with pytest.raises(DetectorLoadError, match="learned_detector_input_size"):
        OnnxDetector(*files(bright_box_model()), 2 * SIZE)


def test_the_writer_writes_what_onnx_expects():
    # Varints as protobuf encodes them (the model tests above depend on it).
    assert _varint(1) == b"\x01" and _varint(300) == b"\xac\x02"
    assert _varint(-1) == b"\xff" * 9 + b"\x01"


def test_a_model_that_crashes_opencv_is_a_load_error_not_a_dead_process(files):
    # OpenCV 4.x segfaults on ReduceMax over every axis with keepdims=0 (found writing the
    # model above); the detector's trial run in a child process turns that into a reason.
    crash = onnx_model(
        [node("ReduceMax", ["images"], "output0", axes=[0, 1, 2, 3], keepdims=0)],
        {},
        ("images", [1, 3, SIZE, SIZE]),
        ("output0", []),
    )
    model, labels = files(crash)
    with pytest.raises(DetectorLoadError, match="crashes OpenCV's DNN module .SIGSEGV"):
        OnnxDetector(model, labels, input_size=SIZE)
