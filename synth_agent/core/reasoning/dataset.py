"""The evaluation data (`shared/eval/dev.jsonl`) and its fixed train/evaluation split.

The split is by source subset (HuRIC Release1/Release2/S4R/Simpleset, GPSR, frida-cortex): within
each subset a row goes to the evaluation part when a hash of its normalised text falls in the
lowest `EVAL_FRACTION`. Hashing the text (not the line number) keeps the split stable when rows
are added or reordered and puts exact duplicates on the same side, so no evaluated sentence was
seen in training. The classifier is trained on `part == "train"` only, and accuracy is reported
on `part == "eval"` only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_agent.core.reasoning.text import normalize

INTENTS: tuple[str, ...] = (
    "navigate", "pick", "place", "bring", "follow", "find", "turn", "drive", "stop",
    "describe", "answer", "other",
)  # fmt: skip
EVAL_FRACTION = 0.25
DEFAULT_DEV = Path(__file__).resolve().parents[4] / "shared" / "eval" / "dev.jsonl"


@dataclass(frozen=True)
class Row:
    """One command with its (optional) gold labels."""

    text: str
    intent: str | None = None
    source: str = ""
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def subset(self) -> str:
        return source_subset(self.source)

    @property
    def part(self) -> str:
        return split_part(self.text)


def source_subset(source: str) -> str:
    """'huric-2.1/en/S4R/12.hrc' -> 'huric/S4R'; 'robocup-athome-gpsr (...)' -> 'gpsr'."""
    if source.startswith("huric"):
        parts = source.split("/")
        return f"huric/{parts[2]}" if len(parts) > 2 else "huric"
    if source.startswith("robocup"):
        return "gpsr"
    if source.startswith("frida"):
        return "frida"
    return source.split("/")[0] or "unknown"


def split_part(text: str) -> str:
    """'eval' or 'train', from a hash of the normalised text."""
    digest = hashlib.sha256(normalize(text).encode()).digest()
    return "eval" if int.from_bytes(digest[:4], "big") / 2**32 < EVAL_FRACTION else "train"


def load_rows(path: str | Path) -> list[Row]:
    """Read a JSONL of commands (`text`, optional `intent`, `source`, `slots`)."""
    rows = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{n}: not JSON: {e.msg}") from None
        if not isinstance(d, dict) or not isinstance(d.get("text"), str):
            raise ValueError(f"{path}:{n}: expected an object with a 'text' string")
        rows.append(
            Row(
                text=d["text"],
                intent=d.get("intent"),
                source=str(d.get("source", "")),
                slots=d.get("slots") or {},
            )
        )
    return rows
