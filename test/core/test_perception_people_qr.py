"""OpenCV's HOG people detector and QR detector (`core/vision.py`) on images made here.

People: the simulator's person is capsules (HOG, trained on photographs, never finds it; the
colour table does), and no photograph of a person ships with the repository or its packages.
What HOG keys on is the outline of an upright body (head, shoulders, arms along the sides,
two legs), so a dark human silhouette drawn to those proportions is found, at any size from
the detector's 64x128 window up, while the same figure upside down or on its side, a bar of
the same size, a blank wall and noise are not. That makes both the positives and the
negatives real checks of the detector and of how `HogPeopleDetector` turns its output into
detections. QR: codes are made with OpenCV's own encoder, so the text and where the code is
are known exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synth_agent.core.perception import Perception, PerceptionConfig
from synth_agent.core.vision import HogPeopleDetector, QrDetector

BACKGROUND = 200
FIGURE = (40, 40, 40)


def draw_person(img: np.ndarray, cx: int, top: int, height: int) -> tuple[int, int, int, int]:
    """Draw a standing person's silhouette (170 units tall, scaled to `height` px) with its head
    at (cx, top); return the (x, y, w, h) box of the pixels drawn."""
    s = height / 170.0

    def p(x: float, y: float) -> tuple[int, int]:
        return (int(cx + x * s), int(top + y * s))

    before = img.copy()
    cv2.ellipse(img, p(0, 12), (int(10 * s), int(12 * s)), 0, 0, 360, FIGURE, -1)  # head
    cv2.rectangle(img, p(-4, 22), p(4, 28), FIGURE, -1)  # neck
    cv2.fillPoly(img, [np.array([p(-20, 28), p(20, 28), p(17, 90), p(-17, 90)])], FIGURE)
    for side in (-1, 1):
        arm = [p(side * 20, 28), p(side * 27, 32), p(side * 26, 88), p(side * 20, 88),
               p(side * 18, 40)]  # fmt: skip
        cv2.fillPoly(img, [np.array(arm)], FIGURE)
        leg = [p(side * 1, 88), p(side * 17, 88), p(side * 14, 165), p(side * 4, 165)]
        cv2.fillPoly(img, [np.array(leg)], FIGURE)
        cv2.ellipse(img, p(side * 10, 167), (int(8 * s), int(4 * s)), 0, 0, 360, FIGURE, -1)
    return cv2.boundingRect((img != before).any(axis=2).astype(np.uint8))


def wall(width: int = 300, height: int = 400) -> np.ndarray:
    return np.full((height, width, 3), BACKGROUND, np.uint8)


def soften(img: np.ndarray) -> np.ndarray:
    """The slight blur of a real lens, so edges are not single-pixel steps."""
    return cv2.GaussianBlur(img, (3, 3), 0)


def assert_box_frames(det_box, figure) -> None:
    """HOG's box is its detection window around the person: it holds the whole figure, which
    fills most of its height, and is centred on it."""
    x, y, w, h = det_box
    fx, fy, fw, fh = figure
    slack = 0.06 * fh
    assert x - slack <= fx and fx + fw <= x + w + slack, (det_box, figure)
    assert y - slack <= fy and fy + fh <= y + h + slack, (det_box, figure)
    assert 1.0 <= h / fh <= 1.7, (det_box, figure)
    assert abs((x + w / 2) - (fx + fw / 2)) < 0.1 * fh
    assert abs((y + h / 2) - (fy + fh / 2)) < 0.1 * fh


# ------------------------------------------------------------------------------------------
# People (HOG)


@pytest.mark.parametrize("height", [100, 140, 200])
def test_hog_finds_one_upright_person_where_it_is(height):
    img = wall()
    figure = draw_person(img, 150, 60, height)
    dets = HogPeopleDetector(0.6).detect(soften(img))
    assert len(dets) == 1, dets
    (d,) = dets
    assert (d.label, d.source, d.colour, d.radius_m) == ("person", "hog", None, 0.0)
    assert 0.6 <= d.confidence < 1.0
    assert_box_frames(d.box, figure)
    x, y, w, h = d.box
    assert d.centroid == pytest.approx((x + w / 2, y + h / 2), abs=0.5)


def test_hog_finds_two_people_as_two_detections():
    img = wall(width=500)
    figures = [draw_person(img, 120, 60, 140), draw_person(img, 360, 100, 140)]
    dets = sorted(HogPeopleDetector(0.6).detect(soften(img)), key=lambda d: d.box[0])
    assert len(dets) == 2, dets
    for d, figure in zip(dets, figures, strict=True):
        assert_box_frames(d.box, figure)


@pytest.mark.parametrize("case", ["blank", "noise", "upside down", "on its side", "a bar"])
def test_hog_finds_no_person_where_there_is_none(case):
    img = wall()
    if case == "noise":
        img = np.random.default_rng(0).integers(0, 256, img.shape, dtype=np.uint8)
    elif case == "upside down":
        draw_person(img, 150, 60, 140)
        img = np.ascontiguousarray(img[::-1])
    elif case == "on its side":
        draw_person(img, 150, 60, 140)
        img = np.ascontiguousarray(np.rot90(img))
    elif case == "a bar":  # the figure's size and contrast, not its shape
        cv2.rectangle(img, (125, 60), (175, 200), FIGURE, -1)
    assert HogPeopleDetector(0.5).detect(soften(img)) == []


def test_hog_confidence_follows_how_clear_the_person_is_and_is_thresholded():
    img = wall()
    draw_person(img, 150, 60, 140)
    img = soften(img)
    noisy = np.random.default_rng(0).normal(0, 10, img.shape)
    noisy = np.clip(img + noisy, 0, 255).astype(np.uint8)
    (d,) = HogPeopleDetector(0.5).detect(img)
    (dn,) = HogPeopleDetector(0.5).detect(noisy)
    # The SVM's margin through a logistic: the clean figure is clearly a person (> 0.9), the
    # same figure in sensor noise less so.
    assert 0.9 < d.confidence < 1.0 and 0.5 < dn.confidence < d.confidence - 0.05
    assert HogPeopleDetector(d.confidence - 0.01).detect(img) != []
    assert HogPeopleDetector(d.confidence + 0.01).detect(img) == []
    assert HogPeopleDetector(dn.confidence + 0.01).detect(noisy) == []


def test_people_enabled_adds_hog_people_to_perception():
    img = wall(640, 480)
    figure = draw_person(img, 320, 120, 200)
    img = soften(img)
    only_people = {"colour_enabled": False, "aruco_enabled": False}
    on = Perception(PerceptionConfig(people_enabled=True, **only_people)).detect(img)
    off = Perception(PerceptionConfig(people_enabled=False, **only_people)).detect(img)
    assert [d.label for d in on] == ["person"] and off == []
    assert_box_frames(on[0].box, figure)


# ------------------------------------------------------------------------------------------
# QR codes


def qr_image(text: str, at: tuple[int, int], module_px: int = 6) -> tuple[np.ndarray, tuple]:
    """A white 640x480 image with the QR code of `text` (OpenCV's encoder, `module_px` pixels
    a module) at `at`; also the (x, y, w, h) box of the code's dark modules."""
    code = cv2.QRCodeEncoder.create().encode(text)
    big = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    img = np.full((480, 640, 3), 255, np.uint8)
    x0, y0 = at
    img[y0 : y0 + big.shape[0], x0 : x0 + big.shape[1]] = big[:, :, None]
    return img, cv2.boundingRect((img[:, :, 0] < 128).astype(np.uint8))


