"""The apartment agrees with config/places.yaml: every named place is free floor in its room,
every doorway is passable, and the world file provides what the robot needs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from synth_agent.core.places import load_places
from synth_agent.sim.gl import mujoco
from synth_agent.sim.world import World, WorldError
from test.core._sim import drive, make_sim

PLACES = load_places()


@pytest.fixture(scope="module")
def sim():
    s = make_sim()
    yield s
    s.close()


def clearance(sim, x: float, y: float, yaw: float) -> tuple[float, str]:
    """Distance from the robot's chassis to the nearest solid thing when it stands at (x, y)."""
    m, d = sim.world.model, sim.world.data
    sim.world.set_robot_pose(x, y, yaw)
    mujoco.mj_forward(m, d)
    chassis = m.geom("chassis").id
    robot_root = sim.world.robot.body_id
    best, name = math.inf, ""
    for g in range(m.ngeom):
        body = int(m.geom_bodyid[g])
        if m.body_rootid[body] == robot_root or g == m.geom("floor").id or not m.geom_contype[g]:
            continue
        dist = mujoco.mj_geomDistance(m, d, chassis, g, 2.0, None)
        if dist < best:
            best = dist
            name = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) or m.body(body).name
    return best, name


@pytest.mark.parametrize("name", PLACES.names())
def test_every_place_is_free_floor_with_room_to_manoeuvre(sim, name):
    place = PLACES.get(name)
    dist, nearest = clearance(sim, place.x, place.y, place.yaw)
    needed = 0.02 if name == "dock" else 0.3  # on the dock the robot nearly touches it
    assert dist >= needed, f"{name}: only {dist:.2f} m from {nearest}"


@pytest.mark.parametrize("name", list(PLACES.places))
def test_every_place_lies_in_the_room_of_its_name_or_a_room(name):
    place = PLACES.places[name]
    room = PLACES.room_at(place.x, place.y)
    assert room is not None
    if name in PLACES.rooms:
        assert room == name


@pytest.mark.parametrize("name", list(PLACES.doorways))
def test_every_doorway_is_open_for_the_robot(sim, name):
    door = PLACES.doorways[name]
    dist, nearest = clearance(sim, door.x, door.y, 0.0)
    assert dist >= 0.25, f"{name}: the robot would touch {nearest}"
    for room in door.connects:
        assert room in PLACES.rooms


def test_the_robot_drives_from_the_hallway_through_the_kitchen_door():
    sim = make_sim(initial_pose=[2.5, 4.0, -math.pi / 2])
    drive(sim, 0.4, 0.0, 3.0)
    gt = sim.ground_truth()
    assert PLACES.room_at(gt["robot"]["x"], gt["robot"]["y"]) == "kitchen"
    assert gt["robot"]["y"] == pytest.approx(4.0 - 1.2, abs=0.06)


def test_the_world_has_the_objects_the_agent_talks_about(sim):
    assert set(sim.world.objects) == {"red_cup", "blue_ball", "green_box", "yellow_bottle"}
    assert sim.world.person_mocap is not None
    assert sim.world.track_m == pytest.approx(0.34)
    assert sim.world.wheel_radius_m == pytest.approx(0.05)
    assert 2 * sim.world.model.geom("chassis").size[0] == pytest.approx(0.4)


def test_a_missing_world_file_is_reported_by_name():
    with pytest.raises(WorldError, match="no_such_world.xml"):
        World("no_such_world.xml")


def test_a_world_without_the_robot_is_refused(tmp_path: Path):
    bare = tmp_path / "bare.xml"
    bare.write_text("<mujoco><worldbody><geom type='plane' size='1 1 .1'/></worldbody></mujoco>")
    with pytest.raises(WorldError, match="base_link"):
        World(bare)
