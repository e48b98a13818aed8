"""The simulated base moves like a real one: wheel-driven, bounded by walls, stopped by its
watchdog, and the gripper holds one object. All through `Simulation` stepped explicitly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synth_agent.sim.config import SimConfig
from synth_agent.sim.gl import mujoco
from synth_agent.sim.simulation import Simulation
from test.core._sim import TICK, angle_diff, drive, make_sim

HALLWAY = [5.0, 4.0, 0.0]


def test_driving_0_3_mps_for_2_s_moves_0_6_m_along_the_heading():
    yaw = 0.3  # not axis-aligned, so a sign or frame mistake shows
    sim = make_sim(initial_pose=[3.0, 4.0, yaw])
    drive(sim, 0.3, 0.0, 2.0)
    gt = sim.ground_truth()
    dx, dy = gt["robot"]["x"] - 3.0, gt["robot"]["y"] - 4.0
    along = dx * math.cos(yaw) + dy * math.sin(yaw)
    across = -dx * math.sin(yaw) + dy * math.cos(yaw)
    assert along == pytest.approx(0.6, rel=0.05)
    assert abs(across) < 0.01
    # Wheel odometry agrees with the truth (no slip on a clean floor).
    assert math.hypot(gt["odom"]["x"] - gt["robot"]["x"], gt["odom"]["y"] - gt["robot"]["y"]) < 0.02


def test_driving_backwards_moves_backwards():
    sim = make_sim(initial_pose=HALLWAY)
    drive(sim, -0.2, 0.0, 1.0)
    assert sim.ground_truth()["robot"]["x"] == pytest.approx(5.0 - 0.2, abs=0.02)


@pytest.mark.parametrize("w", [0.8, -1.2])
def test_turning_in_place_turns_by_the_commanded_angle(w):
    sim = make_sim(initial_pose=HALLWAY)
    seconds = 1.5
    drive(sim, 0.0, w, seconds)
    gt = sim.ground_truth()
    turned = angle_diff(gt["robot"]["yaw"], 0.0)
    assert math.degrees(turned) == pytest.approx(math.degrees(w * seconds), abs=3.0)
    assert math.degrees(abs(angle_diff(gt["odom"]["yaw"], gt["robot"]["yaw"]))) < 1.0
    # In place: the centre barely moves.
    assert math.hypot(gt["robot"]["x"] - 5.0, gt["robot"]["y"] - 4.0) < 0.02


def test_motion_comes_from_the_wheel_motors_not_from_setting_the_pose():
    sim = make_sim(initial_pose=HALLWAY)
    sim.set_cmd_vel(0.5, 0.0)
    sim.advance(TICK)
    d = sim.world.data
    assert d.ctrl[sim.world.left_motor] == pytest.approx(0.5 / sim.world.wheel_radius_m)
    # One tick after a step command the base is still accelerating through wheel torque.
    assert 0.0 < sim.odom().v < 0.5
    assert abs(d.actuator_force[sim.world.left_motor]) > 0.1


def test_commands_beyond_the_base_limits_are_clamped_and_nan_stops():
    sim = make_sim(initial_pose=HALLWAY, max_linear_mps=0.5)
    sim.set_cmd_vel(5.0, 0.0)
    sim.advance(0.5)
    assert sim.applied.v == pytest.approx(0.5)
    assert sim.odom().v == pytest.approx(0.5, abs=0.02)
    sim.set_cmd_vel(float("nan"), 0.0)
    sim.advance(0.5)
    assert sim.applied.v == 0.0 and abs(sim.odom().v) < 0.02


def test_the_base_stops_itself_when_cmd_vel_goes_silent():
    sim = make_sim(initial_pose=HALLWAY, cmd_timeout_s=0.5)
    sim.set_cmd_vel(0.4, 0.0)  # once, then nothing
    for _ in range(200):
        sim.advance(TICK)
    x = sim.ground_truth()["robot"]["x"]
    # 0.5 s at up to 0.4 m/s, plus braking: well short of the 0.8 m that 2 s would give.
    assert 5.1 < x < 5.3
    assert sim.watchdog_stopped
    assert abs(sim.odom().v) < 0.01


def wall_face(sim, name: str, side: int, axis: int) -> float:
    """The coordinate of one face of a wall box: side -1 the lower face, +1 the upper."""
    g = sim.world.model.geom(name)
    return float(g.pos[axis] + side * g.size[axis])


@pytest.mark.parametrize("speed", [0.8, 1.0])
def test_a_wall_stops_the_robot_without_tunnelling(speed):
    sim = make_sim(initial_pose=[5.0, 4.0, math.pi / 2], max_linear_mps=1.0)
    face = wall_face(sim, "wall_hall_n2", -1, 1)
    drive(sim, speed, 0.0, 3.0)
    gt = sim.ground_truth()
    radius = float(sim.world.model.geom("chassis").size[0])
    assert gt["robot"]["y"] <= face - radius + 0.01
    assert gt["robot"]["y"] > face - radius - 0.05  # it really drove up to the wall
    assert abs(gt["robot"]["z"] - sim.world.wheel_radius_m) < 0.02  # still on its wheels


def body_aabb_min_x(sim, body_name: str) -> float:
    """The smallest world x over the corners of a body's box geoms."""
    m, d = sim.world.model, sim.world.data
    body = m.body(body_name).id
    xs = []
    for g in range(m.ngeom):
        if m.geom_bodyid[g] != body:
            continue
        rot = d.geom_xmat[g].reshape(3, 3)
        for corner in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3):
            xs.append((d.geom_xpos[g] + rot @ (corner * m.geom_size[g]))[0])
    return min(xs)


