"""Zones from the laser scan (like nav2 collision_monitor) and the geofence.

The robot is a circle of `robot_radius` around the base origin, and zones are distances from
its edge. A circle makes the rules direction-aware in a way a polygon cannot: turning in place
never brings the edge closer to anything, and the distance to an obstacle point `p` shrinks
exactly when the linear velocity has a positive component along `p`. So a rule only looks at
points the robot is moving *toward*; backing off and turning away stay allowed, which is what
lets a robot that was stopped next to a wall get itself out.

Rules, each configured by distance (0 = off) and each reported with the distance that fired it:
- stop: an obstacle within `stop_distance` ahead → no linear motion (rotation allowed); always
  on for obstacles touching or inside the footprint;
- slowdown: within `slowdown_distance` → the whole command scaled by `slowdown_ratio`;
- limit: within `limit_distance` → scaled so that speed ≤ `limit_linear_velocity` and
  turn rate ≤ `limit_angular_velocity`;
- approach: the time to collision under the current command, simulated in steps of
  `simulation_time_step`, must stay ≥ `time_before_collision`; the command is scaled by
  `ttc / time_before_collision` otherwise, so the robot slows down as it closes in and never
  reaches the obstacle.
The safest factor wins (collision_monitor's cross-over behaviour). Zone actions act on the
smoothed command and immediately: like nav2's velocity_smoother → collision_monitor chain, a stop
is never softened by the deceleration limit.

Debounce (collision_monitor's trigger/release counts): with `trigger` > 1 a rule acts only
after that many consecutive scans have a point inside its zone, and with `release` > 1 it keeps
acting until that many consecutive scans have none, on the points of the last scan that did
(held, in the base frame). "Inside" is direction-agnostic (any point within the rule's largest
configured distance of the edge; for approach, within the distance the robot can cover in
`time_before_collision` at the velocity limit); the direction-aware rule then runs on the points
the debounce lets through. Points touching or inside the footprint are never debounced: the
stop rule always sees them at once. Counts 1/1 (the default) behave exactly as no debounce.

Velocity-dependent zones (collision_monitor's VelocityPolygon): a list of velocity ranges, each
with its own stop/slowdown/limit distances; the first range containing the velocity being
checked (vx, wz) replaces the static distances. The gate checks the target command and, for the
zeroing rules, the motion actually sent, so a reversal that still moves forward is judged by
the forward zone. A velocity outside every range falls back to the static distances (nav2
leaves such a polygon empty; falling back keeps a configured stop zone in force).

The scan is converted to points in the base frame once per message (numpy), so each command only
pays for a few vector operations. Scan range readings that are NaN, inf or outside
[range_min, range_max] mean "no return" in sensor_msgs/LaserScan and are dropped; a scan whose
geometry is malformed is rejected whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from synth_agent.core.safety_limits import ZERO, Velocity

MAX_SCAN_POINTS = 100_000


class ScanError(ValueError):
    """A LaserScan that cannot be used; the text says why."""


@dataclass(frozen=True)
class ScanPoints:
    """Obstacle points in the base frame (m) and their distance from the robot's centre."""

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray

    @classmethod
    def empty(cls) -> ScanPoints:
        e = np.zeros(0)
        return cls(e, e, e)

    @classmethod
    def from_xy(cls, xy: Sequence[tuple[float, float]]) -> ScanPoints:
        """Points given directly (tests, other sensors)."""
        arr = np.asarray(xy, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(arr)):
            raise ScanError("non-finite obstacle point")
        return cls(arr[:, 0].copy(), arr[:, 1].copy(), np.hypot(arr[:, 0], arr[:, 1]))

    @classmethod
    def from_scan(
        cls,
        ranges: Sequence[float] | np.ndarray,
        angle_min: float,
        angle_increment: float,
        range_min: float,
        range_max: float,
        pose: Sequence[float] = (0.0, 0.0, 0.0),
    ) -> ScanPoints:
        """Points from a LaserScan's fields; `pose` is (x, y, yaw) of the scanner on the base."""
        for name, value in (
            ("angle_min", angle_min),
            ("angle_increment", angle_increment),
            ("range_min", range_min),
            ("range_max", range_max),
        ):
            if not math.isfinite(value):
                raise ScanError(f"scan {name} is {value}")
        if angle_increment == 0.0:
            raise ScanError("scan angle_increment is 0")
        if not 0.0 <= range_min < range_max:
            raise ScanError(f"scan range_min {range_min} / range_max {range_max} out of order")
        r = np.asarray(ranges, dtype=float)
        if r.ndim != 1 or r.size == 0:
            raise ScanError("scan has no ranges")
        if r.size > MAX_SCAN_POINTS:
            raise ScanError(f"scan has {r.size} ranges (more than {MAX_SCAN_POINTS})")
        angles = angle_min + angle_increment * np.arange(r.size)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(r) & (r >= range_min) & (r <= range_max)
        r, angles = r[ok], angles[ok]
        sx, sy, syaw = (float(v) for v in pose)
        a = angles + syaw
        x = sx + r * np.cos(a)
        y = sy + r * np.sin(a)
        return cls(x, y, np.hypot(x, y))


