"""Record a run to a rosbag2 (MCAP) file and play one back, without rosbag2.

`ros2 bag` is not installable from PyPI, yet integrators and testers need to keep a run and
feed it back into the graph (re-run perception on a recorded camera stream, replay an operator
session against a new reasoning model). `rosbags` reads and writes the rosbag2 format itself, so
a bag written here opens in `ros2 bag info/play`, Foxglove and PlotJuggler, and a bag from
`ros2 bag record` plays here.

Messages travel as serialized CDR both ways (`raw=True` subscriptions, `publish(bytes)`): nothing
is decoded and re-encoded, so what is played back is byte for byte what was recorded. Each topic
keeps the QoS of the contract (`core/contract.py`) so a latched topic replays latched and sensor
streams stay best-effort; a topic outside the contract gets reliable, depth 10.

Timestamps are receive times (wall clock, ns). Playback keeps the gaps between messages, divided
by `rate`.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from synth_agent.core import contract

CLOCK = contract.Topic("/clock", "rosgraph_msgs/msg/Clock", "best_effort")

# What `synth-agent record` keeps by default: every contract topic but the raw camera streams
# (≈ 1–2 MB a frame at 15 Hz); `--images` adds them.
IMAGE_TOPICS = {contract.IMAGE.name, contract.DEPTH.name, contract.IMAGE_ANNOTATED.name}
DEFAULT_TOPICS: tuple[contract.Topic, ...] = tuple(
    t for t in contract.TOPICS if t.name not in IMAGE_TOPICS
)


def msg_class(type_name: str):
    """'std_msgs/msg/String' -> the rclpy message class."""
    pkg, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


def resolve(name: str, namespace: str = "") -> str:
    """The absolute topic name a relative contract name has under `namespace`."""
    if name.startswith("/"):
        return name
    ns = namespace.strip("/")
    return f"/{ns}/{name}" if ns else f"/{name}"


def select(names: Iterable[str] | None, images: bool = False) -> list[contract.Topic]:
    """Contract topics to record: the named ones (relative or absolute), or the defaults."""
    if not names:
        chosen = list(DEFAULT_TOPICS)
        if images:
            chosen += [t for t in contract.TOPICS if t.name in IMAGE_TOPICS]
        return chosen
    out = []
    for name in names:
        bare = name.lstrip("/")
        topic = next((t for t in (*contract.TOPICS, CLOCK) if t.name.lstrip("/") == bare), None)
        if topic is None:
            known = ", ".join(sorted(t.name for t in contract.TOPICS))
            raise ValueError(f"{name!r} is not a contract topic (known: {known}, /clock)")
        out.append(topic)
    return out


@dataclass
class Recorder:
    """Subscribes (raw) to topics on an rclpy node and writes every message to an MCAP bag.

    Thread-safe: callbacks may come from a multi-threaded executor. `min_gap_s` thins a topic
    (e.g. one annotated frame every 5 s) — every other topic is kept whole.
    """

    out: Path
    namespace: str = ""
    min_gap_s: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore

        self.out = Path(self.out)
        if self.out.exists():
            raise FileExistsError(f"{self.out} exists; rosbag2 will not write into it")
        self._writer = Writer(self.out, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._typestore = get_typestore(Stores.ROS2_KILTED)
        self._lock = threading.Lock()
        self._closed = False

    def add(self, node, topic: contract.Topic) -> None:
        """Record `topic` (under the recorder's namespace) from now on."""
        from synth_agent.nodes.qos import profile

        name = resolve(topic.name, self.namespace)
        conn = self._writer.add_connection(name, topic.msg_type, typestore=self._typestore)
        gap_ns = int(self.min_gap_s.get(topic.name, 0.0) * 1e9)
        last_ns = [-gap_ns]
        self.counts[name] = 0

        def write(data: bytes) -> None:
            now_ns = time.time_ns()
            with self._lock:
                if self._closed or now_ns - last_ns[0] < gap_ns:
                    return
                last_ns[0] = now_ns
                self._writer.write(conn, now_ns, data)
                self.counts[name] += 1

        node.create_subscription(msg_class(topic.msg_type), name, write, profile(topic), raw=True)

    def close(self) -> None:
        """Finish the bag (writes its metadata.yaml); later messages are ignored."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._writer.close()


@dataclass(frozen=True)
class Recorded:
    """One message read from a bag."""

    topic: str
    msg_type: str
    time_ns: int
    data: bytes


def read(bag: Path, topics: Iterable[str] | None = None) -> list[Recorded]:
    """Every message in `bag` (optionally only `topics`, absolute names), in time order."""
    from rosbags.rosbag2 import Reader

    wanted = set(topics) if topics else None
    out: list[Recorded] = []
    with Reader(Path(bag)) as reader:
        conns = [c for c in reader.connections if wanted is None or c.topic in wanted]
        for conn, t_ns, data in reader.messages(connections=conns):
            out.append(Recorded(conn.topic, conn.msgtype, t_ns, bytes(data)))
    out.sort(key=lambda m: m.time_ns)
    return out


def play(
    node,
    messages: list[Recorded],
    rate: float = 1.0,
    namespace: str = "",
    spin: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Publish `messages` on `node` with their recorded spacing divided by `rate`.

    Topics recorded in one namespace can be moved to another: a recorded name that is a contract
    topic is re-resolved under `namespace` when one is given. `spin(seconds)` is called while
    waiting (so the node can serve discovery); returns how many messages were published.
    """
    from rclpy.qos import QoSProfile

    from synth_agent.nodes.qos import profile

    if not (rate > 0 and rate < float("inf")):
        raise ValueError(f"rate must be a positive finite number, got {rate!r}")
    pubs = {}
    for m in messages:
        if m.topic in pubs:
            continue
        topic = _topic_of(m.topic)
        name = resolve(topic.name, namespace) if topic and namespace else m.topic
        qos = profile(topic) if topic else QoSProfile(depth=10)
        pubs[m.topic] = node.create_publisher(msg_class(m.msg_type), name, qos)
    if not messages:
        return 0
    t0_bag, t0 = messages[0].time_ns, time.monotonic()
    sent = 0
    for m in messages:
        due = t0 + (m.time_ns - t0_bag) / 1e9 / rate
        while (left := due - time.monotonic()) > 0:
            if should_stop():
                return sent
            if spin is not None:
                spin(min(left, 0.05))
            else:
                time.sleep(min(left, 0.05))
        pubs[m.topic].publish(m.data)
        sent += 1
    return sent


def _topic_of(absolute: str) -> contract.Topic | None:
    """The contract row a recorded absolute name stands for, in any namespace (longest match:
    `/ns/agent/cmd_vel` is agent/cmd_vel, not cmd_vel)."""
    best = None
    for topic in (*contract.TOPICS, CLOCK):
        rel = topic.name.lstrip("/")
        exact = absolute == "/" + rel
        nested = not topic.name.startswith("/") and absolute.endswith("/" + rel)
        if (exact or nested) and (best is None or len(rel) > len(best.name.lstrip("/"))):
            best = topic
    return best
