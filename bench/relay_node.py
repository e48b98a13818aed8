"""The baseline for bench/gate_latency.py: a plain rclpy relay (Twist in → the same Twist out),
run the same way as every synth_agent node (spin_node, single-threaded executor, contract QoS),
so the difference to the gate is the gate's own work.

Usage: relay_node.py IN_TOPIC OUT_TOPIC
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geometry_msgs.msg import Twist  # noqa: E402
from rclpy.node import Node  # noqa: E402

from synth_agent.core import contract  # noqa: E402
from synth_agent.env import apply_safe_defaults  # noqa: E402
from synth_agent.nodes.qos import profile  # noqa: E402
from synth_agent.nodes.spin import spin_node  # noqa: E402


class Relay(Node):
    def __init__(self, src: str, dst: str) -> None:
        super().__init__("relay")
        qos = profile(contract.CMD_VEL)
        self.pub = self.create_publisher(Twist, dst, qos)
        self.create_subscription(Twist, src, self.pub.publish, qos)
        self.get_logger().info("relay ready")


def main() -> int:
    apply_safe_defaults()
    src, dst = sys.argv[1], sys.argv[2]
    return spin_node(lambda: Relay(src, dst), args=sys.argv)


if __name__ == "__main__":
    sys.exit(main())
