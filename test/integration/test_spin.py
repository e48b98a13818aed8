"""spin_node's shutdown in a real process: a node whose worker is still inside native code when
SIGTERM comes (a model loading, an inference running) stops with status 0, not an abort.

Python 3.11 ends such a daemon thread with pthread_exit during finalisation; unwinding through
torch's C++ frames calls std::terminate (CI saw the reasoning node exit with -6 while its intent
model loaded). Without `spin.leave` this process aborts on nearly every run.
"""

import signal
import subprocess
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


def test_a_foreign_thread_seen_by_python_does_not_count_as_busy():
    # A C thread that once called into Python shows as a _DummyThread, "alive" for ever;
    # counting it would end every such node without finalising (found in review).
    script = (
        "import _thread, threading, time\n"
        "from synth_agent.nodes.spin import leave\n"
        "_thread.start_new_thread(threading.current_thread, ())\n"
        "time.sleep(0.3)\n"
        "print('returned', leave(7))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert out.returncode == 0 and "returned 7" in out.stdout, out.stderr
