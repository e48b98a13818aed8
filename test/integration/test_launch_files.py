"""The real launch files, where launch/launch_ros are installed (a ROS 2 install).

They cannot be installed from PyPI, so pip-only runs skip with that reason; they are never
replaced by stand-ins. The same node set is covered pip-only through graph.py and
`synth-agent up`.
"""

import importlib.util
import runpy

import pytest

from synth_agent.graph import nodes
from synth_agent.paths import SOURCE_ROOT

HAVE_LAUNCH = all(importlib.util.find_spec(m) for m in ("launch", "launch_ros"))
pytestmark = pytest.mark.skipif(
    not HAVE_LAUNCH, reason="launch and launch_ros are not installable from PyPI; needs ROS 2"
)


@pytest.mark.parametrize("name, sim", [("agent.launch.py", False), ("sim.launch.py", True)])
def test_launch_file_starts_the_graph_nodes(name, sim):
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    from launch import LaunchContext

    module = runpy.run_path(str(SOURCE_ROOT / "launch" / name))
    description = module["generate_launch_description"]()
    declared = {e.name for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert {"namespace", "params_file", "use_sim_time", "model"} <= declared
    context = LaunchContext()
    for entity in description.entities:
        if isinstance(entity, DeclareLaunchArgument):
            entity.visit(context)
    context.launch_configurations["namespace"] = "robot1"
    opaque = next(e for e in description.entities if isinstance(e, OpaqueFunction))
    launched = opaque.execute(context)
    assert [n.node_executable for n in launched] == [s.executable for s in nodes(sim=sim)]


def _have_ros_gz() -> bool:
    if not HAVE_LAUNCH:
        return False
    try:
        from ament_index_python.packages import get_package_share_directory

        get_package_share_directory("ros_gz_sim")
        get_package_share_directory("ros_gz_bridge")
    except (ImportError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH
        return False
    return True


@pytest.mark.skipif(not _have_ros_gz(), reason="needs ros_gz_sim and ros_gz_bridge (Gazebo)")
def test_gazebo_launch_file_starts_bridge_and_robot_graph():
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch_ros.actions import Node

    from launch import LaunchContext

    module = runpy.run_path(str(SOURCE_ROOT / "launch" / "gazebo.launch.py"))
    description = module["generate_launch_description"]()
    context = LaunchContext()
    for entity in description.entities:
        if isinstance(entity, DeclareLaunchArgument):
            entity.visit(context)
    opaque = next(e for e in description.entities if isinstance(e, OpaqueFunction))
    launched = [a for a in opaque.execute(context) if isinstance(a, Node)]
    assert [n.node_executable for n in launched] == ["parameter_bridge"] + [
        s.executable for s in nodes(sim=False)
    ]