@pytest.mark.parametrize("text, at", [("bring the red cup", (250, 100)), ("dock 3", (20, 300))])
def test_qr_code_is_decoded_where_it_is(text, at):
    img, (x, y, w, h) = qr_image(text, at)
    dets = QrDetector().detect(img)
    assert len(dets) == 1, dets
    (d,) = dets
    assert (d.label, d.source, d.confidence) == (f"qr {text}", "qr", 1.0)
    # The detector's corners are within a module (6 px) of the code's; its centre within 3 px.
    assert np.allclose(d.box, (x, y, w, h), atol=6), (d.box, (x, y, w, h))
    assert d.centroid == pytest.approx((x + w / 2, y + h / 2), abs=3)


def test_long_qr_text_is_cut_to_60_characters():
    text = "go to the kitchen, then the hallway, then the bedroom, then come back to me"
    img, _ = qr_image(text, (150, 60), module_px=4)
    (d,) = QrDetector().detect(img)
    assert d.label == "qr " + text[:60]


@pytest.mark.parametrize("case", ["blank", "noise", "person"])
def test_no_qr_code_means_no_detection(case):
    img = np.full((480, 640, 3), 255, np.uint8)
    if case == "noise":
        img = np.random.default_rng(1).integers(0, 256, img.shape, dtype=np.uint8)
    elif case == "person":
        draw_person(img, 320, 100, 200)
    assert QrDetector().detect(img) == []


def test_qr_enabled_adds_qr_codes_to_perception():
    img, _ = qr_image("kitchen", (250, 100))
    cfg = {"colour_enabled": False, "aruco_enabled": False}
    assert [d.label for d in Perception(PerceptionConfig(qr_enabled=True, **cfg)).detect(img)] == [
        "qr kitchen"
    ]
    assert Perception(PerceptionConfig(qr_enabled=False, **cfg)).detect(img) == []
