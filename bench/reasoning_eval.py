"""Reasoning benchmark: the core on the held-out part of dev.jsonl, closed and open world, and
open world with the language-model generator (`generator: lm`) when its model is installed.

    synth-agent bench reasoning_eval   (or .venv/bin/python bench/reasoning_eval.py)

Prints the per-intent table and writes bench/results/reasoning_eval.json (summaries only; the
per-row responses come from `synth-agent eval ... --report`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from synth_agent.core.reasoning import ReasoningConfig
from synth_agent.core.reasoning.dataset import DEFAULT_DEV
from synth_agent.core.reasoning.evaluate import format_table, run_eval

OUT = Path(__file__).resolve().parent / "results" / "reasoning_eval.json"


def main() -> int:
    if not DEFAULT_DEV.is_file():
        print(f"no {DEFAULT_DEV}", file=sys.stderr)
        return 1
    results = {}
    for open_world in (True, False):
        report = run_eval(DEFAULT_DEV, open_world=open_world, part="eval")
        print(format_table(report), "\n")
        results["open_world" if open_world else "closed_world"] = report["summary"]
    from synth_agent.core.reasoning.lm import packaged_gguf

    if packaged_gguf() is not None:
        cfg = ReasoningConfig(generator="lm")
        report = run_eval(DEFAULT_DEV, cfg, open_world=True, part="eval")
        print(format_table(report), "\n")
        results["open_world_lm"] = report["summary"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
