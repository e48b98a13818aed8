"""Skill controllers against a kinematic unicycle: tolerances, avoidance, stuck recovery."""

from __future__ import annotations

import math

import pytest

from synth_agent.core.local_planner import plan_route
from synth_agent.core.motor import Command, MotorControlConfig, Observation
from synth_agent.core.places import load_places
from synth_agent.core.schemas import parse_scene
from synth_agent.core.skills import Approach, Drive, Find, Follow, NavigateTo, Turn, match_object
from test.core._motor_world import TWO_ROOMS, TWO_ROOMS_PLACES, World, box, run

CFG = MotorControlConfig()


DELAYS = [0.0, 0.05, 0.1, 0.15]  # the loop's command-to-motion delay, around the configured one


@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("distance", [1.0, -0.5, 0.05, 2.5])
def test_drive_stops_within_2cm(distance, delay):
    world = World([], x=1.0, y=2.0, yaw=0.7, delay_s=delay)
    state, t, _ = run(Drive(CFG, distance), world)
    assert state is not None and state.status == "succeeded", state
    travelled = (world.x - 1.0) * math.cos(0.7) + (world.y - 2.0) * math.sin(0.7)
    assert abs(travelled - distance) <= 0.02
    lateral = -(world.x - 1.0) * math.sin(0.7) + (world.y - 2.0) * math.cos(0.7)
    assert abs(lateral) < 0.02 and abs(world.yaw - 0.7) < math.radians(2)
    assert t < abs(distance) / CFG.max_linear_mps + 3.0 + delay


def test_drive_profile_is_smooth():
    world = World([])
    skill = Drive(CFG, 1.0)
    last = 0.0
    for i in range(200):
        cmd, state = skill.step(world.obs(), i * 0.05)
        if state.done:  # arrives at creep speed and stops: the only step allowed to jump
            assert last <= 0.1
            break
        assert abs(cmd.linear - last) <= CFG.linear_accel_mps2 * 0.05 + 1e-9
        assert cmd.linear <= CFG.max_linear_mps
        last = cmd.linear
        world.apply(cmd, 0.05)
        if state.done:
            break


@pytest.mark.parametrize("delay", DELAYS)
@pytest.mark.parametrize("angle", [90.0, -90.0, 180.0, 270.0, -270.0, 360.0, 5.0])
def test_turn_within_2deg(angle, delay):
    world = World([], yaw=3.0, delay_s=delay)  # near the wrap point on purpose
    skill = Turn(CFG, angle)
    state, _, _ = run(skill, world)
    assert state is not None and state.status == "succeeded"
    assert abs(math.degrees(world.yaw - 3.0) - angle) <= 2.0
    assert math.hypot(world.x, world.y) < 1e-9


def test_route_crosses_the_door_perpendicular():
    route = plan_route(TWO_ROOMS_PLACES, (1.0, 1.5), (7.0, 2.3), 0.5)
    assert route == [(3.5, 1.5), (4.0, 1.5), (4.5, 1.5), (7.0, 2.3)]
    assert plan_route(TWO_ROOMS_PLACES, (1.0, 1.5), (2.0, 2.0), 0.5) == [(2.0, 2.0)]


def test_route_through_the_apartment_is_shortest():
    places = load_places()
    route = plan_route(places, (2.8, 2.0), (7.0, 2.5), 0.5)
    # kitchen -> living room through the direct door, not through the hallway
    assert (5.0, 1.7) in route and len(route) == 4
    route = plan_route(places, (2.8, 2.0), (3.0, 6.0), 0.5)
    assert (2.5, 3.4) in route and (3.0, 4.6) in route


def test_navigate_between_rooms_around_an_obstacle():
    pillar = box(5.5, 1.4, 5.9, 2.6)
    world = World(TWO_ROOMS + pillar, x=1.0, y=1.5, yaw=math.pi)
    skill = NavigateTo(CFG, TWO_ROOMS_PLACES, "east")
    state, t, _ = run(skill, world, t_max=90.0)
    assert state is not None and state.status == "succeeded", state
    assert math.hypot(world.x - 7.0, world.y - 2.3) <= CFG.goal_tolerance_m
    assert (
        abs(math.degrees(world.yaw - 1.5708) % 360.0) <= 2.0
        or abs(math.degrees(world.yaw - 1.5708) % 360.0 - 360.0) <= 2.0
    )
    assert world.min_clearance > CFG.robot_radius_m  # never touched a wall or the pillar
    assert skill.seeker.recoveries == 0
    assert t < skill.budget_s(Observation(x=1.0, y=1.5))


