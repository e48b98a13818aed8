"""Velocity limits (like nav2 velocity_smoother) and source arbitration (like twist_mux).

Why these are plain functions on floats: the gate runs them on every incoming command, inside
the subscription callback, so their cost is the latency the gate adds; and every rule must be
testable step by step against the numbers the ROS packages assert (SAFETY_SCENARIOS.md).

Smoothing follows velocity_smoother exactly: per axis, the change per step is bounded by the
acceleration limit when the speed grows in the same direction and by the deceleration limit
otherwise, so crossing zero counts as braking. With `scale_velocities` every axis is slowed by
the same factor (`eta`), so the robot keeps its curvature while it ramps. Unlike the nav2 node,
the step length is the time since the previous output (capped at one output period), because
the gate publishes on every command as well as on its timer.

Deadband (velocity_smoother's `deadband_velocity`): per axis, an output smaller in magnitude
than the deadband is published as 0. As in nav2 it applies to what is *published* only; the
smoother's own state keeps ramping, otherwise a deadband above one step's change (accel * dt)
would hold the robot at zero forever. The jump from 0 to the first value above the deadband is
therefore what a deadband means (the motors cannot move slower anyway).

Locks (twist_mux): a lock is a std_msgs/Bool input with a priority and a timeout. It is
*engaged* while its last message is true, or, with a timeout > 0, when no message arrived
within the timeout (including never): twist_mux's `isLocked() = hasExpired() || data`, so a lock
whose publisher dies engages by itself (a heartbeat of `false` permits motion). Timeout 0 means
it never expires: engaged exactly while the last message was true. An engaged lock masks every
source whose priority is below its own (equal priority is not masked), as twist_mux's
`isMasked`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


class Velocity(NamedTuple):
    """A planar base velocity in the base frame: m/s forward, m/s left, rad/s counter-clockwise."""

    vx: float = 0.0
    vy: float = 0.0
    wz: float = 0.0

    def is_zero(self) -> bool:
        return self.vx == 0.0 and self.vy == 0.0 and self.wz == 0.0

    def is_finite(self) -> bool:
        return math.isfinite(self.vx) and math.isfinite(self.vy) and math.isfinite(self.wz)

    def scaled(self, factor: float) -> Velocity:
        return Velocity(self.vx * factor, self.vy * factor, self.wz * factor)

    @property
    def speed(self) -> float:
        """Linear speed, m/s."""
        return math.hypot(self.vx, self.vy)


ZERO = Velocity(0.0, 0.0, 0.0)


def _bounds(
    v_curr: float, v_cmd: float, accel: float, decel: float, dt: float
) -> tuple[float, float]:
    """The allowed change (min, max) of one axis in one step; `accel`, `decel` are positive."""
    if abs(v_cmd) >= abs(v_curr) and v_curr * v_cmd >= 0.0:
        return -accel * dt, accel * dt
    return -decel * dt, decel * dt


def find_eta_constraint(
    v_curr: float, v_cmd: float, accel: float, decel: float, dt: float
) -> float:
    """The factor that brings this axis's change within one step's limit, or -1 when the change
    already fits (velocity_smoother's findEtaConstraint)."""
    dv = v_cmd - v_curr
    lo, hi = _bounds(v_curr, v_cmd, accel, decel, dt)
    if dv > hi:
        return hi / dv
    if dv < lo:
        return lo / dv
    return -1.0


def apply_constraints(
    v_curr: float, v_cmd: float, accel: float, decel: float, dt: float, eta: float = 1.0
) -> float:
    """One step of one axis, as velocity_smoother's applyConstraints: the change
    `eta * (v_cmd - v_curr)`, clamped to the step's acceleration or deceleration bound."""
    lo, hi = _bounds(v_curr, v_cmd, accel, decel, dt)
    return v_curr + min(max(eta * (v_cmd - v_curr), lo), hi)


@dataclass(frozen=True)
class Limits:
    """The kinematic limits the smoother enforces (all positive, SI units)."""

    max_linear: float
    max_angular: float
    linear_accel: float
    linear_decel: float
    angular_accel: float
    angular_decel: float
    holonomic: bool = False
    scale_velocities: bool = True


def clamp_velocity(target: Velocity, limits: Limits) -> tuple[Velocity, list[str]]:
    """Clamp a command to the velocity limits; return it and the names of the limits that bit.

    With `scale_velocities` all axes shrink by the same factor, which keeps the path's curvature
    (the turn the planner asked for) while slowing down; otherwise each axis is clipped alone.
    """
    vy = target.vy if limits.holonomic else 0.0
    hit: list[str] = []
    if vy != target.vy:
        hit.append("holonomic")
    speed = math.hypot(target.vx, vy)
    lin_ratio = limits.max_linear / speed if speed > limits.max_linear else 1.0
    ang_ratio = limits.max_angular / abs(target.wz) if abs(target.wz) > limits.max_angular else 1.0
    if lin_ratio < 1.0:
        hit.append("max_linear_velocity")
    if ang_ratio < 1.0:
        hit.append("max_angular_velocity")
    if lin_ratio == 1.0 and ang_ratio == 1.0:
        return Velocity(target.vx, vy, target.wz), hit
    if limits.scale_velocities:
        k = min(lin_ratio, ang_ratio)
        out = Velocity(target.vx * k, vy * k, target.wz * k)
    else:
        out = Velocity(target.vx * lin_ratio, vy * lin_ratio, target.wz * ang_ratio)
    # Guard against rounding a hair above the limit.
    if out.speed > limits.max_linear:
        k = limits.max_linear / out.speed
        out = Velocity(out.vx * k, out.vy * k, out.wz)
    if abs(out.wz) > limits.max_angular:
        out = Velocity(out.vx, out.vy, math.copysign(limits.max_angular, out.wz))
    return out, hit


def smooth(current: Velocity, target: Velocity, limits: Limits, dt: float) -> Velocity:
    """One smoothing step from `current` toward `target` over `dt` seconds.

    Linear axes use the linear acceleration/deceleration, the angular axis the angular ones.
    With `scale_velocities` the most constrained axis sets one `eta` for all, as nav2 does.
    """
    if dt <= 0.0:
        return current
    axes = (
        (current.vx, target.vx, limits.linear_accel, limits.linear_decel),
        (current.vy, target.vy, limits.linear_accel, limits.linear_decel),
        (current.wz, target.wz, limits.angular_accel, limits.angular_decel),
    )
    eta = 1.0
    if limits.scale_velocities:
        for cur, cmd, acc, dec in axes:
            e = find_eta_constraint(cur, cmd, acc, dec, dt)
            if 0.0 <= e < eta:
                eta = e
    vx, vy, wz = (apply_constraints(cur, cmd, acc, dec, dt, eta) for cur, cmd, acc, dec in axes)
    return Velocity(vx, vy, wz)


def apply_deadband(v: Velocity, deadband: Sequence[float]) -> Velocity:
    """Each axis with |value| below its deadband (vx, vy, wz) becomes 0 (velocity_smoother)."""
    dx, dy, dw = deadband
    return Velocity(
        0.0 if abs(v.vx) < dx else v.vx,
        0.0 if abs(v.vy) < dy else v.vy,
        0.0 if abs(v.wz) < dw else v.wz,
    )


def max_step_change(current: Velocity, new: Velocity, limits: Limits, dt: float) -> bool:
    """True when `new` is reachable from `current` in one step of `dt` (a check for tests and
    for the gate's own final sanity check)."""
    eps = 1e-9
    for cur, nxt, acc, dec in (
        (current.vx, new.vx, limits.linear_accel, limits.linear_decel),
        (current.vy, new.vy, limits.linear_accel, limits.linear_decel),
        (current.wz, new.wz, limits.angular_accel, limits.angular_decel),
    ):
        lo, hi = _bounds(cur, nxt, acc, dec, dt)
        if not lo - eps <= nxt - cur <= hi + eps:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Source arbitration (twist_mux)


@dataclass(frozen=True)
class Source:
    """One command input: its name, priority (higher wins) and timeout (0 = never expires)."""

    name: str
    priority: int
    timeout: float


@dataclass(frozen=True)
class Lock:
    """A twist_mux lock: masks sources below `priority` while engaged (see the module
    docstring); `timeout` 0 = never expires."""

    name: str
    priority: int
    timeout: float


class SourceMux:
    """Keeps each source's last accepted command and picks the one that drives the robot.

    As in twist_mux, the highest-priority source with a fresh command wins and a source whose
    last command is older than its timeout drops out (timeout 0: never, as twist_mux). The
    gate's watchdog bounds every source's age by `command_timeout` on top of that. Equal
    priorities go to the most recent command. Engaged locks mask the sources below their
    priority.
    """

    def __init__(self, sources: Sequence[Source], locks: Sequence[Lock] = ()) -> None:
        self.sources = {s.name: s for s in sources}
        self.locks = {lk.name: lk for lk in locks}
        self._last: dict[str, tuple[float, Velocity]] = {}
        self._lock_msgs: dict[str, tuple[float, bool]] = {}

    def update_lock(self, name: str, locked: bool, now: float) -> None:
        if name not in self.locks:
            raise KeyError(f"unknown lock {name!r}")
        self._lock_msgs[name] = (now, bool(locked))

    def clear_locks(self) -> None:
        """Forget every lock message (a clock jump): locks with a timeout engage, fail safe."""
        self._lock_msgs.clear()

    def lock_input(self, name: str) -> bool | None:
        entry = self._lock_msgs.get(name)
        return None if entry is None else entry[1]

    def is_locked(self, name: str, now: float) -> bool:
        """twist_mux's `hasExpired() || data`."""
        lock = self.locks[name]
        entry = self._lock_msgs.get(name)
        if lock.timeout > 0.0 and (entry is None or now - entry[0] > lock.timeout):
            return True
        return entry is not None and entry[1]

    def engaged_locks(self, now: float) -> list[str]:
        return [n for n in self.locks if self.is_locked(n, now)]

    def lock_priority(self, now: float) -> int | None:
        """The highest priority among engaged locks, or None when none is engaged."""
        return max((self.locks[n].priority for n in self.engaged_locks(now)), default=None)

    def masked(self, now: float, command_timeout: float) -> list[str]:
        """Fresh sources that an engaged lock keeps from driving."""
        floor = self.lock_priority(now)
        if floor is None:
            return []
        return [
            n
            for n in self._last
            if self.sources[n].priority < floor and self.is_fresh(n, now, command_timeout)
        ]

    def update(self, name: str, velocity: Velocity, now: float) -> None:
        if name not in self.sources:
            raise KeyError(f"unknown source {name!r}")
        self._last[name] = (now, velocity)

    def clear(self) -> None:
        """Forget every command (after an e-stop nothing old may resume motion)."""
        self._last.clear()

    def last_command_time(self) -> float | None:
        return max((t for t, _ in self._last.values()), default=None)

    def is_fresh(self, name: str, now: float, command_timeout: float) -> bool:
        entry = self._last.get(name)
        if entry is None:
            return False
        age = now - entry[0]
        timeout = self.sources[name].timeout
        return age <= command_timeout and (timeout == 0.0 or age <= timeout)

    def select(self, now: float, command_timeout: float) -> tuple[str, Velocity] | None:
        """The winning (source name, command), or None when no source is fresh and unmasked."""
        best: tuple[int, float, str] | None = None
        floor = self.lock_priority(now) if self.locks else None
        for name, (stamp, _) in self._last.items():
            if not self.is_fresh(name, now, command_timeout):
                continue
            if floor is not None and self.sources[name].priority < floor:
                continue
            key = (self.sources[name].priority, stamp, name)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None:
            return None
        return best[2], self._last[best[2]][1]
