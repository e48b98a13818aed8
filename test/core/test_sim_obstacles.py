"""Obstacles dropped at run time: parked out of sight until dropped, then on the floor where
asked, in the ground truth, seen by the lidar and the depth camera, left out of the map, parked
again on reset; contact with the robot is latched in the ground truth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from synth_agent.core.places import load_places
from synth_agent.sim import occupancy
from test.core._sim import TICK, drive, make_sim

PLACES = load_places()
NAMES = {"obstacle_box", "obstacle_box_2", "obstacle_panel"}
EAST_WALL = 9.95 - 4.95  # from the lidar, with the robot at x = 5 facing east


def beam(sim, angle: float) -> float:
    """The range of the beam closest to `angle` (robot frame, radians)."""
    g = sim.lidar.geometry
    i = int(round((angle - g.angle_min) / g.angle_increment)) % sim.lidar.beams
    return float(sim.scan()[i])


@pytest.fixture()
def hallway():
    """The robot in the hallway at x = 5, facing east down its length: the lidar (5 cm behind the
    centre) sees the east wall's face 5.0 m ahead and nothing in between."""
    sim = make_sim(initial_pose=[5.0, 4.0, 0.0], image_width=160, image_height=120)
    yield sim
    sim.close()


def test_obstacles_start_parked_outside_every_room(hallway):
    gt = hallway.ground_truth()["obstacles"]
    assert set(gt) == NAMES
    for name, o in gt.items():
        assert not o["placed"] and not o["touched"], name
        assert PLACES.room_at(o["x"], o["y"]) is None, name
    assert gt["obstacle_box"]["size"] == pytest.approx([0.4, 0.4, 0.5])
    assert gt["obstacle_panel"]["size"] == pytest.approx([1.2, 0.1, 0.9])
    assert beam(hallway, 0.0) == pytest.approx(EAST_WALL, abs=0.02)


