"""Build a launch_ros LaunchDescription from graph.py (used by launch/*.launch.py).

Kept in the package rather than in the launch files so both launch files share it and it can
be imported (and tested) wherever launch_ros is installed. This module imports launch and
launch_ros, which exist only on a ROS install; nothing else in synth_agent imports it.
"""

from __future__ import annotations

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from synth_agent.graph import nodes, normalize_namespace

ARGUMENTS = {
    "namespace": ("", "namespace for every node and topic (e.g. robot1)"),
    "params_file": ("", "extra ROS params file applied to every node after its defaults"),
    "use_sim_time": ("", "true/false; empty = true with the simulator, false on a robot"),
    "model": ("", "reasoning model: a local folder or an OpenAI-compatible model name"),
}


def _nodes(context, sim: bool):
    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context).strip()

    use_sim_time = {"true": True, "false": False}.get(arg("use_sim_time").lower())
    specs = nodes(
        sim=sim,
        use_sim_time=use_sim_time,
        model=arg("model") or None,
        params_file=arg("params_file") or None,
    )
    namespace = normalize_namespace(arg("namespace"))
    return [
        Node(
            package="synth_agent",
            executable=spec.executable,
            name=spec.name,
            namespace=namespace or None,
            parameters=list(spec.params_files) + [dict(spec.parameters)],
            remappings=list(spec.remaps),
            output="screen",
            emulate_tty=True,
        )
        for spec in specs
    ]


def generate(sim: bool) -> LaunchDescription:
    """The synth_agent graph with (`sim=True`) or without the embedded simulator."""
    declared = [
        DeclareLaunchArgument(name, default_value=default, description=doc)
        for name, (default, doc) in ARGUMENTS.items()
    ]
    return LaunchDescription(
        declared + [OpaqueFunction(function=lambda context: _nodes(context, sim))]
    )
