"""`synth-agent demo` / `make demo`: one command carried out in the simulator, end to end.

It starts the whole graph (graph.py, simulator included) as separate processes, sends a
spoken-style command exactly as an operator would (`agent/command`), and narrates what happens:
the plan, each step, what the robot says and every safety-gate intervention. Node logs go to
`demo/logs/graph.log` so the terminal shows the story, not the noise; a heartbeat line with the
robot's position appears whenever nothing else has been printed for a few seconds.

At the end it writes `demo/`: `summary.json` (command, plan, step timings, interventions,
verdict), `trajectory.png` (the map with the path driven), `frames/` (annotated camera frames at
each step), `logs/`, and `run_bag/` — a rosbag2 with MCAP storage of the run's topics (camera
images excluded; the annotated image at its reduced rate is kept). The exit status is 0 only if
the task succeeded according to the simulator's ground truth (`core/outcome.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_agent.core import contract
from synth_agent.core.outcome import judge
from synth_agent.core.places import load_places
from synth_agent.core.schemas import Plan, SchemaError, describe_steps, parse_plan, parse_status

DEFAULT_COMMAND = "go to the kitchen, find the red cup and bring it to me"
# What goes into the bag (raw CDR, exactly as on the wire).
RECORDED = [
    contract.COMMAND, contract.PLAN, contract.STATUS, contract.FEEDBACK, contract.SCENE,
    contract.AGENT_CMD_VEL, contract.CMD_VEL, contract.AGENT_GRIPPER, contract.GRIPPER,
    contract.SAFETY_STATE, contract.ESTOP, contract.ODOM, contract.SCAN, contract.GROUND_TRUTH,
    contract.IMAGE_ANNOTATED,
]  # fmt: skip


@dataclass
class Graph:
    """The whole graph with the simulator as child processes, plus one rclpy node (own Context,
    spun by the caller) to talk to it: shared by `synth-agent demo` and `synth-agent scenarios`,
    so both start, wait for and stop the robot the same way."""

    launcher: Any
    context: Any
    node: Any
    executor: Any

    @classmethod
    def start(cls, log, say, name: str = "_synth_agent_demo") -> Graph | None:
        """Start every node of graph.py (sim=True), node logs to `log`; None (after saying why)
        when a node is not part of this build."""
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        from synth_agent.graph import nodes
        from synth_agent.launcher import Launcher
        from synth_agent.nodes.entry import node_available

        specs = nodes(sim=True)
        missing = [s.name for s in specs if not node_available(s.executable)]
        if missing:
            say("demo", f"cannot run: not part of this build: {', '.join(missing)}")
            return None
        launcher = Launcher(specs, out=log, colour=False)
        context = Context()
        rclpy.init(context=context)
        node = rclpy.create_node(name, context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        graph = cls(launcher, context, node, executor)
        clash = launcher.already_running(graph.visible)
        if clash:
            domain = os.environ.get("ROS_DOMAIN_ID", "0")
            say("demo", f"cannot run: another graph is already on ROS_DOMAIN_ID={domain} "
                f"({', '.join(sorted(clash))}); stop it or set another ROS_DOMAIN_ID")  # fmt: skip
            node.destroy_node()
            rclpy.shutdown(context=context)
            return None
        say("demo", f"starting {len(specs)} nodes with the simulator (logs: {log.name})")
        launcher.start()
        return graph

    def spin(self, timeout_s: float = 0.05) -> None:
        self.executor.spin_once(timeout_sec=timeout_s)

    def visible(self) -> set[str]:
        """Fully qualified names of the nodes in the ROS graph (spins once first)."""
        self.spin()
        return {(ns.rstrip("/") + "/" + n) for n, ns in self.node.get_node_names_and_namespaces()}

    def wait_ready(self, timeout_s: float = 90.0) -> bool:
        """True once every started node is visible in the ROS graph."""
        return self.launcher.wait_ready(self.visible, timeout_s=timeout_s)

    def close(self) -> None:
        import rclpy

        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.launcher.stop()


@dataclass
class Record:
    """Everything the demo saw, filled from ROS callbacks (one executor thread)."""

    plan: Plan | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    final_state: str | None = None
    final_detail: str = ""
    feedback: list[str] = field(default_factory=list)
    interventions: list[dict[str, Any]] = field(default_factory=list)
    trajectory: list[tuple[float, float]] = field(default_factory=list)
    truth: dict[str, Any] | None = None
    frames: list[Path] = field(default_factory=list)


class Demo:
    def __init__(self, command: str, out_dir: Path, timeout_s: float = 600.0) -> None:
        self.command = command
        self.out = out_dir
        self.timeout_s = timeout_s
        self.rec = Record()
        self.done = threading.Event()
        self.t0 = time.monotonic()
        self._last_print = time.monotonic()
        self._last_image = None
        self._step_started: dict[int, float] = {}
        self._narrated: dict[tuple, float] = {}

    # --- output -----------------------------------------------------------------------------
    def say(self, tag: str, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] [{tag}] {text}", flush=True)
        self._last_print = time.monotonic()

    # --- callbacks ----------------------------------------------------------------------------
    def on_plan(self, msg) -> None:
        try:
            plan = parse_plan(msg.data)
        except SchemaError as e:
            self.say("plan", f"invalid plan message: {e}")
            return
        if plan.command != self.command or self.rec.plan is not None:
            return
        self.rec.plan = plan
        steps = describe_steps(plan, names=False)
        self.say("plan", f"{plan.type}: {steps or plan.say}")
        if plan.type != "plan":
            self.rec.final_state = plan.type
            self.done.set()

    def on_status(self, msg) -> None:
        try:
            st = parse_status(msg.data)
        except SchemaError as e:
            self.say("status", f"invalid status message: {e}")
            return
        if self.rec.plan is None or st.plan_id != self.rec.plan.id:
            return
        now = time.monotonic() - self.t0
        if st.step is None:
            if st.plan_done:
                self.rec.final_state, self.rec.final_detail = st.state, st.detail
                self.say("plan", f"{st.state}: {st.detail}")
                self.done.set()
            return
        n = len(self.rec.plan.steps)
        if st.state == "running" and st.step not in self._step_started:
            self._step_started[st.step] = now
            self.save_frame(f"step{st.step + 1}_{st.skill}_start")
        if st.state in ("succeeded", "failed", "canceled", "preempted"):
            took = now - self._step_started.get(st.step, now)
            self.rec.steps.append(
                {
                    "step": st.step,
                    "skill": st.skill,
                    "state": st.state,
                    "detail": st.detail,
                    "seconds": round(took, 2),
                }  # fmt: skip
            )
            self.say(
                f"step {st.step + 1}/{n}", f"{st.skill}: {st.state} — {st.detail} ({took:.1f} s)"
            )
        elif st.state == "running":
            self.say(f"step {st.step + 1}/{n}", f"{st.skill}: {st.detail}")

    def on_feedback(self, msg) -> None:
        self.rec.feedback.append(msg.data)
        self.say("robot", msg.data)

    def on_safety(self, msg) -> None:
        """Record every new intervention; narrate each kind of one once per few seconds (the
        acceleration ramp clamps nearly every command while speeding up: that is smoothing,
        counted in the summary, not news)."""
        try:
            last = json.loads(msg.data).get("last_intervention")
        except (json.JSONDecodeError, AttributeError):
            return
        if not last or (self.rec.interventions and self.rec.interventions[-1] == last):
            return
        self.rec.interventions.append(last)
        key = (last.get("kind"), last.get("rule"))
        if "ramping" in str(last.get("reason")):
            return
        now = time.monotonic()
        if now - self._narrated.get(key, -1e9) > 5.0:
            self._narrated[key] = now
            self.say("gate", f"{last.get('kind')}: {last.get('reason')}")

    def on_truth(self, msg) -> None:
        truth = json.loads(msg.data)
        self.rec.truth = truth
        r = truth["robot"]
        if not self.rec.trajectory or (
            abs(r["x"] - self.rec.trajectory[-1][0]) + abs(r["y"] - self.rec.trajectory[-1][1])
            > 0.02
        ):
            self.rec.trajectory.append((r["x"], r["y"]))

    def on_image(self, msg) -> None:
        self._last_image = msg

    def save_frame(self, name: str) -> None:
        if self._last_image is None:
            return
        import cv2

        from synth_agent.nodes.image import ImageError, image_to_numpy

        try:
            rgb = image_to_numpy(self._last_image)
        except ImageError:
            return
        path = self.out / "frames" / f"{len(self.rec.frames):02d}_{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        bgr = rgb[:, :, ::-1] if self._last_image.encoding.startswith("rgb") else rgb
        cv2.imwrite(str(path), bgr)
        self.rec.frames.append(path)

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> int:
        from std_msgs.msg import String

        from synth_agent.bag import Recorder, msg_class
        from synth_agent.nodes.qos import profile

        if self.out.exists():
            shutil.rmtree(self.out)
        (self.out / "logs").mkdir(parents=True)
        log = open(self.out / "logs" / "graph.log", "w")  # noqa: SIM115 - closed below
        graph = Graph.start(log, self.say)
        if graph is None:
            log.close()
            return 3
        launcher, node, executor = graph.launcher, graph.node, graph.executor
        # Annotated images are ~1 MB each: keep one every 5 s, everything else whole.
        recorder = Recorder(self.out / "run_bag", min_gap_s={contract.IMAGE_ANNOTATED.name: 5.0})
        code = 1
        try:
            for topic in RECORDED:
                recorder.add(node, topic)
            handlers = [
                (contract.PLAN, self.on_plan), (contract.STATUS, self.on_status),
                (contract.FEEDBACK, self.on_feedback), (contract.SAFETY_STATE, self.on_safety),
                (contract.GROUND_TRUTH, self.on_truth),
            ]  # fmt: skip
            for topic, cb in handlers:
                node.create_subscription(String, topic.name, cb, profile(topic))
            node.create_subscription(
                msg_class(contract.IMAGE_ANNOTATED.msg_type), contract.IMAGE_ANNOTATED.name,
                self.on_image, profile(contract.IMAGE_ANNOTATED),
            )  # fmt: skip
            pub = node.create_publisher(String, contract.COMMAND.name, profile(contract.COMMAND))

            if not graph.wait_ready():
                self.say("demo", "the graph did not come up; see the log")
                return 1
            deadline = time.monotonic() + 30
            while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)
            while self.rec.truth is None and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)
            pub.publish(String(data=self.command))
            self.say("you", self.command)
            end = time.monotonic() + self.timeout_s
            while not self.done.is_set() and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.1)
                if launcher.poll() and launcher.stopping:
                    self.say("demo", "a critical node died; stopping")
                    break
                if time.monotonic() - self._last_print > 5.0 and self.rec.truth:
                    r = self.rec.truth["robot"]
                    held = self.rec.truth.get("held")
                    self.say(
                        "sim",
                        f"robot at ({r['x']:.2f}, {r['y']:.2f}) m"
                        + (f", holding {held}" if held else ""),
                    )
            if not self.done.is_set():
                self.say("demo", f"no end of the plan within {self.timeout_s:.0f} s")
            settle = time.monotonic() + 1.5  # let ground truth catch up with the last step
            while time.monotonic() < settle:
                executor.spin_once(timeout_sec=0.05)
            self.save_frame("end")
            verdict = judge(self.rec.plan, self.rec.final_state, self.rec.truth, load_places())
            code = 0 if verdict.success else 1
            self.say("demo", ("SUCCESS: " if verdict.success else "FAILED: ") + verdict.reason)
            self.write_outputs(verdict)
        finally:
            recorder.close()
            graph.close()
            log.close()
        self.say("demo", f"wrote {self.out}/: summary.json, trajectory.png, frames/, run_bag/")
        return code

    def write_outputs(self, verdict) -> None:
        rec = self.rec
        summary = {
            "command": self.command,
            "success": verdict.success,
            "verdict": verdict.reason,
            "plan": json.loads(rec.plan.model_dump_json(by_alias=True)) if rec.plan else None,
            "final_state": rec.final_state,
            "final_detail": rec.final_detail,
            "steps": rec.steps,
            "feedback": rec.feedback,
            "safety_interventions": {
                "count": len(rec.interventions),
                "ramp_clamps": sum("ramping" in str(i.get("reason")) for i in rec.interventions),
                "other": [i for i in rec.interventions if "ramping" not in str(i.get("reason"))],
            },
            "seconds": round(time.monotonic() - self.t0, 1),
            "final_ground_truth": rec.truth,
            "frames": [str(p.relative_to(self.out)) for p in rec.frames],
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
        try:
            self.draw_trajectory()
        except Exception as e:  # noqa: BLE001 - a missing picture must not fail the run
            self.say("demo", f"could not draw the trajectory: {e}")

    def draw_trajectory(self) -> None:
        import cv2

        from synth_agent.sim.config import SimConfig
        from synth_agent.sim.simulation import Simulation
        from synth_agent.sim.view import TopDown, draw_topdown

        sim = Simulation(SimConfig(camera_rate_hz=0.0))
        img = draw_topdown(sim, load_places())[:, :, ::-1].copy()  # BGR for OpenCV
        td = TopDown(sim, img.shape[1], img.shape[0])
        pts = [td.pixel(x, y) for x, y in self.rec.trajectory]
        for a, b in zip(pts, pts[1:], strict=False):
            cv2.line(img, a, b, (0, 140, 255), 3, cv2.LINE_AA)
        if pts:
            cv2.circle(img, pts[0], 7, (0, 160, 0), -1, cv2.LINE_AA)
            cv2.circle(img, pts[-1], 7, (0, 0, 200), -1, cv2.LINE_AA)
        truth = self.rec.truth or {}
        for name, pose in truth.get("objects", {}).items():
            u, v = td.pixel(pose["x"], pose["y"])
            cv2.drawMarker(img, (u, v), (0, 0, 0), cv2.MARKER_TILTED_CROSS, 14, 2)
            cv2.putText(img, f"{name} (end)", (u + 8, v + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)  # fmt: skip
        cv2.imwrite(str(self.out / "trajectory.png"), img)


def main(command: str = DEFAULT_COMMAND, out_dir: str = "demo", timeout_s: float = 600.0) -> int:
    return Demo(command, Path(out_dir), timeout_s).run()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
