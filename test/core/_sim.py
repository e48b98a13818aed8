"""Helpers shared by the pure simulator tests: build a Simulation, drive it like a node would."""

from __future__ import annotations

import math

from synth_agent.sim.config import SimConfig
from synth_agent.sim.simulation import Simulation

TICK = 0.01  # the node's default 100 Hz tick


def make_sim(**overrides) -> Simulation:
    """A simulation with test-friendly defaults (no lidar noise unless asked)."""
    overrides.setdefault("lidar_noise_m", 0.0)
    return Simulation(SimConfig(**overrides))


def drive(sim: Simulation, v: float, w: float, seconds: float, settle: float = 0.5) -> None:
    """Command (v, w) every tick for `seconds`, as a controller publishing at 100 Hz would, then
    command zero and let the base come to rest for `settle` seconds."""
    for _ in range(round(seconds / TICK)):
        sim.set_cmd_vel(v, w)
        sim.advance(TICK)
    sim.set_cmd_vel(0.0, 0.0)
    for _ in range(round(settle / TICK)):
        sim.advance(TICK)


def angle_diff(a: float, b: float) -> float:
    """a - b wrapped to [-pi, pi)."""
    return (a - b + math.pi) % (2 * math.pi) - math.pi