def test_stuck_against_a_wall_recovers_then_fails():
    # A closed box: the place lies beyond a wall with no door (the rooms say one room).
    walls = [*box(0.0, 0.0, 8.0, 3.0), (4.0, 0.0, 4.0, 3.0)]
    world = World(walls, x=1.0, y=1.5, yaw=0.0)
    places = TWO_ROOMS_PLACES.__class__(
        places={"east": TWO_ROOMS_PLACES.places["east"]},
        operator=TWO_ROOMS_PLACES.operator,
    )
    skill = NavigateTo(CFG, places, "east")
    state, _, _ = run(skill, world, t_max=200.0)
    assert state is not None and state.status == "failed"
    assert "stuck" in state.detail and state.say
    assert skill.seeker.recoveries == CFG.max_recoveries
    assert world.min_clearance > CFG.robot_radius_m


def _scene(now, *objects):
    return parse_scene(
        {
            "stamp": now,
            "robot": {"x": 0.0, "y": 0.0, "yaw": 0.0},
            "objects": [
                {
                    "id": f"{label}_{i}",
                    "label": label,
                    "colour": colour,
                    "confidence": 0.9,
                    "position": {"x": x, "y": y},
                    "distance": math.hypot(x, y),
                    "bearing": 0.0,
                    "last_seen": now,
                }
                for i, (label, colour, x, y) in enumerate(objects)
            ],
        }
    )


def test_match_object_by_colour_and_label():
    obs = Observation(scene=_scene(0.0, ("cup", "red", 1.0, 0.0), ("cup", "blue", 2.0, 0.0)))
    assert match_object("the red cup", obs, 0.0, 2.0).colour == "red"
    assert match_object("blue cup", obs, 0.0, 2.0).colour == "blue"
    assert match_object("green cup", obs, 0.0, 2.0) is None


def test_approach_stops_at_standoff_facing_the_object():
    world = World(box(-1.0, -3.0, 5.0, 3.0), x=0.0, y=0.0, yaw=1.0)
    skill = Approach(CFG, "red cup")
    state, _, _ = run(skill, world, scene=_scene(0.0, ("cup", "red", 3.0, 1.0)))
    assert state is not None and state.status == "succeeded", state
    d = math.hypot(3.0 - world.x, 1.0 - world.y)
    assert abs(d - CFG.approach_standoff_m) <= 0.06
    facing = math.atan2(1.0 - world.y, 3.0 - world.x)
    assert abs(math.remainder(facing - world.yaw, 2 * math.pi)) <= math.radians(3)


def test_approach_keeps_going_when_the_object_leaves_the_camera_close_up():
    # Seen once at t = 0, then never again (close up, a cup on a table is above the camera's
    # view): the approach drives to where it was last seen instead of failing.
    world = World(box(-1.0, -3.0, 5.0, 3.0), x=0.0, y=0.0, yaw=0.0)
    skill = Approach(CFG, "red cup")
    seen = _scene(0.0, ("cup", "red", 3.0, 0.0))
    state, _, _ = run(skill, world, scene_at=lambda t: seen if t == 0.0 else None)
    assert state is not None and state.status == "succeeded", state
    assert abs(math.hypot(3.0 - world.x, world.y) - CFG.approach_standoff_m) <= 0.06


def test_approach_goes_round_the_table_to_the_side_within_reach():
    # A box on a table, 0.1 m in from its west edge; the robot starts east of the table. The
    # point on the line towards the robot is inside the table (the lidar sees only its sides):
    # the approach must go round to the west side and face the box from within reach.
    table = box(3.0, -0.3, 4.0, 0.3)
    world = World([*box(0.0, -2.0, 7.0, 2.0), *table], x=5.5, y=0.2, yaw=math.pi)
    skill = Approach(CFG, "green box")
    state, _, _ = run(skill, world, t_max=120.0, scene=_scene(0.0, ("box", "green", 3.1, 0.0)))
    assert state is not None and state.status == "succeeded", state
    d = math.hypot(3.1 - world.x, world.y)
    assert world.x < 3.0 and d <= CFG.approach_max_standoff_m + 0.05, (world.x, world.y)
    facing = math.atan2(-world.y, 3.1 - world.x)
    assert abs(math.remainder(facing - world.yaw, 2 * math.pi)) <= math.radians(3)
    assert world.min_clearance > CFG.robot_radius_m


