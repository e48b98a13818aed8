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
