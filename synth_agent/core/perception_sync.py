"""Pair each colour image with the depth image of the same instant, by header stamp.

Why it is built this way:
- A colour image and its depth image are two messages on two topics. Pairing each colour image
  with the *latest received* depth (what the node did before) is wrong whenever the camera
  publishes colour first: every colour frame then gets the previous frame's depth, and while
  the robot turns an object's pixels fall on background depth, which places a false object
  metres behind the real one on the line of sight. So frames are paired by header stamp, the
  way message_filters' ExactTime / ApproximateTime synchronizers do (that package is not
  available here): each stream keeps a small buffer of recent messages keyed by stamp, and a
  pair is released as soon as both halves with stamps at most `tolerance_s` apart have arrived,
  in whichever order. Tolerance 0 is ExactTime (a simulator, or a camera that stamps both
  streams from one clock); a few milliseconds serve a camera whose streams are stamped
  separately. The first candidate within tolerance is taken (streams at 30 Hz are 33 ms apart,
  so with a tolerance well below half a period there is only one).
- Once a pair with stamp s is released, buffered messages older than s are dropped: their
  partner will not come (streams are in stamp order), and processing them would go back in
  time. Messages that wait longer than `max_wait_s` (receipt time), or that fall out of a full
  buffer, are dropped too. Every such drop is counted in `unmatched`, for logs and diagnostics.
- A camera without depth, or a depth stream that stops, must not stall perception: when no
  depth has arrived for `max_wait_s` (counted from construction at start-up), the depth stream
  is *silent* and colour images are released at once without depth (the newest buffered one
  first, older ones are dropped); `silent_since_change()` reports each switch once, so the
  node can warn once and say when depth is back. With `depth_enabled=False` every image is
  released at once without depth.
- Pure: payloads are opaque, stamps are seconds from the headers, `now` is the caller's receipt
  clock (the node passes a monotonic clock). Not thread-safe: one caller (the node's executor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - image payload
D = TypeVar("D")  # depth payload


@dataclass(frozen=True)
class Pair(Generic[I, D]):
    """A colour image and the depth image of the same instant (None: released without depth)."""

    stamp: float
    image: I
    depth: D | None


@dataclass(eq=False)  # compared by identity: payloads may be arrays
class _Entry(Generic[I]):
    stamp: float
    payload: I
    received: float


class FrameSync(Generic[I, D]):
    """Stamp-matched pairing of colour and depth images with bounded buffers.

    `add_image` / `add_depth` take a message's header stamp (s), an opaque payload and the
    receipt time `now` (s, any monotonic clock); they, and `poll` (call it periodically so
    timeouts act when a stream stops), return the pairs ready to process, oldest first.
    """

    def __init__(
        self,
        tolerance_s: float,
        max_wait_s: float,
        now: float,
        depth_enabled: bool = True,
        max_pending: int = 8,
    ) -> None:
        if not (math.isfinite(tolerance_s) and tolerance_s >= 0):
            raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
        if not (math.isfinite(max_wait_s) and max_wait_s > 0):
            raise ValueError(f"max_wait_s must be > 0, got {max_wait_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.tolerance_s = tolerance_s
        self.max_wait_s = max_wait_s
        self.depth_enabled = depth_enabled
        self.max_pending = max_pending
        self.unmatched = 0  # messages dropped without a partner (total)
        self.paired = 0  # pairs released with depth (total)
        self.without_depth = 0  # images released without depth (total)
        self._images: list[_Entry[I]] = []  # in arrival order
        self._depths: list[_Entry[D]] = []
        self._last_depth = now  # start-up counts as the last depth: wait that long for the first
        self._silent = False
        self._silent_reported = False

    # -- state ----------------------------------------------------------------------------
    @property
    def depth_silent(self) -> bool:
        """True while the depth stream is silent and images go out without depth."""
        return self._silent

    def silent_since_change(self) -> bool | None:
        """The silent state once after each change (True: depth stopped), else None."""
        if self._silent == self._silent_reported:
            return None
        self._silent_reported = self._silent
        return self._silent

    @property
    def pending(self) -> tuple[int, int]:
        """(images, depths) buffered and waiting for their partner."""
        return len(self._images), len(self._depths)

    # -- inputs ---------------------------------------------------------------------------
    def add_image(self, stamp: float, image: I, now: float) -> list[Pair[I, D]]:
        """A colour image arrived; the pairs now ready (possibly this one)."""
        out = self.poll(now)
        if not self.depth_enabled or self._silent:
            self.without_depth += 1
            return [*out, Pair(stamp, image, None)]
        match = self._take(self._depths, stamp)
        if match is None:
            self._push(self._images, _Entry(stamp, image, now))
            return out
        return [*out, self._release(stamp, image, match.payload)]

    def add_depth(self, stamp: float, depth: D, now: float) -> list[Pair[I, D]]:
        """A depth image arrived; the pairs now ready (possibly with this one)."""
        if not self.depth_enabled:
            self.unmatched += 1
            return []
        self._last_depth = now
        self._silent = False
        out = self.poll(now)
        match = self._take(self._images, stamp)
        if match is None:
            self._push(self._depths, _Entry(stamp, depth, now))
            return out
        return [*out, self._release(match.stamp, match.payload, depth)]

    def poll(self, now: float) -> list[Pair[I, D]]:
        """Apply the timeouts: drop what waited too long; if depth fell silent, release the
        newest buffered image without depth."""
        if self.depth_enabled and now - self._last_depth > self.max_wait_s:
            self._silent = True
        for buf in (self._images, self._depths):
            expired = [e for e in buf if now - e.received > self.max_wait_s]
            self._drop(buf, expired)
        if not (self._silent and self._images):
            return []
        newest = max(self._images, key=lambda e: e.stamp)
        self._images.remove(newest)
        self._drop(self._images, list(self._images))
        self.without_depth += 1
        return [Pair(newest.stamp, newest.payload, None)]

    # -- internals ------------------------------------------------------------------------
    def _take(self, buf: list[_Entry], stamp: float) -> _Entry | None:
        """Remove and return the entry closest to `stamp` within tolerance, if any."""
        best = min(buf, key=lambda e: abs(e.stamp - stamp), default=None)
        if best is None or abs(best.stamp - stamp) > self.tolerance_s:
            return None
        buf.remove(best)
        return best

    def _push(self, buf: list[_Entry], entry: _Entry) -> None:
        """Buffer an entry; one with the same stamp is replaced, a full buffer loses its oldest."""
        self._drop(buf, [e for e in buf if e.stamp == entry.stamp])
        buf.append(entry)
        if len(buf) > self.max_pending:
            self._drop(buf, [min(buf, key=lambda e: e.stamp)])

    def _release(self, stamp: float, image: I, depth: D) -> Pair[I, D]:
        """A matched pair; everything buffered before it can no longer be matched."""
        for buf in (self._images, self._depths):
            self._drop(buf, [e for e in buf if e.stamp < stamp - self.tolerance_s])
        self.paired += 1
        return Pair(stamp, image, depth)

    def _drop(self, buf: list[_Entry], entries: list[_Entry]) -> None:
        for e in entries:
            buf.remove(e)
            self.unmatched += 1