def test_approach_keeps_to_the_track_it_started_with():
    # A second, more confident "green box" far away (a false track) appears mid-way: the
    # approach stays with the box it started on.
    world = World(box(-1.0, -3.0, 6.0, 3.0), x=0.0, y=0.0, yaw=0.0)
    skill = Approach(CFG, "green box")
    first = _scene(0.0, ("box", "green", 3.0, 0.0))

    def scene_at(t):
        if t <= 1.0:
            return first
        return parse_scene(
            {**first.model_dump(by_alias=True), "stamp": t,
             "objects": [o.model_dump() | {"last_seen": t} for o in first.objects]
             + [{"id": "box_9", "label": "box", "colour": "green", "confidence": 1.0,
                 "position": {"x": 5.0, "y": -2.0}, "distance": 5.4, "bearing": 0.0,
                 "last_seen": t}]}
        )  # fmt: skip

    state, _, _ = run(skill, world, scene_at=scene_at)
    assert state is not None and state.status == "succeeded", state
    assert abs(math.hypot(3.0 - world.x, world.y) - CFG.approach_standoff_m) <= 0.06


def test_approach_fails_for_an_object_never_seen():
    skill = Approach(CFG, "purple unicorn")
    _, state = skill.step(World([]).obs(scene=_scene(0.0, ("cup", "red", 3.0, 0.0))), 0.0)
    assert state.status == "failed" and "purple unicorn is not in the scene" in state.detail


def test_find_looks_back_at_a_remembered_object_until_it_is_in_view():
    # The cup was seen behind the robot (memory, not visible now): find turns towards it and
    # succeeds only once the scene reports it visible again.
    world = World([], x=0.0, y=0.0, yaw=0.0)
    skill = Find(CFG, TWO_ROOMS_PLACES, "red cup")
    remembered = parse_scene(
        {
            "stamp": 0.0,
            "robot": {"x": 0.0, "y": 0.0, "yaw": 0.0},
            "objects": [
                {"id": "cup_1", "label": "cup", "colour": "red", "confidence": 0.9,
                 "position": {"x": -2.0, "y": 0.0}, "distance": 2.0, "bearing": 3.14,
                 "last_seen": 0.0, "visible": False}
            ],
        }
    )  # fmt: skip
    t, state = 0.0, None
    while t < 30.0:
        facing_it = abs(math.remainder(world.yaw - math.pi, 2 * math.pi)) < math.radians(20)
        scene = _scene(t, ("cup", "red", -2.0, 0.0)) if facing_it else remembered
        cmd, state = skill.step(world.obs(scene=scene), t)
        world.apply(cmd, 0.05)
        t += 0.05
        if state.done:
            break
    assert state.status == "succeeded", state
    assert abs(math.remainder(world.yaw - math.pi, 2 * math.pi)) < math.radians(20)


def test_find_faces_an_object_first_seen_off_centre():
    # Visible at 35 degrees to the left: find turns to face it before it succeeds.
    world = World([], x=0.0, y=0.0, yaw=0.0)
    skill = Find(CFG, TWO_ROOMS_PLACES, "red cup")
    cup = (math.cos(math.radians(35)) * 2.0, math.sin(math.radians(35)) * 2.0)
    t, state = 0.0, None
    while t < 20.0:
        cmd, state = skill.step(world.obs(scene=_scene(t, ("cup", "red", *cup))), t)
        world.apply(cmd, 0.05)
        t += 0.05
        if state.done:
            break
    assert state.status == "succeeded", state
    assert abs(math.degrees(world.yaw) - 35.0) <= 15.0


