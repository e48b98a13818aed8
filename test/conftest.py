"""Shared fixtures: a private ROS domain per test, real node processes, an in-process probe."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from synth_agent.env import apply_safe_defaults
from synth_agent.testing import (
    DomainLease,
    NodeProcess,
    Probe,
    clean_stale_shm,
    pids_with_env,
    ros_env,
)

apply_safe_defaults()
# Anything in the test process that reaches ROS without the fixtures still gets a private domain.
_SESSION_DOMAIN = DomainLease()
os.environ["ROS_DOMAIN_ID"] = str(_SESSION_DOMAIN.domain_id)


@pytest.fixture
def domain_id():
    """A ROS_DOMAIN_ID held by this test alone; Fast DDS leftovers are removed afterwards, and
    so is any process still running on it (a node orphaned when its launcher was killed would
    otherwise haunt the next test that leases the same id)."""
    lease = DomainLease()
    yield lease.domain_id
    for pid in pids_with_env("ROS_DOMAIN_ID", str(lease.domain_id)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    lease.release()
    clean_stale_shm()


@pytest.fixture
def env(domain_id):
    """Environment for child processes on this test's domain."""
    return ros_env(domain_id)


@pytest.fixture
def launch(env, tmp_path):
    """Start processes: `launch(["safety_gate", "--ros-args", ...])`; all stopped at teardown."""
    started: list[NodeProcess] = []

    def _launch(cmd: list[str], name: str | None = None, **extra_env: str) -> NodeProcess:
        p = NodeProcess(cmd, {**env, **extra_env}, tmp_path, name=name)
        started.append(p)
        return p

    yield _launch
    for p in reversed(started):
        p.stop()


@pytest.fixture
def probe(domain_id):
    """An rclpy node in the test process on this test's domain."""
    p = Probe(domain_id, name=f"probe_{os.getpid()}")
    yield p
    p.close()
