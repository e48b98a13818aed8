"""Getting somewhere: a global route through doorways, a local planner over the scan, recovery.

Navigation is split the classic way. The *global route* is a shortest path (Dijkstra, by
distance) through a small graph whose nodes are the doorways of `config/places.yaml`: the apartment
is a handful of convex-ish rooms, so "which doors, in which order" is all the map there is. Each
doorway is crossed perpendicular to its wall, through a point on either side of it. The *local
planner* is a vector-field-histogram style controller: for each candidate heading it computes how
far the robot's disc (radius + clearance) can travel before touching a scan point, then picks the
free heading closest to the waypoint. It needs no map, so furniture, people and things left on
the floor are handled the same way. *Stuck detection* watches progress towards the goal rather
than speed, because turning in place or sliding along a wall is motion without progress; recovery
steps away from the nearest obstacle (back or forth), rotates towards the more open side and
retries, and after a few tries the skill fails with the place it got stuck at.

Everything takes `now` and returns plain values; nothing here reads a clock or publishes.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from synth_agent.core.motor import (
    RUNNING,
    Command,
    MotorControlConfig,
    Observation,
    SkillState,
    clamp,
    wrap,
)
from synth_agent.core.places import Doorway, Places

Point = tuple[float, float]


def _door_normal(door: Doorway, places: Places) -> Point:
    """Unit normal of the wall a doorway sits in: the wall is the shared edge of its two rooms."""
    for name in door.connects:
        room = places.rooms.get(name)
        if room is None:
            continue
        if min(abs(door.y - room.y_min), abs(door.y - room.y_max)) < 1e-6:
            return (0.0, 1.0)
        if min(abs(door.x - room.x_min), abs(door.x - room.x_max)) < 1e-6:
            return (1.0, 0.0)
    return (0.0, 1.0)


def _door_sides(door: Doorway, places: Places, offset: float) -> dict[str, Point]:
    """The two points `offset` either side of a doorway, keyed by the room each lies in."""
    nx, ny = _door_normal(door, places)
    a = (door.x + nx * offset, door.y + ny * offset)
    b = (door.x - nx * offset, door.y - ny * offset)
    sides: dict[str, Point] = {}
    for p in (a, b):
        room = places.room_at(*p)
        if room in door.connects and room not in sides:
            sides[room] = p
    if len(sides) < 2:  # rooms too thin to tell; fall back to the order given
        sides = {door.connects[0]: a, door.connects[1]: b}
    return sides


def plan_route(places: Places, start: Point, goal: Point, door_offset: float) -> list[Point]:
    """Waypoints from start to goal (goal included, start not): Dijkstra over doorways, each
    crossed through a point on either side. Straight to the goal when both are in one room or
    either lies outside every room. Raises ValueError when the rooms are not connected."""
    start_room, goal_room = places.room_at(*start), places.room_at(*goal)
    if start_room is None or goal_room is None or start_room == goal_room:
        return [goal]
    # Graph nodes: ("start",), ("goal",), (door, room) = the point of a door on a room's side.
    sides = {d.name: _door_sides(d, places, door_offset) for d in places.doorways.values()}
    points: dict[tuple[str, ...], Point] = {("start",): start, ("goal",): goal}
    in_room: dict[str, list[tuple[str, ...]]] = {}
    for door, by_room in sides.items():
        for room, p in by_room.items():
            points[(door, room)] = p
            in_room.setdefault(room, []).append((door, room))
    in_room.setdefault(start_room, []).append(("start",))
    in_room.setdefault(goal_room, []).append(("goal",))

    def neighbours(node: tuple[str, ...]) -> list[tuple[tuple[str, ...], float]]:
        out = []
        rooms = [start_room] if node == ("start",) else [goal_room] if node == ("goal",) else []
        if len(node) == 2:
            door, room = node
            rooms = [room]
            other = [r for r in sides[door] if r != room]
            for r in other:
                q = (door, r)
                out.append((q, math.dist(points[node], points[q])))
        for room in rooms:
            for q in in_room.get(room, []):
                if q != node:
                    out.append((q, math.dist(points[node], points[q])))
        return out

    dist = {("start",): 0.0}
    prev: dict[tuple[str, ...], tuple[str, ...]] = {}
    heap: list[tuple[float, tuple[str, ...]]] = [(0.0, ("start",))]
    while heap:
        d, node = heapq.heappop(heap)
        if node == ("goal",):
            break
        if d > dist.get(node, math.inf):
            continue
        for q, cost in neighbours(node):
            nd = d + cost
            if nd < dist.get(q, math.inf):
                dist[q], prev[q] = nd, node
                heapq.heappush(heap, (nd, q))
    if ("goal",) not in dist:
        raise ValueError(f"no doorway route from the {start_room} to the {goal_room}")
    path: list[Point] = []
    node = ("goal",)
    while node != ("start",):
        path.append(points[node])
        if len(node) == 2 and len(prev[node]) == 2 and prev[node][0] == node[0]:
            door = places.doorways[node[0]]
            path.append((door.x, door.y))  # the door centre between its two side points
        node = prev[node]
    return path[::-1]


def route_length(start: Point, route: list[Point]) -> float:
    total, here = 0.0, start
    for p in route:
        total += math.dist(here, p)
        here = p
    return total


def scan_points(obs: Observation, max_range: float, lidar_x: float = 0.0) -> np.ndarray:
    """Valid scan returns as an (N, 2) array of points in the robot frame; the lidar sits
    `lidar_x` ahead of the base origin (negative: behind it), facing forward."""
    r = np.asarray(obs.ranges, dtype=float)
    a = np.asarray(obs.angles, dtype=float)
    ok = np.isfinite(r) & (r > 0.01) & (r < max_range)
    return np.stack([lidar_x + r[ok] * np.cos(a[ok]), r[ok] * np.sin(a[ok])], axis=1)


def free_distances(points: np.ndarray, headings: np.ndarray, radius: float) -> np.ndarray:
    """For each heading (robot frame), how far a disc of `radius` can move straight before it
    touches a point (inf when nothing is in the way; 0 when it is already touching a point that
    the move would bring closer).

    A point already inside the disc (the robot coasted in, or the scan is noisy) blocks only the
    headings that close in on it (a positive component along the heading); moving away from it
    is free, or a robot that once got within `radius` of something would see every heading
    blocked and could only turn in place. Points behind the disc block nothing."""
    if len(points) == 0:
        return np.full(len(headings), np.inf)
    ux, uy = np.cos(headings)[:, None], np.sin(headings)[:, None]
    along = ux * points[:, 0] + uy * points[:, 1]
    lateral = np.abs(ux * points[:, 1] - uy * points[:, 0])
    # Only points ahead (along > 0) get closer as the disc moves; one outside the disc is
    # touched after `reach`, one already inside blocks at once.
    hit = (lateral < radius) & (along > 0.0)
    reach = along - np.sqrt(np.maximum(radius**2 - lateral**2, 0.0))
    reach = np.where(hit, np.maximum(reach, 0.0), np.inf)
    return reach.min(axis=1)


@dataclass(frozen=True)
class Steer:
    """The local planner's choice: a heading in the robot frame and the free run along it."""

    heading: float
    free_m: float
    blocked: bool


