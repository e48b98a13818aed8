"""`ros2 launch` and `synth-agent up` start the same graph, checked without launch_ros.

launch/launch_ros cannot be installed from PyPI, so this test compares the pure half of
synth_agent/launch_description.py (`node_kwargs`, the arguments of every launch_ros Node) with
the command lines the pip-only launcher gives its processes (`NodeSpec.ros_args`), and reads
launch/*.launch.py with `ast` to check they build nothing of their own. On a ROS install
test/integration/test_launch_files.py also runs the real launch files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from synth_agent import launch_description
from synth_agent.graph import nodes
from synth_agent.launch_description import gazebo_node_kwargs, node_kwargs
from synth_agent.paths import SOURCE_ROOT

LAUNCH_DIR = SOURCE_ROOT / "launch"
# Which function of launch_description each launch file must call, and with what.
LAUNCH_FILES = {
    "agent.launch.py": ("generate", {"sim": False}),
    "sim.launch.py": ("generate", {"sim": True}),
    "gazebo.launch.py": ("generate_gazebo", {}),
}


def parse_ros_args(args: list[str]) -> dict:
    """What a `--ros-args ...` command line asks for: node name, namespace, remaps, params
    files (in order) and single parameters."""
    assert args[0] == "--ros-args"
    out: dict = {"name": None, "namespace": "", "remaps": [], "files": [], "params": {}}
    it = iter(args[1:])
    for flag in it:
        value = next(it)
        if flag == "-r":
            src, dst = value.split(":=", 1)
            if src == "__node":
                out["name"] = dst
            elif src == "__ns":
                out["namespace"] = dst
            else:
                out["remaps"].append((src, dst))
        elif flag == "--params-file":
            out["files"].append(value)
        elif flag == "-p":
            key, text = value.split(":=", 1)
            out["params"][key] = text
        else:
            raise AssertionError(f"unexpected flag {flag}")
    return out


def from_launch_kwargs(kw: dict) -> dict:
    """The same description from launch_ros Node kwargs (files, then one dict of parameters)."""
    *files, params = kw["parameters"]
    assert all(isinstance(f, str) for f in files) and isinstance(params, dict)
    text = {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in params.items()
    }
    return {
        "name": kw["name"],
        "namespace": kw["namespace"] or "",
        "remaps": [tuple(r) for r in kw["remappings"]],
        "files": files,
        "params": text,
    }


CASES = [
    {"sim": True},
    {"sim": False},
    {"sim": True, "namespace": "robot1"},
    {"sim": False, "namespace": "/robot2/", "use_sim_time": True, "model": "/models/qwen"},
    {"sim": True, "namespace": "a/b", "params_file": "/etc/site.yaml", "use_sim_time": False},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_launch_nodes_equal_what_synth_agent_up_starts(case):
    namespace = case.get("namespace", "")
    graph_args = {k: v for k, v in case.items() if k != "namespace"}
    specs = nodes(**graph_args)
    launched = node_kwargs(**case)
    assert [kw["executable"] for kw in launched] == [s.executable for s in specs]
    assert {kw["package"] for kw in launched} == {"synth_agent"}
    for spec, kw in zip(specs, launched, strict=True):
        assert from_launch_kwargs(kw) == parse_ros_args(spec.ros_args(namespace)), spec.name


def test_sim_graph_keeps_its_clock_in_its_namespace():
    for kw in node_kwargs(sim=True, namespace="robot1"):
        assert ("/clock", "clock") in kw["remappings"], kw["name"]
    for kw in node_kwargs(sim=False, namespace="robot1"):
        assert kw["remappings"] == [], "a robot or Gazebo graph keeps the global /clock"


def test_gazebo_graph_is_the_bridge_plus_the_robot_graph():
    bridge, *rest = gazebo_node_kwargs("/share/gz_bridge.yaml", namespace="robot1")
    assert (bridge["package"], bridge["executable"]) == ("ros_gz_bridge", "parameter_bridge")
    assert bridge["namespace"] == "/robot1"
    assert bridge["parameters"][0]["config_file"] == "/share/gz_bridge.yaml"
    assert rest == node_kwargs(sim=False, namespace="robot1", use_sim_time=True)
    assert "sim" not in [kw["name"] for kw in rest], "Gazebo replaces the embedded simulator"


def _imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


@pytest.mark.parametrize("name", sorted(LAUNCH_FILES))
def test_launch_file_only_calls_launch_description(name):
    """Each launch file is one call into synth_agent.launch_description: no Node of its own,
    no parameters or remaps that graph.py would not know about."""
    tree = ast.parse((LAUNCH_DIR / name).read_text(), filename=name)
    function, kwargs = LAUNCH_FILES[name]
    assert _imports(tree) == [f"synth_agent.launch_description.{function}"]
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [d.name for d in defs] == ["generate_launch_description"]
    (ret,) = defs[0].body
    assert isinstance(ret, ast.Return) and isinstance(ret.value, ast.Call)
    call = ret.value
    assert isinstance(call.func, ast.Name) and call.func.id == function
    assert not call.args
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == kwargs
    assert callable(getattr(launch_description, function))


def test_every_launch_file_is_checked():
    assert {p.name for p in LAUNCH_DIR.glob("*.launch.py")} == set(LAUNCH_FILES)


def test_launch_description_imports_without_launch():
    """Module-level imports stay within synth_agent and the standard library, so
    node_kwargs() runs pip-only; launch imports live inside the functions that need them."""
    tree = ast.parse(Path(launch_description.__file__).read_text())
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    roots = {i.split(".")[0] for i in _imports(ast.Module(body=top_level, type_ignores=[]))}
    assert roots <= {"synth_agent", "__future__", "pathlib", "typing"}, roots
