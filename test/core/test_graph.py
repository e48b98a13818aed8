"""graph.py: the node set both launchers start."""

from synth_agent.env import apply_safe_defaults
from synth_agent.graph import NODE_NAMES, NodeSpec, nodes, normalize_namespace


def test_gate_starts_first_and_sim_only_in_sim():
    robot = [s.name for s in nodes(sim=False)]
    sim = [s.name for s in nodes(sim=True)]
    assert robot[0] == sim[0] == "safety_gate"
    assert "sim" not in robot and "sim" in sim
    assert set(sim) == set(NODE_NAMES)
    assert [s.name for s in nodes(sim=True) if s.critical] == ["safety_gate"]


def test_use_sim_time_follows_sim_unless_given():
    assert all(s.parameters["use_sim_time"] is True for s in nodes(sim=True))
    assert all(s.parameters["use_sim_time"] is False for s in nodes(sim=False))
    assert all(s.parameters["use_sim_time"] is True for s in nodes(sim=False, use_sim_time=True))


def test_model_goes_to_reasoning_only():
    specs = {s.name: s for s in nodes(sim=True, model="/models/qwen")}
    assert specs["reasoning"].parameters["model"] == "/models/qwen"
    assert all("model" not in s.parameters for n, s in specs.items() if n != "reasoning")


def test_ros_args_namespace_remaps_and_params(tmp_path):
    spec = NodeSpec(
        name="safety_gate",
        executable="safety_gate",
        params_files=("/a.yaml",),
        remaps=(("cmd_vel", "base/cmd_vel"),),
        parameters={"use_sim_time": True, "rate": 2.5},
    )
    args = spec.ros_args("robot1/", extra_params=[str(tmp_path / "b.yaml")])
    assert args == [
        "--ros-args",
        "-r", "__node:=safety_gate",
        "-r", "__ns:=/robot1",
        "-r", "cmd_vel:=base/cmd_vel",
        "--params-file", "/a.yaml",
        "--params-file", str(tmp_path / "b.yaml"),
        "-p", "use_sim_time:=true",
        "-p", "rate:=2.5",
    ]  # fmt: skip


def test_extra_params_file_applies_to_every_node(tmp_path):
    extra = tmp_path / "site.yaml"
    for spec in nodes(sim=True, params_file=extra):
        assert spec.params_files[-1] == str(extra)


def test_normalize_namespace():
    assert normalize_namespace("") == ""
    assert normalize_namespace("robot1") == "/robot1"
    assert normalize_namespace("/robot1/") == "/robot1"
    assert normalize_namespace(" /a/b ") == "/a/b"


def test_safe_defaults_respect_the_user():
    env = {}
    assert apply_safe_defaults(env) == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    env = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    assert apply_safe_defaults(env) == {}
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"
