"""Tracker: stable ids, smoothing, forgetting into memory, re-acquisition, confirmation."""

from __future__ import annotations

import pytest

from synth_agent.core.tracker import Observation, Tracker


def obs(label="red cup", x=1.0, y=2.0, z=0.8, conf=0.9):
    return Observation(label, (x, y, z), conf, "red")


def test_ids_are_stable_across_frames_with_jitter():
    t = Tracker(match_distance_m=0.3, smoothing=0.5)
    ids = set()
    for i in range(20):
        jitter = 0.03 * (-1) ** i
        t.update([obs(x=1.0 + jitter), obs("blue ball", x=3.0, y=jitter)], now=0.1 * i)
        ids |= {tr.id for tr in t.tracks(0.1 * i)}
    assert ids == {"red_cup-1", "blue_ball-1"}


def test_two_objects_with_one_label_get_two_ids_and_keep_them():
    t = Tracker(match_distance_m=0.3)
    for i in range(5):
        t.update([obs(x=1.0), obs(x=2.0)], now=float(i))
    tracks = {tr.id: tr.position[0] for tr in t.tracks(4.0)}
    assert tracks == pytest.approx({"red_cup-1": 1.0, "red_cup-2": 2.0})


def test_smoothing_moves_part_way_towards_each_observation():
    t = Tracker(match_distance_m=1.0, smoothing=0.25)
    t.update([obs(x=1.0)], now=0.0)
    t.update([obs(x=1.4)], now=0.1)
    (tr,) = t.tracks(0.1)
    assert tr.position[0] == pytest.approx(1.1)
    t2 = Tracker(smoothing=1.0)
    t2.update([obs(x=1.0)], now=0.0)
    t2.update([obs(x=1.4)], now=0.1)
    assert t2.tracks(0.1)[0].position[0] == pytest.approx(1.4)


def test_far_observation_starts_a_new_track():
    t = Tracker(match_distance_m=0.3)
    t.update([obs(x=1.0)], now=0.0)
    t.update([obs(x=2.0)], now=0.1)
    assert sorted(tr.id for tr in t.tracks(0.1)) == ["red_cup-1", "red_cup-2"]


def test_forgotten_objects_become_memories_then_disappear():
    t = Tracker(forget_after_s=2.0, memory_s=10.0)
    t.update([obs()], now=0.0)
    (tr,) = t.tracks(1.9)
    assert t.visible(tr, 1.9)
    (tr,) = t.tracks(5.0)
    assert not t.visible(tr, 5.0)
    assert tr.last_seen == 0.0 and tr.position[0] == pytest.approx(1.0)
    assert t.tracks(10.0) != []
    assert t.tracks(10.01) == []


def test_a_memory_seen_again_keeps_its_id_and_jumps_to_the_new_sighting():
    t = Tracker(match_distance_m=0.5, smoothing=0.2, forget_after_s=1.0, memory_s=60.0)
    t.update([obs(x=1.0)], now=0.0)
    t.update([obs(x=1.3)], now=30.0)
    (tr,) = t.tracks(30.0)
    assert tr.id == "red_cup-1"
    assert tr.position[0] == pytest.approx(1.3)
    assert t.visible(tr, 30.0)


def test_min_hits_hides_one_frame_blips():
    t = Tracker(min_hits=2)
    t.update([obs()], now=0.0)
    assert t.tracks(0.0) == []
    t.update([obs()], now=0.1)
    assert [tr.id for tr in t.tracks(0.1)] == ["red_cup-1"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="memory_s"):
        Tracker(forget_after_s=5.0, memory_s=1.0)
    with pytest.raises(ValueError, match="smoothing"):
        Tracker(smoothing=0.0)
    t = Tracker()
    with pytest.raises(ValueError, match="now"):
        t.update([], now=float("nan"))
    with pytest.raises(ValueError, match="bad position"):
        t.update([obs(x=float("nan"))], now=0.0)
