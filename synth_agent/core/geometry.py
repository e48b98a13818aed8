"""Small plane-geometry helpers shared by the nodes and the core (REP 103: x forward, yaw
counter-clockwise)."""

from __future__ import annotations

import math


def yaw_from_quaternion(x: float, y: float, z: float, w: float) -> float:
    """Heading (rad) of an orientation quaternion about +z."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def wrap_angle(angle: float) -> float:
    """`angle` (rad) wrapped into [-π, π)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi
