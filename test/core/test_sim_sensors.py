"""The simulated sensors report the world as it is: lidar ranges to walls, and the camera's
image, depth and intrinsics agree with where objects really are."""

from __future__ import annotations

import math

import numpy as np
import pytest

from test.core._sim import drive, make_sim


def lidar_origin(sim) -> np.ndarray:
    return sim.world.data.site_xpos[sim.world.lidar_site]


def beam_index(sim, angle: float) -> int:
    """The beam closest to `angle` (robot frame, radians)."""
    g = sim.lidar.geometry
    return int(round((angle - g.angle_min) / g.angle_increment)) % sim.lidar.beams


@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_lidar_reports_walls_at_their_true_distance(noise):
    # In the hallway facing north: walls ahead (y=4.55 face) and behind (y=3.45 face).
    sim = make_sim(initial_pose=[5.0, 4.0, math.pi / 2], lidar_noise_m=noise, seed=3)
    m = sim.world.model
    north_face = m.geom("wall_hall_n2").pos[1] - m.geom("wall_hall_n2").size[1]
    south_face = m.geom("wall_hall_s2").pos[1] + m.geom("wall_hall_s2").size[1]
    ranges = sim.scan()
    o = lidar_origin(sim)
    assert ranges[beam_index(sim, 0.0)] == pytest.approx(north_face - o[1], abs=0.03)
    assert ranges[beam_index(sim, math.pi)] == pytest.approx(o[1] - south_face, abs=0.03)
    assert ranges.dtype == np.float32 and len(ranges) == 360


def test_lidar_range_follows_the_robot_as_it_drives():
    sim = make_sim(initial_pose=[5.0, 4.0, 0.0])
    east_face = sim.world.model.geom("wall_east").pos[0] - sim.world.model.geom("wall_east").size[0]
    before = float(sim.scan()[beam_index(sim, 0.0)])
    drive(sim, 0.3, 0.0, 2.0)
    after = float(sim.scan()[beam_index(sim, 0.0)])
    moved = sim.ground_truth()["robot"]["x"] - 5.0
    assert before == pytest.approx(east_face - lidar_origin(sim)[0] + moved, abs=0.03)
    assert before - after == pytest.approx(moved, abs=0.01)


def test_lidar_never_sees_the_robot_and_marks_misses_as_inf():
    sim = make_sim(initial_pose=[5.0, 4.0, 0.0], lidar_range_max_m=3.0)
    ranges = sim.scan()
    finite = ranges[np.isfinite(ranges)]
    # In a 1.2 m hallway the nearest walls are 0.55 m away; nothing of the robot shows up.
    assert finite.min() > 0.5
    # Along the hallway (5 m to either end) nothing is within 3 m: reported as +inf.
    assert np.isposinf(ranges[beam_index(sim, 0.0)]) and np.isposinf(
        ranges[beam_index(sim, math.pi)]
    )


@pytest.fixture(scope="module")
def kitchen_view():
    """The robot at the kitchen place, facing the table with the red cup on it."""
    sim = make_sim(initial_pose=[3.0, 2.05, math.pi])
    drive(sim, 0.0, 0.0, 0.0, settle=0.2)
    sim.camera.prepare()
    rgb, depth = sim.camera.render()
    yield sim, rgb, depth
    sim.close()


def red_mask(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[:, :, i].astype(int) for i in range(3))
    return (r > 120) & (g < 60) & (b < 60)


def test_camera_image_and_depth_have_the_configured_shape(kitchen_view):
    sim, rgb, depth = kitchen_view
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    assert rgb.std() > 10  # a scene, not a blank frame
    k = sim.camera.intrinsics()
    assert (k.width, k.height) == (640, 480)
    assert k.fy == pytest.approx(240 / math.tan(math.radians(30)))


def test_red_cup_appears_where_its_pose_projects(kitchen_view):
    sim, rgb, depth = kitchen_view
    cup = sim.ground_truth()["objects"]["red_cup"]
    u, v, z = sim.camera.project(np.array([cup["x"], cup["y"], cup["z"]]))
    mask = red_mask(rgb)
    assert mask.sum() > 200, "the red cup should be clearly visible"
    rows, cols = np.nonzero(mask)
    assert cols.mean() == pytest.approx(u, abs=10)
    assert rows.mean() == pytest.approx(v, abs=10)
    # Depth on the cup is the z-distance to its near surface: centre minus the radius.
    radius = float(sim.world.model.geom_size[sim.world.model.body("red_cup").geomadr[0]][0])
    assert float(np.nanmedian(depth[mask])) == pytest.approx(z - radius, abs=0.05)


def test_depth_matches_the_geometry_of_the_floor():
    # Looking down the empty hallway, the lower image rows see the floor; their z-depth follows
    # from the camera's height and pitch alone.
    sim = make_sim(initial_pose=[1.0, 4.0, 0.0], image_width=320, image_height=240)
    try:
        sim.camera.prepare()
        _, depth = sim.camera.render()
        pos, rot = sim.camera.pose()
        k = sim.camera.intrinsics()
        for row in (150, 200, k.height - 1):
            ray = rot @ np.array([0.0, (row - k.cy) / k.fy, 1.0])  # optical ray with z = 1
            t = -pos[2] / ray[2]  # where it meets the floor (z = 0), in z-depth units
            assert float(depth[row, int(k.cx)]) == pytest.approx(t, rel=0.01)
    finally:
        sim.close()


def test_depth_beyond_the_limit_is_nan():
    sim = make_sim(
        initial_pose=[1.0, 4.0, 0.0],
        depth_max_m=3.0,
        image_width=160,
        image_height=120,
    )
    try:
        sim.camera.prepare()
        _, depth = sim.camera.render()
        # Looking down the 10 m hallway: the far end is beyond 3 m.
        assert np.isnan(depth[60, 80])
        assert np.nanmax(depth) < 3.0
    finally:
        sim.close()


def test_camera_info_follows_the_configured_field_of_view():
    sim = make_sim(camera_fovy_deg=45.0, image_width=320, image_height=240)
    try:
        k = sim.camera.intrinsics()
        assert k.fy == pytest.approx(120 / math.tan(math.radians(22.5)))
        assert (k.cx, k.cy) == (159.5, 119.5)
        assert sim.world.model.cam_fovy[sim.world.camera] == pytest.approx(45.0)
    finally:
        sim.close()