def test_find_turns_then_fails_with_places_looked_at():
    world = World(TWO_ROOMS, x=1.0, y=1.5)
    skill = Find(CFG, TWO_ROOMS_PLACES, "red cup")
    state, _, _ = run(skill, world, t_max=200.0)
    assert state is not None and state.status == "failed"
    assert "I can't find the red cup; I looked in the west and the east" in state.say


def test_find_succeeds_when_seen():
    world = World([])
    state, _, _ = run(
        Find(CFG, TWO_ROOMS_PLACES, "cup"), world, scene=_scene(0.0, ("cup", "red", 1, 0))
    )
    assert state.status == "succeeded"


@pytest.mark.parametrize(
    ("speed", "scale"),
    [(0.3, 1.0), (0.18, 0.5)],  # 0.5: the gate's slowdown zone halves every command (corridor)
)
def test_follow_keeps_distance_then_gives_up_when_lost(speed, scale):
    world = World([], delay_s=0.1)
    skill = Follow(CFG, "person")
    t = 0.0
    while t < 20.0:
        px = 1.0 + speed * t  # walking east
        cmd, state = skill.step(world.obs(scene=_scene(t, ("person", None, px, 0.0))), t)
        world.apply(Command(cmd.linear * scale, cmd.angular * scale), 0.05)
        t += 0.05
        assert not state.done
    assert abs((px - world.x) - CFG.follow_distance_m) < 0.1
    while t < 40.0:
        cmd, state = skill.step(world.obs(scene=_scene(t)), t)
        world.apply(cmd, 0.05)
        t += 0.05
        if state.done:
            break
    assert state.status == "failed" and "lost" in state.detail
    assert t < 20.0 + CFG.follow_lost_timeout_s + 0.2


# The simulator's setting: ground truth decides grasps. The robot's own evidence (gripper joint,
# scene, no ground truth) is tested in test_motor_grasp.py.
CFG_TRUTH = MotorControlConfig(confirm_with_ground_truth=True)


@pytest.mark.parametrize(("held", "ok"), [("red_cup", True), ("", False)])
def test_pick_closes_and_confirms_from_ground_truth(held, ok):
    from synth_agent.core.skills import Pick

    world = World([], x=0.0, y=0.0)
    skill = Pick(CFG_TRUTH, "red cup")
    scene = _scene(0.0, ("cup", "red", 1.5, 0.0))
    state, _, cmd = run(skill, world, t_max=60.0, scene=scene, held=held)
    assert state.status == ("succeeded" if ok else "failed"), state
    assert abs(math.hypot(1.5 - world.x, world.y) - CFG.approach_standoff_m) <= 0.06
    assert cmd.gripper == (CFG.gripper_closed if ok else CFG.gripper_open)


def test_place_opens_and_confirms_release():
    from synth_agent.core.skills import PlaceSkill

    state, _, cmd = run(PlaceSkill(CFG_TRUTH, TWO_ROOMS_PLACES, None), World([]), held="")
    assert state.status == "succeeded" and state.detail == "released (ground truth)"
    assert cmd.gripper == CFG.gripper_open


@pytest.mark.parametrize("start_y", [-1.2, -1.6, -2.0])
def test_goal_seeker_waits_for_a_walker_crossing_its_path(start_y):
    # A person walks north across the robot's straight route at 0.3 m/s. The scan sees legs
    # where they are, not where they will be; the robot must let the person pass instead of
    # meeting them (scenario obstacle_person_crossing: never within 0.4 m centre to centre).
    from synth_agent.core.local_planner import GoalSeeker

    world = World(box(-1.0, -3.0, 6.0, 3.0), x=0.0, y=0.0, yaw=0.0)
    seeker = GoalSeeker(CFG, [(4.5, 0.0)])
    t, state, closest = 0.0, None, math.inf
    while t < 60.0:
        py = min(start_y + 0.3 * t, 2.5)
        person = parse_scene(
            {"stamp": t, "robot": {"x": world.x, "y": world.y, "yaw": world.yaw},
             "objects": [{"id": "person-1", "label": "person", "confidence": 0.9,
                          "position": {"x": 2.0, "y": py}, "distance": 1.0, "bearing": 0.0,
                          "last_seen": t}]}
        )  # fmt: skip
        cmd, state = seeker.step(world.obs(scene=person), t)
        world.apply(cmd, 0.05)
        closest = min(closest, math.hypot(world.x - 2.0, world.y - py))
        t += 0.05
        if state.done:
            break
    assert state.status == "succeeded", state
    assert closest >= 0.6, closest


