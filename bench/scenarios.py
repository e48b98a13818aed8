"""The scenario suite of issue 9, as a benchmark: the same runner as `synth-agent scenarios`.

It starts the whole graph on the embedded simulator once, runs every scenario of
`synth_agent/core/scenarios.py` (or `--only` / `--fast`), judges each on ground truth and writes
bench/results/scenarios.json (per scenario: success, seconds, failure reason and class) plus a
printed table with the success rate. Kept as a thin wrapper so the CLI and the bench cannot
report different things.

Usage: .venv/bin/python bench/scenarios.py [--report OUT.json] [--only NAME,...] [--fast]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synth_agent.env import apply_safe_defaults
from synth_agent.scenario_runner import main

if __name__ == "__main__":
    apply_safe_defaults()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", default=str(Path(__file__).parent / "results/scenarios.json"))
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--fast", action="store_true", help="only the CI subset")
    args = parser.parse_args()
    sys.exit(main(args.report, args.only, args.fast))
