"""declare_config on a real rclpy node: defaults, overrides, run-time validation."""

from dataclasses import dataclass, field

import pytest
import rclpy
from rclpy.context import Context
from rclpy.parameter import Parameter

from synth_agent.nodes.params import declare_config


@dataclass(frozen=True)
class Cfg:
    rate_hz: float = 10.0
    names: list[str] = field(default_factory=lambda: ["a"])
    fence: list[float] = field(default_factory=list)

    def __post_init__(self):
        if self.rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")


@pytest.fixture
def node(domain_id):
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    n = rclpy.create_node(
        "params_test",
        context=context,
        parameter_overrides=[Parameter("rate_hz", value=5.0)],
    )
    yield n
    n.destroy_node()
    rclpy.shutdown(context=context)


def test_overrides_apply_and_changes_are_validated(node):
    seen = []
    cfg = declare_config(node, Cfg, on_change=seen.append)
    assert cfg == Cfg(rate_hz=5.0, names=["a"], fence=[])
    bad = node.set_parameters([Parameter("rate_hz", value=-1.0)])[0]
    assert not bad.successful and "rate_hz must be > 0" in bad.reason
    assert node.get_parameter("rate_hz").value == 5.0 and seen == []
    nan = node.set_parameters([Parameter("rate_hz", value=float("nan"))])[0]
    assert not nan.successful and "finite" in nan.reason
    good = node.set_parameters([Parameter("fence", value=[0.0, 0.0, 1.0, 1.0])])[0]
    assert good.successful
    assert seen[-1].fence == [0.0, 0.0, 1.0, 1.0] and seen[-1].rate_hz == 5.0
    # Parameters that are not part of the config (ROS's own) are not refused.
    assert node.set_parameters([Parameter("use_sim_time", value=True)])[0].successful
