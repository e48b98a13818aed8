"""Harness for tests and benchmarks that run real nodes in real processes.

- `DomainLease` hands out a ROS_DOMAIN_ID that no other test on this host holds (an flock per
  id under the temp dir), so parallel runs never hear each other.
- `ros_env()` is the environment for a child process: that domain, discovery on localhost.
- `NodeProcess` starts a console script (`.venv/bin/safety_gate --ros-args ...`) with its output
  in a log file, and stops it with SIGINT, then SIGKILL after a grace period.
- `Probe` is an rclpy node in the test process, on its own Context bound to the test's domain,
  spun by a background thread; tests publish through it and wait for what comes back.
- `clean_stale_shm()` removes Fast DDS shared-memory files that no living process maps.

Nothing here fakes ROS: every message crosses the real middleware between real processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
LOCK_DIR = Path(tempfile.gettempdir()) / "synth_agent_domains"
# Domain ids whose Fast DDS ports stay below the Linux ephemeral range: 1..101 (0 is the default
# domain that a developer's own ROS tools use, so it is never leased).
DOMAIN_IDS = range(1, 102)


class DomainLease:
    """An exclusive ROS_DOMAIN_ID on this host, held until `release()`."""

    def __init__(self, start: int | None = None) -> None:
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        ids = list(DOMAIN_IDS)
        first = (os.getpid() * 7 if start is None else start) % len(ids)
        for domain in ids[first:] + ids[:first]:
            fd = os.open(LOCK_DIR / f"{domain}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.domain_id, self._fd = domain, fd
            return
        raise RuntimeError("no free ROS_DOMAIN_ID on this host")

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def ros_env(domain_id: int, **extra: str) -> dict[str, str]:
    """A child-process environment on `domain_id`, discovering on localhost only."""
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        PYTHONUNBUFFERED="1",
        RCUTILS_COLORIZED_OUTPUT="0",
    )
    env.update(extra)
    return env


class NodeProcess:
    """A node (or any command) in its own process and session, output captured to a file."""

    def __init__(
        self,
        cmd: list[str],
        env: dict[str, str],
        log_dir: Path,
        name: str | None = None,
    ) -> None:
        exe = cmd[0]
        if "/" not in exe and (BIN / exe).exists():
            cmd = [str(BIN / exe)] + cmd[1:]
        self.name = name or Path(exe).name
        self.log_path = Path(log_dir) / f"{self.name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """Wait until the process has printed a line matching `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output)
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.name} did not print /{pattern}/ (exit={self.proc.poll()}):\n"
            + self.output[-3000:]
        )

    def stop(self, grace: float = 5.0, sig: int = signal.SIGINT) -> int:
        """Signal the process, wait up to `grace`, then kill it; return its exit code."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode


class Probe:
    """An in-process rclpy node on its own Context, spun in a background thread."""

    def __init__(self, domain_id: int, name: str = "test_probe", namespace: str = "") -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            while self.context.ok():
                self.executor.spin_once(timeout_sec=0.05)
        except (ExternalShutdownException, Exception):  # noqa: BLE001 - ends with the context
            pass

    def subscribe(self, msg_type: Any, topic: str, qos: Any = 10) -> list:
        """Collect every message on `topic` into the returned list (append-only)."""
        received: list = []
        with self._lock:
            self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def publisher(self, msg_type: Any, topic: str, qos: Any = 10):
        with self._lock:
            return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 15.0) -> None:
        wait_until(
            lambda: publisher.get_subscription_count() >= count,
            timeout,
            f"{count} subscriber(s) on {publisher.topic_name}",
        )

    def wait_for_publishers(self, topic: str, count: int = 1, timeout: float = 15.0) -> None:
        """Wait until `topic` has publishers, so a reply sent on it is not lost to discovery."""
        wait_until(lambda: self.node.count_publishers(topic) >= count, timeout,
                   f"{count} publisher(s) on {topic}")  # fmt: skip

    def node_names(self) -> set[str]:
        """Fully qualified names of the nodes visible in the graph."""
        return {(ns.rstrip("/") + "/" + n) for n, ns in self.node.get_node_names_and_namespaces()}

    def topic_names(self) -> set[str]:
        return {name for name, _ in self.node.get_topic_names_and_types()}

    def close(self) -> None:
        import rclpy

        if self.context.ok():
            self.node.destroy_node()
            rclpy.shutdown(context=self.context)
        self._thread.join(2.0)


def wait_until(
    pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition", interval: float = 0.02
) -> Any:
    """Poll `pred` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


_SHM_PATTERN = re.compile(r"^(sem\.)?(fastrtps|fastdds)_")


def clean_stale_shm(shm_dir: Path = Path("/dev/shm")) -> list[str]:
    """Remove Fast DDS shared-memory files that no living process has mapped or open.

    Fast DDS leaves its segments and port files behind when a participant dies without
    cleaning up; they are harmless but pile up over a test run. Files still in use by any
    process (another test, a developer's robot) are left alone."""
    if not shm_dir.is_dir():
        return []
    candidates = {p.name: p for p in shm_dir.iterdir() if _SHM_PATTERN.match(p.name)}
    if not candidates:
        return []
    in_use: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for line in (proc / "maps").read_text().splitlines():
                if "/dev/shm/" in line:
                    in_use.add(line.rsplit("/", 1)[-1].split(" ")[0])
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith(str(shm_dir)):
                    in_use.add(target.rsplit("/", 1)[-1])
        except OSError:
            continue
    removed = []
    for name, path in candidates.items():
        bare = name[4:] if name.startswith("sem.") else name
        if name in in_use or bare in in_use:
            continue
        try:
            path.unlink()
            removed.append(name)
        except OSError:
            pass
    return removed


def pids_with_env(key: str, value: str) -> list[int]:
    """PIDs of living processes whose environment has key=value (finds orphans of a test)."""
    needle = f"{key}={value}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                stat = (proc / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":  # zombies are already dead
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


@contextlib.contextmanager
def service_client(node: Any, srv_type: Any, name: str, timeout: float = 10.0) -> Iterator[Any]:
    """A client of service `name` that has discovered its server, destroyed afterwards.

    Discovery of a new client can take tens of milliseconds on a loaded machine; a test that
    times what a service does starts its clock after this, when the request is sent."""
    client = node.create_client(srv_type, name)
    try:
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"service {name} not available after {timeout:.0f} s")
        yield client
    finally:
        node.destroy_client(client)


def await_response(client: Any, request: Any, timeout: float = 10.0) -> Any:
    """Send `request` on a ready client (its node spun by a background executor); the reply."""
    future = client.call_async(request)
    wait_until(future.done, timeout, f"a response from {client.srv_name}")
    return future.result()


def call_service(node: Any, srv_type: Any, name: str, request: Any, timeout: float = 10.0) -> Any:
    """Call a service from a node that a background executor spins (e.g. `Probe.node`)."""
    with service_client(node, srv_type, name, timeout) as client:
        return await_response(client, request, timeout)
