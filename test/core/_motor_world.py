"""A unicycle robot in a world of wall segments, for testing motor control without a simulator.

The robot follows the commanded velocities exactly (a kinematic model integrated at a fine
step), optionally `delay_s` late, like a real loop through the safety gate and the motors; the scan
is a ray cast against the segments. Good enough to check tolerances, obstacle
avoidance and timing of the controllers, which is all the unit tests need.
"""

from __future__ import annotations

import math

import numpy as np

from synth_agent.core.motor import Command, Observation
from synth_agent.core.places import Places, parse_places

Segment = tuple[float, float, float, float]


def box(x0: float, y0: float, x1: float, y1: float) -> list[Segment]:
    return [(x0, y0, x1, y0), (x1, y0, x1, y1), (x1, y1, x0, y1), (x0, y1, x0, y0)]


class World:
    def __init__(
        self,
        walls: list[Segment],
        x=0.0,
        y=0.0,
        yaw=0.0,
        n_rays: int = 360,
        radius=0.2,
        delay_s: float = 0.0,
        lidar_x: float = -0.05,
    ) -> None:
        self.walls = np.array(walls, dtype=float).reshape(-1, 4)
        self.x, self.y, self.yaw = x, y, yaw
        self.v = self.w = 0.0
        self.angles = np.linspace(-math.pi, math.pi, n_rays, endpoint=False)
        self.radius = radius
        self.min_clearance = math.inf
        self.delay_s = delay_s
        self.lidar_x = lidar_x  # as MotorControlConfig.lidar_x_m: the rays start there
        self._queue: list[tuple[float, float]] = []  # commands not yet acted on, oldest first

    def scan(self) -> np.ndarray:
        a = self.angles + self.yaw
        dx, dy = np.cos(a)[:, None], np.sin(a)[:, None]
        ox = self.x + self.lidar_x * math.cos(self.yaw)
        oy = self.y + self.lidar_x * math.sin(self.yaw)
        x0, y0, x1, y1 = (self.walls[:, i][None, :] for i in range(4))
        ex, ey = x1 - x0, y1 - y0
        den = dx * ey - dy * ex
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((x0 - ox) * ey - (y0 - oy) * ex) / den
            u = ((x0 - ox) * dy - (y0 - oy) * dx) / den
        ok = (np.abs(den) > 1e-12) & (t > 0) & (u >= 0) & (u <= 1)
        t = np.where(ok, t, np.inf)
        r = t.min(axis=1, initial=np.inf)
        return np.where(r > 8.0, np.inf, r)

    def add_walls(self, walls: list[Segment]) -> None:
        """Something appears in the world (a box dropped on the floor): the next scan sees it."""
        self.walls = np.concatenate([self.walls, np.array(walls, dtype=float).reshape(-1, 4)])

    def clearance(self) -> float:
        """Distance from the robot centre to the nearest wall."""
        x0, y0, x1, y1 = (self.walls[:, i] for i in range(4))
        ex, ey = x1 - x0, y1 - y0
        t = np.clip(((self.x - x0) * ex + (self.y - y0) * ey) / (ex**2 + ey**2), 0, 1)
        return float(np.hypot(x0 + t * ex - self.x, y0 + t * ey - self.y).min())

    def obs(self, **extra) -> Observation:
        return Observation(
            x=self.x, y=self.y, yaw=self.yaw, v=self.v, w=self.w,
            ranges=self.scan(), angles=self.angles.copy(), **extra,
        )  # fmt: skip

    def apply(self, cmd: Command | None, dt: float, substeps: int = 5) -> None:
        self._queue.append((cmd.linear, cmd.angular) if cmd is not None else (0.0, 0.0))
        lag = int(round(self.delay_s / dt))
        self.v, self.w = self._queue[0] if len(self._queue) > lag else (0.0, 0.0)
        if len(self._queue) > lag:
            self._queue.pop(0)
        h = dt / substeps
        for _ in range(substeps):
            self.x += self.v * math.cos(self.yaw) * h
            self.y += self.v * math.sin(self.yaw) * h
            self.yaw += self.w * h
            if len(self.walls):
                self.min_clearance = min(self.min_clearance, self.clearance())


def run(skill, world: World, dt: float = 0.05, t_max: float = 60.0, scene_at=None, **obs_extra):
    """Step a skill until it finishes; return (final state, time taken, last command).

    `obs_extra` is passed to every observation; `scene_at(t)`, when given, is the scene at t."""
    t = 0.0
    while t < t_max:
        extra = obs_extra if scene_at is None else {**obs_extra, "scene": scene_at(t)}
        cmd, state = skill.step(world.obs(**extra), t)
        world.apply(cmd, dt)
        t += dt
        if state.done:
            for _ in range(int(round(world.delay_s / dt)) + 1):  # what was in flight, happens
                world.apply(cmd, dt)
            return state, t, cmd
    return None, t, None


# Two 4 x 3 m rooms side by side, joined by a 1 m door at x = 4, y in [1.0, 2.0].
TWO_ROOMS = [
    *box(0.0, 0.0, 8.0, 3.0),
    (4.0, 0.0, 4.0, 1.0),
    (4.0, 2.0, 4.0, 3.0),
]
TWO_ROOMS_PLACES: Places = parse_places(
    {
        "places": {
            "west": {"x": 1.0, "y": 1.5, "yaw": 0.0},
            "east": {"x": 7.0, "y": 2.3, "yaw": 1.5708},
        },
        "operator": {"x": 2.0, "y": 2.0, "yaw": 0.0},
        "rooms": {
            "west_room": {"x_min": 0.0, "x_max": 4.0, "y_min": 0.0, "y_max": 3.0},
            "east_room": {"x_min": 4.0, "x_max": 8.0, "y_min": 0.0, "y_max": 3.0},
        },
        "doorways": {"door": {"x": 4.0, "y": 1.5, "connects": ["west_room", "east_room"]}},
    }
)
