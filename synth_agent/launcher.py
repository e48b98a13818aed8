"""The pip-only launcher behind `synth-agent up`: the graph.py node set as child processes.

Why not `ros2 launch`: launch/launch_ros cannot be installed from PyPI, and operators without a
ROS install still need one command that starts the robot. This launcher keeps the guarantees
that matter on a robot:

- every node runs in its own process and session (a crash or a Ctrl-C in the terminal reaches
  the launcher, which decides the order), with prefixed, coloured log lines;
- a readiness line is printed once every started node is visible in the ROS graph;
- shutdown is ordered, reverse of start, so the safety gate stops last and can publish its
  final zero; each node gets SIGINT, then SIGKILL after a grace period;
- a node that dies is reported with its exit code; the gate's watchdog stops the robot. If the
  gate itself dies nothing stands between commands and motors, so the whole graph is stopped.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from synth_agent.graph import NodeSpec, normalize_namespace
from synth_agent.nodes.entry import node_available

COLOURS = ["36", "33", "35", "32", "34", "31", "96", "93"]


# How long a new launcher watches the ROS graph for a running copy of itself. 2 s was enough on an
# idle machine but not under a loaded CI run (a second graph then started beside the first).
DISCOVERY_WAIT_S = 4.0


@dataclass
class Child:
    spec: NodeSpec
    proc: subprocess.Popen
    colour: str
    reader: threading.Thread | None = None
    reported: bool = False


@dataclass
class Launcher:
    """Start, watch and stop a node set. `out` receives the prefixed log lines."""

    specs: list[NodeSpec]
    namespace: str = ""
    out: TextIO = field(default_factory=lambda: sys.stdout)
    env: dict[str, str] | None = None
    colour: bool = field(default_factory=lambda: sys.stdout.isatty())
    grace_s: float = 4.0
    children: list[Child] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- output -----------------------------------------------------------------------------
    def say(self, text: str, tag: str = "synth-agent", colour: str = "1") -> None:
        prefix = f"[{tag}]"
        if self.colour:
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        with self._lock:
            self.out.write(f"{prefix} {text}\n")
            self.out.flush()

    def _pump(self, child: Child) -> None:
        assert child.proc.stdout is not None
        width = max(len(c.spec.name) for c in self.children) if self.children else 0
        for raw in iter(child.proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            self.say(line, child.spec.name.ljust(width), child.colour)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> list[Child]:
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("RCUTILS_COLORIZED_OUTPUT", "1" if self.colour else "0")
        bin_dir = Path(sys.executable).parent
        colours = itertools.cycle(COLOURS)
        for spec in self.specs:
            if not node_available(spec.executable):
                self.missing.append(spec.name)
                continue
            exe = bin_dir / spec.executable
            cmd = [str(exe) if exe.exists() else spec.executable] + spec.ros_args(self.namespace)
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.children.append(Child(spec, proc, next(colours)))
        for child in self.children:
            child.reader = threading.Thread(target=self._pump, args=(child,), daemon=True)
            child.reader.start()
        started = ", ".join(c.spec.name for c in self.children) or "none"
        self.say(f"started {len(self.children)} node(s): {started}")
        if self.missing:
            self.say(f"not part of this build yet: {', '.join(self.missing)}", colour="33")
        return self.children

    def already_running(
        self, visible: Callable[[], set[str]], wait_s: float = DISCOVERY_WAIT_S
    ) -> set[str]:
        """Names of this graph's nodes that are already in the ROS graph (another synth_agent
        on the same ROS_DOMAIN_ID and namespace). Two graphs on one domain answer each other's
        commands and fight over one robot, so callers refuse to start. Discovery takes a
        moment: the graph is watched for `wait_s` before answering (it returns as soon as a
        clash is seen)."""
        ns = normalize_namespace(self.namespace)
        ours = {f"{ns}/{s.name}" for s in self.specs if node_available(s.executable)}
        deadline = time.monotonic() + wait_s
        clash: set[str] = set()
        while time.monotonic() < deadline and not clash:
            clash = ours & visible()
            time.sleep(0.1)
        return clash

    def refuse_if_running(
        self, visible: Callable[[], set[str]], wait_s: float = DISCOVERY_WAIT_S
    ) -> bool:
        """Say so and return True when this graph is already running (see `already_running`)."""
        clash = self.already_running(visible, wait_s)
        if clash:
            domain = os.environ.get("ROS_DOMAIN_ID", "0")
            self.say(
                f"another graph is already running on ROS_DOMAIN_ID={domain} "
                f"({', '.join(sorted(clash))}); stop it, or use another ROS_DOMAIN_ID or "
                "--namespace",
                colour="31",
            )
        return bool(clash)

    def expected_names(self) -> set[str]:
        ns = normalize_namespace(self.namespace)
        return {f"{ns}/{c.spec.name}" for c in self.children}

    def wait_ready(self, visible: Callable[[], set[str]], timeout_s: float = 60.0) -> bool:
        """Wait until every started node is in the ROS graph; print the readiness line."""
        t0 = time.monotonic()
        expected = self.expected_names()
        while time.monotonic() - t0 < timeout_s and not self._stopping.is_set():
            self.poll()
            seen = visible()
            if expected <= seen:
                self.say(
                    f"ready: {len(expected)} node(s) up in {time.monotonic() - t0:.1f} s "
                    f"({', '.join(sorted(expected))})",
                    colour="32",
                )
                return True
            time.sleep(0.2)
        missing = sorted(expected - visible())
        self.say(
            f"not ready after {timeout_s:.0f} s; not visible: {', '.join(missing)}", colour="31"
        )
        return False

    def poll(self) -> list[Child]:
        """Report nodes that exited; stop everything if a critical node died."""
        died = []
        for child in self.children:
            code = child.proc.poll()
            if code is None or child.reported or self._stopping.is_set():
                continue
            child.reported = True
            died.append(child)
            self.say(f"{child.spec.name} exited with code {code}", colour="31")
            if child.spec.critical:
                self.say(
                    f"{child.spec.name} is critical: nothing guards the actuators, stopping all",
                    colour="31",
                )
                self._stopping.set()
        return died

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> dict[str, int | None]:
        """Stop the nodes in reverse start order; return each node's exit code."""
        self._stopping.set()
        codes: dict[str, int | None] = {}
        for child in reversed(self.children):
            proc = child.proc
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGINT)
                    proc.wait(self.grace_s)
                except subprocess.TimeoutExpired:
                    self.say(f"{child.spec.name} ignored SIGINT; killing it", colour="31")
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(2.0)
            codes[child.spec.name] = proc.returncode
            if child.reader is not None:
                child.reader.join(1.0)
        self.say("stopped: " + ", ".join(f"{n}={c}" for n, c in codes.items()))
        return codes
