"""spin_node's shutdown in a real process: a node whose worker is still inside native code when
SIGTERM comes (a model loading, an inference running) stops with status 0, not an abort.

Python 3.11 ends such a daemon thread with pthread_exit during finalisation; unwinding through
torch's C++ frames calls std::terminate (CI saw the reasoning node exit with -6 while its intent
model loaded). Without `spin.leave` this process aborts on nearly every run.
"""

import signal
import sys

import pytest

from synth_agent.testing import NodeProcess, ros_env

pytestmark = pytest.mark.integration

BUSY_NODE = """
import sys, threading
import torch
from rclpy.node import Node
from synth_agent.nodes.spin import spin_node

class Busy(Node):
    def __init__(self):
        super().__init__("busy")
        a = torch.randn(300, 300)

        def work():
            while True:
                a @ a  # releases the GIL inside C++ on every call

        threading.Thread(target=work, name="busy-native", daemon=True).start()
        self.get_logger().info("busy up")

sys.exit(spin_node(Busy))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_node_busy_in_native_code_stops_cleanly(tmp_path, domain_id, sig):
    node = NodeProcess([sys.executable, "-c", BUSY_NODE], ros_env(domain_id), tmp_path, "busy")
    try:
        node.wait_for_output(r"busy up", timeout=60)
        node.proc.send_signal(sig)
        code = node.proc.wait(10)
    finally:
        node.stop()
    assert code == 0, node.output[-2000:]
    assert "leaving with thread(s) still running: busy-native" in node.output
