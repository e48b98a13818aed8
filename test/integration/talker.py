"""A minimal rclpy publisher in its own process, for harness and "killed upstream" tests.

    talker.py TOPIC TEXT           publishes std_msgs/String TEXT at 20 Hz
    talker.py TOPIC VX --twist     publishes geometry_msgs/Twist with linear.x = VX at 20 Hz

until it is stopped (or killed). Prints "talker up" once publishing.
"""

import sys

import rclpy
from geometry_msgs.msg import Twist
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String

from synth_agent.env import apply_safe_defaults


def main() -> None:
    apply_safe_defaults()
    topic, value = sys.argv[1], sys.argv[2]
    if "--twist" in sys.argv[3:]:
        msg = Twist()
        msg.linear.x = float(value)
    else:
        msg = String(data=value)
    rclpy.init()
    node = rclpy.create_node("talker")
    pub = node.create_publisher(type(msg), topic, 10)
    node.create_timer(0.05, lambda: pub.publish(msg))
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
