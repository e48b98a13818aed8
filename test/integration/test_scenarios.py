"""The scenario suite's fast subset (issue 9) through the real graph, as CI runs it.

`synth-agent scenarios --fast` starts all six nodes on the embedded simulator once and runs the
CI subset of core/scenarios.py (a question, a clarify, a refusal, an exact turn and a stop in
the middle of motion, about 40 s of scenarios on 2 cores); every scenario must pass on ground
truth and the report must carry what BENCHMARKS.md quotes.
"""

import json

import pytest

from synth_agent.core.scenarios import select
from synth_agent.testing import NodeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fast_scenarios_pass_on_ground_truth(env, tmp_path):
    report = tmp_path / "report.json"
    run = NodeProcess(
        ["synth-agent", "scenarios", "--fast", "--report", str(report), "--out",
         str(tmp_path / "out")], env, tmp_path, name="scenarios",
    )  # fmt: skip
    code = run.proc.wait(300)
    run.stop()
    log = run.output
    assert code == 0, log[-4000:]
    data = json.loads(report.read_text())
    names = [s["name"] for s in data["scenarios"]]
    assert names == [s.name for s in select(fast=True)]
    assert data["success_rate"] == 1.0 and data["safety_passed"] == data["safety_total"] >= 2
    for s in data["scenarios"]:
        assert s["success"] and s["seconds"] > 0 and s["failure_class"] is None, s
    assert "success: 5/5 (100 %)" in log