@dataclass(frozen=True)
class ZoneConfig:
    """Zone distances are from the robot's edge (m); 0 switches a rule off."""

    robot_radius: float
    stop_distance: float
    slowdown_distance: float
    slowdown_ratio: float
    limit_distance: float
    limit_linear_velocity: float
    limit_angular_velocity: float
    time_before_collision: float
    simulation_time_step: float


@dataclass(frozen=True)
class ZoneResult:
    """The command after the zones, the rule that acted (or "") and why."""

    velocity: Velocity
    zone: str = ""
    reason: str = ""
    factor: float = 1.0


def time_to_collision(
    v: Velocity, points: ScanPoints, radius: float, horizon: float, step: float
) -> float | None:
    """Seconds until the robot's circle first touches a point if it keeps command `v`, sampled
    every `step` up to `horizon`; None when it stays clear. The time returned is the last sample
    still clear (conservative). Points already inside the footprint are left to the stop rule."""
    if v.speed == 0.0 or points.r.size == 0:
        return None
    reach = radius + v.speed * horizon
    near = (points.r > radius) & (points.r <= reach)
    if not np.any(near):
        return None
    px, py = points.x[near], points.y[near]
    n = max(1, int(math.ceil(horizon / step - 1e-9)))
    t = np.minimum(np.arange(1, n + 1) * step, horizon)
    if abs(v.wz) < 1e-9:
        cx, cy = v.vx * t, v.vy * t
    else:
        # The base-frame velocity (vx, vy) rotates with the robot: integrate the arc exactly.
        s, c = np.sin(v.wz * t), np.cos(v.wz * t)
        cx = (v.vx * s + v.vy * (c - 1.0)) / v.wz
        cy = (v.vx * (1.0 - c) + v.vy * s) / v.wz
    d2 = (px[None, :] - cx[:, None]) ** 2 + (py[None, :] - cy[:, None]) ** 2
    hit = np.flatnonzero(np.any(d2 < radius * radius, axis=1))
    if hit.size == 0:
        return None
    i = int(hit[0])
    return float(t[i - 1]) if i > 0 else 0.0


RULES = ("stop", "slowdown", "limit", "approach")


