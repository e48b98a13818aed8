"""The synth_agent node graph as data.

Both `launch/*.launch.py` (ROS installs) and `synth-agent up` (pip-only) build their processes
from `nodes()`, so the two ways of starting the robot cannot disagree about which nodes run,
with which parameter files and remaps. This module imports neither rclpy nor launch.

Start order is the list order: the safety gate first, so no actuator request is ever published
with nothing in front of the robot; shutdown runs in reverse, so the gate stops last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from synth_agent.paths import config_path

# Every node of ARCHITECTURE.md, in start order.
NODE_NAMES: tuple[str, ...] = (
    "safety_gate",
    "sim",
    "perception",
    "motor_control",
    "reasoning",
    "voice",
)


# The embedded simulator is a world of its own: its /clock belongs to its robot. With the sim,
# every node reads (and the sim publishes) the clock as `clock` relative to the namespace, so two
# simulated robots on one domain never hear each other's time; without a namespace this is
# plain /clock. A Gazebo or hardware graph keeps the global /clock of its one world.
SIM_REMAPS: tuple[tuple[str, str], ...] = (("/clock", "clock"),)


# Where each node's config dataclass lives ("module:Class"), for tools and the test that checks
# config/<node>.yaml against the dataclass defaults. Imported lazily: a node may not be built.
CONFIG_CLASSES: dict[str, str] = {
    "safety_gate": "synth_agent.core.safety:SafetyGateConfig",
    "sim": "synth_agent.sim.config:SimConfig",
    "perception": "synth_agent.core.perception:PerceptionConfig",
    "motor_control": "synth_agent.core.motor:MotorControlConfig",
    "reasoning": "synth_agent.core.reasoning:ReasoningConfig",
    "voice": "synth_agent.core.voice:VoiceConfig",
}


@dataclass(frozen=True)
class NodeSpec:
    """One node process: its executable (console script), ROS node name, parameter files and
    topic remaps (relative names, so a namespace moves them all)."""

    name: str
    executable: str
    params_files: tuple[str, ...] = ()
    remaps: tuple[tuple[str, str], ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)
    sim_only: bool = False
    critical: bool = False

    def ros_args(self, namespace: str = "", extra_params: list[str] | None = None) -> list[str]:
        """The `--ros-args ...` a process of this node is started with."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if namespace:
            args += ["-r", f"__ns:={normalize_namespace(namespace)}"]
        for src, dst in self.remaps:
            args += ["-r", f"{src}:={dst}"]
        for p in list(self.params_files) + list(extra_params or []):
            args += ["--params-file", p]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={_param_text(value)}"]
        return args


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def normalize_namespace(ns: str) -> str:
    """'robot1' or '/robot1/' -> '/robot1'; '' stays ''."""
    ns = ns.strip().strip("/")
    return f"/{ns}" if ns else ""


def _own_params(name: str) -> tuple[str, ...]:
    path = config_path(name)
    return (str(path),) if path.is_file() else ()


def nodes(
    sim: bool = False,
    use_sim_time: bool | None = None,
    model: str | None = None,
    params_file: str | Path | None = None,
) -> list[NodeSpec]:
    """The node set for a real robot (`sim=False`) or the embedded simulator (`sim=True`).

    `params_file` is an extra params file applied to every node after its own defaults (use
    `/**:` or node-name keys in it); `use_sim_time` defaults to True in the simulator.
    """
    if use_sim_time is None:
        use_sim_time = sim
    extra = (str(params_file),) if params_file else ()
    specs = []
    for name in NODE_NAMES:
        if name == "sim" and not sim:
            continue
        parameters: dict[str, object] = {"use_sim_time": use_sim_time}
        if name == "reasoning" and model:
            parameters["model"] = model
        specs.append(
            NodeSpec(
                name=name,
                executable=name,
                params_files=_own_params(name) + extra,
                remaps=SIM_REMAPS if sim else (),
                parameters=parameters,
                sim_only=name == "sim",
                critical=name == "safety_gate",
            )
        )
    return specs
