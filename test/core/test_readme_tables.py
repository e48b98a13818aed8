"""README.md's topics and parameters tables are what tools/gen_readme_tables.py writes from the
code (contract.py, the node modules, the config dataclasses), so the README cannot drift."""

from __future__ import annotations

import runpy

import pytest

from synth_agent.core import contract
from synth_agent.graph import CONFIG_CLASSES
from synth_agent.paths import SOURCE_ROOT

TOOL = runpy.run_path(str(SOURCE_ROOT / "tools" / "gen_readme_tables.py"), run_name="readme_tool")


def test_readme_generated_parts_are_up_to_date():
    readme = (SOURCE_ROOT / "README.md").read_text()
    assert TOOL["render"](readme) == readme, (
        "README.md's generated tables are stale: run .venv/bin/python tools/gen_readme_tables.py"
    )


def test_every_contract_topic_and_node_config_is_in_the_tables():
    topics, params = TOOL["topics_table"](), TOOL["parameters_table"]()
    for t in contract.TOPICS:
        assert f"| `{t.name}` | {t.msg_type} |" in topics
    for node in CONFIG_CLASSES:
        assert f"<summary><code>{node}</code>" in params


def test_endpoints_are_read_from_the_node_code():
    ends = TOOL["topic_endpoints"]()
    assert ends[contract.CMD_VEL.name] == (["safety_gate"], ["sim"])
    assert ends[contract.PLAN.name] == (["reasoning"], ["motor_control"])
    # Subscribed through a list a loop walks (motor_control) and by configuration (the gate).
    assert "motor_control" in ends[contract.SCAN.name][1]
    assert ends[contract.TELEOP_CMD_VEL.name] == ([], ["safety_gate"])


def test_a_stale_block_is_rewritten_and_a_missing_one_refused():
    stale = (
        "x\n<!-- BEGIN GENERATED: topics -->\nSTALE-TEXT\n<!-- END GENERATED: topics -->\n"
        "<!-- BEGIN GENERATED: parameters -->\n<!-- END GENERATED: parameters -->\n"
    )
    fresh = TOOL["render"](stale)
    assert "STALE-TEXT" not in fresh and "| `cmd_vel` |" in fresh and fresh.startswith("x\n")
    assert TOOL["render"](fresh) == fresh
    with pytest.raises(SystemExit):
        TOOL["render"]("no markers")


@pytest.mark.parametrize(
    "name, unit", [("timeout_s", "s"), ("max_accel_mps2", "m/s²"), ("rate_hz", "Hz"), ("x", "")]
)
def test_units_from_names(name, unit):
    assert TOOL["unit"](name) == unit
