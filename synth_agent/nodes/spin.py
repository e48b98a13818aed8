"""The one way every node process runs: init, build the node, spin, shut down cleanly.

rclpy's own SIGINT/SIGTERM handlers shut the context down *before* control returns to us, so a
node could no longer publish its last message (the gate's final zero, motor control's stop).
We therefore turn them off: while the node is being built both signals raise KeyboardInterrupt
(a model load can be interrupted), and once it spins they set a flag the spin loop checks:
spinning stops, the node's `close()` runs while the context is still valid, and only then is
the node destroyed and rclpy shut down. Ctrl-C and `kill` both exit with status 0. Python runs
signal handlers only between bytecodes, so the executor is spun in short slices.

A node whose worker thread is still inside native code at that point (a model still loading,
an inference still running) leaves without Python's finalisation: Python 3.11 ends a daemon
thread that wakes up during finalisation with pthread_exit, and that unwind through a C++
frame (torch, CTranslate2, OpenCV) aborts the process ("terminate called without an active
exception", status -6) — a clean stop reported as a crash.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions


def _interrupt(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt


def spin_node(factory: Callable[[], Node], args: list[str] | None = None, threads: int = 1) -> int:
    """Run one node until SIGINT/SIGTERM or an external shutdown; return the exit status."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    node = None
    try:
        node = factory()
        executor = MultiThreadedExecutor(threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        # Once spinning, a signal only sets a flag: raised inside rclpy's C++ code (taking a
        # message), KeyboardInterrupt comes out as a RuntimeError and the node dies with a
        # traceback instead of closing. spin_once with a wall-clock timeout, not spin(): the
        # wait returns at least every 0.1 s, so the flag is seen even when no timer fires.
        stopping = threading.Event()
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        while rclpy.ok() and not stopping.is_set():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second signal during shutdown must not cut the last publication short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if node is not None:
            close = getattr(node, "close", None)
            if callable(close) and rclpy.ok():
                try:
                    close()
                except Exception as e:  # noqa: BLE001 - shutdown must continue
                    node.get_logger().error(f"close failed: {e}")
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return leave(0)


def leave(code: int) -> int:
    """Return `code`, or end the process now with it while a daemon thread still runs.

    Each node's `close()` has already asked its threads to stop and waited for them as long as
    the launcher's grace allows; a thread still alive is in native code that cannot be
    interrupted. Output is flushed first; nothing else is left to finalise (the node is
    destroyed and rclpy shut down).
    """
    busy = [
        t.name
        for t in threading.enumerate()
        # A foreign (C) thread that once called into Python shows as a _DummyThread, "alive"
        # for ever: it is not ours to wait for.
        if t.daemon and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    if not busy:
        return code
    print(f"leaving with thread(s) still running: {', '.join(busy)}", file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
