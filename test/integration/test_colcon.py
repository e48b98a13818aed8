"""The integrator's path: `colcon build` in a scratch ROS workspace.

colcon must identify the package as ros.ament_python (catkin-pkg rejects a package.xml with an
invalid maintainer e-mail and colcon then silently builds it as plain Python), install launch/
and config/ into share/synth_agent, and a node started from the install must find its
parameters through the ament index.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rcl_interfaces.srv import GetParameters

from synth_agent.nodes.entry import node_available
from synth_agent.paths import SOURCE_ROOT
from synth_agent.testing import NodeProcess, call_service, ros_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BIN = Path(sys.executable).parent
COLCON = shutil.which("colcon", path=str(BIN)) or shutil.which("colcon")


def source_files() -> list[str]:
    """The package's tracked and untracked-not-ignored files, as a fresh clone would have."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=SOURCE_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [f for f in out if (SOURCE_ROOT / f).is_file()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    if COLCON is None:
        pytest.skip("colcon is not installed (make setup installs colcon-common-extensions)")
    ws = tmp_path_factory.mktemp("ws")
    pkg = ws / "src" / "synth_agent"
    for rel in source_files():
        dst = pkg / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SOURCE_ROOT / rel, dst)
    listing = subprocess.run([COLCON, "list"], cwd=ws, capture_output=True, text=True, check=True)
    build = subprocess.run(
        [COLCON, "build", "--event-handlers", "console_direct-"],
        cwd=ws, capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return ws, listing.stdout


def setup_env(ws: Path) -> dict[str, str]:
    """The environment after `source install/setup.bash`."""
    out = subprocess.run(
        ["bash", "-c", "source install/setup.bash && env -0"],
        cwd=ws, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def test_colcon_identifies_an_ament_python_package(workspace):
    _, listing = workspace
    assert "synth_agent" in listing and "(ros.ament_python)" in listing, listing


def test_install_has_launch_config_marker_and_node_scripts(workspace):
    ws, _ = workspace
    share = ws / "install" / "synth_agent" / "share"
    assert (share / "ament_index" / "resource_index" / "packages" / "synth_agent").is_file()
    for rel in [
        "launch/agent.launch.py", "launch/sim.launch.py", "launch/gazebo.launch.py", "package.xml",
        "worlds/apartment.sdf", "config/gz_bridge.yaml", "config/map.yaml", "config/map.pgm",
    ]:  # fmt: skip
        assert (share / "synth_agent" / rel).is_file(), rel
    configs = {p.name for p in (SOURCE_ROOT / "config").glob("*.yaml")}
    assert configs and configs <= {p.name for p in (share / "synth_agent" / "config").iterdir()}
    lib = ws / "install" / "synth_agent" / "lib" / "synth_agent"
    for exe in ["perception", "reasoning", "motor_control", "safety_gate", "voice", "sim"]:
        assert (lib / exe).is_file(), exe


@pytest.mark.skipif(not node_available("safety_gate"), reason="the safety gate is not built")
def test_installed_node_reads_its_parameters_through_ament_index(workspace, domain_id, probe):
    ws, _ = workspace
    installed = ws / "install" / "synth_agent" / "share" / "synth_agent" / "config"
    yaml_path = installed / "safety_gate.yaml"
    text = yaml_path.read_text()
    key = "max_linear_velocity:"
    assert key in text
    lines = [
        (ln.split(key)[0] + f"{key} 0.123") if ln.strip().startswith(key) else ln
        for ln in text.splitlines()
    ]
    yaml_path.write_text("\n".join(lines) + "\n")

    env = {**setup_env(ws), **{k: v for k, v in ros_env(domain_id).items() if k.startswith("ROS")}}
    exe = ws / "install" / "synth_agent" / "lib" / "synth_agent" / "safety_gate"
    gate = NodeProcess([str(exe)], env, ws, name="installed_gate")
    try:
        gate.wait_for_output(r"defaults from .*install/synth_agent/share/synth_agent/config")
        reply = call_service(
            probe.node,
            GetParameters,
            "/safety_gate/get_parameters",
            GetParameters.Request(names=["max_linear_velocity"]),
            timeout=20,
        )
        assert reply.values[0].double_value == pytest.approx(0.123)
    finally:
        gate.stop()
