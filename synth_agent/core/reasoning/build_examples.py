"""Build the worked-example bank for the language-model generator from the TRAIN part only.

    .venv/bin/python -m synth_agent.core.reasoning.build_examples [--data dev.jsonl]

Writes `synth_agent/core/reasoning_examples.json`: frida-cortex rows of `part == "train"` whose
`structured_cmd` maps onto the robot's skills (guiding a person does not, so those rows are left
out), plus a few written examples for what that corpus lacks. Evaluation rows are never used,
so retrieval can never hand the model the answer to a row it is scored on.
"""

from __future__ import annotations

import argparse
import json
import sys

from synth_agent.core.reasoning.dataset import DEFAULT_DEV, load_rows
from synth_agent.core.reasoning.generator import DEFAULT_EXAMPLES, frida_steps
from synth_agent.core.reasoning.lm_schema import NAME_LEN
from synth_agent.core.reasoning.text import normalize

WRITTEN = [
    ("go to the kitchen and bring me the red cup", [
        {"skill": "navigate_to", "place": "kitchen"}, {"skill": "find", "object": "red cup"},
        {"skill": "pick", "object": "red cup"}, {"skill": "navigate_to", "place": "operator"},
        {"skill": "place"}]),
    ("turn left 90 degrees then drive forward 1 meter", [
        {"skill": "turn", "angle_deg": 90}, {"skill": "drive", "distance_m": 1.0}]),
    ("go to the bedroom and tell me what you see", [
        {"skill": "navigate_to", "place": "bedroom"}, {"skill": "describe"}]),
]  # fmt: skip


def _clip(steps: list[dict]) -> list[dict]:
    out = []
    for s in steps:
        s = dict(s)
        for k in ("place", "object", "target"):
            if k in s:
                s[k] = normalize(s[k])[:NAME_LEN].strip() or "person"
        out.append(s)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DEV))
    ap.add_argument("--out", default=str(DEFAULT_EXAMPLES))
    args = ap.parse_args(argv)
    examples, seen = [], set()
    for row in load_rows(args.data):
        if row.part != "train" or row.subset != "frida":
            continue
        steps = frida_steps(row.slots.get("structured_cmd") or [])
        text = normalize(row.text)
        if steps is None or text in seen:
            continue
        seen.add(text)
        examples.append({"text": text, "steps": _clip(steps)})
    examples += [{"text": t, "steps": s} for t, s in WRITTEN]
    data = {
        "meta": {"built_from": "train part of dev.jsonl (frida-cortex) + written examples",
                 "n": len(examples)},
        "examples": examples,
    }  # fmt: skip
    with open(args.out, "w") as f:
        f.write(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"wrote {len(examples)} examples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
