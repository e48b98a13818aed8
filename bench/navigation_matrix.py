"""navigate_to from every named place to every other, through real nodes in the simulator.

Issue 7 asks for the success matrix of navigate_to between all named places (the six rooms'
places of config/places.yaml plus the operator: 7 places, 42 ordered pairs) with times. Resetting
the simulator to each start place would need a teleport the robot does not have, so the runs are
chained instead: an Eulerian circuit of the complete directed graph on the places (it exists:
every place has as many ways in as out) visits every ordered pair exactly once, each run starting
where the previous one ended. The robot starts backed onto the dock, so the circuit starts there.

Everything is real: `sim` (camera off: navigation needs only the lidar and odometry), the
`safety_gate` and `motor_control` processes on a private ROS domain with simulated time; each
run is one plan on `agent/plan`, ended by its plan-level status. Success is judged on the
simulator's ground truth: the plan succeeded and the robot stands within 0.1 m and 5 degrees of
the place. A run after a failure starts wherever the robot was left; the row says so
(`started_at_place`). navigate_to steers on wheel odometry (there is no localisation against the
map), and the chain never resets it, so the rows also give the error in the odometry frame (what
the planner achieved) and the odometry's drift from the truth (what dead reckoning lost), which
grows over the tour and is what a ground-truth miss late in the tour is made of.

Usage: .venv/bin/python bench/navigation_matrix.py [--only dock,kitchen] [--timeout 240]
Writes bench/results/navigation_matrix.json and prints the matrix (seconds of simulated time
per run; x = failed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from std_msgs.msg import String  # noqa: E402

from synth_agent.core import contract  # noqa: E402
from synth_agent.core.places import Places, load_places  # noqa: E402
from synth_agent.env import apply_safe_defaults  # noqa: E402
from synth_agent.nodes.qos import profile  # noqa: E402
from synth_agent.testing import DomainLease, NodeProcess, Probe, ros_env, wait_until  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "navigation_matrix.json"
POSITION_TOL_M = 0.1
YAW_TOL_DEG = 5.0
START = "dock"  # the simulator's initial pose


def place_names(places: Places) -> list[str]:
    return [*places.places, "operator"]


def eulerian_circuit(nodes: list[str], start: str) -> list[str]:
    """Hierholzer on the complete directed graph: a closed walk using every ordered pair once."""
    unused = {a: [b for b in reversed(nodes) if b != a] for a in nodes}
    stack, walk = [start], []
    while stack:
        here = stack[-1]
        if unused[here]:
            stack.append(unused[here].pop())
        else:
            walk.append(stack.pop())
    return walk[::-1]


def pose_of(truth_msg: String) -> dict:
    return json.loads(truth_msg.data)


class Bench:
    def __init__(self, probe: Probe) -> None:
        self.truth = probe.subscribe(
            String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH)
        )
        self.status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
        self.plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
        self.probe = probe

    def latest(self) -> dict:
        return pose_of(self.truth[-1])

    def fresh(self, count: int = 3) -> dict:
        n = len(self.truth)
        wait_until(lambda: len(self.truth) >= n + count, 30, "fresh ground truth")
        return self.latest()

    def navigate(self, plan_id: str, place: str, timeout: float) -> dict:
        plan = {
            "id": plan_id,
            "command": f"go to {place}",
            "type": "plan",
            "steps": [{"skill": "navigate_to", "place": place}],
        }
        self.plans.publish(String(data=json.dumps(plan)))

        def ended():
            for m in list(self.status):
                s = json.loads(m.data)
                if s["plan_id"] == plan_id and s.get("step") is None and s["state"] != "accepted":
                    return s
            return None

        try:
            return wait_until(ended, timeout, f"the end of {plan_id}", interval=0.1)
        except TimeoutError:
            return {"state": "no_end", "detail": f"no plan-level status in {timeout:.0f} s wall"}


def run(args: argparse.Namespace) -> dict:
    places = load_places()
    names = place_names(places)
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    start = START if START in names else names[0]
    order = eulerian_circuit(names, start)
    pairs = list(zip(order[:-1], order[1:], strict=True))
    apply_safe_defaults()
    lease = DomainLease()
    env = ros_env(lease.domain_id)
    logs = Path(tempfile.mkdtemp(prefix="navigation_matrix_"))
    sim_time = ["-p", "use_sim_time:=true"]
    procs = [
        NodeProcess(["sim", "--ros-args", "-p", "camera_rate_hz:=0.0"], env, logs, "sim"),
        NodeProcess(["safety_gate", "--ros-args", *sim_time], env, logs, "safety_gate"),
        NodeProcess(["motor_control", "--ros-args", *sim_time], env, logs, "motor_control"),
    ]
    os.environ["ROS_DOMAIN_ID"] = str(lease.domain_id)
    probe = Probe(lease.domain_id, name="navigation_matrix")
    rows: list[dict] = []
    try:
        procs[2].wait_for_output("motor_control ready", 60)
        bench = Bench(probe)
        wait_until(lambda: bench.truth, 60, "ground truth")
        probe.wait_for_subscribers(bench.plans)
        here = bench.fresh()
        for i, (a, b) in enumerate(pairs):
            src, goal = places.get(a), places.get(b)
            r0 = here["robot"]
            at_place = math.dist((r0["x"], r0["y"]), (src.x, src.y)) <= 2 * POSITION_TOL_M
            t0, w0 = here["time"], time.monotonic()
            end = bench.navigate(f"nav{i:02d}-{a}-{b}", b, args.timeout)
            here = bench.fresh()
            r, o = here["robot"], here["odom"]
            err_m = math.dist((r["x"], r["y"]), (goal.x, goal.y))
            odom_err_m = math.dist((o["x"], o["y"]), (goal.x, goal.y))
            drift_m = math.dist((o["x"], o["y"]), (r["x"], r["y"]))
            drift_deg = abs(math.degrees(math.remainder(o["yaw"] - r["yaw"], 2 * math.pi)))
            err_deg = abs(math.degrees(math.remainder(r["yaw"] - goal.yaw, 2 * math.pi)))
            ok = end["state"] == "succeeded" and err_m <= POSITION_TOL_M and err_deg <= YAW_TOL_DEG
            row = {
                "from": a,
                "to": b,
                "success": ok,
                "state": end["state"],
                "detail": end.get("detail", ""),
                "sim_s": round(here["time"] - t0, 2),
                "wall_s": round(time.monotonic() - w0, 2),
                "error_m": round(err_m, 4),
                "error_deg": round(err_deg, 2),
                "odom_error_m": round(odom_err_m, 4),
                "odom_drift_m": round(drift_m, 4),
                "odom_drift_deg": round(drift_deg, 2),
                "started_at_place": at_place,
            }
            rows.append(row)
            mark = "ok " if ok else "FAIL"
            print(
                f"[{i + 1:2d}/{len(pairs)}] {mark} {a:>11} -> {b:<11} {row['sim_s']:6.1f} s  "
                f"err {err_m * 100:5.1f} cm {err_deg:4.1f} deg (odom {odom_err_m * 100:4.1f} cm, "
                f"drift {drift_m * 100:4.1f} cm {drift_deg:3.1f} deg)  {end['state']}: "
                f"{row['detail']}",
                flush=True,
            )
    finally:
        probe.close()
        for p in reversed(procs):
            p.stop()
        lease.release()
    return {
        "benchmark": "navigation_matrix",
        "host": {"machine": platform.machine(), "cpus": os.cpu_count()},
        "load_avg_1m": os.getloadavg()[0],
        "places": names,
        "criteria": {
            "plan": "succeeded",
            "position_tolerance_m": POSITION_TOL_M,
            "yaw_tolerance_deg": YAW_TOL_DEG,
            "judged_on": "sim/ground_truth",
        },
        "runs": rows,
        "successes": sum(r["success"] for r in rows),
        "total": len(rows),
        "sim_s_total": round(sum(r["sim_s"] for r in rows), 1),
        "odom_drift_m_final": rows[-1]["odom_drift_m"] if rows else None,
        "logs": str(logs),
    }


def matrix_text(result: dict) -> str:
    """Rows: from; columns: to; cells: simulated seconds, or x for a failed run."""
    names = result["places"]
    cell = {(r["from"], r["to"]): r for r in result["runs"]}
    width = max(len(n) for n in names) + 1
    head = "from \\ to".ljust(width) + "".join(n[:11].rjust(12) for n in names)
    lines = [head]
    for a in names:
        row = a.ljust(width)
        for b in names:
            r = cell.get((a, b))
            if a == b:
                text = "-"
            elif r is None:
                text = "?"
            else:
                text = f"{r['sim_s']:.1f}" if r["success"] else f"x {r['sim_s']:.0f}"
            row += text.rjust(12)
        lines.append(row)
    lines.append(
        f"{result['successes']}/{result['total']} succeeded; "
        f"{result['sim_s_total']:.0f} s of simulated time in all; odometry drift at the end "
        f"{(result['odom_drift_m_final'] or 0.0) * 100:.1f} cm"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated subset of places")
    parser.add_argument("--timeout", type=float, default=300.0, help="wall seconds per run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = run(args)
    print()
    print(matrix_text(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if result["successes"] == result["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
