"""Latency the safety gate adds, against a plain relay node, and e-stop-to-zero latency.

Setup: the `safety_gate` console script and `bench/relay_node.py` run as separate processes on a
private ROS domain (localhost discovery), each with its own input and output topic; this process
publishes to both and timestamps what comes back (an in-process probe node, its own thread).
Latency is receive time minus publish time, in the same process and clock, so it includes both
middleware hops and the measuring node's executor for gate and relay alike; the difference
between the two is what the gate's work costs.

1. 50 Hz: both nodes get the same command stream at 50 Hz (alternating which is sent first);
   each input's latency is the time to the first output after it.
2. Max rate: closed loop, one node at a time: the next command is sent as soon as the previous
   output arrives, so the rate is as high as the pair can go with no queueing.
3. E-stop: while the gate drives at 0.2 m/s from a 50 Hz stream, `safety/estop` true (topic)
   or the `safety/estop` SetBool service; latency to the first zero on the gate's output. Then
   stop input false, `safety/reset`, and wait for motion before the next trial.

Usage: .venv/bin/python bench/gate_latency.py [--messages 10000] [--estop-trials 300] [--quick]
Writes bench/results/gate_latency.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geometry_msgs.msg import Twist  # noqa: E402
from std_msgs.msg import Bool  # noqa: E402
from std_srvs.srv import SetBool, Trigger  # noqa: E402

from synth_agent.core import contract  # noqa: E402
from synth_agent.env import apply_safe_defaults  # noqa: E402
from synth_agent.nodes.qos import profile  # noqa: E402
from synth_agent.testing import DomainLease, NodeProcess, Probe, ros_env, wait_until  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gate_latency.json"
VX = 0.2  # inside every limit, so once ramped the gate outputs exactly what it gets


class Outputs:
    """Receive times (perf_counter ns) and values of one output topic."""

    def __init__(self) -> None:
        self.times: list[int] = []
        self.values: list[float] = []
        self.event = threading.Event()

    def __call__(self, msg: Twist) -> None:
        self.times.append(time.perf_counter_ns())
        self.values.append(msg.linear.x)
        self.event.set()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def summary(lat_ms: list[float], sent: int) -> dict:
    if not lat_ms:
        return {"n": 0, "lost": sent}
    return {
        "n": len(lat_ms),
        "lost": sent - len(lat_ms),
        "p50_ms": round(pct(lat_ms, 50), 4),
        "p99_ms": round(pct(lat_ms, 99), 4),
        "mean_ms": round(statistics.fmean(lat_ms), 4),
        "max_ms": round(max(lat_ms), 4),
    }


def first_after(times: list[int], start: int, t0: int, t1: int | None) -> tuple[int, int | None]:
    """Index scan: the first receive time in [t0, t1); returns (next index, time or None)."""
    i = start
    while i < len(times) and times[i] < t0:
        i += 1
    if i < len(times) and (t1 is None or times[i] < t1):
        return i + 1, times[i]
    return i, None


def twist(vx: float) -> Twist:
    msg = Twist()
    msg.linear.x = vx
    return msg


def run_50hz(probe, pubs, outs, n: int) -> dict:
    """Both nodes, same stream, 50 Hz; returns per-node latency lists (ms)."""
    sends: dict[str, list[int]] = {k: [] for k in pubs}
    period = 0.02
    start = time.perf_counter()
    msg = twist(VX)
    names = list(pubs)
    for i in range(n):
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            sends[name].append(time.perf_counter_ns())
            pubs[name].publish(msg)
        next_at = start + (i + 1) * period
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    time.sleep(0.5)
    result = {}
    for name in names:
        times, idx, lat = outs[name].times, 0, []
        s = sends[name]
        for k, t0 in enumerate(s):
            t1 = s[k + 1] if k + 1 < len(s) else None
            idx, r = first_after(times, idx, t0, t1)
            if r is not None:
                lat.append((r - t0) / 1e6)
        result[name] = lat
    return result


def run_max_rate(pub, out: Outputs, n: int, timeout: float = 2.0) -> tuple[list[float], float]:
    """Closed loop: send, wait for the output, send the next. Returns latencies and the rate."""
    msg = twist(VX)
    lat: list[float] = []
    t_start = time.perf_counter()
    for _ in range(n):
        out.event.clear()
        count = len(out.times)
        t0 = time.perf_counter_ns()
        pub.publish(msg)
        if not out.event.wait(timeout):
            continue
        while len(out.times) <= count:  # the event may be from a stale output
            if not out.event.wait(timeout):
                break
            out.event.clear()
        if len(out.times) > count:
            lat.append((out.times[count] - t0) / 1e6)
    rate = n / (time.perf_counter() - t_start)
    return lat, rate


def run_estop(probe, gate_pub, gate_out: Outputs, trials: int, via: str) -> list[float]:
    """E-stop to the first zero on the gate's output, `trials` times."""
    estop_pub = probe.publisher(Bool, contract.ESTOP.name, profile(contract.ESTOP))
    probe.wait_for_subscribers(estop_pub, timeout=20)
    reset = probe.node.create_client(Trigger, "safety/reset")
    stop_srv = probe.node.create_client(SetBool, "safety/estop")
    assert reset.wait_for_service(timeout_sec=20) and stop_srv.wait_for_service(timeout_sec=20)
    stop = threading.Event()

    def stream() -> None:
        msg = twist(VX)
        while not stop.is_set():
            gate_pub.publish(msg)
            stop.wait(0.02)

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    lat: list[float] = []

    def call(client, request) -> None:
        future = client.call_async(request)
        wait_until(future.done, 10, "a service reply")

    try:
        for _ in range(trials):
            wait_until(lambda: gate_out.values and gate_out.values[-1] > 0.0, 10, "the gate moving")
            time.sleep(0.05)
            count = len(gate_out.times)
            t0 = time.perf_counter_ns()
            if via == "topic":
                estop_pub.publish(Bool(data=True))
            else:
                stop_srv.call_async(SetBool.Request(data=True))

            def zero_seen(count: int = count) -> int | None:
                for k in range(count, len(gate_out.values)):
                    if gate_out.values[k] == 0.0:
                        return gate_out.times[k]
                return None

            t_zero = wait_until(zero_seen, 10, "the zero after the e-stop", interval=0.001)
            lat.append((t_zero - t0) / 1e6)
            if via == "topic":
                estop_pub.publish(Bool(data=False))
            else:
                call(stop_srv, SetBool.Request(data=False))
            time.sleep(0.02)
            call(reset, Trigger.Request())
    finally:
        stop.set()
        thread.join(2)
    return lat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--estop-trials", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a short run (not for the record)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.estop_trials = 500, 30

    apply_safe_defaults()
    lease = DomainLease()
    env = ros_env(lease.domain_id)
    logs = Path(tempfile.mkdtemp(prefix="gate_latency_"))
    gate = NodeProcess(
        [
            "safety_gate",
            "--ros-args",
            "-r",
            "agent/cmd_vel:=bench/gate_in",
            "-r",
            "cmd_vel:=bench/gate_out",
            "-p",
            "use_scan:=false",
            "-p",
            f"audit_log:={logs / 'audit.jsonl'}",
            "-p",
            "stop_publish_timeout:=0.5",
        ],
        env,
        logs,
        name="safety_gate",
    )
    relay = NodeProcess(
        [
            sys.executable,
            str(ROOT / "bench" / "relay_node.py"),
            "bench/relay_in",
            "bench/relay_out",
        ],
        env,
        logs,
        name="relay",
    )
    probe = None
    try:
        gate.wait_for_output("safety_gate ready", 30)
        relay.wait_for_output("relay ready", 30)
        probe = Probe(lease.domain_id, name="gate_latency_bench")
        qos = profile(contract.CMD_VEL)
        outs = {"gate": Outputs(), "relay": Outputs()}
        probe.node.create_subscription(Twist, "bench/gate_out", outs["gate"], qos)
        probe.node.create_subscription(Twist, "bench/relay_out", outs["relay"], qos)
        pubs = {
            "gate": probe.publisher(Twist, "bench/gate_in", qos),
            "relay": probe.publisher(Twist, "bench/relay_in", qos),
        }
        for pub in pubs.values():
            probe.wait_for_subscribers(pub, timeout=30)
        wait_until(lambda: probe.node.count_publishers("bench/gate_out") >= 1, 30, "gate output")
        wait_until(lambda: probe.node.count_publishers("bench/relay_out") >= 1, 30, "relay out")
        time.sleep(1.0)
        # Warm up: the gate ramps to VX; both pipelines are exercised once.
        run_50hz(probe, pubs, outs, 100)

        print(f"50 Hz: {args.messages} messages to each node ...", flush=True)
        lat50 = run_50hz(probe, pubs, outs, args.messages)
        print("max rate (closed loop) ...", flush=True)
        maxrate = {}
        for name in ("relay", "gate"):
            run_max_rate(pubs[name], outs[name], 200)  # warm-up
            lat, rate = run_max_rate(pubs[name], outs[name], args.messages)
            maxrate[name] = (lat, rate)
        print(f"e-stop: {args.estop_trials} trials via the topic ...", flush=True)
        estop_topic = run_estop(probe, pubs["gate"], outs["gate"], args.estop_trials, "topic")
        n_srv = max(10, args.estop_trials // 3)
        print(f"e-stop: {n_srv} trials via the service ...", flush=True)
        estop_srv = run_estop(probe, pubs["gate"], outs["gate"], n_srv, "service")
    finally:
        if probe is not None:
            probe.close()
        relay.stop()
        gate.stop()
        lease.release()

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "rmw": os.environ.get("RMW_IMPLEMENTATION", "default (rmw_fastrtps_cpp)"),
        },
        "messages": args.messages,
        "rate_50hz": {
            "gate": summary(lat50["gate"], args.messages),
            "relay": summary(lat50["relay"], args.messages),
        },
        "max_rate": {
            name: {**summary(lat, args.messages), "rate_hz": round(rate, 1)}
            for name, (lat, rate) in maxrate.items()
        },
        "estop_to_zero": {
            "topic": summary(estop_topic, args.estop_trials),
            "service": summary(estop_srv, n_srv),
        },
    }
    for key in ("rate_50hz", "max_rate"):
        g, r = report[key]["gate"], report[key]["relay"]
        if g.get("n") and r.get("n"):
            report[key]["added_p50_ms"] = round(g["p50_ms"] - r["p50_ms"], 4)
            report[key]["added_p99_ms"] = round(g["p99_ms"] - r["p99_ms"], 4)
    report["targets"] = {
        "gate_p99_at_most_1ms_above_relay_50hz": report["rate_50hz"].get("added_p99_ms", 99) <= 1.0,
        "gate_p99_at_most_1ms_above_relay_max_rate": report["max_rate"].get("added_p99_ms", 99)
        <= 1.0,
        "estop_topic_p99_under_5ms": report["estop_to_zero"]["topic"].get("p99_ms", 99) < 5.0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    rows = [
        ("50 Hz", "relay", report["rate_50hz"]["relay"]),
        ("50 Hz", "gate", report["rate_50hz"]["gate"]),
        ("max rate", "relay", report["max_rate"]["relay"]),
        ("max rate", "gate", report["max_rate"]["gate"]),
        ("e-stop→0", "topic", report["estop_to_zero"]["topic"]),
        ("e-stop→0", "service", report["estop_to_zero"]["service"]),
    ]
    print(
        f"\n{'case':<10} {'node':<8} {'n':>6} {'lost':>5} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'rate Hz':>8}"
    )
    for case, node, s in rows:
        rate = s.get("rate_hz", "")
        print(
            f"{case:<10} {node:<8} {s.get('n', 0):>6} {s.get('lost', 0):>5} "
            f"{s.get('p50_ms', float('nan')):>8.3f} {s.get('p99_ms', float('nan')):>8.3f} "
            f"{s.get('max_ms', float('nan')):>8.3f} {rate!s:>8}"
        )
    for key in ("rate_50hz", "max_rate"):
        print(
            f"gate added ({key}): p50 {report[key].get('added_p50_ms')} ms, "
            f"p99 {report[key].get('added_p99_ms')} ms"
        )
    print("targets:", json.dumps(report["targets"]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
