"""The safety gate's append-only audit log: one JSON object per line, one line per intervention.

Why JSON lines: after a field incident the question is "what did the gate change, when and
why"; a line per event can be grepped, tailed and loaded into pandas, and a crash can at worst
cut the last line. The file is opened for append only and flushed after every line.

The gate records a continuous condition (a clamp, a zone, a timeout) when it starts and when it
ends, not on every cycle; events that can arrive in floods (a publisher sending NaN at 1 kHz) are
rate-limited per rule: at most one line per `min_interval` seconds, and the next line written
for that rule says how many were folded into it (`repeats`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO


def default_audit_path() -> Path:
    """`$ROS_HOME/synth_agent/safety_audit.jsonl` (ROS_HOME defaults to ~/.ros)."""
    ros_home = os.environ.get("ROS_HOME") or os.path.join(os.path.expanduser("~"), ".ros")
    return Path(ros_home) / "synth_agent" / "safety_audit.jsonl"


class AuditLog:
    """Append JSON lines to `path`; `path=None` keeps only the in-memory tail (tests, benches)."""

    def __init__(
        self,
        path: str | Path | None,
        min_interval: float = 1.0,
        wall_clock: Callable[[], float] = time.time,
        keep: int = 100,
    ) -> None:
        self.path = Path(path).expanduser() if path else None
        self.min_interval = min_interval
        self._wall = wall_clock
        self._keep = keep
        self._file: TextIO | None = None
        self._last: dict[str, float] = {}
        self._folded: dict[str, int] = {}
        self.tail: list[dict[str, Any]] = []
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def record(
        self,
        now: float,
        kind: str,
        rule: str,
        reason: str,
        event: str = "event",
        rate_limited: bool = False,
        **detail: Any,
    ) -> bool:
        """Write one line; return False when it was folded into a later one by rate limiting."""
        key = f"{kind}:{rule}"
        if rate_limited:
            last = self._last.get(key)
            if last is not None and 0.0 <= now - last < self.min_interval:
                self._folded[key] = self._folded.get(key, 0) + 1
                return False
            self._last[key] = now
        entry: dict[str, Any] = {
            "t": round(now, 6),
            "wall_time": round(self._wall(), 6),
            "event": event,
            "kind": kind,
            "rule": rule,
            "reason": reason,
        }
        folded = self._folded.pop(key, 0)
        if folded:
            entry["repeats"] = folded
        entry.update(detail)
        self.tail.append(entry)
        del self.tail[: -self._keep]
        if self._file is not None:
            self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self._file.flush()
        return True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
