"""Acceptance of perception on the embedded simulator, in-process and on simulated time.

Issue 5's "done when", checked against what MuJoCo renders (not synthetic discs):
- from 16 robot poses set through the simulator, every object clearly in view is reported with
  the right label within 0.15 m of ground truth, and nothing else is reported;
- 60 s of simulated driving through four rooms (camera at 10 Hz of simulated time) with the
  person walking: every object the tracker updates is within 0.15 m of a true object of that
  label (no false positive), each object keeps one id, and what is clearly in view is found;
- the walking person is tracked with one stable id while walking.

The camera model fed to perception is the simulator's (`perception_sim.camera_model`), and "in
view" comes from ground truth projected through the camera with occlusion from the depth image
(`perception_sim.truths`). The drive and the walking person run at 320x240 to keep the test
short on a shared machine; the per-pose acceptance runs at the simulator's default 640x480.
Positions are compared in the odom frame (ground truth is mapped through the robot's odometry,
so wheel-odometry drift does not count as perception error). The person's truth is where it
stands, so its error is horizontal; every other object's is 3-D.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from synth_agent.core.perception import Frame, Perception, PerceptionConfig
from synth_agent.core.schemas import SceneObject
from synth_agent.sim.simulation import Simulation
from test.core.perception_sim import (
    PERSON,
    TICK,
    Truth,
    camera_model,
    make_sim,
    render,
    robot_odom,
    teleport,
    truths,
)

TOLERANCE_M = 0.15
CAMERA_PERIOD_S = 0.1  # 10 Hz of simulated time

# (x, y, yaw) in the apartment; most look at one or more objects or the person, a few at
# nothing (walls, an empty hallway, the person too close to see whole).
POSES = [
    (3.0, 2.05, math.pi),  # kitchen, facing the table with the red cup
    (9.55, 1.7, math.pi),  # the dock: green box and person across the living room
    (2.7, 5.5, 1.57),  # bedroom, the blue ball on the floor
    (7.0, 2.5, -1.5708),  # living room place: green box, person at the edge
    (2.8, 2.0, 3.1416),  # kitchen place
    (3.0, 6.0, 3.1416),  # bedroom place: the yellow bottle on the nightstand
    (5.0, 4.0, 0.0),  # hallway, looking along it: nothing
    (6.2, 1.5, -1.5708),  # operator place: the person 0.8 m ahead, torso above the image
    (8.0, 2.2, -2.5),  # green box, person, the red cup far away through the door
    (4.0, 1.2, 2.8),  # red cup from the other side of the kitchen
    (1.5, 5.0, 1.2),  # blue ball from the west
    (2.0, 6.2, -2.4),  # bedroom corner: nothing
    (3.8, 6.6, 2.9),  # blue ball, yellow bottle far
    (6.5, 2.0, -0.6),  # green box from the north-west
    (8.5, 1.5, 2.6),  # green box close, others far
    (3.5, 2.6, -2.8),  # red cup from the north-east
]

# The drive: waypoints through the living room, hallway, bedroom and kitchen, turning on the
# spot in three rooms. The person walks a loop in the west of the living room meanwhile.
ROUTE: list[tuple[float, float] | str] = [
    (8.0, 2.4),
    "spin",
    (7.0, 3.0),
    (7.0, 4.0),
    (3.0, 4.0),
    (3.0, 5.3),
    (3.0, 6.0),
    "spin",
    (3.0, 4.0),
    (2.5, 4.0),
    (2.5, 2.6),
    (2.8, 2.0),
    "spin",
]
PERSON_LOOP = [5.6, 1.0, 6.3, 2.9]
SPIN_RADPS = 1.5


def perception_for(sim: Simulation, **overrides) -> tuple[Perception, object]:
    """Perception configured with the simulator's camera mounting; also returns intrinsics."""
    k, mount = camera_model(sim)
    config = dataclasses.replace(
        PerceptionConfig(),
        camera_x_m=mount.x,
        camera_y_m=mount.y,
        camera_z_m=mount.z,
        camera_yaw_deg=math.degrees(mount.yaw),
        camera_pitch_deg=math.degrees(mount.pitch),
        **overrides,
    )
    return Perception(config), k


