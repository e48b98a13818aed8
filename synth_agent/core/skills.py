"""Closed-loop skill controllers: one small class per skill of the plan schema.

Each controller is built from one validated plan step and stepped once per control period with
`step(obs, now) -> (Command, SkillState)`; it keeps its own state (start pose, phase) and starts
on its first step, so building one has no side effects. `budget_s(obs)` is the step's timeout,
derived from its size (metres, degrees, seconds) when it starts. Controllers never stop
themselves by timer: the plan executor owns timeouts and preemption, so they read the same for
every skill.

Motion profiles are the textbook ones: a trapezoid limited by `sqrt(2 a d)` near the target, so
the robot brakes smoothly and arrives at creep speed, which is what lets a 20 Hz loop stop within
2 cm / 2 degrees without overshoot. The distance left is counted from where the robot will be
once the commands of the last `response_delay_s` have acted (the loop through the safety gate and
the motors lags; without this a turn overshoots by about 2 degrees in the simulator), and the
stop comes on the control period nearest that predicted end. `drive` holds the heading it
started with; `turn` integrates wrapped yaw increments so 270 degrees means 270, not -90.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Literal, Protocol

import numpy as np

from synth_agent.core.local_planner import (
    GoalSeeker,
    Point,
    plan_route,
    route_length,
    scan_points,
)
from synth_agent.core.motor import (
    RUNNING,
    Command,
    MotorControlConfig,
    Observation,
    SkillState,
    clamp,
    wrap,
)
from synth_agent.core.places import Places
from synth_agent.core.schemas import SceneObject, Step


class Skill:
    """Base class: subclasses implement `_step` and may override `budget_s`."""

    name = "skill"

    def __init__(self, cfg: MotorControlConfig) -> None:
        self.cfg = cfg
        self._last_t: float | None = None
        self._v = 0.0
        self._w = 0.0
        self._dt = cfg.period_s
        self._history: list[tuple[float, float]] = []  # (metres, radians) of recent commands

    def budget_s(self, obs: Observation) -> float | None:
        """Timeout for this step in seconds (None: until cancelled)."""
        return self.cfg.step_timeout_base_s

    def _budget(self, nominal_s: float) -> float:
        return self.cfg.step_timeout_base_s + self.cfg.step_timeout_factor * nominal_s

    def step(self, obs: Observation, now: float) -> tuple[Command | None, SkillState]:
        """One control period. The command is None while something else drives (Nav2): the
        node then stays quiet on agent/cmd_vel instead of fighting it with zeros."""
        self._dt = (
            self.cfg.period_s if self._last_t is None else clamp(now - self._last_t, 0.0, 0.2)
        )
        self._last_t = now
        return self._step(obs, now)

    def _step(self, obs: Observation, now: float) -> tuple[Command | None, SkillState]:
        raise NotImplementedError

    def abort(self) -> None:
        """The step is being ended from outside (preempted, canceled, timed out): release
        anything that acts on its own, such as a Nav2 goal. Nothing to do for most skills."""

    def _ramp(self, v: float, w: float, gripper: float | None = None) -> Command:
        """Rate-limit the request so the profile stays smooth even when the target jumps."""
        c, dt = self.cfg, self._dt
        self._v = clamp(v, self._v - c.linear_accel_mps2 * dt, self._v + c.linear_accel_mps2 * dt)
        self._w = clamp(
            w, self._w - c.angular_accel_radps2 * dt, self._w + c.angular_accel_radps2 * dt
        )
        return self._sent(Command(self._v, self._w, gripper))

    def _halt(self, gripper: float | None = None) -> Command:
        self._v = self._w = 0.0
        return self._sent(Command(0.0, 0.0, gripper))

    def _sent(self, cmd: Command) -> Command:
        self._history.append((cmd.linear * self._dt, cmd.angular * self._dt))
        del self._history[: -max(1, round(self.cfg.response_delay_s / self.cfg.period_s))]
        return cmd

    def in_flight(self) -> tuple[float, float]:
        """(metres, radians) the robot has been told to move and has not moved yet: the commands
        of the last `response_delay_s`, which the gate and the motors are still acting on."""
        if self.cfg.response_delay_s <= 0.0:
            return 0.0, 0.0
        return sum(d for d, _ in self._history), sum(a for _, a in self._history)


# drive and turn stop inside this fraction of the tolerance around the predicted end: a quarter
# leaves room for the delay being misjudged, and at creep speed one control period moves less than
# the window (20 Hz: 1.5 mm at 0.03 m/s, 0.43 deg at 0.15 rad/s), so the window is never jumped.
SETTLE = 0.25


def settled(remaining: float, speed: float, window: float, period: float) -> bool:
    """Stop now? Inside the window, on the control period nearest the predicted end (stopping at
    the window's edge would leave every move short by half the window), or at once when not
    heading for the end any more."""
    if abs(remaining) > window:
        return False
    if speed * remaining <= 0.0:
        return True
    return abs(remaining) <= abs(speed) * period / 2


def profile_speed(remaining: float, accel: float, v_max: float, v_min: float) -> float:
    """Trapezoid braking speed towards a target `remaining` away (signed), never below creep."""
    speed = clamp(math.sqrt(2.0 * accel * abs(remaining)), v_min, v_max)
    return math.copysign(speed, remaining)


class Drive(Skill):
    """Drive `distance_m` along the starting heading (negative: backwards), holding the heading."""

    name = "drive"

    def __init__(self, cfg: MotorControlConfig, distance_m: float) -> None:
        super().__init__(cfg)
        self.distance_m = distance_m
        self._start: tuple[float, float, float] | None = None

    def budget_s(self, obs: Observation) -> float:
        return self._budget(abs(self.distance_m) / self.cfg.max_linear_mps + 1.0)

    def progress(self, obs: Observation) -> float:
        """Signed distance travelled along the starting heading."""
        if self._start is None:
            return 0.0
        x0, y0, yaw0 = self._start
        return (obs.x - x0) * math.cos(yaw0) + (obs.y - y0) * math.sin(yaw0)

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if self._start is None:
            self._start = (obs.x, obs.y, obs.yaw)
        # Where the robot will be once the motion already commanded has happened.
        remaining = self.distance_m - self.progress(obs) - self.in_flight()[0]
        if settled(remaining, self._v, c.position_tolerance_m * SETTLE, self._dt):
            return self._halt(), SkillState("succeeded", f"drove {self.progress(obs):.3f} m")
        # Brake on a slightly lower deceleration than we accelerate with: margin for lag.
        v = profile_speed(remaining, 0.8 * c.linear_accel_mps2, c.max_linear_mps, c.min_linear_mps)
        heading_err = wrap(self._start[2] - obs.yaw)
        w = clamp(c.heading_gain * heading_err, -c.max_angular_radps, c.max_angular_radps)
        return self._ramp(v, w), RUNNING


class Turn(Skill):
    """Turn in place by `angle_deg` (positive: left), counting whole turns."""

    name = "turn"

    def __init__(self, cfg: MotorControlConfig, angle_deg: float) -> None:
        super().__init__(cfg)
        self.angle = math.radians(angle_deg)
        self.turned = 0.0
        self._yaw: float | None = None

    def budget_s(self, obs: Observation) -> float:
        return self._budget(abs(self.angle) / self.cfg.max_angular_radps + 1.0)

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if self._yaw is not None:
            self.turned += wrap(obs.yaw - self._yaw)
        self._yaw = obs.yaw
        remaining = self.angle - self.turned - self.in_flight()[1]
        if settled(remaining, self._w, c.angle_tolerance_rad * SETTLE, self._dt):
            return self._halt(), SkillState(
                "succeeded", f"turned {math.degrees(self.turned):.1f} deg"
            )
        w = profile_speed(
            remaining, 0.8 * c.angular_accel_radps2, c.max_angular_radps, c.min_angular_radps
        )
        return self._ramp(0.0, w), RUNNING


class Wait(Skill):
    name = "wait"

    def __init__(self, cfg: MotorControlConfig, seconds: float) -> None:
        super().__init__(cfg)
        self.seconds = seconds
        self._t0: float | None = None

    def budget_s(self, obs: Observation) -> float:
        return self.seconds + self.cfg.step_timeout_base_s

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        if self._t0 is None:
            self._t0 = now
        if now - self._t0 >= self.seconds:
            return self._halt(), SkillState("succeeded", f"waited {self.seconds:g} s")
        return self._halt(), RUNNING


class StopSkill(Skill):
    """Command zero until the robot is still (odometry), then succeed."""

    name = "stop"

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        if abs(obs.v) < 0.02 and abs(obs.w) < 0.05:
            return self._halt(), SkillState("succeeded", "stopped")
        return self._halt(), RUNNING


class Say(Skill):
    name = "say"

    def __init__(self, cfg: MotorControlConfig, text: str) -> None:
        super().__init__(cfg)
        self.text = text

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        return self._halt(), SkillState("succeeded", "said", say=self.text)


def object_words(obj: SceneObject) -> set[str]:
    words = set(obj.label.lower().replace("_", " ").split())
    if obj.colour:
        words.add(obj.colour.lower())
    return words


_FILLER = {"the", "a", "an", "my", "some", "that", "this"}


def match_object(query: str, obs: Observation, now: float, stale_s: float) -> SceneObject | None:
    """The most confident, recently seen scene object whose label and colour cover every word
    of `query` ("red cup" matches a red cup; "cup" matches any cup)."""
    if obs.scene is None:
        return None
    want = {w for w in re.findall(r"[a-z]+", query.lower()) if w not in _FILLER}
    want = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in want}
    best: SceneObject | None = None
    for obj in obs.scene.objects:
        if now - obj.last_seen > stale_s and not obj.visible:
            continue
        if want and want <= object_words(obj):
            if best is None or obj.confidence > best.confidence:
                best = obj
    return best


def describe_scene(obs: Observation) -> str:
    """One sentence naming what the scene holds, nearest first."""
    if obs.scene is None or not obs.scene.objects:
        return "I don't see anything I recognise."
    objs = sorted(obs.scene.objects, key=lambda o: o.distance)
    names = [
        f"a {o.colour + ' ' if o.colour else ''}{o.label} {o.distance:.1f} m away" for o in objs
    ]
    if len(names) == 1:
        return f"I see {names[0]}."
    return f"I see {', '.join(names[:-1])} and {names[-1]}."


class Describe(Skill):
    name = "describe"

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        text = describe_scene(obs)
        return self._halt(), SkillState("succeeded", text, say=text)


def _human(name: str) -> str:
    return "you" if name == "operator" else "the " + name.replace("_", " ")


class NavigateTo(Skill):
    """Reach a named place: a doorway route, then the local planner with stuck recovery."""

    name = "navigate_to"

    def __init__(self, cfg: MotorControlConfig, places: Places, place: str) -> None:
        super().__init__(cfg)
        self.places = places
        self.place_name = place
        self.target = places.get(place)  # KeyError for an unknown place: caught by the executor
        self.route: list[Point] | None = None
        self.seeker: GoalSeeker | None = None

    def _plan(self, obs: Observation) -> list[Point]:
        if self.route is None:
            self.route = plan_route(
                self.places,
                (obs.x, obs.y),
                (self.target.x, self.target.y),
                self.cfg.doorway_approach_m,
            )
        return self.route

    def budget_s(self, obs: Observation) -> float:
        try:
            length = route_length((obs.x, obs.y), self._plan(obs))
        except ValueError:
            length = 0.0
        return self._budget(length / self.cfg.max_linear_mps + 2 * math.pi)

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        if self.seeker is None:
            try:
                route = self._plan(obs)
            except ValueError as e:
                return self._halt(), SkillState("failed", str(e))
            self.seeker = GoalSeeker(self.cfg, route, self.target.yaw, _human(self.place_name))
        return self.seeker.step(obs, now)


NavState = Literal["idle", "active", "succeeded", "failed"]


class Navigator(Protocol):
    """Something else that drives to a pose (the node wraps Nav2's NavigateToPose action).
    `go` replaces any goal in progress; `state` is (state, detail), detail saying why a goal
    failed; `cancel` drops the goal in progress."""

    def go(self, x: float, y: float, yaw: float) -> None: ...

    def state(self) -> tuple[NavState, str]: ...

    def cancel(self) -> None: ...


class DelegatedNavigateTo(NavigateTo):
    """navigate_to through a `Navigator` (Nav2): send the place's pose once, stay quiet while it
    drives, and end with its verdict. Same name, place checks and budget as the built-in one, so
    plans, timeouts and `find`/`place` read the same either way."""

    def __init__(
        self, cfg: MotorControlConfig, places: Places, place: str, navigator: Navigator
    ) -> None:
        super().__init__(cfg, places, place)
        self.navigator = navigator
        self._goal_sent = False

    def _step(self, obs: Observation, now: float) -> tuple[Command | None, SkillState]:
        if not self._goal_sent:
            self._goal_sent = True
            self.navigator.go(self.target.x, self.target.y, self.target.yaw)
            return None, RUNNING
        state, detail = self.navigator.state()
        where = _human(self.place_name)
        if state == "succeeded":
            return None, SkillState("succeeded", f"reached {where} (Nav2)")
        if state == "failed":
            return None, SkillState(
                "failed",
                f"Nav2 did not reach {where}: {detail or 'no reason given'}",
                say=f"I couldn't get to {where}.",
            )
        return None, RUNNING

    def abort(self) -> None:
        if self._goal_sent:
            self.navigator.cancel()


def navigate(
    cfg: MotorControlConfig, places: Places, place: str, navigator: Navigator | None
) -> NavigateTo:
    """The navigate_to controller: delegated when a navigator is given, else the built-in one."""
    if navigator is not None:
        return DelegatedNavigateTo(cfg, places, place, navigator)
    return NavigateTo(cfg, places, place)


def standoff_goal(obs: Observation, obj: SceneObject, standoff: float) -> tuple[Point, float]:
    """The point `standoff` from the object on the line towards the robot, facing the object."""
    ox, oy = obj.position.x, obj.position.y
    dx, dy = ox - obs.x, oy - obs.y
    d = math.hypot(dx, dy) or 1e-9
    return (ox - dx / d * standoff, oy - dy / d * standoff), math.atan2(dy, dx)


# Stand-off selection (see `Approach`). Lidar returns this close to the object are the object
# itself (something on the floor), not furniture to keep clear of.
OBJECT_RADIUS_M = 0.15
APPROACH_SIDES = 36  # candidate directions around the object, every 10 degrees
STANDOFF_STEP_M = 0.02
STANDOFF_SEARCH_M = 1.0  # beyond this from the object a side counts as blocked
ARRIVAL_M = 0.5  # the straight run in front of a stand-off point that must be clear too
# The gripper reaches 0.51 m from the robot's centre (motor.py, approach_max_standoff_m): an
# approach that ends further than approach_max_standoff_m + this from the object is out of reach.
REACH_SLACK_M = 0.03
CREEP_MAX_M = 0.1  # at most this much straight in after arriving (Approach's last centimetres)
CREEP_TIMEOUT_S = 3.0  # a creep not done by then (held back) is judged where it stands


def _capsule_clear(points: np.ndarray, start: np.ndarray, u: np.ndarray, radius: float) -> bool:
    """No point within `radius` of the segment from `start` ARRIVAL_M along `u`."""
    if len(points) == 0:
        return True
    rel = points - start
    t = np.clip(rel @ u, 0.0, ARRIVAL_M)
    gap = rel - t[:, None] * u[None, :]
    return bool((np.einsum("ij,ij->i", gap, gap) >= radius * radius).all())


def side_standoff(
    points: np.ndarray, obj: Point, angle: float, standoff: float, radius: float
) -> float:
    """How far from the object (at least `standoff`) the robot can stand on the side `angle`
    (odom frame, from the object towards the robot): its disc of `radius` and the straight
    ARRIVAL_M run behind it, which it drives in on, clear of every point. inf: blocked."""
    u = np.array([math.cos(angle), math.sin(angle)])
    o = np.asarray(obj, dtype=float)
    d = standoff
    while d <= STANDOFF_SEARCH_M + 1e-9:
        if _capsule_clear(points, o + d * u, u, radius):
            return d
        d += STANDOFF_STEP_M
    return math.inf


def choose_side(
    points: np.ndarray,
    obj: Point,
    robot: Point,
    standoff: float,
    max_standoff: float,
    radius: float,
) -> tuple[float, float] | None:
    """The side (angle, stand-off) to approach an object from: among the sides whose stand-off
    is within `max_standoff` (the gripper still reaches), the one nearest the robot, a little
    against standing further off than `standoff`; when none is, the closest it can get. None:
    every side is blocked."""
    best: tuple[float, float, float] | None = None  # cost, angle, d
    closest: tuple[float, float] | None = None
    for k in range(APPROACH_SIDES):
        angle = -math.pi + 2 * math.pi * k / APPROACH_SIDES
        d = side_standoff(points, obj, angle, standoff, radius)
        if not math.isfinite(d):
            continue
        if closest is None or d < closest[1] - 1e-9:
            closest = (angle, d)
        if d > max_standoff + 1e-9:
            continue
        goal = (obj[0] + d * math.cos(angle), obj[1] + d * math.sin(angle))
        cost = math.dist(robot, goal) + 2.0 * (d - standoff)
        if best is None or cost < best[0]:
            best = (cost, angle, d)
    return (best[1], best[2]) if best is not None else closest


class Approach(Skill):
    """Drive to a stand-off point facing a tracked object, re-aiming as the track moves.

    The stand-off point is chosen the way a person walks up to a table: on a side from which
    the robot can get close enough. Lidar returns are remembered (odom frame) while approaching,
    so furniture seen once keeps counting after it leaves the scan's view. Each side around the
    object gets the smallest stand-off (from `approach_standoff_m` up) at which the robot's disc,
    `approach_clearance_m` clear, and the straight run it arrives on are free; of the sides
    within `approach_max_standoff_m` the nearest is taken, and it is kept until what the robot
    sees rules it out. The point on the line towards the robot, which the robot used before,
    can lie inside the table an object stands on (the lidar sees the table's sides, never its
    inside). The approach follows the track it first matched (the object `find` found), not
    whichever match is most confident at the moment: a second, false track of the same kind must
    not turn it around."""

    name = "approach"

    def __init__(self, cfg: MotorControlConfig, obj: str, standoff: float | None = None) -> None:
        super().__init__(cfg)
        self.query = obj
        self.standoff = cfg.approach_standoff_m if standoff is None else standoff
        self.seeker: GoalSeeker | None = None
        self.last_seen: SceneObject | None = None
        self.side: tuple[float, float] | None = None  # (angle from the object, stand-off)
        self._memory = np.zeros((0, 2))
        # The last few centimetres, straight ahead (see _step); tried at most once: its start
        # time stays set after it ends.
        self._creep: Drive | None = None
        self._creep_t0: float | None = None

    def budget_s(self, obs: Observation) -> float:
        return self._budget(4.0 / self.cfg.max_linear_mps + 2 * math.pi)

    def _target(self, obs: Observation, now: float) -> SceneObject | None:
        """The tracked object: the first match, then that track (or, if the tracker gave the
        same object a new id, a match within 0.3 m of where it was), else where it was seen."""
        if self.last_seen is None:
            return match_object(self.query, obs, now, self.cfg.object_stale_s)
        if obs.scene is not None:
            for o in obs.scene.objects:
                if o.id == self.last_seen.id:
                    return o
        obj = match_object(self.query, obs, now, self.cfg.object_stale_s)
        if obj is not None and math.dist(_xy(obj), _xy(self.last_seen)) <= 0.3:
            return obj
        return self.last_seen

    def _remember(self, obs: Observation, obj: Point) -> np.ndarray:
        """This scan's returns (odom frame) merged into the remembered ones near the object,
        on a 2 cm grid; the object's own returns left out."""
        c = self.cfg
        reach = STANDOFF_SEARCH_M + ARRIVAL_M + c.robot_radius_m + 0.5
        pts = scan_points(
            obs, min(c.scan_max_range_m, reach + math.dist(obj, (obs.x, obs.y))), c.lidar_x_m
        )
        cy, sy = math.cos(obs.yaw), math.sin(obs.yaw)
        world = np.stack(
            [obs.x + cy * pts[:, 0] - sy * pts[:, 1], obs.y + sy * pts[:, 0] + cy * pts[:, 1]],
            axis=1,
        )
        near = np.hypot(world[:, 0] - obj[0], world[:, 1] - obj[1])
        world = world[(near > OBJECT_RADIUS_M) & (near < reach)]
        merged = np.concatenate([self._memory, np.round(world / 0.02) * 0.02])
        self._memory = np.unique(merged, axis=0) if len(merged) else merged
        return self._memory

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if self._creep is not None:
            return self._creeping(obs, now)
        obj = self._target(obs, now)
        if obj is None:  # close up an object may leave the view; only one never seen fails
            return self._halt(), SkillState(
                "failed",
                f"{self.query} is not in the scene",
                say=f"I can't see the {self.query}.",
            )
        self.last_seen = obj
        o = _xy(obj)
        points = self._remember(obs, o)
        radius = c.robot_radius_m + c.approach_clearance_m
        if self.side is not None:
            d = side_standoff(points, o, self.side[0], self.standoff, radius)
            self.side = (self.side[0], d) if d <= c.approach_max_standoff_m + 1e-9 else None
        if self.side is None:
            self.side = choose_side(
                points, o, (obs.x, obs.y), self.standoff, c.approach_max_standoff_m, radius
            )
        if self.side is None:  # boxed in all round: head straight for it and let the watch decide
            goal, facing = standoff_goal(obs, obj, self.standoff)
            standoff = self.standoff
        else:
            angle, standoff = self.side
            goal = (o[0] + standoff * math.cos(angle), o[1] + standoff * math.sin(angle))
            facing = wrap(angle + math.pi)
        if self.seeker is None:
            self.seeker = GoalSeeker(self.cfg, [goal], facing, f"the {self.query}")
        elif math.dist(goal, self.seeker.waypoints[-1]) > 0.1 or (
            self.seeker.final_yaw is not None and abs(wrap(facing - self.seeker.final_yaw)) > 0.1
        ):
            self.seeker.set_goal(goal, facing)
        # On the run in, the furniture under the object must not block the last stretch (the
        # side was chosen clear of it); anywhere else only the object itself is ignored, so
        # the planner does not cut the table's corners.
        ignore = OBJECT_RADIUS_M
        if self.side is not None:
            bearing = math.atan2(obs.y - o[1], obs.x - o[0])
            near = math.dist((obs.x, obs.y), o) <= standoff + ARRIVAL_M + 0.3
            if near and abs(wrap(bearing - self.side[0])) <= math.radians(30):
                ignore = standoff - 0.05
        else:
            ignore = self.standoff - 0.05
        self.seeker.ignore = (o[0], o[1], ignore)
        cmd, state = self.seeker.step(obs, now)
        gap = math.dist((obs.x, obs.y), o)
        crept = self._creep_t0 is not None
        if state.status == "succeeded" and not crept and 0.01 < gap - standoff <= CREEP_MAX_M:
            # The seeker stops on the near edge of its goal tolerance, coming in from behind: up
            # to goal_tolerance_m short of the stand-off, which out of a furniture-forced 0.48 m
            # is out of the gripper's reach. Facing the object now, cover the rest straight in.
            self._creep, self._creep_t0 = Drive(c, gap - standoff), now
            return self._creeping(obs, now)
        return self._verdict(cmd, state, gap)

    def _creeping(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        """The straight creep in; when it ends (or stalls: the gate may hold it back near the
        furniture), the verdict is taken on where the robot stands."""
        assert self._creep is not None and self._creep_t0 is not None
        cmd, state = self._creep.step(obs, now)
        if not state.done and now - self._creep_t0 < CREEP_TIMEOUT_S:
            return cmd, RUNNING
        self._creep = None
        seen = self._target(obs, now)
        if seen is not None:
            self.last_seen = seen
        obj = seen or self.last_seen
        gap = math.inf if obj is None else math.dist((obs.x, obs.y), _xy(obj))
        return self._verdict(
            self._halt(), SkillState("succeeded", f"reached the {self.query}"), gap
        )

    def _verdict(self, cmd: Command, state: SkillState, gap: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if state.status == "succeeded" and gap > c.approach_max_standoff_m + REACH_SLACK_M:
            # Arrived as close as the way in allows (furniture, the object moved), but not
            # within the gripper's reach: a pick from here would close on nothing.
            reach = c.approach_max_standoff_m + REACH_SLACK_M
            return self._halt(), SkillState(
                "failed",
                f"could not get within reach of the {self.query}: stopped {gap:.2f} m from it "
                f"(reach {reach:.2f} m)",
                say=f"I can't get close enough to the {self.query}.",
            )
        return cmd, state


def _xy(obj: SceneObject) -> Point:
    return (obj.position.x, obj.position.y)


class Find(Skill):
    """Look for an object: already in the scene → done; else turn a full circle, then visit
    the named places nearest first, turning a circle at each, until it is seen."""

    name = "find"

    def __init__(
        self,
        cfg: MotorControlConfig,
        places: Places,
        obj: str,
        navigator: Navigator | None = None,
    ) -> None:
        super().__init__(cfg)
        self.places = places
        self.query = obj
        self.navigator = navigator
        self.sub: Skill | None = None
        self.to_visit: list[str] | None = None
        self.visited: list[str] = []
        self.looked_back = False
        self.look_back: Skill | None = None
        self.facings = 0

    def budget_s(self, obs: Observation) -> float:
        return self.cfg.find_timeout_s

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        obj = match_object(self.query, obs, now, self.cfg.object_stale_s)
        turning_to_it = self.look_back is not None and self.sub is self.look_back
        if obj is not None and obj.visible and not turning_to_it:
            self.abort()  # seen on the way: a delegated navigation must not drive on
            bearing = math.atan2(obj.position.y - obs.y, obj.position.x - obs.x)
            angle = math.degrees(wrap(bearing - obs.yaw))
            # Seen while turning, it is near the image's edge and braking carries it out of
            # view: face it (at most twice) so the search ends with the object in front.
            if abs(angle) > FIND_FACING_DEG and self.facings < 2:
                self.facings += 1
                self.sub = self.look_back = Turn(self.cfg, angle)
            else:
                return self._halt(), SkillState(
                    "succeeded", f"found {self.query} ({obj.id})", say=f"I see the {self.query}."
                )
        if obj is not None and not self.looked_back and not turning_to_it:
            # Remembered but out of view: look where it was first; a full search only if it
            # is not there any more (finding ends with the object in the camera's view).
            self.looked_back = True
            bearing = math.atan2(obj.position.y - obs.y, obj.position.x - obs.x)
            angle = math.degrees(wrap(bearing - obs.yaw))
            if abs(angle) > self.cfg.angle_tolerance_deg:
                self.sub = self.look_back = Turn(self.cfg, angle)
        if self.look_back is not None and self.sub is self.look_back:
            cmd, state = self.sub.step(obs, now)
            if state.status == "running":
                return cmd, RUNNING
            self.sub = self.look_back = None  # not in view there: search as usual
            return self._halt(), RUNNING
        if self.sub is None:
            self.sub = Turn(self.cfg, 360.0)
            # Rooms only once, nearest first: the operator's spot is not a place to search.
            self.to_visit = sorted(
                self.places.places, key=lambda n: math.dist((obs.x, obs.y), self._xy(n))
            )
        cmd, state = self.sub.step(obs, now)
        if state.status == "running":
            return cmd, RUNNING
        if isinstance(self.sub, NavigateTo):
            if state.status == "succeeded":
                self.visited.append(self.sub.place_name)
                self.sub = Turn(self.cfg, 360.0)
                return self._halt(), RUNNING
        assert self.to_visit is not None
        if not self.to_visit:
            looked = " and ".join(_human(p) for p in self.visited) or "around me"
            return self._halt(), SkillState(
                "failed",
                f"{self.query} not seen after searching",
                say=f"I can't find the {self.query}; I looked in {looked}.",
            )
        self.sub = navigate(self.cfg, self.places, self.to_visit.pop(0), self.navigator)
        return self._halt(), RUNNING

    def abort(self) -> None:
        if self.sub is not None:
            self.sub.abort()

    def _xy(self, name: str) -> tuple[float, float]:
        p = self.places.get(name)
        return (p.x, p.y)


FIND_FACING_DEG = 15.0  # find turns to face an object seen further off-centre than this

FOLLOW_KI = 0.4  # 1/s^2: integral gain of follow's gap


class Follow(Skill):
    """Keep `follow_distance_m` behind a tracked target until cancelled; fail when it is lost.

    Speed = the target's speed along our heading (feed-forward) + a pull on the gap + an integral
    of the gap. The integral is there because something between us and the wheels may scale the
    command: in a corridor the safety gate's slowdown zone halves it, and with feed-forward and a
    proportional pull alone the robot then settles about 0.25 m too far behind a 0.18 m/s walker.
    It only builds while the target moves and drains when it stops, so a person who stops is not
    run into."""

    name = "follow"

    def __init__(self, cfg: MotorControlConfig, target: str) -> None:
        super().__init__(cfg)
        self.target = target
        self._seen: float | None = None
        self._track: tuple[float, float, float] | None = None  # (t, x, y) of the last sighting
        self._tv = (0.0, 0.0)  # low-passed target velocity, the feed-forward term
        self._integral = 0.0  # m/s added for a command that is scaled down on its way

    def budget_s(self, obs: Observation) -> float | None:
        return None

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        obj = match_object(self.target, obs, now, c.object_stale_s)
        if obj is not None and obj.visible:
            self._seen = now
        if self._seen is None:
            self._seen = now
        if obj is None or not obj.visible:
            if now - self._seen > c.follow_lost_timeout_s:
                return self._halt(), SkillState(
                    "failed",
                    f"lost {self.target} for {c.follow_lost_timeout_s:g} s",
                    say=f"I lost the {self.target}.",
                )
            return self._ramp(0.0, 0.0), RUNNING
        dx, dy = obj.position.x - obs.x, obj.position.y - obs.y
        dist = math.hypot(dx, dy)
        bearing = wrap(math.atan2(dy, dx) - obs.yaw)
        ox, oy = obj.position.x, obj.position.y
        if self._track is not None and now - self._track[0] > 1e-3:
            t0, x0, y0 = self._track
            k = 0.3
            self._tv = (
                (1 - k) * self._tv[0] + k * (ox - x0) / (now - t0),
                (1 - k) * self._tv[1] + k * (oy - y0) / (now - t0),
            )
        self._track = (now, ox, oy)
        # The target's speed along our heading, plus a proportional pull on the gap.
        ahead = self._tv[0] * math.cos(obs.yaw) + self._tv[1] * math.sin(obs.yaw)
        gap = dist - c.follow_distance_m
        if ahead > 0.05 and abs(gap) < 0.3 and abs(bearing) < math.radians(30):
            # At most the feed-forward again: enough for a command scaled down to half.
            self._integral = clamp(self._integral + FOLLOW_KI * gap * self._dt, 0.0, ahead)
        else:
            self._integral *= 0.8  # the target stopped, turned or jumped: drain, do not wind up
        v = clamp(max(ahead, 0.0) + 0.8 * gap + self._integral, -0.1, c.max_linear_mps)
        v *= max(math.cos(bearing), 0.0)
        if abs(gap) < 0.05 and abs(ahead) < 0.05:
            v = 0.0
        w = clamp(c.heading_gain * bearing, -c.max_angular_radps, c.max_angular_radps)
        return self._ramp(v, w), RUNNING


GUIDE_REACQUIRE_M = 1.0  # a new track this close to where the guest was is the guest (re-id)


def without(obs: Observation, track_id: str | None) -> Observation:
    """The observation with one scene track left out."""
    if obs.scene is None or track_id is None:
        return obs
    objects = [o for o in obs.scene.objects if o.id != track_id]
    return replace(obs, scene=obs.scene.model_copy(update={"objects": objects}))


class Guide(Skill):
    """Lead a person to a place: navigate_to with an eye on the guest behind.

    The driving is a `navigate` sub-skill (route, local planner, stuck recovery, or Nav2), fed
    an observation without the guest's track, so the walker-yield of the local planner does not
    stop for the person it is leading. Around it, a watch on the guest: the camera looks ahead,
    so someone walking behind is out of view; after `guide_lost_s` without a sighting, or when
    the guest is seen more than `guide_wait_distance_m` away, the robot stops, drops the
    navigation (a Nav2 goal is canceled) and waits, turning to face the guest (or where they
    were last seen, then slowly round). Once they are in view within `guide_resume_distance_m`
    it goes on with a fresh navigation from where it stands: a new route and progress watch,
    since standing still is not being stuck. A wait longer than `guide_lost_timeout_s` fails
    with the reason; arriving succeeds. The guest is the track that matches `person` (a name
    matches no label, so then the nearest person) and stays that track: another person walking
    past is not followed. "Please follow me" is the step's announcement (`announce`)."""

    name = "guide"

    def __init__(
        self,
        cfg: MotorControlConfig,
        places: Places,
        place: str,
        person: str = "person",
        navigator: Navigator | None = None,
    ) -> None:
        super().__init__(cfg)
        self.places = places
        self.place_name = place
        self.person = person
        self.navigator = navigator
        self.nav: NavigateTo = navigate(cfg, places, place, navigator)  # KeyError: unknown place
        self.track: str | None = None  # the guest's track id
        self.last_xy: Point | None = None  # where the guest was last seen (odom)
        self._seen: float | None = None  # when the guest was last seen
        self.waiting_since: float | None = None
        self.waits = 0

    def budget_s(self, obs: Observation) -> float | None:
        return None  # ends on arrival, on the navigation's failure or after a wait too long

    def _guest(self, obs: Observation, now: float) -> SceneObject | None:
        """The guest's track when it is in view now (see the class docstring)."""
        if obs.scene is None:
            return None
        people = [o for o in obs.scene.objects if o.visible and "person" in object_words(o)]
        if self.track is not None:
            for o in obs.scene.objects:
                if o.id == self.track:
                    return o if o.visible else None
            if self.last_xy is None:
                return None
            near = [o for o in people if math.dist(_xy(o), self.last_xy) <= GUIDE_REACQUIRE_M]
            return min(near, key=lambda o: math.dist(_xy(o), self.last_xy), default=None)
        match = match_object(self.person, obs, now, self.cfg.object_stale_s)
        if match is not None and match.visible:
            return match
        here = (obs.x, obs.y)
        return min(people, key=lambda o: math.dist(_xy(o), here), default=None)

    def _step(self, obs: Observation, now: float) -> tuple[Command | None, SkillState]:
        c = self.cfg
        guest = self._guest(obs, now)
        if self._seen is None:
            self._seen = now  # the plan's find just saw them; the clock starts here
        gap = 0.0  # only a sighting says how far back they are
        if guest is not None:
            self.track, self.last_xy, self._seen = guest.id, _xy(guest), now
            gap = math.dist(self.last_xy, (obs.x, obs.y))
        who = "the " + self.person if self.person == "person" else self.person
        if self.waiting_since is None:
            lost = now - self._seen > c.guide_lost_s
            if lost or gap > c.guide_wait_distance_m:
                self.nav.abort()
                self.waiting_since, self.waits = now, self.waits + 1
                why = (
                    f"{who} not seen for {now - self._seen:.0f} s"
                    if lost
                    else f"{who} is {gap:.1f} m away"
                )
                return self._halt(), SkillState(
                    "running", f"waiting: {why}", say="Waiting for you to follow me."
                )
            cmd, state = self.nav.step(without(obs, self.track), now)
            if state.status == "succeeded":
                where = _human(self.place_name)
                said = "Here we are." if self.place_name == "operator" else f"We are at {where}."
                return self._halt(), SkillState("succeeded", f"guided {who} to {where}", say=said)
            return cmd, state
        if guest is not None and gap <= c.guide_resume_distance_m:
            self.waiting_since = None
            self.nav = navigate(c, self.places, self.place_name, self.navigator)
            return self._halt(), SkillState("running", f"going on: {who} is {gap:.1f} m away")
        waited = now - self.waiting_since
        if waited > c.guide_lost_timeout_s:
            return self._halt(), SkillState(
                "failed",
                f"{who} did not follow: not within {c.guide_resume_distance_m:g} m for "
                f"{c.guide_lost_timeout_s:g} s",
                say=f"I can't see {'you' if self.person == 'person' else who} following me, "
                "so I stopped guiding.",
            )
        # Face the guest, or where they were last seen; not there, look round slowly.
        if self.last_xy is not None:
            bearing = wrap(math.atan2(self.last_xy[1] - obs.y, self.last_xy[0] - obs.x) - obs.yaw)
            if guest is not None or abs(bearing) > c.angle_tolerance_rad:
                w = clamp(c.heading_gain * bearing, -c.max_angular_radps, c.max_angular_radps)
                return self._ramp(0.0, w), RUNNING
            self.last_xy = None  # looked there: nobody
        return self._ramp(0.0, c.search_turn_radps), RUNNING

    def abort(self) -> None:
        self.nav.abort()


# The fingers count as stopped when their closure changed by less than GRIP_STILL (a fraction of
# the travel) over the last GRIP_STILL_S of readings: a gripper closing that slowly would take
# over 12 s for its travel, so a stop between open and closed is an object, not a slow finger.
GRIP_STILL_S = 0.25
GRIP_STILL = 0.02


class Fingers:
    """The gripper joint's readings since the last gripper command, and what they say.

    Readings come as (closure, time received) in the observation; a reading older than
    `gripper_state_timeout_s` is no reading (the joint state stopped arriving)."""

    def __init__(self, cfg: MotorControlConfig) -> None:
        self.cfg = cfg
        self.readings: list[tuple[float, float]] = []  # (time received, closure), oldest first

    def read(self, obs: Observation, now: float) -> float | None:
        """The fingers' closure now, or None without a fresh reading."""
        t, closure = obs.gripper_t, obs.gripper
        if t is None or closure is None or not math.isfinite(closure):
            return None
        if now - t > self.cfg.gripper_state_timeout_s:
            return None
        if not self.readings or t > self.readings[-1][0]:
            self.readings.append((t, closure))
            # Keep the window and the one reading before it.
            while len(self.readings) > 2 and self.readings[1][0] <= t - GRIP_STILL_S:
                self.readings.pop(0)
        return closure

    def stopped(self) -> bool:
        """The readings span GRIP_STILL_S and moved less than GRIP_STILL over it."""
        if not self.readings or self.readings[-1][0] - self.readings[0][0] < GRIP_STILL_S:
            return False
        values = [c for _, c in self.readings]
        return max(values) - min(values) < GRIP_STILL


def grasp_point(obs: Observation, cfg: MotorControlConfig) -> Point:
    """Where an object between the fingers stands: `approach_standoff_m` ahead of the robot."""
    return (
        obs.x + cfg.approach_standoff_m * math.cos(obs.yaw),
        obs.y + cfg.approach_standoff_m * math.sin(obs.yaw),
    )


def _confirm_grip(
    skill: Skill,
    fingers: Fingers,
    verdict: Callable[[Observation, float], tuple[bool | None, str]],
    obs: Observation,
    now: float,
    waited: float,
    gripper: float,
    ok_say: str | None,
    fail_say: str,
) -> tuple[Command, SkillState]:
    """Pick's and Place's confirmation, `waited` s after the gripper was told `gripper`: until
    `gripper_settle_s` only the fingers are read; then `verdict` decides (True succeeds, False
    fails at once, None waits, failing after `grip_confirm_timeout_s`). A failure opens it."""
    c = skill.cfg
    if waited < c.gripper_settle_s:
        fingers.read(obs, now)
        return skill._halt(gripper), RUNNING
    ok, reason = verdict(obs, now)
    if ok:
        return skill._halt(gripper), SkillState("succeeded", reason, say=ok_say)
    if ok is False or waited > c.gripper_settle_s + c.grip_confirm_timeout_s:
        return skill._halt(c.gripper_open), SkillState("failed", reason, say=fail_say)
    return skill._halt(gripper), RUNNING


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower().replace("_", " ")))


class Pick(Skill):
    """Open, approach to grasping distance, close, and confirm the object is held.

    Confirmation starts `gripper_settle_s` after the close command and is decided by the first
    of these that has something to say, every control period:

    1. Ground truth, only with `confirm_with_ground_truth` (a simulator) and once the simulator
       has said what it holds: holding something named like the object succeeds; anything
       else fails once `grip_confirm_timeout_s` has passed.
    2. The gripper joint, while its readings are fresh: fingers still moving or still open
       (closure <= `grip_released_closure`, the command may not have arrived) wait; fingers
       stopped at or beyond `grip_empty_closure` fail at once, "the gripper closed on nothing";
       fingers stopped in between hold an object and succeed, unless the scene sees the object
       itself, visible now, further than `grip_hold_distance_m` from the grasp point (then
       they hold something else, and the pick fails).
    3. The scene alone (no gripper feedback): the object seen within `grip_hold_distance_m` of
       the grasp point succeeds, marked unconfirmed; the robot cannot tell a grip from a miss.

    Nothing decisive within `grip_confirm_timeout_s` fails with the last reason; a failed pick
    opens the gripper."""

    name = "pick"

    def __init__(self, cfg: MotorControlConfig, obj: str) -> None:
        super().__init__(cfg)
        self.query = obj
        self.approach = Approach(cfg, obj)
        self.phase = "approach"
        self._t0 = 0.0
        self.fingers = Fingers(cfg)

    def budget_s(self, obs: Observation) -> float:
        c = self.cfg
        return self.approach.budget_s(obs) + c.gripper_settle_s + c.grip_confirm_timeout_s

    def _distance(self, obs: Observation, now: float, visible: bool) -> float | None:
        """How far the object is seen from the grasp point (None: not in the scene; with
        `visible`, only a sighting now counts)."""
        obj = match_object(self.query, obs, now, self.cfg.object_stale_s)
        if obj is None or (visible and not obj.visible):
            return None
        return math.dist(grasp_point(obs, self.cfg), _xy(obj))

    def verdict(self, obs: Observation, now: float) -> tuple[bool | None, str]:
        """(True: held, False: certainly not held, None: not yet known; the reason)."""
        c, what = self.cfg, self.query
        if c.confirm_with_ground_truth and obs.held is not None:
            if obs.held and _words(obs.held) & _words(what):
                return True, f"holding {what} (ground truth)"
            holding = obs.held.replace("_", " ") if obs.held else "nothing"
            return None, f"{what} is not in the gripper after closing (ground truth: {holding})"
        closure = self.fingers.read(obs, now)
        if closure is not None:
            at = f"fingers at {closure:.2f} of their travel"
            if not self.fingers.stopped():
                return None, f"the gripper did not stop closing ({at})"
            if closure >= c.grip_empty_closure:
                return False, f"the gripper closed on nothing ({at})"
            if closure <= c.grip_released_closure:
                return None, f"the gripper did not close ({at})"
            away = self._distance(obs, now, visible=True)
            if away is not None and away > c.grip_hold_distance_m:
                return False, (
                    f"the gripper closed on something ({at}), but the {what} is seen "
                    f"{away:.2f} m from it"
                )
            return True, f"holding {what}: {at}"
        near = self._distance(obs, now, visible=False)
        if near is not None and near <= c.grip_hold_distance_m:
            return True, f"holding {what} (unconfirmed: no gripper state; seen at the gripper)"
        return None, f"no gripper state, and the {what} is not seen at the gripper"

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if self.phase == "approach":
            cmd, state = self.approach.step(obs, now)
            if state.status == "running":
                cmd = cmd or Command()  # approach always drives itself; never None
                return Command(cmd.linear, cmd.angular, c.gripper_open), state
            if state.status == "failed":
                return self._halt(), state
            self.phase, self._t0 = "close", now
            self.fingers = Fingers(c)
        return _confirm_grip(
            self, self.fingers, self.verdict, obs, now, now - self._t0, c.gripper_closed,
            f"I have the {self.query}.", f"I couldn't pick up the {self.query}.",
        )  # fmt: skip


class PlaceSkill(Skill):
    """Optionally go to a place, open the gripper and confirm the release.

    Confirmation starts `gripper_settle_s` after the open command, decided by the first of:

    1. Ground truth, only with `confirm_with_ground_truth` and once the simulator has said:
       holding nothing succeeds; still holding fails once `grip_confirm_timeout_s` has passed.
    2. The gripper joint, while its readings are fresh: fingers stopped at or below
       `grip_released_closure` succeed ("released: fingers open"); otherwise wait, failing
       after `grip_confirm_timeout_s` with "the gripper did not open".
    3. No gripper feedback: succeed at once, marked unconfirmed, saying whether the scene sees
       an object where it was put (within `grip_hold_distance_m` of the grasp point).

    With either of the first two, an object seen where it was put is added to the detail."""

    name = "place"

    def __init__(
        self,
        cfg: MotorControlConfig,
        places: Places,
        place: str | None,
        navigator: Navigator | None = None,
    ) -> None:
        super().__init__(cfg)
        self.nav = navigate(cfg, places, place, navigator) if place else None
        self.phase = "navigate" if self.nav else "open"
        self._t0: float | None = None
        self.fingers = Fingers(cfg)

    def budget_s(self, obs: Observation) -> float:
        c = self.cfg
        nav = self.nav.budget_s(obs) if self.nav else 0.0
        return nav + c.step_timeout_base_s + c.gripper_settle_s + c.grip_confirm_timeout_s

    def _put_down(self, obs: Observation, now: float) -> str | None:
        """The nearest object (not a person) seen where the gripper put it, if any."""
        if obs.scene is None:
            return None
        grasp = grasp_point(obs, self.cfg)
        near = [
            (math.dist(grasp, _xy(o)), o)
            for o in obs.scene.objects
            if now - o.last_seen <= self.cfg.object_stale_s and "person" not in object_words(o)
        ]
        near = [(d, o) for d, o in near if d <= self.cfg.grip_hold_distance_m]
        if not near:
            return None
        o = min(near, key=lambda n: n[0])[1]
        return f"{o.colour + ' ' if o.colour else ''}{o.label}".replace("_", " ")

    def verdict(self, obs: Observation, now: float) -> tuple[bool | None, str]:
        """(True: released, False: certainly not, None: not yet known; the reason)."""
        c = self.cfg
        seen = self._put_down(obs, now)
        there = f"; the {seen} is seen where it was put" if seen else ""
        if c.confirm_with_ground_truth and obs.held is not None:
            if not obs.held:
                return True, f"released (ground truth){there}"
            return None, f"still holding {obs.held} after opening (ground truth)"
        closure = self.fingers.read(obs, now)
        if closure is not None:
            at = f"fingers at {closure:.2f} of their travel"
            if self.fingers.stopped() and closure <= c.grip_released_closure:
                return True, f"released: {at}{there}"
            return None, f"the gripper did not open ({at})"
        if seen:
            return True, f"released (unconfirmed: no gripper state){there}"
        return True, "released (unconfirmed: no gripper state, nothing seen where it was put)"

    def _step(self, obs: Observation, now: float) -> tuple[Command, SkillState]:
        c = self.cfg
        if self.phase == "navigate":
            assert self.nav is not None
            cmd, state = self.nav.step(obs, now)
            if state.status != "succeeded":
                return cmd, state
            self.phase = "open"
        if self._t0 is None:
            self._t0 = now
            self.fingers = Fingers(c)
        return _confirm_grip(
            self, self.fingers, self.verdict, obs, now, now - self._t0, c.gripper_open,
            None, "I couldn't let go of it.",
        )  # fmt: skip

    def abort(self) -> None:
        if self.nav is not None:
            self.nav.abort()


def build_skill(
    step: Step, cfg: MotorControlConfig, places: Places, navigator: Navigator | None = None
) -> Skill:
    """The controller for one validated plan step. Raises KeyError for an unknown place. With a
    navigator, navigate_to (also inside find and place) is delegated to it."""
    s = step.skill
    if s == "drive":
        return Drive(cfg, step.distance_m)
    if s == "turn":
        return Turn(cfg, step.angle_deg)
    if s == "wait":
        return Wait(cfg, step.seconds)
    if s == "stop":
        return StopSkill(cfg)
    if s == "say":
        return Say(cfg, step.text)
    if s == "describe":
        return Describe(cfg)
    if s == "navigate_to":
        return navigate(cfg, places, step.place, navigator)
    if s == "approach":
        return Approach(cfg, step.object)
    if s == "find":
        return Find(cfg, places, step.object, navigator)
    if s == "follow":
        return Follow(cfg, step.target)
    if s == "guide":
        return Guide(cfg, places, step.place, step.person, navigator)
    if s == "pick":
        return Pick(cfg, step.object)
    if s == "place":
        return PlaceSkill(cfg, places, step.place, navigator)
    raise ValueError(f"no controller for skill {s!r}")


def announce(step: Step) -> str:
    """The sentence said when a step starts."""
    s = step.skill
    if s == "navigate_to":
        return "Coming to you" if step.place == "operator" else f"Heading to {_human(step.place)}"
    if s == "drive":
        way = "forward" if step.distance_m >= 0 else "backward"
        return f"Driving {abs(step.distance_m):.2f} m {way}"
    if s == "turn":
        way = "left" if step.angle_deg >= 0 else "right"
        return f"Turning {abs(step.angle_deg):.0f} degrees {way}"
    if s == "find":
        return f"Looking for the {step.object}"
    if s == "approach":
        return f"Approaching the {step.object}"
    if s == "pick":
        return f"Picking up the {step.object}"
    if s == "place":
        return f"Putting it down{' at ' + _human(step.place) if step.place else ''}"
    if s == "follow":
        return f"Following the {step.target}"
    if s == "guide":
        to = "" if step.place == "operator" else f" to {_human(step.place)}"
        return f"Please follow me{to}"
    if s == "wait":
        return f"Waiting {step.seconds:g} s"
    if s == "stop":
        return "Stopping"
    return ""
