"""FrameSync: colour and depth images are paired by header stamp, never by arrival order."""

from __future__ import annotations

import pytest

from synth_agent.core.perception import PerceptionConfig
from synth_agent.core.perception_sync import FrameSync, Pair

WAIT_S = 0.5


def make(tolerance_s: float = 0.0, **kw) -> FrameSync:
    return FrameSync(tolerance_s, WAIT_S, now=0.0, **kw)


def test_colour_first_then_depth_pairs_same_stamp_not_previous_depth():
    """The bug this exists for: the sim publishes colour before depth for each render, so the
    latest depth at colour arrival is the previous frame's."""
    sync = make()
    out = []
    for i in range(5):
        t, now = 10.0 + 0.1 * i, 0.1 * i
        out += sync.add_image(t, f"rgb{i}", now)
        out += sync.add_depth(t, f"depth{i}", now + 0.001)
    assert [(p.image, p.depth) for p in out] == [(f"rgb{i}", f"depth{i}") for i in range(5)]
    assert [p.stamp for p in out] == pytest.approx([10.0, 10.1, 10.2, 10.3, 10.4])
    assert sync.unmatched == 0 and sync.paired == 5 and sync.pending == (0, 0)


def test_depth_first_then_colour_pairs_too():
    sync = make()
    assert sync.add_depth(1.0, "d", 0.0) == []
    assert sync.add_image(1.0, "i", 0.01) == [Pair(1.0, "i", "d")]
    assert sync.pending == (0, 0)


def test_interleaved_out_of_order_arrival_pairs_by_stamp():
    sync = make()
    out = sync.add_image(1.0, "i1", 0.0)
    out += sync.add_image(1.1, "i2", 0.01)
    out += sync.add_depth(1.0, "d1", 0.02)
    out += sync.add_depth(1.1, "d2", 0.03)
    assert [(p.image, p.depth) for p in out] == [("i1", "d1"), ("i2", "d2")]
    assert sync.unmatched == 0


def test_tolerance_pairs_close_stamps_and_not_far_ones():
    sync = make(tolerance_s=0.01)
    assert sync.add_image(2.000, "i", 0.0) == []
    assert sync.add_depth(2.030, "far", 0.001) == []  # 30 ms: another frame
    assert sync.add_depth(2.008, "near", 0.002) == [Pair(2.000, "i", "near")]
    exact = make(tolerance_s=0.0)
    exact.add_image(2.000, "i", 0.0)
    assert exact.add_depth(2.001, "d", 0.001) == []


def test_tolerance_takes_the_closest_candidate():
    sync = make(tolerance_s=0.02)
    sync.add_depth(3.015, "later", 0.0)
    sync.add_depth(3.002, "closest", 0.0)
    assert sync.add_image(3.0, "i", 0.01) == [Pair(3.0, "i", "closest")]


def test_a_pair_drops_older_unmatched_entries_and_counts_them():
    sync = make()
    sync.add_image(1.0, "i1", 0.0)  # its depth was lost
    sync.add_depth(0.9, "d0", 0.0)  # its image was lost
    assert sync.add_image(1.1, "i2", 0.01) == []
    assert sync.add_depth(1.1, "d2", 0.02) == [Pair(1.1, "i2", "d2")]
    assert sync.unmatched == 2 and sync.pending == (0, 0)


def test_buffers_are_bounded_and_overflow_is_counted():
    sync = make(max_pending=3)
    for i in range(10):
        sync.add_image(float(i), i, 0.001 * i)
    assert sync.pending == (3, 0) and sync.unmatched == 7
    # The newest are kept: their depths still pair.
    assert sync.add_depth(9.0, "d9", 0.02) == [Pair(9.0, 9, "d9")]


def test_same_stamp_twice_replaces_the_older_message():
    sync = make()
    sync.add_image(1.0, "old", 0.0)
    sync.add_image(1.0, "new", 0.01)
    assert sync.add_depth(1.0, "d", 0.02) == [Pair(1.0, "new", "d")]
    assert sync.unmatched == 1


def test_entries_waiting_too_long_are_dropped():
    sync = make()
    sync.add_depth(0.0, "d0", 0.0)
    sync.add_image(5.0, "i5", 0.1)  # its depth never comes, but depth is alive
    sync.add_depth(4.9, "d49", 0.4)
    assert sync.poll(0.45) == []
    assert sync.pending == (1, 2)
    assert sync.poll(0.7) == []  # everything waited more than 0.5 s; depth is still alive
    assert sync.pending == (0, 1) and sync.unmatched == 2
    assert not sync.depth_silent


def test_no_depth_at_start_falls_back_to_colour_only_after_the_timeout():
    sync = make()
    assert sync.add_image(1.0, "i1", 0.1) == []  # waits for its depth at first
    assert sync.add_image(1.1, "i2", 0.2) == []
    assert sync.silent_since_change() is None
    # Timeout: the newest waiting image goes out without depth, the older one is dropped.
    assert sync.poll(0.55) == [Pair(1.1, "i2", None)]
    assert sync.depth_silent and sync.unmatched == 1
    assert sync.silent_since_change() is True
    assert sync.silent_since_change() is None  # reported once
    # From now on images go out at once, nothing stalls.
    assert sync.add_image(1.2, "i3", 0.6) == [Pair(1.2, "i3", None)]
    assert sync.add_image(1.3, "i4", 0.7) == [Pair(1.3, "i4", None)]
    assert sync.without_depth == 3


def test_depth_that_stops_falls_back_and_pairing_resumes_when_it_returns():
    sync = make()
    sync.add_image(1.0, "i1", 0.0)
    assert sync.add_depth(1.0, "d1", 0.01) == [Pair(1.0, "i1", "d1")]
    # Depth stops; colour keeps coming.
    out = []
    for i in range(2, 12):
        out += sync.add_image(i / 10 + 1.0, f"i{i}", 0.01 + 0.1 * (i - 1))
    assert sync.depth_silent and sync.silent_since_change() is True
    assert out and all(p.depth is None for p in out)
    assert out[-1].image == "i11"  # the latest frames go out without waiting
    # Depth is back: pairing by stamp again.
    assert sync.add_depth(2.2, "d22", 1.2) == []
    assert not sync.depth_silent and sync.silent_since_change() is False
    assert sync.add_image(2.2, "i22", 1.21) == [Pair(2.2, "i22", "d22")]


def test_depth_disabled_passes_every_image_through_without_depth():
    sync = make(depth_enabled=False)
    assert sync.add_image(1.0, "i", 0.0) == [Pair(1.0, "i", None)]
    assert sync.poll(100.0) == [] and not sync.depth_silent
    assert sync.silent_since_change() is None


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="tolerance_s"):
        FrameSync(-0.1, WAIT_S, 0.0)
    with pytest.raises(ValueError, match="max_wait_s"):
        FrameSync(0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="max_pending"):
        FrameSync(0.0, WAIT_S, 0.0, max_pending=0)


def test_config_has_a_sync_tolerance_and_checks_it():
    assert PerceptionConfig().sync_tolerance_s == pytest.approx(0.01)
    with pytest.raises(ValueError, match="sync_tolerance_s"):
        PerceptionConfig(sync_tolerance_s=-1.0)
    with pytest.raises(ValueError, match="sync_tolerance_s"):
        PerceptionConfig(sync_tolerance_s=float("nan"))
