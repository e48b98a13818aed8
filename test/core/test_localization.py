"""The map and the scan matcher, on scans rendered by the simulator itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth_agent.core.local_planner import scan_points
from synth_agent.core.localization import (
    Localizer,
    LocalizerConfig,
    OccupancyMap,
    compose,
    inverse,
    match_scan,
)
from synth_agent.core.motor import Observation
from synth_agent.paths import SOURCE_ROOT
from synth_agent.sim.gl import mujoco
from synth_agent.sim.occupancy import render
from test.core._sim import make_sim

MAP = SOURCE_ROOT / "config" / "map.yaml"
LIDAR_X = -0.05  # robot.xml: the lidar site sits 5 cm behind the base centre
POSES = [  # one in every room, some facing furniture, some facing a doorway
    (2.8, 2.0, math.pi), (7.0, 2.5, -math.pi / 2), (3.0, 6.0, math.pi), (8.0, 5.6, math.pi / 2),
    (5.0, 4.0, 0.0), (6.2, 1.5, -math.pi / 2), (3.8, 1.2, 0.7),
]  # fmt: skip


@pytest.fixture(scope="module")
def sim():
    s = make_sim(lidar_noise_m=0.005)
    yield s
    s.close()


@pytest.fixture(scope="module")
def grid():
    return OccupancyMap.load(MAP)


def scan_at(sim, pose) -> np.ndarray:
    """The simulator's lidar end points (base frame) with the robot placed at `pose`."""
    sim.world.set_robot_pose(*pose)
    mujoco.mj_forward(sim.world.model, sim.world.data)
    obs = Observation(ranges=sim.scan(), angles=sim.lidar.angles)
    return scan_points(obs, sim.lidar.range_max, LIDAR_X)


def test_committed_map_is_the_simulator_rendered_afresh(sim, grid):
    fresh = render(sim.world)
    assert (fresh.resolution, fresh.origin_x, fresh.origin_y) == (
        grid.resolution, grid.origin_x, grid.origin_y,
    )  # fmt: skip
    assert np.array_equal(fresh.occupied, grid.occupied), (
        "config/map.yaml is stale: run `python -m synth_agent.sim.occupancy`"
    )


