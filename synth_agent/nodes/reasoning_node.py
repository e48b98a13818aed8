"""reasoning: turns `agent/command` into one validated plan on `agent/plan` (a thin shell).

All behaviour lives in `synth_agent.core.reasoning`. This node only adds what needs ROS:
- A stop phrase is answered in the subscription callback itself: a `stop` plan is published and
  `agent/cancel` is called at once, without waiting for the worker or the model, and queued
  commands are dropped.
- Everything else goes into a queue served by one worker thread, so commands are reasoned about
  one at a time and in order, and callbacks never block on a model.
- The intent model (and, with `generator: lm`, the language model) loads in a background
  thread, with progress on `agent/feedback`; commands that arrive before it is ready get
  "still loading" feedback and are answered when it is.
- Scene and status messages only update the core's view of the world (validated first).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid

from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.core.places import PlacesError, load_places
from synth_agent.core.reasoning import Reasoner, ReasoningConfig
from synth_agent.core.reasoning.rules import is_stop
from synth_agent.core.schemas import Plan, SchemaError, parse_scene, parse_status, to_json
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node


class ReasoningNode(Node):
    def __init__(self) -> None:
        super().__init__("reasoning")
        self.cfg = declare_config(self, ReasoningConfig)
        try:
            places = load_places(self.cfg.places_file or None)
        except PlacesError as e:
            self.get_logger().fatal(f"cannot load places: {e}")
            raise
        self._session = uuid.uuid4().hex[:6]
        self.core = Reasoner(self.cfg, places, classifier=None, id_prefix=f"{self._session}-")
        self._core_lock = threading.Lock()
        self._stops = 0
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._ready = threading.Event()
        self._load_error: str | None = None
        self.pub_plan = self.create_publisher(String, contract.PLAN.name, profile(contract.PLAN))
        self.pub_feedback = self.create_publisher(
            String, contract.FEEDBACK.name, profile(contract.FEEDBACK)
        )
        self.create_subscription(
            String, contract.COMMAND.name, self.on_command, profile(contract.COMMAND)
        )
        self.create_subscription(
            String, contract.SCENE.name, self.on_scene, profile(contract.SCENE)
        )
        self.create_subscription(
            String, contract.STATUS.name, self.on_status, profile(contract.STATUS)
        )
        self.cancel_client = self.create_client(Trigger, contract.CANCEL[0])
        self._t_load0 = time.monotonic()
        threading.Thread(target=self._load, name="reasoning-load", daemon=True).start()
        self._worker = threading.Thread(target=self._work, name="reasoning-worker", daemon=True)
        self._worker.start()
        self.get_logger().info("reasoning: loading the intent model in the background")

    # --- model loading ---------------------------------------------------------------------
    def _load(self) -> None:
        try:
            from synth_agent.core.reasoning.evaluate import load_classifier, load_generator

            classifier = load_classifier(self.cfg)
            classifier.predict("go to the kitchen")  # warm up
            with self._core_lock:
                self.core.classifier = classifier
            if self.cfg.generator == "lm":
                self._say("Intent model ready; loading the language model.")
                generator = load_generator(self.cfg, classifier)
                with self._core_lock:
                    self.core.generator = generator
                info = getattr(generator.backend, "describe", dict)()  # device, dtype, weights
                self.get_logger().info(
                    "reasoning: language model " + ", ".join(f"{k}={v}" for k, v in info.items())
                )
            self.get_logger().info(
                f"reasoning: intent model ready in {time.monotonic() - self._t_load0:.1f} s"
            )
        except Exception as e:  # noqa: BLE001 - a missing model must not kill the node
            self._load_error = str(e)
            self.get_logger().error(f"intent model unavailable, using keyword rules: {e}")
        self._ready.set()

    # --- inputs ----------------------------------------------------------------------------
    def on_command(self, msg: String) -> None:
        text = msg.data
        if is_stop(text):
            self._stop(text)
            return
        if not self._ready.is_set():
            waited = time.monotonic() - self._t_load0
            self._say(f"Still loading my language model ({waited:.0f} s); I'll answer shortly.")
        self._queue.put(text)

    def _stop(self, text: str) -> None:
        """Publish a stop plan and cancel the running plan now; drop queued commands."""
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
                dropped += 1
            except queue.Empty:
                break
        self._stops += 1
        plan = Plan(
            id=f"{self._session}-stop{self._stops}",
            command=text,
            type="plan",
            steps=[{"skill": "stop"}],
            say="Stopping.",
        )
        self.pub_plan.publish(String(data=to_json(plan)))
        if self.cancel_client.service_is_ready():
            self.cancel_client.call_async(Trigger.Request())
        self._say("Stopping." + (f" Dropped {dropped} queued command(s)." if dropped else ""))

    def on_scene(self, msg: String) -> None:
        try:
            scene = parse_scene(msg.data)
        except SchemaError as e:
            self.get_logger().warning(f"rejected scene: {e}", throttle_duration_sec=5.0)
            return
        with self._core_lock:
            self.core.observe_scene(scene)

    def on_status(self, msg: String) -> None:
        try:
            status = parse_status(msg.data)
        except SchemaError:
            return
        with self._core_lock:
            self.core.observe_status(status)

    # --- the worker ------------------------------------------------------------------------
    def _work(self) -> None:
        self._ready.wait()
        while True:
            text = self._queue.get()
            if text is None:
                return
            now = self.get_clock().now().nanoseconds * 1e-9
            t0 = time.perf_counter()
            try:
                with self._core_lock:
                    decision = self.core.respond(text, now)
            except Exception as e:  # noqa: BLE001 - one bad command must not end the node
                self.get_logger().error(f"reasoning failed on {text!r}: {e}")
                self._say("Sorry, something went wrong while I was thinking about that.")
                continue
            plan = decision.plan
            self.pub_plan.publish(String(data=to_json(plan)))
            if plan.say:
                self._say(plan.say)
            self.get_logger().info(
                f"{plan.id} {plan.type} ({decision.stage}, {decision.intent}, "
                f"{(time.perf_counter() - t0) * 1000:.0f} ms): {plan.say}"
            )

    def _say(self, text: str) -> None:
        self.pub_feedback.publish(String(data=text))

    def close(self) -> None:
        self._queue.put(None)


def main(argv: list[str] | None = None) -> int:
    return spin_node(ReasoningNode, argv)