def choose_heading(
    points: np.ndarray,
    goal_bearing: float,
    goal_dist: float,
    cfg: MotorControlConfig,
    previous: float | None = None,
) -> Steer:
    """VFH-style selection: among headings whose free run reaches the goal (or the lookahead),
    the one closest to the goal bearing, with a small preference for not turning and (VFH+) for
    the heading chosen last time, `previous` (robot frame): with the goal straight behind an
    obstacle, going round it on the left and on the right cost about the same, and without
    that preference the choice flips with every small turn, so the robot never turns at all."""
    n = cfg.planner_sectors
    headings = np.linspace(-math.pi, math.pi, n, endpoint=False)
    headings = np.append(headings, goal_bearing)
    free = free_distances(points, headings, cfg.robot_radius_m + cfg.clearance_m)
    need = min(goal_dist, cfg.lookahead_m)
    ok = free >= need - 1e-6
    if ok[-1]:
        return Steer(goal_bearing, float(free[-1]), False)
    if not ok.any():
        best = int(np.argmax(free))
        return Steer(float(headings[best]), float(free[best]), True)
    off_goal = np.abs((headings - goal_bearing + math.pi) % (2 * math.pi) - math.pi)
    cost = off_goal + 0.2 * np.abs(headings)
    if previous is not None:
        cost = cost + 0.2 * np.abs((headings - previous + math.pi) % (2 * math.pi) - math.pi)
    cost = np.where(ok, cost, np.inf)
    best = int(np.argmin(cost))
    return Steer(float(headings[best]), float(free[best]), False)


