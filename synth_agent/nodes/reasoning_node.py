"""reasoning: turns `agent/command` into one validated plan on `agent/plan` (a thin shell).

All behaviour lives in `synth_agent.core.reasoning`. This node only adds what needs ROS:
- A stop phrase is answered in the subscription callback itself: a `stop` plan is published and
  `agent/cancel` is called at once, without waiting for the worker or the model, and queued
  commands are dropped. A command the worker is reasoning about when the stop comes is
  withdrawn: its plan is never published (the operator is told), so the robot cannot stop and
  then set off again on a plan that was still being thought about.
- Everything else goes into a queue served by one worker thread, so commands are reasoned about
  one at a time and in order. No callback ever waits for the worker: the model may hold the
  core for seconds, so scene and status messages are handed over through a mailbox that the
  worker empties into the core before each command.
- The intent model (and, with `generator: lm`, the language model) loads in a background
  thread, with progress on `agent/feedback`; commands that arrive before it is ready get
  "still loading" feedback and are answered when it is.
- Scene and status messages only update the core's view of the world (validated first; the
  latest scene, and the step statuses that say what the robot holds).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections import deque

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
        self._core_lock = threading.Lock()  # the worker's (and the loader's), never a callback's
        self._stops = 0  # stop phrases heard so far; a command carries the count it came after
        self._stops_seen = 0  # ... and how many of them the core has been told about
        # Held only to publish: a stop and a worker's plan never cross (the worker checks for
        # a stop and publishes in one step), and nobody holds it for longer than a publish.
        self._publish_lock = threading.Lock()
        self._queue: queue.Queue[tuple[int, str] | None] = queue.Queue()
        # Mailbox from the callbacks to the worker: the latest scene, and the statuses that
        # matter to the core (bounded: nobody may fill memory while no command comes).
        self._scene = None
        self._statuses: deque = deque(maxlen=64)
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
        self._loader = threading.Thread(target=self._load, name="reasoning-load", daemon=True)
        self._loader.start()
        self._worker = threading.Thread(target=self._work, name="reasoning-worker", daemon=True)
        self._worker.start()
        self.get_logger().info("reasoning: loading the intent model in the background")

    # --- model loading ---------------------------------------------------------------------
    def _load(self) -> None:
        stage = "intent model"
        try:
            from synth_agent.core.reasoning.evaluate import load_classifier, load_generator

            classifier = load_classifier(self.cfg)
            classifier.predict("go to the kitchen")  # warm up
            with self._core_lock:
                self.core.classifier = classifier
            if self.cfg.generator == "lm":
                stage = "language model"
                self._say("Intent model ready; loading the language model.")
                generator = load_generator(self.cfg, classifier)
                with self._core_lock:
                    self.core.generator = generator
                info = getattr(generator.backend, "describe", dict)()  # device, dtype, weights
                self.get_logger().info(
                    "reasoning: language model " + ", ".join(f"{k}={v}" for k, v in info.items())
                )
        except Exception as e:  # noqa: BLE001 - a missing model must not kill the node
            self._load_error = str(e)
            fallback = "keyword rules" if stage == "intent model" else "rules and intent model"
            self.get_logger().error(f"{stage} unavailable, answering with the {fallback}: {e}")
            self._say(f"My {stage} could not load ({e}); I'll answer with my {fallback}.")
        if self.core.classifier is not None:
            self.get_logger().info(
                f"reasoning: intent model ready in {time.monotonic() - self._t_load0:.1f} s"
            )
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
        self._queue.put((self._stops, text))

    def _stop(self, text: str) -> None:
        """Publish a stop plan and cancel the running plan now; drop queued commands."""
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
                dropped += 1
            except queue.Empty:
                break
        with self._publish_lock:
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
        self._scene = scene  # the worker hands it to the core

    def on_status(self, msg: String) -> None:
        try:
            status = parse_status(msg.data)
        except SchemaError:
            return
        if self.core.tells_what_is_held(status):  # the rest the core ignores
            self._statuses.append(status)

    # --- the worker ------------------------------------------------------------------------
    def _work(self) -> None:
        self._ready.wait()
        while True:
            item = self._queue.get()
            if item is None:
                return
            stops, text = item
            self.get_logger().debug(f"reasoning about {text!r}")
            now = self.get_clock().now().nanoseconds * 1e-9
            t0 = time.perf_counter()
            try:
                with self._core_lock:
                    self._update_core()
                    before = self.core.checkpoint()  # returned to if a stop withdraws it
                    decision = self.core.respond(text, now)
            except Exception as e:  # noqa: BLE001 - one bad command must not end the node
                self.get_logger().error(f"reasoning failed on {text!r}: {e}")
                self._say("Sorry, something went wrong while I was thinking about that.")
                continue
            plan = decision.plan
            ms = (time.perf_counter() - t0) * 1000
            with self._publish_lock:
                withdrawn = stops != self._stops
                if not withdrawn:
                    self.pub_plan.publish(String(data=to_json(plan)))
            if withdrawn:
                # A stop came while this was being worked out: it must not start afterwards.
                with self._core_lock:
                    self.core.stopped(before)  # it taught the conversation nothing
                self.get_logger().warning(
                    f"{plan.id} withdrawn ({decision.stage}, {ms:.0f} ms): a stop came while "
                    f"reasoning about {text!r}"
                )
                self._say(f"I did not start “{text}”: you said stop while I was thinking.")
                continue
            if plan.say:
                self._say(plan.say)
            note = f" [model not used: {decision.model_note}]" if decision.model_note else ""
            self.get_logger().info(
                f"{plan.id} {plan.type} ({decision.stage}, {decision.intent}, {ms:.0f} ms): "
                f"{plan.say}{note}"
            )

    def _update_core(self) -> None:
        """What the callbacks left in the mailbox, into the core (under the core lock)."""
        if self._stops_seen != self._stops:
            self._stops_seen = self._stops
            self.core.stopped()
        if self._scene is not None:
            self.core.observe_scene(self._scene)
        while self._statuses:
            self.core.observe_status(self._statuses.popleft())

    def _say(self, text: str) -> None:
        self.pub_feedback.publish(String(data=text))

    def close(self) -> None:
        """Stop the worker (a plan in progress gets 2 s to finish). A model still loading
        cannot be interrupted: spin_node then ends the process without finalising."""
        self._queue.put(None)
        if self._ready.is_set():  # else the worker still waits for the model
            self._worker.join(2.0)


def main(argv: list[str] | None = None) -> int:
    # No weight-loading progress bars in a node's log: noise, and tqdm's monitor thread would
    # outlive the load (spin.leave would then end every stop without finalising).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return spin_node(ReasoningNode, argv)
