"""Build launch_ros LaunchDescriptions from graph.py (used by launch/*.launch.py).

Kept in the package rather than in the launch files so the launch files share it and it can be
tested. It is split in two on purpose:

- `node_kwargs()` is pure: the keyword arguments of every `launch_ros.actions.Node`, computed
  from `graph.nodes()` with no launch import. Tests run it pip-only and compare it with what
  `synth-agent up` starts (test/core/test_launch_graph.py), so the two ways of starting the
  robot cannot drift even where launch_ros is not installed.
- `generate()` and `generate_gazebo()` wrap those kwargs in launch actions. launch, launch_ros
  and ament_index_python exist only on a ROS install, so they are imported inside the
  functions; importing this module never needs them.

Every launch file goes through this module and nothing else (checked with `ast` by the same
test), so a launch file cannot quietly grow a node that graph.py does not know about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth_agent.graph import nodes, normalize_namespace

PACKAGE = "synth_agent"
ARGUMENTS = {
    "namespace": ("", "namespace for every node and topic (e.g. robot1)"),
    "params_file": ("", "extra ROS params file applied to every node after its defaults"),
    "use_sim_time": ("", "true/false; empty = true with a simulator, false on a robot"),
    "model": ("", "reasoning model: a local folder or an OpenAI-compatible model name"),
}
GAZEBO_ARGUMENTS = {
    "world": ("", "SDF world; empty = the packaged apartment (worlds/apartment.sdf)"),
    "gz_args": ("-r", "extra arguments for `gz sim` (-r runs at start; add -s for headless)"),
}


def node_kwargs(
    sim: bool,
    namespace: str = "",
    use_sim_time: bool | None = None,
    model: str | None = None,
    params_file: str | None = None,
) -> list[dict[str, Any]]:
    """Keyword arguments for one `launch_ros.actions.Node` per graph.py node, in start order.

    Parameters files come first, then a dict with the node's own parameters (use_sim_time,
    model), the same order in which `NodeSpec.ros_args` passes them to `synth-agent up`'s
    processes, so the later one wins in both."""
    ns = normalize_namespace(namespace)
    specs = nodes(sim=sim, use_sim_time=use_sim_time, model=model, params_file=params_file)
    return [
        {
            "package": PACKAGE,
            "executable": spec.executable,
            "name": spec.name,
            "namespace": ns or None,
            "parameters": list(spec.params_files) + [dict(spec.parameters)],
            "remappings": list(spec.remaps),
            "output": "screen",
            "emulate_tty": True,
        }
        for spec in specs
    ]


def gazebo_node_kwargs(
    bridge_config: str,
    namespace: str = "",
    use_sim_time: bool | None = None,
    model: str | None = None,
    params_file: str | None = None,
) -> list[dict[str, Any]]:
    """Node kwargs for the Gazebo graph: ros_gz_bridge, then graph.py's robot node set.

    Gazebo replaces the embedded simulator, so the nodes are the robot graph (`sim=False`) on
    simulated time unless told otherwise. The bridge runs in the nodes' namespace, so its ROS
    topics move with them; /clock stays global, because there is one Gazebo world."""
    ns = normalize_namespace(namespace)
    bridge = {
        "package": "ros_gz_bridge",
        "executable": "parameter_bridge",
        "name": "gz_bridge",
        "namespace": ns or None,
        "parameters": [{"config_file": bridge_config, "use_sim_time": True}],
        "output": "screen",
    }
    sim_time = True if use_sim_time is None else use_sim_time
    return [bridge] + node_kwargs(
        sim=False, namespace=ns, use_sim_time=sim_time, model=model, params_file=params_file
    )


def _arguments(context: Any) -> dict[str, Any]:
    """The launch arguments of ARGUMENTS, performed, as node_kwargs() arguments."""
    from launch.substitutions import LaunchConfiguration

    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context).strip()

    return {
        "namespace": arg("namespace"),
        "use_sim_time": {"true": True, "false": False}.get(arg("use_sim_time").lower()),
        "model": arg("model") or None,
        "params_file": arg("params_file") or None,
    }


def _declare(arguments: dict[str, tuple[str, str]]) -> list[Any]:
    from launch.actions import DeclareLaunchArgument

    return [
        DeclareLaunchArgument(name, default_value=default, description=doc)
        for name, (default, doc) in arguments.items()
    ]


def generate(sim: bool) -> Any:
    """The synth_agent graph with (`sim=True`) or without the embedded simulator."""
    from launch.actions import OpaqueFunction
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def _nodes(context: Any) -> list[Any]:
        return [Node(**kw) for kw in node_kwargs(sim=sim, **_arguments(context))]

    return LaunchDescription(_declare(ARGUMENTS) + [OpaqueFunction(function=_nodes)])


def share_file(*parts: str) -> Path:
    """A file installed into share/synth_agent (through the ament index), or the source tree's
    copy when the package runs from a checkout."""
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory(PACKAGE)).joinpath(*parts)
        if installed.exists():
            return installed
    except (ImportError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH set
        pass
    return Path(__file__).resolve().parent.parent.joinpath(*parts)


def generate_gazebo() -> Any:
    """The synth_agent graph on Gazebo (Harmonic or newer) instead of the embedded simulator:
    `gz sim` with the apartment world generated from the MuJoCo model (synth_agent/sim/sdf.py),
    and the nodes of `gazebo_node_kwargs()` (ros_gz_bridge with config/gz_bridge.yaml, then the
    robot graph on simulated time)."""
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import IncludeLaunchDescription, OpaqueFunction
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    def _world_and_nodes(context: Any) -> list[Any]:
        world = LaunchConfiguration("world").perform(context).strip()
        world = world or str(share_file("worlds", "apartment.sdf"))
        gz_args = LaunchConfiguration("gz_args").perform(context).strip()
        gz_launch = Path(get_package_share_directory("ros_gz_sim")) / "launch" / "gz_sim.launch.py"
        gz_sim = IncludeLaunchDescription(
            PythonLaunchDescriptionSource(str(gz_launch)),
            launch_arguments={"gz_args": f"{gz_args} {world}".strip()}.items(),
        )
        bridge_config = str(share_file("config", "gz_bridge.yaml"))
        kwargs = gazebo_node_kwargs(bridge_config, **_arguments(context))
        return [gz_sim] + [Node(**kw) for kw in kwargs]

    return LaunchDescription(
        _declare(ARGUMENTS)
        + _declare(GAZEBO_ARGUMENTS)
        + [OpaqueFunction(function=_world_and_nodes)]
    )