def error(o: SceneObject, t: Truth) -> float:
    """Distance from a reported object to a true one (horizontal for the person)."""
    if o.label == PERSON:
        return math.dist((o.position.x, o.position.y), t.position[:2])
    return math.dist((o.position.x, o.position.y, o.position.z), t.position)


def nearest(o: SceneObject, truth: list[Truth]) -> float:
    """Distance to the nearest true object with the same label (inf when there is none)."""
    return min((error(o, t) for t in truth if t.label == o.label), default=math.inf)


# ------------------------------------------------------------------------------------------
# Poses set through the simulator


@pytest.fixture(scope="module")
def sim640():
    sim = make_sim()
    yield sim
    sim.close()


def look(sim: Simulation, pose: tuple[float, float, float]):
    """The scene after the camera at rest at `pose` delivered two frames (min_hits = 2)."""
    teleport(sim, *pose)
    img, depth = render(sim)
    p, k = perception_for(sim)
    frame = Frame(img, depth, k, robot_odom(sim))
    p.process(frame, now=0.0)
    return p.process(frame, now=CAMERA_PERIOD_S).scene, truths(sim, depth)


@pytest.mark.parametrize("pose", POSES, ids=[f"{x},{y},{yaw:.2f}" for x, y, yaw in POSES])
def test_every_object_in_view_is_reported_within_15cm_and_nothing_else(sim640, pose):
    scene, truth = look(sim640, pose)
    reported = [o for o in scene.objects if o.visible]
    for t in truth:
        if t.required:
            found = [o for o in reported if o.label == t.label]
            assert found, f"{t.label} at {t.position} in view but not reported: {reported}"
            err = min(error(o, t) for o in found)
            assert err < TOLERANCE_M, f"{t.label} reported {err:.3f} m from the truth"
    for o in reported:
        err = nearest(o, truth)
        assert err < TOLERANCE_M, f"false positive: {o.label} at {o.position}, {err:.2f} m off"
    labels = [o.label for o in reported]
    assert len(labels) == len(set(labels)), f"an object reported twice: {labels}"


def test_the_poses_cover_every_object_and_most_see_something(sim640):
    required_per_pose = []
    for pose in POSES:
        teleport(sim640, *pose)
        _, depth = render(sim640)
        required_per_pose.append({t.label for t in truths(sim640, depth) if t.required})
    assert sum(1 for r in required_per_pose if r) >= 10
    covered = set().union(*required_per_pose)
    assert covered == {"red cup", "blue ball", "green box", "yellow bottle", PERSON}


# ------------------------------------------------------------------------------------------
# Driving and walking on simulated time


def wrap(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))


class RouteDriver:
    """Turn towards each waypoint, then drive to it; "spin" turns once on the spot. Steers on
    the true pose (it is the test's driver, not the robot's navigation)."""

    def __init__(self, route: list[tuple[float, float] | str]) -> None:
        self.route = route
        self.index = 0
        self._spin_left: float | None = None

    @property
    def done(self) -> bool:
        return self.index >= len(self.route)

    def command(self, sim: Simulation) -> tuple[float, float]:
        if self.done:
            return 0.0, 0.0
        step = self.route[self.index]
        if step == "spin":
            if self._spin_left is None:
                self._spin_left = 2 * math.pi / SPIN_RADPS
            self._spin_left -= TICK
            if self._spin_left <= 0:
                self._spin_left = None
                self.index += 1
            return 0.0, SPIN_RADPS
        x, y, yaw = sim.world.robot_pose()
        dx, dy = step[0] - x, step[1] - y
        dist = math.hypot(dx, dy)
        if dist < 0.12:
            self.index += 1
            return 0.0, 0.0
        e = wrap(math.atan2(dy, dx) - yaw)
        v = 0.0 if abs(e) > 0.4 else min(0.5, dist + 0.1)
        return v, max(-SPIN_RADPS, min(SPIN_RADPS, 2.5 * e))


