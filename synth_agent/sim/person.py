"""Where the simulated person is at a given time: standing, or walking a closed loop.

A pure function of time (no state, no physics), so the person's motion is exactly repeatable
across runs and resets, and a test can ask where the person will be. The simulator copies the
pose into the person's mocap body, which then pushes against the robot like a solid obstacle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class PersonPath:
    """One point: stand there facing `yaw`. Several: walk point to point at `speed_mps`,
    back to the first, and repeat, always facing the direction of travel."""

    def __init__(
        self, points: Sequence[tuple[float, float]], speed_mps: float, yaw: float = 0.0
    ) -> None:
        if not points:
            raise ValueError("a person path needs at least one point")
        if speed_mps <= 0:
            raise ValueError("speed_mps must be > 0")
        self.points = [(float(x), float(y)) for x, y in points]
        self.speed = speed_mps
        self.yaw = yaw
        loop = self.points + self.points[:1]
        self._segments = [
            (a, b, math.hypot(b[0] - a[0], b[1] - a[1]))
            for a, b in zip(loop[:-1], loop[1:], strict=True)
        ]
        self.length = sum(s[2] for s in self._segments)

    @property
    def walking(self) -> bool:
        return self.length > 1e-9

    def pose(self, t: float) -> tuple[float, float, float]:
        """(x, y, yaw) at time t seconds after the start."""
        if not self.walking:
            x, y = self.points[0]
            return x, y, self.yaw
        s = (max(0.0, t) * self.speed) % self.length
        for (ax, ay), (bx, by), length in self._segments:
            if length <= 1e-9:
                continue
            if s <= length:
                f = s / length
                return ax + f * (bx - ax), ay + f * (by - ay), math.atan2(by - ay, bx - ax)
            s -= length
        (ax, ay), (bx, by), _ = self._segments[-1]
        return bx, by, math.atan2(by - ay, bx - ax)
