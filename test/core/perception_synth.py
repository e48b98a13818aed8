"""Synthetic camera frames for perception tests: coloured discs at known odom positions.

Each object is drawn as a fronto-parallel disc whose depth is the z of its odom point in the
optical frame, so back-projecting the disc's centroid must give that point back (to within
pixel rounding). Colours are the simulator's geom colours (rgba in apartment.xml), in BGR.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from synth_agent.core.vision import CameraMount, Intrinsics


def bgr(r: float, g: float, b: float, shade: float = 1.0) -> tuple[int, int, int]:
    return (int(b * 255 * shade), int(g * 255 * shade), int(r * 255 * shade))


SIM_COLOURS = {
    "red cup": bgr(0.85, 0.08, 0.08),
    "blue ball": bgr(0.1, 0.3, 0.9),
    "green box": bgr(0.1, 0.7, 0.2),
    "yellow bottle": bgr(0.95, 0.82, 0.08),
    "person": bgr(0.1, 0.5, 0.55),
}
# Things in the flat that must never be reported (wood, light wood, skin, trousers, fabric,
# walls, counter, dock plate).
CLUTTER = [
    bgr(0.55, 0.38, 0.22),
    bgr(0.78, 0.64, 0.45),
    bgr(0.87, 0.7, 0.58),
    bgr(0.15, 0.2, 0.4),
    bgr(0.36, 0.42, 0.52),
    bgr(0.93, 0.92, 0.88),
    bgr(0.62, 0.64, 0.66),
    bgr(0.35, 0.5, 0.4),
    bgr(0.12, 0.12, 0.14),
]

K = Intrinsics.from_fov(640, 480, 60.0)
MOUNT = CameraMount(x=0.12, y=0.0, z=0.6, yaw=0.0, pitch=math.radians(8.0))
BACKGROUND_DEPTH = 7.5


def odom_to_optical(p, mount: CameraMount, robot) -> np.ndarray:
    rx, ry, ryaw = robot
    dx, dy = p[0] - rx, p[1] - ry
    c, s = math.cos(ryaw), math.sin(ryaw)
    p_base = np.array([c * dx + s * dy, -s * dx + c * dy, p[2]])
    return mount.rotation().T @ (p_base - np.array([mount.x, mount.y, mount.z]))


def project(p, robot, k: Intrinsics = K, mount: CameraMount = MOUNT):
    """(u, v, z) of an odom point, or None when it is behind the camera."""
    q = odom_to_optical(p, mount, robot)
    if q[2] <= 0.05:
        return None
    return k.fx * q[0] / q[2] + k.cx, k.fy * q[1] / q[2] + k.cy, float(q[2])


def blank(k: Intrinsics = K, seed: int = 0, noise: float = 6.0):
    """A grey, slightly noisy background and a far depth wall."""
    rng = np.random.default_rng(seed)
    img = np.full((k.height, k.width, 3), 128, np.float32)
    img += rng.normal(0, noise, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    depth = np.full((k.height, k.width), BACKGROUND_DEPTH, np.float32)
    return img, depth


def render(objects, robot, k: Intrinsics = K, mount: CameraMount = MOUNT, radius_m: float = 0.06,
           seed: int = 0, shade: float = 1.0):  # fmt: skip
    """Image and depth with each (label, odom point) drawn as a disc; returns those in view."""
    img, depth = blank(k, seed)
    in_view = []
    # Far first, so near objects occlude far ones as they would in a camera.
    projected = []
    for label, p in objects:
        uvz = project(p, robot, k, mount)
        if uvz is not None:
            projected.append((uvz[2], label, p, uvz))
    for _, label, p, (u, v, z) in sorted(projected, key=lambda t: -t[0]):
        r = int(round(k.fx * radius_m / z))
        if r < 6:  # farther than the camera resolves: not drawn, not expected
            continue
        if not (r <= u < k.width - r and r <= v < k.height - r):
            continue
        colour = tuple(int(c * shade) for c in SIM_COLOURS[label])
        centre = (int(round(u)), int(round(v)))
        cv2.circle(img, centre, r, colour, -1)
        mask = np.zeros(depth.shape, np.uint8)
        cv2.circle(mask, centre, r, 1, -1)
        depth[mask.astype(bool)] = z
        # The drawn disc is centred on the rounded pixel: that is the point truth refers to.
        in_view.append((label, p))
    return img, depth, in_view