def test_map_round_trips_through_map_server_files(grid, tmp_path):
    grid.save(tmp_path / "m.yaml")
    again = OccupancyMap.load(tmp_path / "m.yaml")
    assert np.array_equal(again.occupied, grid.occupied)
    assert again.occupied.any() and not again.occupied.all()
    # Row 0 is the bottom: the south wall (y = 0) is near row 0, i.e. at y ≈ origin + margin.
    row = int((0.0 - grid.origin_y) / grid.resolution)
    assert grid.occupied[row, grid.shape[1] // 2]


@pytest.mark.parametrize("pose", POSES)
def test_matcher_recovers_a_drifted_pose(sim, grid, pose):
    from synth_agent.core.localization import LikelihoodField

    points = scan_at(sim, pose)
    cfg = LocalizerConfig()
    prior = (pose[0] + 0.12, pose[1] - 0.08, pose[2] + math.radians(3))
    m = match_scan(LikelihoodField(grid, cfg.max_distance_m), points, prior, cfg)
    assert m.accepted, m.reason
    assert math.hypot(m.pose[0] - pose[0], m.pose[1] - pose[1]) < 0.02, (m, pose)
    assert abs(math.degrees(m.pose[2] - pose[2])) < 0.5, (m, pose)


def test_localizer_converges_to_the_true_pose_from_drifted_odometry(sim, grid):
    truth = POSES[0]
    # Odometry believes the robot is 15 cm and 4° off (and odom == map at start).
    odom = (truth[0] - 0.15, truth[1] + 0.05, truth[2] - math.radians(4))
    loc = Localizer(grid)
    points = scan_at(sim, truth)
    for _ in range(10):
        m = loc.update(odom, points)
        assert m.accepted, m.reason
    est = loc.map_pose(odom)
    assert math.hypot(est[0] - truth[0], est[1] - truth[1]) < 0.02
    assert abs(math.degrees(est[2] - truth[2])) < 0.5
    # The correction then holds for a nearby odometry pose (the robot moved 0.5 m ahead).
    step = (0.5, 0.0, 0.0)
    moved_truth = compose(truth, step)
    moved_est = loc.map_pose(compose(odom, step))
    assert math.hypot(moved_est[0] - moved_truth[0], moved_est[1] - moved_truth[1]) < 0.03


def test_bad_scans_are_refused_and_leave_the_correction_alone(sim, grid):
    loc = Localizer(grid)
    empty = np.zeros((0, 2))
    m = loc.update((2.8, 2.0, math.pi), empty)
    assert not m.accepted and "scan points" in m.reason
    # A scan taken in the kitchen, claimed in the bedroom: nothing fits, nothing changes.
    points = scan_at(sim, POSES[0])
    m = loc.update(POSES[2], points)
    assert not m.accepted, m
    assert loc.correction == (0.0, 0.0, 0.0)
    assert loc.rejected == 2 and loc.accepted == 0


def test_scan_points_drop_invalid_ranges():
    ranges = np.array([1.0, np.inf, -np.inf, np.nan, 0.01, 2.0])
    pts = scan_points(Observation(ranges=ranges, angles=np.arange(6) * math.pi / 2), 8.0)
    assert pts.shape == (2, 2)
    np.testing.assert_allclose(pts[0], [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(pts[1], [0.0, 2.0], atol=1e-9)  # index 5: 5 × 90° = 90°


def test_compose_and_inverse_are_consistent():
    a = (1.0, -2.0, 0.7)
    ident = compose(a, inverse(a))
    assert all(abs(v) < 1e-12 for v in ident)


@pytest.mark.parametrize(
    "kwargs", [{"gain": 0.0}, {"max_distance_m": math.nan}, {"min_points": 2}, {"damping": -1.0}]
)
def test_config_refuses_bad_values(kwargs):
    with pytest.raises(ValueError):
        LocalizerConfig(**kwargs)


def test_odom_history_interpolates_at_a_scan_stamp_and_forgets_old_poses():
    from synth_agent.core.localization import OdomHistory

    h = OdomHistory(horizon_s=1.0)
    assert h.at(0.0) is None
    for k in range(30):  # 50 Hz, turning through ±π
        h.add(k * 0.02, (k * 0.01, 0.0, 3.0 + k * 0.01))
    x, _, yaw = h.at(0.31)
    assert x == pytest.approx(0.155)
    assert yaw == pytest.approx(math.remainder(3.155, 2 * math.pi))  # wrapped, not averaged
    assert h.at(-0.5) is None and h.at(5.0) is None
    h.add(2.0, (9.0, 9.0, 0.0))
    assert h.stamps[0] >= 1.0  # older than the horizon: gone
    h.add(0.5, (1.0, 1.0, 0.0))  # time went back (a simulator reset): start again
    assert h.stamps == [0.5]


def test_scene_moves_into_the_map_frame_with_the_correction():
    from synth_agent.core.localization import scene_in_map
    from synth_agent.core.schemas import Scene

    scene = Scene.model_validate({
        "stamp": 1.0, "robot": {"x": 1.0, "y": 0.0, "yaw": 0.0},
        "objects": [{"id": "cup-1", "label": "cup", "confidence": 0.9,
                     "position": {"x": 2.0, "y": 0.0, "z": 0.8}, "distance": 1.0,
                     "bearing": 0.0, "last_seen": 1.0}],
    })  # fmt: skip
    assert scene_in_map(scene, (0.0, 0.0, 0.0)) is scene
    moved = scene_in_map(scene, (0.5, -0.2, math.pi / 2))
    assert moved.frame == "map"
    assert (moved.robot.x, moved.robot.y) == pytest.approx((0.5, 0.8))
    assert moved.robot.yaw == pytest.approx(math.pi / 2)
    cup = moved.objects[0]
    assert (cup.position.x, cup.position.y, cup.position.z) == pytest.approx((0.5, 1.8, 0.8))
    assert (cup.distance, cup.bearing) == (1.0, 0.0)  # relative to the robot: unchanged


def test_a_persistent_jump_is_believed_after_enough_agreeing_scans(sim, grid):
    """The robot was carried 15 cm (or odometry restarted): one scan saying so is ignored, five
    in a row that fit the map and agree re-localise it; a reset forgets the correction."""
    truth = POSES[4]
    odom = (truth[0] - 0.15, truth[1], truth[2])
    loc = Localizer(grid, LocalizerConfig(max_correction_m=0.1))
    points = scan_at(sim, truth)
    for _ in range(4):
        m = loc.update(odom, points)
        assert not m.accepted and "implausible" in m.reason, m
    m = loc.update(odom, points)
    assert m.accepted and "re-localised" in m.reason
    est = loc.map_pose(odom)
    assert math.hypot(est[0] - truth[0], est[1] - truth[1]) < 0.02
    assert loc.relocalized == 1
    loc.reset()
    assert loc.correction == (0.0, 0.0, 0.0) and loc.map_pose(odom) == odom
