"""The one way every node process runs: init, build the node, spin, shut down cleanly.

rclpy installs SIGINT/SIGTERM handlers that shut the context down, which ends `spin` with
ExternalShutdownException; KeyboardInterrupt is caught too, so Ctrl-C and `kill` both exit 0
after the node's `close()` (if any) has run, e.g. to publish a last zero command.
"""

from __future__ import annotations

from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node


def spin_node(factory: Callable[[], Node], args: list[str] | None = None, threads: int = 1) -> int:
    """Run one node until shutdown; return the process exit status."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        executor = MultiThreadedExecutor(threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as e:  # noqa: BLE001 - shutdown must continue
                    node.get_logger().error(f"close failed: {e}")
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
