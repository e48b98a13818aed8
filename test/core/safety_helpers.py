"""Shared helpers for the safety gate's unit tests: a gate from keyword overrides, and a clock
that drives it the way the node's timer does."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from synth_agent.core.safety import (
    ArmConfig,
    LocksConfig,
    SafetyGate,
    SafetyGateConfig,
    SourcesConfig,
    VelocityZonesConfig,
    Verdict,
)
from synth_agent.core.safety_audit import AuditLog


def config(**overrides) -> SafetyGateConfig:
    """Defaults with overrides; the scan is off unless a test asks for it, and the scanner sits
    at the base's centre (the tests give obstacle distances from there) unless a test moves it."""
    overrides.setdefault("use_scan", False)
    overrides.setdefault("scan_pose", (0.0, 0.0, 0.0))
    sources = overrides.pop("sources", None)
    nested = {
        "arm": (overrides.pop("arm", None), ArmConfig),
        "locks": (overrides.pop("locks", None), LocksConfig),
        "velocity_zones": (overrides.pop("velocity_zones", None), VelocityZonesConfig),
    }
    cfg = SafetyGateConfig(**overrides)
    if sources is not None:
        cfg = dataclasses.replace(cfg, sources=SourcesConfig(**sources))
    for name, (values, cls) in nested.items():
        if values is not None:
            cfg = dataclasses.replace(cfg, **{name: cls(**values)})
    return cfg


def gate(audit: AuditLog | None = None, **overrides) -> SafetyGate:
    return SafetyGate(config(**overrides), audit)


def command(
    g: SafetyGate,
    now: float,
    vx: float = 0.0,
    wz: float = 0.0,
    vy: float = 0.0,
    source: str = "agent",
):
    """Send a Twist-like command and return the gate's immediate step (as the node does)."""
    decision = g.on_command(source, (vx, vy, 0.0), (0.0, 0.0, wz), now)
    return decision, g.step(now)


def ticks(start: float, end: float, period: float) -> Iterator[float]:
    """Times start, start+period, ... up to end (inclusive), without float drift."""
    k = 0
    while True:
        t = start + k * period
        if t > end + 1e-9:
            return
        yield t
        k += 1


def run(g: SafetyGate, start: float, end: float) -> list[tuple[float, Verdict]]:
    """Step the gate at its output rate from start to end; return (time, verdict) pairs."""
    return [(t, g.step(t)) for t in ticks(start, end, g.config.period)]


def published(trace: list[tuple[float, Verdict]]) -> list[tuple[float, Verdict]]:
    return [(t, v) for t, v in trace if v.publish]