# Below this speed the robot may start a sharp turn while it finishes stopping: it then rolls
# at most TURN_ROLLING_MPS**2 / (2 * linear_accel_mps2), 1 cm at the default deceleration.
TURN_ROLLING_MPS = 0.1

# Yielding to people who walk into the path. Static obstacles (a person standing included) are
# the scan's business; a walker is not, because the scan only says where someone *is*: the
# planner squeezes past legs that then step into the robot. So people moving faster than
# WALKER_MPS (from the scene's person tracks) are predicted ahead at constant velocity and the
# robot's speed is chosen so that nobody comes within YIELD_KEEP_M (centre to centre) over the
# next YIELD_HORIZON_S: go on as planned, else stop (turning allowed), else back away.
WALKER_MPS = 0.1
YIELD_KEEP_M = 0.75
YIELD_HORIZON_S = 3.0
YIELD_BACK_MPS = 0.15
YIELD_MAX_WAIT_S = 20.0  # then the progress watch takes over again (someone pacing for ever)
PERSON_FRESH_S = 1.0  # person tracks older than this are not predicted


class PeopleWatch:
    """Velocities of the scene's person tracks (low-passed, from successive sightings) and the
    closest approach of each to the robot for a given speed along its heading."""

    def __init__(self) -> None:
        self._tracks: dict[str, tuple[float, float, float, float, float]] = {}  # t, x, y, vx, vy

    def walkers(self, obs: Observation, now: float) -> list[tuple[float, float, float, float]]:
        """(x, y, vx, vy) of the people seen lately who are walking."""
        out = []
        if obs.scene is None:
            return out
        for o in obs.scene.objects:
            if o.label != "person" or now - o.last_seen > PERSON_FRESH_S:
                continue
            x, y, t = o.position.x, o.position.y, o.last_seen
            old = self._tracks.get(o.id)
            vx = vy = 0.0
            if old is not None:
                t0, x0, y0, vx, vy = old
                if t - t0 > 1e-3:
                    k = 0.4
                    vx = (1 - k) * vx + k * (x - x0) / (t - t0)
                    vy = (1 - k) * vy + k * (y - y0) / (t - t0)
                else:
                    x, y, t = x0, y0, t0
            self._tracks[o.id] = (t, x, y, vx, vy)
            if math.hypot(vx, vy) > WALKER_MPS:
                # Where the person is now, from where they were last seen.
                dt = max(now - t, 0.0)
                out.append((x + vx * dt, y + vy * dt, vx, vy))
        return out


