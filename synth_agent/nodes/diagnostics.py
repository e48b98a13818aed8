"""One `/diagnostics` status per node, built the same way everywhere.

Nodes compute (level, message, values) in core — level 0 OK, 1 WARN, 2 ERROR as in
diagnostic_msgs — and this turns it into a DiagnosticArray named after the node's fully
qualified name, stamped with the node's clock (simulated time in the simulator).
"""

from __future__ import annotations

from collections.abc import Mapping

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node


def diagnostic_array(
    node: Node, what: str, level: int, message: str, values: Mapping[str, object]
) -> DiagnosticArray:
    """A one-status DiagnosticArray: `<node fqn>: <what>`."""
    status = DiagnosticStatus(
        level=bytes([level]),
        name=f"{node.get_fully_qualified_name()}: {what}",
        message=message,
        hardware_id="",
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array