def apply_zones(
    v: Velocity,
    points: ScanPoints,
    cfg: ZoneConfig,
    scaling: bool = True,
    rule_points: Mapping[str, ScanPoints] | None = None,
) -> ZoneResult:
    """Apply stop, slowdown, limit and approach to command `v` given the obstacle points
    (`scaling=False`: the stop rule only). `rule_points` gives a rule its own points (the
    debounce's output); a rule not in it sees `points`."""

    def pts(rule: str) -> ScanPoints:
        return points if rule_points is None else rule_points.get(rule, points)

    if v.speed == 0.0:
        return ZoneResult(v)

    def toward(p: ScanPoints) -> np.ndarray:
        return (p.x * v.vx + p.y * v.vy) > 1e-12 * v.speed

    # The stop rule is always on: with stop_distance 0 it still stops for points touching or
    # inside the footprint, which the approach rule (points outside only) leaves alone.
    sp = pts("stop")
    if sp.r.size:
        edge = sp.r - cfg.robot_radius
        hit = toward(sp) & (edge <= cfg.stop_distance)
        if np.any(hit):
            d = float(np.min(edge[hit]))
            return ZoneResult(
                Velocity(0.0, 0.0, v.wz), "stop", f"stop zone: obstacle at {d:.2f} m", 0.0
            )
    if not scaling:
        return ZoneResult(v)

    def nearest(p: ScanPoints) -> float:
        if p.r.size == 0:
            return math.inf
        ahead = (p.r - cfg.robot_radius)[toward(p)]
        return float(np.min(ahead)) if ahead.size else math.inf

    factor, zone, reason = 1.0, "", ""
    if cfg.slowdown_distance > 0.0:
        d = nearest(pts("slowdown"))
        if d <= cfg.slowdown_distance and cfg.slowdown_ratio < factor:
            factor, zone = cfg.slowdown_ratio, "slowdown"
            reason = f"slowdown zone: obstacle at {d:.2f} m, x{cfg.slowdown_ratio:g}"
    if cfg.limit_distance > 0.0:
        d = nearest(pts("limit"))
        if d <= cfg.limit_distance:
            k = min(
                cfg.limit_linear_velocity / v.speed,
                cfg.limit_angular_velocity / abs(v.wz) if v.wz else math.inf,
            )
            if k < factor:
                factor, zone = k, "limit"
                reason = (
                    f"limit zone: obstacle at {d:.2f} m, limited to "
                    f"{cfg.limit_linear_velocity:g} m/s, {cfg.limit_angular_velocity:g} rad/s"
                )
    if cfg.time_before_collision > 0.0:
        ttc = time_to_collision(
            v,
            pts("approach"),
            cfg.robot_radius,
            cfg.time_before_collision,
            cfg.simulation_time_step,
        )
        if ttc is not None:
            k = ttc / cfg.time_before_collision
            if k < factor:
                factor, zone = k, "approach"
                reason = f"approach: collision in {ttc:.2f} s at this speed"
    if factor >= 1.0:
        return ZoneResult(v)
    return ZoneResult(v.scaled(factor) if factor > 0.0 else ZERO, zone, reason, factor)


# ---------------------------------------------------------------------------------------------
# Velocity-dependent zones and debounce


@dataclass(frozen=True)
class VelocityZone:
    """Zone distances that apply while vx is in [linear_min, linear_max] and wz in
    [angular_min, angular_max] (inclusive)."""

    name: str
    linear_min: float
    linear_max: float
    angular_min: float
    angular_max: float
    stop_distance: float
    slowdown_distance: float
    limit_distance: float

    def contains(self, v: Velocity) -> bool:
        return (
            self.linear_min <= v.vx <= self.linear_max
            and self.angular_min <= v.wz <= self.angular_max
        )


def select_zone(
    v: Velocity, base: ZoneConfig, zones: Sequence[VelocityZone]
) -> tuple[ZoneConfig, str]:
    """The zone distances for velocity `v`: the first velocity zone containing it, else the
    static ones; and the velocity zone's name ("" for the static distances)."""
    for z in zones:
        if z.contains(v):
            return (
                replace(
                    base,
                    stop_distance=z.stop_distance,
                    slowdown_distance=z.slowdown_distance,
                    limit_distance=z.limit_distance,
                ),
                z.name,
            )
    return base, ""


def _subset(p: ScanPoints, mask: np.ndarray) -> ScanPoints:
    return ScanPoints(p.x[mask], p.y[mask], p.r[mask])