def closest_approach(
    robot: tuple[float, float, float], v: float, people: list[tuple[float, float, float, float]]
) -> float:
    """Smallest centre-to-centre distance to any of `people` (x, y, vx, vy) over the yield
    horizon, the robot driving at `v` along its heading and the people keeping their velocity."""
    if not people:
        return math.inf
    t = np.linspace(0.0, YIELD_HORIZON_S, 13)
    rx, ry, yaw = robot
    px = rx + v * math.cos(yaw) * t
    py = ry + v * math.sin(yaw) * t
    best = math.inf
    for x, y, vx, vy in people:
        best = min(best, float(np.hypot(x + vx * t - px, y + vy * t - py).min()))
    return best


# A goal moved further than this (set_goal) is steered to afresh; less keeps the hysteresis.
STEER_RESET_M = 0.3


class GoalSeeker:
    """Drives through waypoints with the local planner, watching for lack of progress and
    recovering (step away, rotate, retry) before failing. The last waypoint is reached within
    `goal_tolerance_m`, then the robot turns to `final_yaw` (when given) within the angle
    tolerance."""

    def __init__(
        self,
        cfg: MotorControlConfig,
        waypoints: list[Point],
        final_yaw: float | None = None,
        goal_name: str = "the goal",
    ) -> None:
        self.cfg = cfg
        self.waypoints = list(waypoints)
        self.final_yaw = final_yaw
        self.goal_name = goal_name
        self.index = 0
        self.recoveries = 0
        self.ignore: tuple[float, float, float] | None = None  # (x, y, r) in odom, e.g. a target
        self._best = math.inf
        self._best_t: float | None = None
        self._recovery: list[tuple[str, float]] = []  # phases left: ("away", +-m) ("rot", rad)
        self._phase_start: tuple[float, float, float] | None = None
        self._last_t: float | None = None
        self._v = 0.0
        self._w = 0.0
        self._steer_yaw: float | None = None  # the heading the planner chose last, odom frame
        self._last_xy: Point | None = None  # where the robot was at the last step
        self.people = PeopleWatch()
        self._yield_since: float | None = None

    def set_goal(self, goal: Point, final_yaw: float | None) -> None:
        """Move the last waypoint (a tracked object moved, or the side to approach it from).

        The progress watch's best moves by as much as the move changed the route from where
        the robot last was, up or down: a goal that moved away is not a robot that is stuck,
        and a goal that jitters (towards and away, or sideways at the same distance) buys a
        robot that makes no progress no time. The steering memory is dropped when the goal
        moved far enough for its side choice to be stale."""
        old = self.waypoints[-1]
        before = None if self._last_xy is None else self._route_from(self._last_xy)
        self.waypoints[-1] = goal
        self.final_yaw = final_yaw
        if math.dist(old, goal) > STEER_RESET_M:
            self._steer_yaw = None
        if before is not None and self._best_t is not None:
            self._best += self._route_from(self._last_xy) - before

    def _route_from(self, xy: Point) -> float:
        return route_length(xy, self.waypoints[self.index :])

    def _remaining(self, obs: Observation) -> float:
        return self._route_from((obs.x, obs.y))

    def _ramp(self, v: float, w: float, dt: float) -> Command:
        c = self.cfg
        self._v = clamp(v, self._v - c.linear_accel_mps2 * dt, self._v + c.linear_accel_mps2 * dt)
        self._w = clamp(
            w, self._w - c.angular_accel_radps2 * dt, self._w + c.angular_accel_radps2 * dt
        )
        return Command(self._v, self._w)

    def step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        dt = c.period_s if self._last_t is None else clamp(now - self._last_t, 0.0, 0.2)
        self._last_t = now
        self._last_xy = (obs.x, obs.y)
        if self._recovery:
            return self._recover(obs, now, dt)
        # Advance past reached intermediate waypoints.
        while self.index < len(self.waypoints) - 1:
            wx, wy = self.waypoints[self.index]
            if math.hypot(wx - obs.x, wy - obs.y) > c.waypoint_tolerance_m:
                break
            self.index += 1
        gx, gy = self.waypoints[self.index]
        dx, dy = gx - obs.x, gy - obs.y
        dist = math.hypot(dx, dy)
        last = self.index == len(self.waypoints) - 1
        if last and dist <= c.goal_tolerance_m:
            self._best_t = None
            if self.final_yaw is None:
                self._v = self._w = 0.0
                return Command(), SkillState("succeeded", f"reached {self.goal_name}")
            err = wrap(self.final_yaw - obs.yaw)
            if abs(err) <= c.angle_tolerance_rad / 2:
                self._v = self._w = 0.0
                return Command(), SkillState("succeeded", f"reached {self.goal_name}")
            w = math.copysign(
                clamp(
                    math.sqrt(2 * c.angular_accel_radps2 * 0.5 * abs(err)),
                    c.min_angular_radps,
                    c.max_angular_radps,
                ),
                err,
            )
            return self._ramp(0.0, w, dt), RUNNING
        # Progress watch: the remaining route length must shrink.
        remaining = self._remaining(obs)
        if self._best_t is None or remaining < self._best - c.stuck_min_progress_m:
            self._best, self._best_t = remaining, now
        elif now - self._best_t > c.stuck_timeout_s:
            return self._start_recovery(obs, now, dt)
        points = scan_points(obs, c.scan_max_range_m, c.lidar_x_m)
        if self.ignore is not None and len(points):
            ix, iy, ir = self.ignore
            cy, sy = math.cos(obs.yaw), math.sin(obs.yaw)
            lx = cy * (ix - obs.x) + sy * (iy - obs.y)
            ly = -sy * (ix - obs.x) + cy * (iy - obs.y)
            points = points[np.hypot(points[:, 0] - lx, points[:, 1] - ly) > ir]
        bearing = wrap(math.atan2(dy, dx) - obs.yaw)
        previous = None if self._steer_yaw is None else wrap(self._steer_yaw - obs.yaw)
        steer = choose_heading(points, bearing, dist, c, previous)
        self._steer_yaw = wrap(obs.yaw + steer.heading)
        if steer.blocked and steer.free_m < 0.05:
            # Nowhere to go: turn towards the most open heading and let the progress watch decide.
            w = math.copysign(c.max_angular_radps * 0.5, steer.heading)
            return self._ramp(0.0, w, dt), RUNNING
        err = steer.heading
        w = clamp(c.heading_gain * err, -c.max_angular_radps, c.max_angular_radps)
        # The robot moves along the heading it has, not the one it turns to: the speed must also
        # let it stop within the free run straight ahead, or the coast while it slows down to
        # turn (or an arc with a large heading error) carries it inside the clearance.
        ahead = free_distances(points, np.zeros(1), c.robot_radius_m + c.clearance_m)[0]
        if abs(err) > math.radians(60):
            # A sharp turn: stop first. Braking goes straight ahead, where the speed limit of the
            # branch below (`ahead`) keeps the stop clear; turning while still rolling would
            # swing the disc on an arc nobody checked, towards the obstacle that made the
            # turn necessary.
            v = 0.0
            if self._v > TURN_ROLLING_MPS:
                w = 0.0
        else:
            stop_room = max(min(steer.free_m, ahead) - 0.02, 0.0)
            v_goal = math.sqrt(2 * c.linear_accel_mps2 * 0.6 * dist) if last else c.max_linear_mps
            v_free = math.sqrt(2 * c.linear_accel_mps2 * 0.6 * stop_room)
            v = min(c.max_linear_mps, v_goal, v_free) * math.cos(err)
            if last:
                v = max(v, c.min_linear_mps * math.cos(err))
        v = self._yield(obs, now, v, points)
        return self._ramp(v, w, dt), RUNNING

    def _yield(self, obs: Observation, now: float, v: float, points: np.ndarray) -> float:
        """The planned speed, or a stop or a step back when a walker would come too close."""
        walkers = self.people.walkers(obs, now)
        robot = (obs.x, obs.y, obs.yaw)
        if closest_approach(robot, v, walkers) >= YIELD_KEEP_M:
            self._yield_since = None
            return v
        if self._yield_since is None:
            self._yield_since = now
        if now - self._yield_since <= YIELD_MAX_WAIT_S:
            self._best_t = now  # waiting for someone to pass is not being stuck
        options = [0.0]
        rear = free_distances(points, np.array([math.pi]), self.cfg.robot_radius_m + 0.05)[0]
        if rear > 0.3:
            options.append(-YIELD_BACK_MPS)
        gaps = [closest_approach(robot, u, walkers) for u in options]
        for u, gap in zip(options, gaps, strict=True):
            if gap >= YIELD_KEEP_M:
                return u
        return options[int(np.argmax(gaps))]

    def _start_recovery(
        self, obs: Observation, now: float, dt: float
    ) -> tuple[Command, SkillState]:
        c = self.cfg
        if self.recoveries >= c.max_recoveries:
            self._v = self._w = 0.0
            return Command(), SkillState(
                "failed",
                f"stuck at ({obs.x:.2f}, {obs.y:.2f}) on the way to {self.goal_name}: "
                f"no progress after {self.recoveries} recoveries",
                say=f"I'm stuck and can't get to {self.goal_name}.",
            )
        self.recoveries += 1
        points = scan_points(obs, c.scan_max_range_m, c.lidar_x_m)
        # Step away from the nearest point: backwards when it is ahead, forwards when it is
        # behind (after turning in place, the thing the robot got stuck on is often behind it,
        # and backing into it gains nothing).
        forward = len(points) > 0 and points[np.argmin(np.hypot(points[:, 0], points[:, 1])), 0] < 0
        room = free_distances(
            points, np.array([0.0 if forward else math.pi]), c.robot_radius_m + 0.02
        )[0]
        away = min(c.recovery_backoff_m, max(room - 0.05, 0.0))
        away = away if forward else -away
        sides = free_distances(
            points, np.array([math.pi / 2, -math.pi / 2]), c.robot_radius_m + c.clearance_m
        )
        turn = math.radians(c.recovery_rotate_deg)
        turn = turn if sides[0] >= sides[1] else -turn
        if self.recoveries % 2 == 0:
            turn = -turn  # alternate, so two tries do not undo each other
        self._recovery = [("away", away), ("rot", turn)]
        self._phase_start = None
        self._v = self._w = 0.0
        step = f"move forward {away:.2f} m" if forward else f"back off {-away:.2f} m"
        return Command(), SkillState(
            "running",
            f"recovery {self.recoveries}/{c.max_recoveries}: {step}, "
            f"rotate {math.degrees(turn):.0f} deg",
        )

    def _recover(self, obs: Observation, now: float, dt: float) -> tuple[Command, SkillState]:
        c = self.cfg
        kind, amount = self._recovery[0]
        if self._phase_start is None:
            self._phase_start = (obs.x, obs.y, obs.yaw)
            self._phase_yaw = 0.0
            self._phase_t = now
        x0, y0, yaw0 = self._phase_start
        done = now - self._phase_t > 4.0 + abs(amount) / 0.1
        if kind == "away":
            moved = math.hypot(obs.x - x0, obs.y - y0)
            done = done or moved >= abs(amount)
            cmd = Command(math.copysign(0.1, amount), 0.0)
        else:
            self._phase_yaw += wrap(obs.yaw - yaw0)
            self._phase_start = (x0, y0, obs.yaw)
            done = done or abs(self._phase_yaw) >= abs(amount)
            cmd = Command(0.0, math.copysign(c.max_angular_radps * 0.5, amount))
        if done:
            self._recovery.pop(0)
            self._phase_start = None
            if not self._recovery:
                self._best, self._best_t = math.inf, None  # retry with a fresh progress watch
                self._steer_yaw = None  # and a fresh choice of side
            self._v = self._w = 0.0
            return Command(), RUNNING
        return cmd, RUNNING
