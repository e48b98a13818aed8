"""The lidar fallback on the embedded simulator, in-process: depth withheld, the scan given.

From the acceptance poses of test_perception_sim and two more (640x480, the simulator's camera
and lidar mountings measured from the model), perception gets the rendered image and the lidar
scan but no depth. What is checked, and the tolerance that can honestly be claimed:
- Objects that stand on the floor (the person, the blue ball) and that the lidar can see (its
  beam towards the object's axis hits the object first) are placed within 0.3 m of ground
  truth. Measured: 0.04-0.06 m. The margin is for what the lidar cannot know: it sees the
  person's legs (radius 0.13 m) while the scene reports the torso's centre (radius 0.17 m), and
  it grazes the top of the ball (the ball's top is 5 mm above the scan plane), so its range is
  a chord, not the front.
- Objects on tables (red cup, green box, yellow bottle) are above the scan plane: the lidar sees
  the table, so the position is the table's near edge on the bearing, up to the table's depth
  (0.9 m for the coffee table) in front of the object. They must carry at most
  `lidar_above_plane_confidence` times the detector's confidence.
- Not checked, and a known limit: an object the camera sees over furniture that hides it from
  the lidar (the person behind the sofa's end from the dock) is placed at the furniture. The
  size check refuses such returns only when they are far off (e.g. 0.4 m instead of 2.5 m).
"""

from __future__ import annotations

import math

import pytest

from synth_agent.core.perception import Frame, PerceptionConfig
from test.core.perception_sim import (
    PERSON,
    lidar_model,
    lidar_sees,
    make_sim,
    render,
    robot_odom,
    scan,
    teleport,
    truths,
)
from test.core.test_perception_sim import CAMERA_PERIOD_S, POSES, error, perception_for

FLOOR_LABELS = {PERSON, "blue ball"}
# The acceptance poses see the person only past furniture at lidar height (the sofa, the
# coffee table); these add two views of it across open floor.
LIDAR_POSES = POSES + [(5.4, 3.0, -1.2), (7.0, 3.0, -2.0)]
TOLERANCE_M = 0.3


@pytest.fixture(scope="module")
def results():
    """Per pose: (pose, scene, truths, labels the lidar sees) with depth withheld."""
    sim = make_sim()
    out = []
    try:
        lidar = lidar_model(sim)
        for pose in LIDAR_POSES:
            teleport(sim, *pose)
            img, depth = render(sim)
            p, k = perception_for(
                sim,
                lidar_x_m=lidar.x,
                lidar_y_m=lidar.y,
                lidar_z_m=lidar.z,
            )
            robot = robot_odom(sim)
            p.process(Frame(img, None, k, robot, scan(sim, 0.0)), now=0.0)
            frame = Frame(img, None, k, robot, scan(sim, CAMERA_PERIOD_S))
            scene = p.process(frame, now=CAMERA_PERIOD_S).scene
            truth = truths(sim, depth)
            seen = {t.label for t in truth if t.in_image and lidar_sees(sim, t.label)}
            out.append((pose, scene, truth, seen))
    finally:
        sim.close()
    return out


def test_the_lidar_mounting_is_the_configured_default():
    sim = make_sim()
    try:
        lidar = lidar_model(sim)
    finally:
        sim.close()
    c = PerceptionConfig()
    assert (lidar.x, lidar.y, lidar.z) == pytest.approx(
        (c.lidar_x_m, c.lidar_y_m, c.lidar_z_m), abs=0.01
    )


def test_floor_objects_the_lidar_sees_are_placed_within_30cm_without_depth(results):
    checked = []
    for pose, scene, truth, seen in results:
        for t in truth:
            if not (t.required and t.label in FLOOR_LABELS and t.label in seen):
                continue
            found = [o for o in scene.objects if o.label == t.label and o.visible]
            assert found, f"{pose}: {t.label} in view of camera and lidar, not reported"
            err = min(error(o, t) for o in found)
            assert err < TOLERANCE_M, f"{pose}: {t.label} placed {err:.3f} m from the truth"
            checked.append((t.label, err))
    labels = {label for label, _ in checked}
    assert labels == FLOOR_LABELS and len(checked) >= 4, checked


def test_objects_on_tables_are_reported_with_lower_confidence(results):
    limit = PerceptionConfig().lidar_above_plane_confidence
    table_objects = 0
    for pose, scene, _, _ in results:
        for o in scene.objects:
            if o.label not in FLOOR_LABELS:
                table_objects += 1
                assert o.confidence <= limit, f"{pose}: {o.label} confidence {o.confidence}"
    assert table_objects >= 5


def test_floor_objects_are_never_placed_far_from_a_true_one_where_the_lidar_sees_them(results):
    for pose, scene, truth, seen in results:
        for o in scene.objects:
            if o.label in FLOOR_LABELS and o.label in seen:
                err = min((error(o, t) for t in truth if t.label == o.label), default=math.inf)
                assert err < TOLERANCE_M, f"{pose}: {o.label} {err:.2f} m from the truth"
