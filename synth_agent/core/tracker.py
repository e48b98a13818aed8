"""A small multi-object tracker in the odom frame: stable ids, smoothing, forgetting, memory.

Why it is built this way:
- Tracking happens on odom positions, not pixels, so a track survives the robot turning away
  and back: the cup is where it was, whatever the camera does.
- Association is greedy nearest-neighbour per label within `match_distance_m`. Scenes hold a
  handful of objects, so the optimal assignment (Hungarian) would buy nothing but code.
- Positions are smoothed with an exponential filter (`smoothing` = weight of the new
  observation; 1 means no smoothing), which calms depth noise without lagging much at 15 Hz.
- A track is *visible* while it was seen within `forget_after_s`; after that it is only a
  memory ("the cup you saw in the kitchen") until `memory_s`, then it is dropped. A memory that
  is seen again near where it was keeps its id.
- `min_hits` observations are needed before a track is reported at all, so a one-frame blob
  (a reflection, a motion-blurred edge) never reaches the scene.
- `now` is always an argument, so tests are exact and simulated time works.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Observation:
    """One located detection: label, odom position (x, y, z), confidence, colour."""

    label: str
    position: tuple[float, float, float]
    confidence: float
    colour: str | None = None


@dataclass
class Track:
    """What the tracker believes about one object."""

    id: str
    label: str
    colour: str | None
    position: np.ndarray
    confidence: float
    first_seen: float
    last_seen: float
    hits: int = 1


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "object"


class Tracker:
    """Greedy per-label nearest-neighbour tracker with exponential smoothing and memory."""

    def __init__(
        self,
        match_distance_m: float = 0.5,
        smoothing: float = 0.5,
        forget_after_s: float = 2.0,
        memory_s: float = 300.0,
        min_hits: int = 1,
    ) -> None:
        if not match_distance_m > 0:
            raise ValueError(f"match_distance_m must be > 0, got {match_distance_m}")
        if not 0 < smoothing <= 1:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        if not forget_after_s > 0:
            raise ValueError(f"forget_after_s must be > 0, got {forget_after_s}")
        if not memory_s >= forget_after_s:
            raise ValueError("memory_s must be >= forget_after_s")
        if min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {min_hits}")
        self.match_distance_m = match_distance_m
        self.smoothing = smoothing
        self.forget_after_s = forget_after_s
        self.memory_s = memory_s
        self.min_hits = min_hits
        self._tracks: list[Track] = []
        self._counters: dict[str, int] = {}

    def update(self, observations: Sequence[Observation], now: float) -> list[Track]:
        """Fold one frame's observations in at time `now`; return the tracks it touched."""
        if not math.isfinite(now):
            raise ValueError(f"now must be finite, got {now}")
        self._expire(now)
        pairs = []
        for oi, obs in enumerate(observations):
            p = np.asarray(obs.position, dtype=float)
            if p.shape != (3,) or not np.all(np.isfinite(p)):
                raise ValueError(f"observation {obs.label!r} has a bad position {obs.position}")
            for ti, tr in enumerate(self._tracks):
                if tr.label == obs.label:
                    d = float(np.linalg.norm(tr.position[:2] - p[:2]))
                    if d <= self.match_distance_m:
                        pairs.append((d, oi, ti))
        pairs.sort()
        used_obs: set[int] = set()
        used_tracks: set[int] = set()
        touched: list[Track] = []
        for _, oi, ti in pairs:
            if oi in used_obs or ti in used_tracks:
                continue
            used_obs.add(oi)
            used_tracks.add(ti)
            tr, obs = self._tracks[ti], observations[oi]
            a = self.smoothing
            if now - tr.last_seen > self.forget_after_s:
                a = 1.0  # a memory seen again: trust the new sighting, it may have moved
            tr.position = tr.position + a * (np.asarray(obs.position, float) - tr.position)
            tr.confidence = tr.confidence + a * (obs.confidence - tr.confidence)
            tr.last_seen = now
            tr.hits += 1
            touched.append(tr)
        for oi, obs in enumerate(observations):
            if oi in used_obs:
                continue
            slug = _slug(obs.label)
            self._counters[slug] = self._counters.get(slug, 0) + 1
            tr = Track(
                id=f"{slug}-{self._counters[slug]}",
                label=obs.label,
                colour=obs.colour,
                position=np.asarray(obs.position, dtype=float).copy(),
                confidence=float(obs.confidence),
                first_seen=now,
                last_seen=now,
            )
            self._tracks.append(tr)
            touched.append(tr)
        return touched

    def _expire(self, now: float) -> None:
        self._tracks = [t for t in self._tracks if now - t.last_seen <= self.memory_s]

    def tracks(self, now: float) -> list[Track]:
        """Confirmed tracks (visible and remembered) at time `now`, most recently seen first."""
        self._expire(now)
        confirmed = [t for t in self._tracks if t.hits >= self.min_hits]
        return sorted(confirmed, key=lambda t: (-t.last_seen, t.id))

    def visible(self, track: Track, now: float) -> bool:
        """True while the track was seen within `forget_after_s`."""
        return now - track.last_seen <= self.forget_after_s