class ZoneDebounce:
    """Per-rule trigger/release counting over scans (see the module docstring).

    `reach` maps each rule to the edge distance that counts as inside (its largest configured
    distance; a negative value switches the rule's zone off, so it sees nothing but the stop
    rule's footprint contacts)."""

    def __init__(self, trigger: int, release: int, radius: float, reach: Mapping[str, float]):
        self.trigger, self.release, self.radius = trigger, release, radius
        self.reach = dict(reach)
        self.active = dict.fromkeys(RULES, False)
        self._in = dict.fromkeys(RULES, 0)
        self._out = dict.fromkeys(RULES, 0)
        self._held = {r: ScanPoints.empty() for r in RULES}
        self.points: dict[str, ScanPoints] | None = None

    @property
    def passthrough(self) -> bool:
        return self.trigger == 1 and self.release == 1

    def reset(self, points: ScanPoints | None) -> None:
        """Start over from `points` (a rule with a point inside starts triggered: a
        reconfiguration must not open a gap in a zone that is acting)."""
        for r in RULES:
            self._in[r] = self._out[r] = 0
            self.active[r] = False
            self._held[r] = ScanPoints.empty()
        self.points = None
        if points is not None:
            saved = self.trigger
            self.trigger = 1
            self.update(points)
            self.trigger = saved

    def update(self, points: ScanPoints) -> dict[str, ScanPoints] | None:
        """Count one scan; return the points each rule may see (None: all see `points`)."""
        if self.passthrough:
            self.points = None
            return None
        edge = points.r - self.radius
        out: dict[str, ScanPoints] = {}
        for r in RULES:
            inside = edge <= self.reach[r]
            if np.any(inside):
                self._in[r] += 1
                self._out[r] = 0
                self._held[r] = _subset(points, inside)
                if self._in[r] >= self.trigger:
                    self.active[r] = True
            else:
                self._out[r] += 1
                self._in[r] = 0
                if self.active[r] and self._out[r] >= self.release:
                    self.active[r] = False
            out[r] = self._held[r] if self.active[r] else ScanPoints.empty()
        contact = edge <= 0.0
        if np.any(contact):  # never debounced
            sp = out["stop"]
            extra = _subset(points, contact)
            out["stop"] = ScanPoints(
                np.concatenate([sp.x, extra.x]),
                np.concatenate([sp.y, extra.y]),
                np.concatenate([sp.r, extra.r]),
            )
        self.points = out
        return out


# ---------------------------------------------------------------------------------------------
# Geofence


def polygon_from_flat(flat: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """[x1, y1, x2, y2, ...] → ((x1, y1), (x2, y2), ...)."""
    return tuple((float(flat[i]), float(flat[i + 1])) for i in range(0, len(flat), 2))


def polygon_area(poly: Sequence[tuple[float, float]]) -> float:
    """Signed area (shoelace); 0 for a degenerate polygon."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        s += x1 * y2 - x2 * y1
    return 0.5 * s


def signed_distance(poly: Sequence[tuple[float, float]], x: float, y: float) -> float:
    """Distance from (x, y) to the polygon's boundary: positive inside, negative outside."""
    inside = False
    best = math.inf
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
        dx, dy = x2 - x1, y2 - y1
        seg = dx * dx + dy * dy
        u = 0.0 if seg == 0.0 else min(1.0, max(0.0, ((x - x1) * dx + (y - y1) * dy) / seg))
        best = min(best, math.hypot(x - (x1 + u * dx), y - (y1 + u * dy)))
    return best if inside else -best


@dataclass(frozen=True)
class Pose2D:
    """The base's pose in the odom frame."""

    x: float
    y: float
    yaw: float


def apply_geofence(
    v: Velocity,
    pose: Pose2D,
    poly: Sequence[tuple[float, float]],
    radius: float,
    decel: float,
    period: float,
) -> tuple[Velocity, str]:
    """Zero the linear velocity when the robot would end up outside the fence.

    The robot's edge must stay inside: its centre keeps `radius` from the boundary. The check
    looks ahead by one output period plus the braking distance at `decel`, and blocks a
    command only if that point is too close to (or beyond) the edge *and* closer than where the
    robot is now, so a robot at or past the edge can always drive back in and turn.
    """
    speed = v.speed
    if speed == 0.0:
        return v, ""
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    dx, dy = c * v.vx - s * v.vy, s * v.vx + c * v.vy
    h = period + speed / (2.0 * decel)
    sd_now = signed_distance(poly, pose.x, pose.y)
    sd_next = signed_distance(poly, pose.x + dx * h, pose.y + dy * h)
    if sd_next < radius and sd_next < sd_now - 1e-9:
        return Velocity(0.0, 0.0, v.wz), (
            f"geofence: would leave the fence ({sd_now - radius:.2f} m from its edge)"
        )
    return v, ""
