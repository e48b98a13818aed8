"""rclpy QoS profiles for the contract's QoS kinds (`synth_agent.core.contract.QOS`)."""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

from synth_agent.core.contract import QOS, QosKind, Topic


def profile(kind: QosKind | Topic) -> QoSProfile:
    """The QoSProfile for a contract QoS kind or for a contract topic."""
    q = QOS[kind.qos if isinstance(kind, Topic) else kind]
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=q.depth,
        reliability=(
            ReliabilityPolicy.RELIABLE
            if q.reliability == "reliable"
            else ReliabilityPolicy.BEST_EFFORT
        ),
        durability=(
            DurabilityPolicy.TRANSIENT_LOCAL
            if q.durability == "transient_local"
            else DurabilityPolicy.VOLATILE
        ),
    )
