"""The harness itself: real processes, private domains, no cross-talk."""

import sys
import time
from pathlib import Path

import pytest
from std_msgs.msg import String

from synth_agent.testing import DomainLease, Probe, clean_stale_shm, wait_until

TALKER = str(Path(__file__).with_name("talker.py"))
pytestmark = pytest.mark.integration


def test_probe_hears_a_node_in_another_process(launch, probe):
    launch([sys.executable, TALKER, "chatter", "hello"], name="talker")
    got = probe.subscribe(String, "chatter")
    wait_until(lambda: got, 15, "a message from the talker process")
    assert got[0].data == "hello"


def test_different_domains_do_not_hear_each_other(launch, probe, tmp_path):
    other = DomainLease()
    try:
        assert other.domain_id != probe.context.get_domain_id()
        far = Probe(other.domain_id, name="far_probe")
        try:
            near_got = probe.subscribe(String, "chatter")
            far_got = far.subscribe(String, "chatter")
            launch([sys.executable, TALKER, "chatter", "only-this-domain"], name="talker")
            wait_until(lambda: len(near_got) >= 10, 15, "the talker on our own domain")
            time.sleep(1.0)  # the far probe had the same time to discover the talker
            assert far_got == []
            assert "/talker" in probe.node_names()
            assert "/talker" not in far.node_names()
        finally:
            far.close()
    finally:
        other.release()


def test_domain_leases_are_exclusive():
    leases = [DomainLease(start=5) for _ in range(3)]
    try:
        assert len({lease.domain_id for lease in leases}) == 3
    finally:
        for lease in leases:
            lease.release()


def test_stale_shared_memory_files_are_removed_and_live_ones_kept(tmp_path):
    stale = tmp_path / "fastdds_deadbeef"
    stale.write_bytes(b"x")
    unrelated = tmp_path / "other_segment"
    unrelated.write_bytes(b"x")
    held = tmp_path / "fastdds_held"
    held.write_bytes(b"x")
    with open(held, "rb"):
        # The harness only looks at /proc/*/fd targets under the directory it cleans.
        removed = clean_stale_shm(tmp_path)
    assert removed == ["fastdds_deadbeef"]
    assert unrelated.exists() and held.exists()


def test_fast_dds_files_of_a_killed_node_are_cleaned(launch):
    import signal

    talker = launch([sys.executable, TALKER, "chatter", "x"], name="talker")
    talker.wait_for_output("talker up")

    def own_segments():
        # The participant's own segments (ports are shared with other participants).
        maps = Path(f"/proc/{talker.proc.pid}/maps").read_text()
        names = {ln.rsplit("/", 1)[-1] for ln in maps.splitlines() if "/dev/shm/fastdds_" in ln}
        return {n for n in names if "port" not in n}

    mine = wait_until(own_segments, 10, "the talker's shared-memory segments")
    talker.stop(sig=signal.SIGKILL)  # dies without cleaning up after itself
    assert all((Path("/dev/shm") / n).exists() for n in mine), "killed: files are left behind"
    removed = set(clean_stale_shm())
    assert mine <= removed
    assert not any((Path("/dev/shm") / n).exists() for n in mine)
