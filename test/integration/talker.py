"""A minimal rclpy talker for harness tests: publishes `text` on `topic` at 20 Hz until stopped."""

import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String

from synth_agent.env import apply_safe_defaults


def main() -> None:
    apply_safe_defaults()
    topic, text = sys.argv[1], sys.argv[2]
    rclpy.init()
    node = rclpy.create_node("talker")
    pub = node.create_publisher(String, topic, 10)
    node.create_timer(0.05, lambda: pub.publish(String(data=text)))
    print("talker up", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == "__main__":
    main()