def run_camera(sim: Simulation, p: Perception, k, seconds: float, driver=None):
    """Step the simulation at 100 Hz for `seconds`, running perception on each camera frame;
    yield (now, scene, truth) per frame."""
    start = sim.time
    next_frame = start
    while sim.time - start < seconds:
        cmd = driver.command(sim) if driver is not None else (0.0, 0.0)
        sim.set_cmd_vel(*cmd)
        sim.advance(TICK)
        if sim.time < next_frame - 1e-9:
            continue
        next_frame += CAMERA_PERIOD_S
        img, depth = render(sim)
        now = sim.time
        scene = p.process(Frame(img, depth, k, robot_odom(sim)), now).scene
        yield now, scene, truths(sim, depth)


@pytest.fixture(scope="module")
def drive_log():
    """60 s of driving the route at 320x240 with the person walking; one record per frame."""
    sim = make_sim(
        image_width=320,
        image_height=240,
        initial_pose=[9.55, 1.7, math.pi],
        person_path=PERSON_LOOP,
    )
    try:
        p, k = perception_for(sim)
        driver = RouteDriver(ROUTE)
        log = list(run_camera(sim, p, k, 60.0, driver))
        yield log, driver
    finally:
        sim.close()


def test_no_false_positive_over_60s_of_driving(drive_log):
    log, driver = drive_log
    assert driver.done, f"the drive stopped at step {driver.index} of {len(ROUTE)}"
    assert len(log) >= 590  # 10 Hz for 60 s
    for now, scene, truth in log:
        for o in scene.objects:
            if o.last_seen != now:
                continue  # not seen in this frame: a memory, checked when it was seen
            err = nearest(o, truth)
            assert err < TOLERANCE_M, (
                f"t={now:.1f}: {o.id} at ({o.position.x:.2f}, {o.position.y:.2f}) is "
                f"{err:.2f} m from any true {o.label}"
            )


def test_each_object_keeps_one_id_over_the_drive(drive_log):
    log, _ = drive_log
    ids: dict[str, set[str]] = {}
    for _, scene, _ in log:
        for o in scene.objects:
            ids.setdefault(o.label, set()).add(o.id)
    assert {label: len(v) for label, v in ids.items()} == {
        "red cup": 1,
        "blue ball": 1,
        "green box": 1,
        "yellow bottle": 1,
        PERSON: 1,
    }


def test_what_is_clearly_in_view_while_driving_is_found(drive_log):
    log, _ = drive_log
    expected = found = 0
    previous: set[str] = set()
    for now, scene, truth in log:
        required = {t.label for t in truth if t.required}
        seen = {o.label for o in scene.objects if o.last_seen == now}
        # A new track needs two sightings, so count objects in view since the last frame.
        for label in required & previous:
            expected += 1
            found += label in seen
        previous = required
    assert expected >= 100
    assert found >= 0.97 * expected, f"found {found} of {expected}"


def test_the_walking_person_is_tracked_with_one_id():
    # The robot stands in the living room's east end; the person walks a loop in its view.
    sim = make_sim(
        image_width=320,
        image_height=240,
        initial_pose=[9.3, 2.0, math.pi],
        person_path=[5.8, 1.1, 5.8, 2.9, 6.8, 2.9],
    )
    try:
        p, k = perception_for(sim)
        ids, positions, frames = set(), [], 0
        for now, scene, truth in run_camera(sim, p, k, 20.0):
            frames += 1
            (person_truth,) = [t for t in truth if t.label == PERSON]
            assert person_truth.required
            people = [o for o in scene.objects if o.label == PERSON and o.last_seen == now]
            for o in people:
                ids.add(o.id)
                positions.append((o.position.x, o.position.y))
                assert error(o, person_truth) < TOLERANCE_M, f"t={now:.1f}: {o.position}"
    finally:
        sim.close()
    assert ids == {"person-1"}
    assert len(positions) >= frames - 2  # every frame but the first (a track needs two)
    xs, ys = [q[0] for q in positions], [q[1] for q in positions]
    assert max(xs) - min(xs) > 0.8 and max(ys) - min(ys) > 1.5  # it followed the whole loop
