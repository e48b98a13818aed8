"""How fast the embedded simulator runs: achieved topic rates, real-time factor and CPU.

Two parts:
1. The `sim` node as a real process (as `synth-agent up --sim` starts it), listened to by an
   in-process probe for `--seconds` of wall time: received rates of odom, camera, depth, lidar,
   joint_states and /clock, the real-time factor (simulated seconds per wall second, from
   /clock), and the node process's CPU use in cores (from /proc, user + system time).
2. The core costs in this process: physics step, lidar scan, camera render (RGB and RGB+depth).

Usage: .venv/bin/python bench/sim_rate.py [--seconds 20] [--rtf 1.0]
Writes bench/results/sim_rate.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synth_agent.env import apply_safe_defaults  # noqa: E402
from synth_agent.testing import DomainLease, NodeProcess, Probe, ros_env, wait_until  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sim_rate.json"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def node_rates(seconds: float, rtf: float) -> dict:
    from nav_msgs.msg import Odometry
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image, JointState, LaserScan

    from synth_agent.core import contract
    from synth_agent.nodes.qos import profile

    lease = DomainLease()
    log_dir = Path(tempfile.mkdtemp(prefix="sim_rate_"))
    node = NodeProcess(
        ["sim", "--ros-args", "-p", f"real_time_factor:={rtf}"], ros_env(lease.domain_id), log_dir
    )
    probe = Probe(lease.domain_id, name="sim_rate_probe")
    try:
        topics = {
            "odom": (Odometry, contract.ODOM),
            "camera/image_raw": (Image, contract.IMAGE),
            "camera/depth/image_raw": (Image, contract.DEPTH),
            "scan": (LaserScan, contract.SCAN),
            "joint_states": (JointState, contract.JOINT_STATES),
        }
        got = {name: probe.subscribe(t, c.name, profile(c)) for name, (t, c) in topics.items()}
        clock = probe.subscribe(Clock, "/clock", 10)
        wait_until(lambda: all(got.values()) and clock, 60, "every sim topic")
        time.sleep(2.0)  # past start-up transients
        counts0 = {k: len(v) for k, v in got.items()}
        c0 = clock[-1].clock
        cpu0, wall0 = cpu_seconds(node.proc.pid), time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - wall0
        cpu = cpu_seconds(node.proc.pid) - cpu0
        c1 = clock[-1].clock
        sim_dt = (c1.sec - c0.sec) + (c1.nanosec - c0.nanosec) * 1e-9
        rates = {k: (len(v) - counts0[k]) / wall for k, v in got.items()}
        return {
            "wall_s": wall,
            "real_time_factor_requested": rtf,
            "real_time_factor": sim_dt / wall,
            "rates_hz": rates,
            "cpu_cores": cpu / wall,
            "backend": _backend_from_log(node.output),
        }
    finally:
        probe.close()
        node.stop()
        lease.release()


def _backend_from_log(text: str) -> str:
    marker = "MUJOCO_GL="
    i = text.find(marker)
    return text[i + len(marker) :].split(",")[0] if i >= 0 else "?"


def core_costs(repeats: int = 50) -> dict:
    from synth_agent.sim.config import SimConfig
    from synth_agent.sim.simulation import Simulation

    sim = Simulation(SimConfig())
    try:
        sim.set_cmd_vel(0.3, 0.2)
        t = time.perf_counter()
        n = sim.advance(2.0)
        step_us = (time.perf_counter() - t) / n * 1e6
        t = time.perf_counter()
        for _ in range(repeats):
            sim.scan()
        scan_ms = (time.perf_counter() - t) / repeats * 1e3
        sim.camera.prepare()
        sim.camera.render()  # warm-up: context and buffers
        t = time.perf_counter()
        for _ in range(repeats):
            sim.camera.prepare()
            sim.camera.render(depth=False)
        rgb_ms = (time.perf_counter() - t) / repeats * 1e3
        t = time.perf_counter()
        for _ in range(repeats):
            sim.camera.prepare()
            sim.camera.render()
        rgbd_ms = (time.perf_counter() - t) / repeats * 1e3
    finally:
        sim.close()
    return {
        "physics_step_us": step_us,
        "physics_x_realtime": 1e6 * sim.timestep / step_us,
        "lidar_scan_ms": scan_ms,
        "render_rgb_ms": rgb_ms,
        "render_rgbd_ms": rgbd_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measurement window (wall)")
    parser.add_argument("--rtf", type=float, default=1.0, help="real_time_factor for the node")
    args = parser.parse_args(argv)
    apply_safe_defaults()

    core = core_costs()
    node = node_rates(args.seconds, args.rtf)
    from synth_agent.sim.config import SimConfig

    cfg = SimConfig()
    targets = {
        "odom": cfg.odom_rate_hz,
        "camera/image_raw": cfg.camera_rate_hz,
        "camera/depth/image_raw": cfg.camera_rate_hz,
        "scan": cfg.lidar_rate_hz,
        "joint_states": cfg.joint_states_rate_hz,
    }
    result = {
        "benchmark": "sim_rate",
        "host": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "load_avg_1m": os.getloadavg()[0],
        "image": f"{cfg.image_width}x{cfg.image_height}",
        "node": node,
        "targets_hz": {k: v * args.rtf for k, v in targets.items()},
        "core": core,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"sim node, {node['wall_s']:.0f} s window, MUJOCO_GL={node['backend']}, "
        f"image {result['image']}, load {result['load_avg_1m']:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"| {'topic':<24} | {'target Hz':>9} | {'achieved Hz':>11} |")
    print(f"|{'-' * 26}|{'-' * 11}|{'-' * 13}|")
    for name, rate in node["rates_hz"].items():
        print(f"| {name:<24} | {result['targets_hz'][name]:>9.1f} | {rate:>11.1f} |")
    print(f"| {'real-time factor':<24} | {args.rtf:>9.2f} | {node['real_time_factor']:>11.3f} |")
    print(f"| {'sim process CPU (cores)':<24} | {'<= 1':>9} | {node['cpu_cores']:>11.2f} |")
    print()
    print(f"| {'core cost':<24} | {'value':>11} |")
    print(f"|{'-' * 26}|{'-' * 13}|")
    print(f"| {'physics step':<24} | {core['physics_step_us']:>8.1f} us |")
    print(f"| {'physics speed':<24} | {core['physics_x_realtime']:>9.1f} x |")
    print(f"| {'lidar scan (360 rays)':<24} | {core['lidar_scan_ms']:>8.2f} ms |")
    print(f"| {'render RGB':<24} | {core['render_rgb_ms']:>8.2f} ms |")
    print(f"| {'render RGB + depth':<24} | {core['render_rgbd_ms']:>8.2f} ms |")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
