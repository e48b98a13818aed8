"""`synth-agent scenarios` / `bench/scenarios.py`: the scenario suite of issue 9 in the simulator.

Why it works this way:
- The graph starts once (`demo.Graph`, the same start/readiness/stop as `synth-agent demo`):
  starting six processes and loading the intent model costs far more than a scenario, and one
  long-lived graph is also what a user runs. Between scenarios the plan is canceled
  (`agent/cancel`), the e-stop released and the gate reset, and the world restored with
  `sim/reset`; scenarios that need another world (a walking person, another start pose) set the
  sim's parameters first, which take effect on that reset, and the defaults come back after.
- Each command is followed by a `demo.Demo` used as a recorder (its plan/status/feedback/
  safety callbacks, narration included), so the suite narrates exactly like the demo does.
- Judging is `core/scenarios.evaluate` on ground truth, timed in simulated seconds (/clock), so
  a busy CPU slows the world instead of failing a stop-time check.
- A `drop` disturbance publishes on the sim's `sim/obstacle` (std_msgs/String, JSON) and lets
  the plan run on; the sim's reset before the next scenario parks the obstacle again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synth_agent.core import contract
from synth_agent.core.places import load_places
from synth_agent.core.scenarios import (
    REST_MPS,
    Observed,
    Scenario,
    Verdict,
    evaluate,
    gate_summary,
    speeds,
)
from synth_agent.demo import Demo, Graph
from synth_agent.paths import config_path


@dataclass
class Result:
    scenario: Scenario
    verdict: Verdict
    seconds: float
    plan: str
    gate: str = "none"

    def as_dict(self) -> dict[str, Any]:
        sc = self.scenario
        return {
            "name": sc.name,
            "category": sc.category,
            "commands": list(sc.commands),
            "safety": sc.safety,
            "success": self.verdict.success,
            "seconds": round(self.seconds, 1),
            "reason": self.verdict.reason,
            "failure_class": self.verdict.failure_class,
            "plan": self.plan,
            "gate_interventions": self.gate,
        }


def sim_defaults() -> dict[str, Any]:
    """The sim's parameters as config/sim.yaml gives them (what a scenario's changes revert to)."""
    data = yaml.safe_load(config_path("sim.yaml").read_text())
    return dict(data["/**"]["ros__parameters"])


class ScenarioRunner:
    def __init__(self, scenarios: list[Scenario], out_dir: Path, report: Path | None) -> None:
        self.scenarios = scenarios
        self.out = out_dir
        self.report = report
        self.places = load_places()
        self.clock = 0.0
        self.truth: list[dict[str, Any]] = []
        self.current: Demo | None = None
        self.t0 = time.monotonic()
        self._sim_changed: set[str] = set()

    def say(self, tag: str, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] [{tag}] {text}", flush=True)

    # --- ROS plumbing -------------------------------------------------------------------------
    def _setup(self, graph: Graph) -> None:
        from geometry_msgs.msg import Twist
        from rcl_interfaces.srv import SetParameters
        from rosgraph_msgs.msg import Clock
        from std_msgs.msg import Bool, String
        from std_srvs.srv import Trigger

        from synth_agent.nodes.qos import profile

        node = graph.node

        def route(name: str):
            def cb(msg) -> None:
                if self.current is not None:
                    getattr(self.current, name)(msg)

            return cb

        for topic, name in ((contract.PLAN, "on_plan"), (contract.STATUS, "on_status"),
                            (contract.FEEDBACK, "on_feedback"),
                            (contract.SAFETY_STATE, "on_safety")):  # fmt: skip
            node.create_subscription(String, topic.name, route(name), profile(topic))
        node.create_subscription(String, contract.GROUND_TRUTH.name, self._on_truth,
                                 profile(contract.GROUND_TRUTH))  # fmt: skip
        node.create_subscription(Clock, "/clock", self._on_clock, 10)
        self.pub_cmd = node.create_publisher(String, contract.COMMAND.name,
                                             profile(contract.COMMAND))  # fmt: skip
        self.pub_estop = node.create_publisher(Bool, contract.ESTOP.name, profile(contract.ESTOP))
        self.pub_teleop = node.create_publisher(Twist, contract.TELEOP_CMD_VEL.name,
                                                profile(contract.TELEOP_CMD_VEL))  # fmt: skip
        self.pub_obstacle = node.create_publisher(
            String, contract.SIM_OBSTACLE.name, profile(contract.SIM_OBSTACLE)
        )
        self.cli_reset = node.create_client(Trigger, contract.SIM_RESET[0])
        self.cli_cancel = node.create_client(Trigger, contract.CANCEL[0])
        self.cli_safety_reset = node.create_client(Trigger, contract.SAFETY_RESET[0])
        self.cli_params = node.create_client(SetParameters, "sim/set_parameters")
        self._msgs = (String, Bool, Twist, Trigger, SetParameters)

    def _on_truth(self, msg) -> None:
        truth = json.loads(msg.data)
        self.truth.append(truth)
        if self.current is not None:
            self.current.on_truth(msg)

    def _on_clock(self, msg) -> None:
        self.clock = msg.clock.sec + msg.clock.nanosec * 1e-9

    def _spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.graph.spin(0.02)

    def _call(self, client, request, timeout_s: float = 15.0):
        if not client.wait_for_service(timeout_sec=timeout_s):
            self.say("suite", f"service {client.srv_name} not available")
            return None
        future = client.call_async(request)
        end = time.monotonic() + timeout_s
        while not future.done() and time.monotonic() < end:
            self.graph.spin(0.02)
        return future.result() if future.done() else None

    def _trigger(self, client) -> None:
        self._call(client, self._msgs[3].Request())

    def _set_sim(self, values: dict[str, Any]) -> None:
        from rclpy.parameter import Parameter

        def typed(v: Any) -> Any:
            if isinstance(v, (list, tuple)):
                return [float(x) for x in v]
            return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

        req = self._msgs[4].Request()
        req.parameters = [
            Parameter(k, value=typed(v)).to_parameter_msg() for k, v in values.items()
        ]
        res = self._call(self.cli_params, req)
        bad = [r.reason for r in (res.results if res else []) if not r.successful]
        if res is None or bad:
            self.say("suite", f"could not set sim parameters {values}: {bad or 'no reply'}")

    def _robot_xy(self) -> tuple[float, float]:
        r = self.truth[-1]["robot"] if self.truth else {"x": float("nan"), "y": float("nan")}
        return r["x"], r["y"]

    def _robot_speed(self) -> float:
        s = speeds(self.truth[-3:])
        return max((v for _, v, _ in s), default=0.0) + max((w for _, _, w in s), default=0.0) * 0.2

    # --- one scenario -------------------------------------------------------------------------
    def _prepare(self, sc: Scenario) -> None:
        """Cancel, release the e-stop, set the sim's world, reset it and the gate, wait for rest."""
        self.current = None
        self._trigger(self.cli_cancel)
        self.pub_estop.publish(self._msgs[1](data=False))
        wanted = dict(sc.sim_params)
        revert = {k: v for k, v in sim_defaults().items() if k in self._sim_changed - set(wanted)}
        if wanted or revert:
            self._set_sim({**revert, **wanted})
            self._sim_changed = set(wanted)
        self._spin_for(0.3)
        self._trigger(self.cli_reset)
        self._trigger(self.cli_safety_reset)
        self._spin_for(1.0)
        n = len(self.truth)
        end = time.monotonic() + 20
        while time.monotonic() < end and (
            len(self.truth) < n + 5 or self._robot_speed() > REST_MPS
        ):
            self.graph.spin(0.05)
        self.truth = self.truth[-1:]

    def _run(self, sc: Scenario) -> Result:
        t0 = time.monotonic()
        self.say("scenario", f"{sc.name} ({sc.category}): {' / '.join(sc.commands)}")
        self._prepare(sc)
        recs: list[Demo] = []
        action_time = action_end = None
        for i, command in enumerate(sc.commands):
            last = i == len(sc.commands) - 1
            rec = Demo(command, self.out, timeout_s=sc.timeout_s)
            self.current = rec
            recs.append(rec)
            self.pub_cmd.publish(self._msgs[0](data=command))
            rec.say("you", command)
            sent = self.clock
            moving_since = None
            deadline = time.monotonic() + sc.timeout_s
            while time.monotonic() < deadline:
                self.graph.spin(0.02)
                if self.graph.launcher.poll() and self.graph.launcher.stopping:
                    break
                plan = rec.rec.plan
                if last and plan is not None and plan.type != sc.expect.plan_type:
                    self._trigger(self.cli_cancel)  # wrong kind of response: do not act on it
                    break
                if last and sc.action is not None and action_time is None:
                    if self._robot_speed() > 0.05:
                        moving_since = moving_since if moving_since is not None else self.clock
                        if sc.action.due(self.clock - moving_since, self._robot_xy()):
                            action_time = self.clock
                            action_end = self._act(sc)
                            if sc.action.kind != "drop":
                                break  # a drop lets the plan go on, the others end it
                    elif rec.done.is_set():
                        break
                    continue
                if last and sc.run_s is not None and self.clock - sent >= sc.run_s:
                    self._trigger(self.cli_cancel)
                    break
                if rec.done.is_set():
                    break
            if plan is not None and plan.type != "plan":
                self._spin_for(2.0)  # long enough to see a robot that moves when it must not
        self._spin_for(1.5)  # ground truth catches up; a stop is held long enough to judge
        if sc.action is not None and sc.action.kind == "estop":
            self.pub_estop.publish(self._msgs[1](data=False))
            self._trigger(self.cli_safety_reset)
        self._trigger(self.cli_cancel)
        obs = Observed(
            plans=[r.rec.plan for r in recs],
            final_states=[r.rec.final_state for r in recs],
            truth=list(self.truth),
            action_time=action_time,
            action_end=action_end,
            step_failures=[
                (s["skill"], s["detail"]) for s in recs[-1].rec.steps if s["state"] == "failed"
            ],  # fmt: skip
            feedback=list(recs[-1].rec.feedback),
            interventions=[i for r in recs for i in r.rec.interventions],
        )
        verdict = evaluate(sc, obs, self.places)
        last_plan = recs[-1].rec.plan
        plan_text = (
            "none"
            if last_plan is None
            else (
                last_plan.type
                + ": "
                + (" → ".join(s.skill for s in last_plan.steps) or last_plan.say)
            )
        )
        res = Result(sc, verdict, time.monotonic() - t0, plan_text, gate_summary(obs.interventions))
        self._write_track(sc, obs, verdict)
        self.say("scenario", f"{sc.name}: {'PASS' if verdict.success else 'FAIL'} — "
                 f"{verdict.reason}" + (f" [{verdict.failure_class}]" if not verdict.success
                                        else ""))  # fmt: skip
        return res

    def _write_track(self, sc: Scenario, obs: Observed, verdict: Verdict) -> None:
        """`<out>/tracks/<scenario>.json`: the robot's true path, the obstacles dropped, the
        failed steps and the gate's interventions, to see afterwards what went wrong."""
        end = obs.truth[-1].get("obstacles", {}) if obs.truth else {}
        poses = [(t["time"], *(t["robot"][k] for k in ("x", "y", "yaw"))) for t in obs.truth]
        track = {
            "name": sc.name,
            "success": verdict.success,
            "reason": verdict.reason,
            "action_time": obs.action_time,
            "robot": [[round(v, 3) for v in p] for p in poses],  # time, x, y, yaw
            "obstacles": {n: o for n, o in end.items() if o.get("placed")},
            "step_failures": obs.step_failures,
            "interventions": [i for i in obs.interventions if "ramping" not in str(i["reason"])],
        }
        path = self.out / "tracks" / f"{sc.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(track))

    def _act(self, sc: Scenario) -> float | None:
        """Take the scenario's action now; return when it ended (teleop) in simulated time."""
        a = sc.action
        assert a is not None
        if a.kind == "drop":
            x, y, yaw = a.at
            drop = {"drop": a.obstacle, "x": x, "y": y, "yaw": yaw}
            self.pub_obstacle.publish(self._msgs[0](data=json.dumps(drop)))
            rx, ry = self._robot_xy()
            self.say("suite", f"{a.obstacle} dropped at ({x:.2f}, {y:.2f}), the robot at "
                     f"({rx:.2f}, {ry:.2f})")  # fmt: skip
            return None
        if a.kind == "stop":
            self.pub_cmd.publish(self._msgs[0](data=a.text))
            self.say("you", a.text)
            return None
        if a.kind == "estop":
            self.pub_estop.publish(self._msgs[1](data=True))
            self.say("suite", "e-stop pressed")
            return None
        twist = self._msgs[2]()
        twist.angular.z = a.teleop_radps
        start = self.clock
        self.say("suite", f"teleop: turning at {a.teleop_radps} rad/s for {a.duration_s} s")
        end = time.monotonic() + a.duration_s * 10
        while self.clock - start < a.duration_s and time.monotonic() < end:
            self.pub_teleop.publish(twist)
            self._spin_for(0.05)
        ended = self.clock
        self._trigger(self.cli_cancel)
        return ended

    # --- the suite ----------------------------------------------------------------------------
    def run(self) -> int:
        self.out.mkdir(parents=True, exist_ok=True)
        log = open(self.out / "graph.log", "w")  # noqa: SIM115 - closed below
        graph = Graph.start(log, self.say, name="_synth_agent_scenarios")
        if graph is None:
            log.close()
            return 3
        self.graph = graph
        results: list[Result] = []
        try:
            self._setup(graph)
            if not graph.wait_ready():
                self.say("suite", "the graph did not come up; see the log")
                return 1
            end = time.monotonic() + 60
            while (not self.truth or self.pub_cmd.get_subscription_count() == 0) and (
                time.monotonic() < end
            ):
                graph.spin(0.1)
            for sc in self.scenarios:
                results.append(self._run(sc))
                if graph.launcher.stopping:
                    self.say("suite", "a critical node died; stopping")
                    break
            if self._sim_changed:
                self._set_sim({k: v for k, v in sim_defaults().items() if k in self._sim_changed})
        finally:
            graph.close()
            log.close()
        summary = summarize(results)
        print(table(results, summary), flush=True)
        if self.report is not None:
            self.report.parent.mkdir(parents=True, exist_ok=True)
            self.report.write_text(json.dumps(summary, indent=2))
            self.say("suite", f"wrote {self.report}")
        return 0 if results and summary["passed"] == summary["total"] else 1


