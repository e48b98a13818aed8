"""An upstream command publisher in its own process, for the "killed upstream" test: publishes
a Twist with linear.x = VX on TOPIC at 20 Hz until it is stopped (or killed)."""

import sys

import rclpy
from geometry_msgs.msg import Twist
from rclpy.executors import ExternalShutdownException

from synth_agent.env import apply_safe_defaults


def main() -> None:
    apply_safe_defaults()
    topic, vx = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("cmd_publisher")
    pub = node.create_publisher(Twist, topic, 10)
    msg = Twist()
    msg.linear.x = vx
    node.create_timer(0.05, lambda: pub.publish(msg))
    print("cmd_publisher up", flush=True)
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
