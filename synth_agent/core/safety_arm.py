"""Checks for the gripper and the arm: pass a request unchanged or reject it whole, with a reason.

Unlike a base velocity, a trajectory cannot be safely "clamped": cutting one point changes the
path the planner checked for collisions. So, unlike ros2_control's saturation limiters (which
clip each control cycle inside the controller), the gate rejects a trajectory whose points break
a joint's position or velocity limit and lets a valid one through untouched. Velocities are
checked both as given in the points and as implied by consecutive positions and their times, so
a position-only trajectory that jumps is caught too. An empty trajectory is passed: in
joint_trajectory_controller it means "stop executing", which is always safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_POINTS = 10_000


@dataclass(frozen=True)
class JointLimit:
    """Position range (rad or m) and maximum speed (rad/s or m/s) of one joint."""

    name: str
    position_min: float
    position_max: float
    max_velocity: float


@dataclass(frozen=True)
class TrajectoryPoint:
    positions: tuple[float, ...]
    velocities: tuple[float, ...] = ()
    accelerations: tuple[float, ...] = ()
    time_from_start: float = 0.0


@dataclass(frozen=True)
class Trajectory:
    joint_names: tuple[str, ...]
    points: tuple[TrajectoryPoint, ...]


def _finite(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) for v in values)


def check_trajectory(traj: Trajectory, limits: Sequence[JointLimit]) -> str:
    """ "" when the trajectory respects every limit, else the first reason it does not."""
    if not traj.points:
        return ""
    by_name = {lim.name: lim for lim in limits}
    names = traj.joint_names
    if not names:
        return "trajectory names no joints"
    if len(set(names)) != len(names):
        return "trajectory names a joint twice"
    unknown = [n for n in names if n not in by_name]
    if unknown:
        return f"no limits configured for joint(s) {unknown}"
    if len(traj.points) > MAX_POINTS:
        return f"trajectory has {len(traj.points)} points (more than {MAX_POINTS})"
    lims = [by_name[n] for n in names]
    prev: TrajectoryPoint | None = None
    for k, p in enumerate(traj.points):
        if len(p.positions) != len(names):
            return f"point {k} has {len(p.positions)} positions for {len(names)} joints"
        for field, values in (("velocities", p.velocities), ("accelerations", p.accelerations)):
            if values and len(values) != len(names):
                return f"point {k} has {len(values)} {field} for {len(names)} joints"
        if not (_finite(p.positions) and _finite(p.velocities) and _finite(p.accelerations)):
            return f"point {k} has a non-finite value"
        if not math.isfinite(p.time_from_start) or p.time_from_start < 0.0:
            return f"point {k} has time_from_start {p.time_from_start}"
        for lim, q in zip(lims, p.positions, strict=True):
            if not lim.position_min <= q <= lim.position_max:
                return (
                    f"point {k}: {lim.name} position {q:g} outside "
                    f"[{lim.position_min:g}, {lim.position_max:g}]"
                )
        for lim, qd in zip(lims, p.velocities, strict=False):
            if abs(qd) > lim.max_velocity:
                return f"point {k}: {lim.name} velocity {qd:g} over {lim.max_velocity:g}"
        if prev is not None:
            dt = p.time_from_start - prev.time_from_start
            if dt <= 0.0:
                return f"point {k}: time_from_start does not increase"
            for lim, q0, q1 in zip(lims, prev.positions, p.positions, strict=True):
                implied = abs(q1 - q0) / dt
                if implied > lim.max_velocity * (1.0 + 1e-9):
                    return (
                        f"points {k - 1}->{k}: {lim.name} moves at {implied:.3g} "
                        f"(limit {lim.max_velocity:g})"
                    )
        prev = p
    return ""


def check_gripper(value: float, lo: float, hi: float) -> str:
    """ "" when a gripper command (0 open … 1 closed) is usable, else why not."""
    if not math.isfinite(value):
        return f"gripper command {value} is not finite"
    if not lo <= value <= hi:
        return f"gripper command {value:g} outside [{lo:g}, {hi:g}]"
    return ""