def test_approach_to_an_object_out_of_reach_fails_with_the_reason():
    # A cup in the middle of a 1.2 m table: from every side the robot's disc, held clear of
    # the table, stays more than the gripper's reach from it. Claiming success would send a
    # pick to close on nothing.
    table = box(3.0, -0.6, 4.2, 0.6)
    world = World([*box(0.0, -2.5, 7.0, 2.5), *table], x=1.0, y=0.0, yaw=0.0)
    skill = Approach(CFG, "red cup")
    state, _, _ = run(skill, world, t_max=120.0, scene=_scene(0.0, ("cup", "red", 3.6, 0.0)))
    assert state is not None and state.status == "failed", state
    assert "could not get within reach of the red cup" in state.detail
    assert state.say == "I can't get close enough to the red cup."
    assert world.min_clearance > CFG.robot_radius_m


def test_a_goal_that_moves_away_is_not_taken_for_being_stuck():
    """An approached object can move, or the approach change sides: the route grows, which
    must not start a stuck recovery while the robot makes its way to the new goal."""
    from synth_agent.core.local_planner import GoalSeeker

    world = World(box(0.0, 0.0, 20.0, 20.0), x=10.0, y=10.0, yaw=0.0)
    seeker = GoalSeeker(CFG, [(14.0, 10.0)], None, "the cup")
    t, state = 0.0, None
    while t < 60.0:
        if abs(t - 4.0) < 1e-6:
            seeker.set_goal((5.0, 10.0), None)  # now behind the robot, 9 m from where it was
        cmd, state = seeker.step(world.obs(), t)
        world.apply(cmd, 0.05)
        t = round(t + 0.05, 6)
        if state.done:
            break
    assert state is not None and state.status == "succeeded", state
    assert seeker.recoveries == 0
    assert math.hypot(world.x - 5.0, world.y - 10.0) <= CFG.goal_tolerance_m + 0.02


def test_a_goal_that_only_shifts_buys_a_stuck_robot_no_time():
    """A goal swapping between two points at the same distance (an object's position jittering,
    approach sides swapping) must not hide that the robot makes no progress."""
    from synth_agent.core.local_planner import GoalSeeker

    walls = [*box(0.0, 0.0, 8.0, 3.0), (4.0, 0.0, 4.0, 3.0)]  # no way east
    world = World(walls, x=1.0, y=1.5, yaw=0.0)
    goals = [(7.0, 1.2), (7.0, 1.8)]
    seeker = GoalSeeker(CFG, [goals[0]], None, "the cup")
    t = 0.0
    while t < 40.0 and seeker.recoveries == 0:
        if round(t, 6) % 1.0 < 1e-6 and t > 0:
            seeker.set_goal(goals[int(round(t)) % 2], None)
        cmd, state = seeker.step(world.obs(), t)
        assert not state.done, state
        world.apply(cmd, 0.05)
        t = round(t + 0.05, 6)
    assert seeker.recoveries >= 1, "the progress watch never fired"


@pytest.mark.parametrize("inset", [0.12, 0.17])
def test_approach_ends_within_reach_when_the_table_keeps_it_far_off(inset):
    """An object `inset` in from a table's edge: the only side is the edge, at a stand-off near
    approach_max_standoff_m. The seeker stops on the near edge of its goal tolerance, up to
    5 cm short; the last centimetres are crept straight in, so the gripper still reaches."""
    from synth_agent.core.skills import REACH_SLACK_M

    table = box(3.0, -0.3, 4.0, 0.3)
    ox = 3.0 + inset
    world = World([*box(0.0, -2.0, 7.0, 2.0), *table], x=1.0, y=0.0, yaw=0.0)
    skill = Approach(CFG, "green box")
    state, _, _ = run(skill, world, t_max=120.0, scene=_scene(0.0, ("box", "green", ox, 0.0)))
    assert state is not None and state.status == "succeeded", state
    gap = math.hypot(ox - world.x, world.y)
    assert gap <= CFG.approach_max_standoff_m + REACH_SLACK_M, gap
    assert world.min_clearance > CFG.robot_radius_m