def test_a_dropped_box_stands_where_asked_and_the_lidar_and_camera_see_it(hallway):
    sim = hallway
    sim.drop_obstacle("obstacle_box", 6.5, 4.0, math.radians(30))
    drive(sim, 0.0, 0.0, 0.0, settle=0.5)  # it must stay put, standing on the floor
    box = sim.ground_truth()["obstacles"]["obstacle_box"]
    assert box["placed"] and not box["touched"]
    assert (box["x"], box["y"]) == (pytest.approx(6.5, abs=1e-3), pytest.approx(4.0, abs=1e-3))
    assert box["yaw"] == pytest.approx(math.radians(30), abs=1e-3)
    assert abs(box["z"]) < 2e-3
    # Lidar straight ahead: the box's nearest edge, turned 30 degrees (half width 0.2 / cos 30).
    lidar_x = 5.0 - 0.05
    assert beam(sim, 0.0) == pytest.approx(6.5 - 0.2 / math.cos(math.radians(30)) - lidar_x,
                                           abs=0.02)  # fmt: skip
    # Depth camera: the box fills the middle of the image at about that distance.
    sim.camera.prepare()
    rgb, depth = sim.camera.render()
    h, w = depth.shape
    assert float(np.nanmedian(depth[h // 2 - 5 : h // 2 + 5, w // 2 - 5 : w // 2 + 5])) < 1.5
    grey = rgb[h // 2, w // 2].astype(int)
    assert max(grey) - min(grey) < 25  # grey: no colour class of perception matches it


def test_a_reset_or_a_park_puts_it_away_again(hallway):
    sim = hallway
    sim.drop_obstacle("obstacle_box", 6.5, 4.0)
    sim.drop_obstacle("obstacle_box_2", 7.5, 4.0)
    sim.park_obstacle("obstacle_box")
    gt = sim.ground_truth()["obstacles"]
    assert not gt["obstacle_box"]["placed"] and gt["obstacle_box"]["x"] == pytest.approx(-2.0)
    assert gt["obstacle_box_2"]["placed"]
    assert beam(sim, 0.0) == pytest.approx(7.3 - 4.95, abs=0.02)
    sim.reset()
    gt = sim.ground_truth()["obstacles"]
    assert not any(o["placed"] for o in gt.values())
    assert gt["obstacle_box_2"]["x"] == pytest.approx(-2.0)
    assert beam(sim, 0.0) == pytest.approx(EAST_WALL, abs=0.02)


def test_driving_into_a_box_is_latched_as_a_touch_until_it_is_dropped_again(hallway):
    sim = hallway
    sim.drop_obstacle("obstacle_box", 6.0, 4.0)
    drive(sim, 0.3, 0.0, 1.0)  # 0.3 m: the chassis edge stops 0.3 m short of the box
    assert not sim.ground_truth()["obstacles"]["obstacle_box"]["touched"]
    drive(sim, 0.3, 0.0, 2.0)  # on into it
    assert sim.ground_truth()["obstacles"]["obstacle_box"]["touched"]
    for _ in range(round(1.0 / TICK)):  # backed off, the touch stays on record
        sim.set_cmd_vel(-0.3, 0.0)
        sim.advance(TICK)
    assert sim.ground_truth()["obstacles"]["obstacle_box"]["touched"]
    sim.drop_obstacle("obstacle_box", 8.0, 4.0)
    assert not sim.ground_truth()["obstacles"]["obstacle_box"]["touched"]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("obstacle_box", 5.1, 4.0), "inside the robot"),
        (("obstacle_panel", 5.0, 3.4), "inside wall_hall_s2"),
        (("obstacle_box", 5.35, 5.35), "inside desk"),
        (("obstacle_cat", 6.5, 4.0), "no obstacle named 'obstacle_cat'"),
        (("obstacle_box", math.nan, 4.0), "finite"),
    ],
)
def test_a_drop_into_something_is_refused_and_leaves_the_obstacle_parked(hallway, args, why):
    with pytest.raises(ValueError, match=why):
        hallway.drop_obstacle(*args)
    gt = hallway.ground_truth()["obstacles"]
    assert not any(o["placed"] for o in gt.values())
    assert gt["obstacle_box"]["x"] == pytest.approx(-2.0)


def test_the_sim_obstacle_message_drops_and_parks(hallway):
    sim = hallway
    done = sim.obstacle_command(json.dumps({"drop": "obstacle_box", "x": 6.5, "y": 4.0}))
    assert done == "dropped obstacle_box at (6.50, 4.00), yaw 0 deg"
    assert sim.ground_truth()["obstacles"]["obstacle_box"]["placed"]
    assert sim.obstacle_command('{"park": "obstacle_box"}') == "parked obstacle_box"
    assert not sim.ground_truth()["obstacles"]["obstacle_box"]["placed"]
    for bad, why in (
        ("drop it", "not JSON"),
        ('{"drop": "obstacle_box"}', "expected"),
        ('{"drop": "obstacle_box", "x": 6.5, "y": 4.0, "z": 1}', "unknown field"),
        ('{"drop": "obstacle_box", "x": "near", "y": 4.0}', "numbers"),
        ('{"park": "obstacle_cat"}', "no obstacle"),
    ):
        with pytest.raises(ValueError, match=why):
            sim.obstacle_command(bad)


def test_the_map_is_the_static_world_whatever_the_obstacles_do(hallway):
    before = occupancy.render(hallway.world)
    hallway.drop_obstacle("obstacle_panel", 8.0, 4.49)
    after = occupancy.render(hallway.world)
    assert np.array_equal(before.occupied, after.occupied)


def test_gazebo_gets_the_obstacles_where_they_are_parked():
    from synth_agent.sim.sdf import build_sdf

    sdf = build_sdf()
    for name, y in (("obstacle_box", 1), ("obstacle_box_2", 2), ("obstacle_panel", 4)):
        assert f'<model name="{name}">\n      <pose>-2 {y} 0 0 0 0</pose>' in sdf