def test_the_robot_pushes_a_chair_but_not_through_the_wall():
    # The south kitchen chair is 4 kg and 1 m from the west wall; push it there and beyond.
    sim = make_sim(initial_pose=[2.2, 1.35, math.pi])
    start = body_aabb_min_x(sim, "chair_south")
    drive(sim, 0.4, 0.0, 7.0)
    end = body_aabb_min_x(sim, "chair_south")
    wall = wall_face(sim, "wall_west", +1, 0)
    assert start - end > 0.5, "the robot should have pushed the chair"
    assert end >= wall - 0.01, f"chair went {wall - end:.3f} m into the wall"
    robot_x = sim.ground_truth()["robot"]["x"]
    assert robot_x > wall + 0.4 - 0.01  # robot radius + chair depth in front of it


def test_the_robot_cannot_shove_the_heavy_table():
    sim = make_sim(initial_pose=[2.6, 2.0, math.pi])
    before = sim.world.data.xpos[sim.world.model.body("kitchen_table").id].copy()
    drive(sim, 0.5, 0.0, 4.0)
    after = sim.world.data.xpos[sim.world.model.body("kitchen_table").id]
    assert np.linalg.norm(after - before) < 0.03
    # Pressed against the table's base (the top overhangs above the chassis), not inside it.
    base = sim.world.model.body("kitchen_table").geomadr[0] + 1
    table_east = float(before[0] + sim.world.model.geom_size[base][0])
    assert sim.ground_truth()["robot"]["x"] >= table_east + 0.19


def test_objects_and_furniture_rest_where_the_world_puts_them():
    sim = make_sim()
    start = {k: dict(v) for k, v in sim.ground_truth()["objects"].items()}
    for _ in range(200):
        sim.advance(TICK)
    end = sim.ground_truth()["objects"]
    for name, pose in start.items():
        moved = math.dist(
            (pose["x"], pose["y"], pose["z"]), (end[name]["x"], end[name]["y"], end[name]["z"])
        )
        assert moved < 0.01, f"{name} moved {moved:.3f} m while nobody touched it"
    # Some objects sit on furniture (the cup on the kitchen table, the bottle on the nightstand).
    assert end["red_cup"]["z"] > 0.75 and end["yellow_bottle"]["z"] > 0.55


def test_the_gripper_holds_a_nearby_object_and_drops_it_when_opened():
    # The blue ball lies on the bedroom floor at (2.7, 7.0); stop just east of it facing it.
    sim = make_sim(initial_pose=[3.1, 7.0, math.pi])
    assert sim.set_gripper(1.0) == "blue_ball"
    drive(sim, 0.3, 0.6, 1.5)
    gt = sim.ground_truth()
    assert gt["held"] == "blue_ball"
    grasp = sim.world.data.site_xpos[sim.world.grasp_site]
    ball = gt["objects"]["blue_ball"]
    assert math.dist(grasp[:2], (ball["x"], ball["y"])) < 0.15
    assert ball["z"] > 0.15  # carried, not rolling on the floor
    # The gripper joint stops part-way, on the ball (what a real gripper's joint reports).
    assert 0.25 <= gripper_joint(sim) <= 0.9
    sim.set_gripper(0.0)
    drive(sim, 0.0, 0.0, 0.0, settle=1.0)
    gt = sim.ground_truth()
    assert gt["held"] is None
    assert gt["objects"]["blue_ball"]["z"] == pytest.approx(0.1, abs=0.01)  # back on the floor
    assert gripper_joint(sim) == 0.0


