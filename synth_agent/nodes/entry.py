"""Console-script entry points, one per node (`ros2 run synth_agent <node>`, `.venv/bin/<node>`).

Each applies the safe middleware defaults before rclpy starts, then runs the node module's
`main()`. A node whose module is not part of this build says so and exits with status 3 rather
than failing with an import traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from synth_agent.env import apply_safe_defaults

NOT_BUILT = 3


def node_available(name: str) -> bool:
    """True when `synth_agent.nodes.<name>` exists in this build."""
    return importlib.util.find_spec(f"synth_agent.nodes.{name}_node") is not None


def run(name: str, argv: list[str] | None = None) -> int:
    apply_safe_defaults()
    if not node_available(name):
        print(f"synth_agent: the {name} node is not part of this build yet", file=sys.stderr)
        return NOT_BUILT
    module = importlib.import_module(f"synth_agent.nodes.{name}_node")
    return int(module.main(sys.argv if argv is None else argv) or 0)


def perception() -> int:
    return run("perception")


def reasoning() -> int:
    return run("reasoning")


def motor_control() -> int:
    return run("motor_control")


def safety_gate() -> int:
    return run("safety_gate")


def voice() -> int:
    return run("voice")


def sim() -> int:
    return run("sim")