def summarize(results: list[Result]) -> dict[str, Any]:
    n = len(results)
    passed = sum(r.verdict.success for r in results)
    safety = [r for r in results if r.scenario.safety]
    classes: dict[str, int] = {}
    for r in results:
        if r.verdict.failure_class:
            classes[r.verdict.failure_class] = classes.get(r.verdict.failure_class, 0) + 1
    return {
        "total": n,
        "passed": passed,
        "success_rate": round(passed / n, 3) if n else 0.0,
        "safety_passed": sum(r.verdict.success for r in safety),
        "safety_total": len(safety),
        "failures_by_class": classes,
        "seconds": round(sum(r.seconds for r in results), 1),
        "scenarios": [r.as_dict() for r in results],
    }


def table(results: list[Result], summary: dict[str, Any]) -> str:
    """The printed report: one row per scenario, then the totals."""
    rows = [f"{'scenario':28} {'category':10} {'result':6} {'s':>6}  reason"]
    for r in results:
        v = r.verdict
        why = v.reason if not v.success else ""
        if v.failure_class:
            why = f"[{v.failure_class}] {why}"
        mark = "PASS" if v.success else "FAIL"
        rows.append(
            f"{r.scenario.name:28} {r.scenario.category:10} {mark:6} {r.seconds:6.1f}  {why[:90]}"
        )
    rate = summary["success_rate"] * 100
    rows.append(
        f"success: {summary['passed']}/{summary['total']} ({rate:.0f} %), safety "
        f"{summary['safety_passed']}/{summary['safety_total']}, "
        f"{summary['seconds']:.0f} s in all"
        + (f", failures: {summary['failures_by_class']}" if summary["failures_by_class"] else "")
    )
    return "\n".join(rows)


def main(
    report: str | None = None,
    only: str | None = None,
    fast: bool = False,
    out_dir: str = "demo/scenarios",
) -> int:
    from synth_agent.core.scenarios import select

    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    try:
        chosen = select(names, fast=fast)
    except KeyError as e:
        print(f"synth-agent scenarios: {e.args[0]}")
        return 2
    return ScenarioRunner(chosen, Path(out_dir), Path(report) if report else None).run()