def gripper_joint(sim) -> float:
    names, pos, _ = sim.wheel_states()
    return pos[names.index("gripper_joint")]


def test_closing_the_gripper_far_from_every_object_holds_nothing():
    sim = make_sim(initial_pose=HALLWAY)
    assert sim.set_gripper(1.0) is None
    assert not sim.world.data.eq_active.any()
    assert gripper_joint(sim) == 1.0  # closed on nothing: all the way


def test_reset_restores_the_start_and_time_keeps_counting():
    sim = make_sim(initial_pose=[3.1, 7.0, math.pi])
    start = sim.ground_truth()
    sim.set_gripper(1.0)
    drive(sim, 0.3, 0.5, 2.0)
    t = sim.time
    sim.reset()
    gt = sim.ground_truth()
    assert sim.time >= t
    assert gt["held"] is None and not sim.world.data.eq_active.any()
    for key in ("x", "y", "yaw"):
        assert gt["robot"][key] == pytest.approx(start["robot"][key], abs=1e-6)
        assert gt["odom"][key] == pytest.approx(start["robot"][key], abs=1e-6)
    for name, pose in start["objects"].items():
        assert gt["objects"][name]["x"] == pytest.approx(pose["x"], abs=1e-6)


def test_a_rebuilt_simulation_continues_the_clock():
    sim = Simulation(SimConfig(), start_time=12.5)
    assert sim.time == pytest.approx(12.5)
    sim.advance(0.1)
    assert sim.time == pytest.approx(12.6)


def test_the_person_walks_the_path_and_blocks_the_robot():
    path = [6.5, 2.6, 8.5, 2.6]  # back and forth across the living room
    sim = make_sim(person_path=path, person_speed_mps=0.5, initial_pose=[6.0, 2.2, math.pi / 2])
    positions = []
    for _ in range(400):  # 4 s: 2 m along the 4 m loop
        sim.advance(TICK)
        positions.append(sim.ground_truth()["person"]["x"])
    assert positions[-1] == pytest.approx(6.5 + 2.0, abs=0.05)
    assert sim.ground_truth()["person"]["yaw"] == pytest.approx(0.0, abs=1e-6)
    # The person is a solid obstacle: the lidar sees them.
    person = sim.ground_truth()["person"]
    ranges = sim.scan()
    lidar = sim.world.data.site_xpos[sim.world.lidar_site]
    expected = math.dist(lidar[:2], (person["x"], person["y"])) - 0.13  # leg capsule radius
    bearing = math.atan2(person["y"] - lidar[1], person["x"] - lidar[0]) - math.pi / 2
    idx = int(round((bearing + math.pi) / (2 * math.pi) * len(ranges))) % len(ranges)
    assert float(ranges[idx]) == pytest.approx(expected, abs=0.05)


def test_physics_steps_are_the_fixed_timestep_and_remainders_carry():
    sim = make_sim()
    t0 = sim.time
    steps = sum(sim.advance(0.003) for _ in range(10))  # 30 ms of 2 ms steps
    assert steps == 15
    assert sim.time - t0 == pytest.approx(0.03)
    assert sim.world.model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST


def test_miscalibrated_odometry_drifts_as_configured():
    """A 3 % radius error makes the odometry's distances 3 % long; with a 5 % track error on
    top its turns come out ×1.03/1.05. The truth is unaffected: only the odometry is off."""
    exact, skewed = make_sim(), make_sim(odom_track_error=0.05, odom_wheel_radius_error=0.03)
    for sim in (exact, skewed):
        drive(sim, 0.0, 1.0, 1.5)
    truth_turn = angle_diff(exact.ground_truth()["robot"]["yaw"], exact.config.initial_pose[2])
    odom_turn = angle_diff(skewed.odom().yaw, skewed.config.initial_pose[2])
    skewed_truth = angle_diff(skewed.ground_truth()["robot"]["yaw"], skewed.config.initial_pose[2])
    assert skewed_truth == pytest.approx(truth_turn, abs=0.01)
    assert odom_turn == pytest.approx(skewed_truth * 1.03 / 1.05, rel=0.005)
    start = skewed.odom().x, skewed.odom().y
    gt0 = skewed.ground_truth()["robot"]
    drive(skewed, 0.3, 0.0, 2.0)
    gt1 = skewed.ground_truth()["robot"]
    odom_dist = math.hypot(skewed.odom().x - start[0], skewed.odom().y - start[1])
    true_dist = math.hypot(gt1["x"] - gt0["x"], gt1["y"] - gt0["y"])
    assert odom_dist == pytest.approx(true_dist * 1.03, rel=0.01)
    for sim in (exact, skewed):
        sim.close()
