"""The perception node in its own process: synthetic camera, depth and odom in, scene out; and
with the `sim` node as its camera, the scene matches the simulator's ground truth."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from synth_agent.core.schemas import parse_scene
from synth_agent.nodes.image import numpy_to_image
from synth_agent.nodes.qos import profile
from synth_agent.sim.config import SimConfig
from synth_agent.testing import wait_until
from test.core.perception_synth import K, render

pytestmark = pytest.mark.integration

ROBOT = (3.5, 2.0, math.pi)
CUP = (1.6, 2.1, 0.8)


def _start(launch, probe):
    """The perception node (flat synthetic discs: no radius correction) and the probe's
    subscriptions and sensor publishers, once the node listens."""
    node = launch(
        [
            "perception",
            "--ros-args",
            "-p",
            "annotated_rate_hz:=0.0",
            "-p",
            "colour_radius_m:=[0.0, 0.0, 0.0, 0.0, 0.0]",
        ],
        name="perception",
    )
    node.wait_for_output("perception up", 30)
    scenes = probe.subscribe(String, "agent/scene", profile("scene"))
    diagnostics = probe.subscribe(DiagnosticArray, "/diagnostics", profile("default"))
    pubs = (
        probe.publisher(Image, "camera/image_raw", profile("sensor")),
        probe.publisher(CameraInfo, "camera/camera_info", profile("sensor")),
        probe.publisher(Image, "camera/depth/image_raw", profile("sensor")),
        probe.publisher(Odometry, "odom", profile("sensor")),
    )
    probe.wait_for_subscribers(pubs[0])
    return node, scenes, diagnostics, pubs


def test_node_publishes_a_scene_with_the_red_cup_where_it_is(launch, probe):
    # The synthetic cup is a flat disc drawn at the truth point: no radius to correct for.
    node, scenes, diagnostics, (img_pub, info_pub, depth_pub, odom_pub) = _start(launch, probe)

    img, depth, info, odom = _synthetic_inputs()
    rgb = numpy_to_image(img[:, :, ::-1], "rgb8", "camera")
    depth_msg = numpy_to_image(depth, "32FC1", "camera")
    bad = numpy_to_image(img, "bgr8", "camera")
    bad.data = bad.data[:100]  # malformed: must be rejected with a reason, not crash the node

    def cup_seen():
        for msg in list(scenes):
            scene = parse_scene(msg.data)
            for o in scene.objects:
                if o.label == "red cup":
                    return o
        return None

    deadline = time.monotonic() + 30
    i = 0
    while not cup_seen() and time.monotonic() < deadline:
        info_pub.publish(info)
        odom_pub.publish(odom)
        depth_pub.publish(depth_msg)
        time.sleep(0.05)
        # Every fifth frame is malformed; the others are a 10 Hz camera.
        img_pub.publish(bad if i % 5 == 0 else rgb)
        i += 1
        time.sleep(0.1)
    cup = cup_seen()
    assert cup is not None, "no scene with the red cup:\n" + node.output[-2000:]
    assert math.dist((cup.position.x, cup.position.y, cup.position.z), CUP) < 0.05
    assert cup.colour == "red" and cup.visible
    last = parse_scene(scenes[-1].data)
    assert (last.robot.x, last.robot.y) == pytest.approx(ROBOT[:2])
    assert [o.label for o in last.objects] == ["red cup"]
    # The loop may end before a malformed frame was processed: send more until one is.
    deadline = time.monotonic() + 10
    while "frame rejected" not in node.output and time.monotonic() < deadline:
        info_pub.publish(info)
        odom_pub.publish(odom)
        img_pub.publish(bad)
        time.sleep(0.2)
    node.wait_for_output("frame rejected: data has 100 bytes", 10)
    assert node.proc.poll() is None

    # Drop and reject rates reach /diagnostics; rejected frames make it a WARN.
    # (A "none processed" WARN may come first, from frames sent before camera_info arrived.)
    def rejected_warns():
        return [
            st
            for a in diagnostics
            for st in a.status
            if st.level == DiagnosticStatus.WARN and "rejected" in st.message
        ]

    wait_until(lambda: rejected_warns(), 10, "a WARN for the rejected frames on /diagnostics")
    warn = rejected_warns()[0]
    values = {kv.key: kv.value for kv in warn.values}
    assert float(values["reject_rate"]) > 0
    assert int(values["rejected (total)"]) >= 1 and "drop_rate" in values


def _synthetic_inputs():
    """Colour, depth, camera_info and odometry messages for the red cup seen from ROBOT."""
    img, depth, in_view = render([("red cup", CUP)], ROBOT)
    assert len(in_view) == 1
    info = CameraInfo(width=K.width, height=K.height)
    info.k = [K.fx, 0.0, K.cx, 0.0, K.fy, K.cy, 0.0, 0.0, 1.0]
    odom = Odometry()
    odom.pose.pose.position.x, odom.pose.pose.position.y = ROBOT[0], ROBOT[1]
    odom.pose.pose.orientation.z = math.sin(ROBOT[2] / 2)
    odom.pose.pose.orientation.w = math.cos(ROBOT[2] / 2)
    return img, depth, info, odom


def test_colour_is_paired_with_the_depth_of_its_own_stamp_not_the_latest(launch, probe):
    """Each colour frame is followed by its depth (same stamp), as the sim publishes them, and
    preceded by a decoy depth of another stamp that puts everything 6 m away. Pairing with the
    latest received depth would place the cup on the decoy; pairing by stamp never does, and
    the decoys are counted as unmatched on /diagnostics."""
    from builtin_interfaces.msg import Time

    node, scenes, diagnostics, (img_pub, info_pub, depth_pub, odom_pub) = _start(launch, probe)
    img, depth, info, odom = _synthetic_inputs()
    decoy = np.full_like(depth, 6.0)

    def cups():
        return [
            o for msg in list(scenes) for o in parse_scene(msg.data).objects if o.label == "red cup"
        ]

    deadline = time.monotonic() + 30
    i = 0
    while len(cups()) < 5 and time.monotonic() < deadline:
        t = 100 + i
        info_pub.publish(info)
        odom_pub.publish(odom)
        depth_pub.publish(numpy_to_image(decoy, "32FC1", "camera", Time(sec=t - 1, nanosec=5)))
        time.sleep(0.02)
        img_pub.publish(numpy_to_image(img[:, :, ::-1], "rgb8", "camera", Time(sec=t)))
        time.sleep(0.03)
        depth_pub.publish(numpy_to_image(depth, "32FC1", "camera", Time(sec=t)))
        time.sleep(0.1)
        i += 1
    seen = cups()
    assert len(seen) >= 5, "no scene with the red cup:\n" + node.output[-2000:]
    for cup in seen:
        err = math.dist((cup.position.x, cup.position.y, cup.position.z), CUP)
        assert err < 0.05, f"cup at {cup.position}, {err:.2f} m off: paired with the decoy depth"

    def unmatched():
        return [
            int(kv.value)
            for a in diagnostics
            for st in a.status
            for kv in st.values
            if kv.key == "unmatched (total)"
        ]

    wait_until(lambda: any(n > 0 for n in unmatched()), 10, "unmatched decoys on /diagnostics")
    assert node.proc.poll() is None


def test_without_depth_images_are_processed_after_a_warning(launch, probe):
    """`use_depth` is on but no depth arrives: after `depth_timeout_s` the node warns once and
    processes colour images without depth instead of waiting for depth forever."""
    node = launch(["perception", "--ros-args", "-p", "annotated_rate_hz:=0.0"], name="perception")
    node.wait_for_output("perception up", 30)
    diagnostics = probe.subscribe(DiagnosticArray, "/diagnostics", profile("default"))
    img_pub = probe.publisher(Image, "camera/image_raw", profile("sensor"))
    info_pub = probe.publisher(CameraInfo, "camera/camera_info", profile("sensor"))
    odom_pub = probe.publisher(Odometry, "odom", profile("sensor"))
    probe.wait_for_subscribers(img_pub)
    img, _, info, odom = _synthetic_inputs()
    rgb = numpy_to_image(img[:, :, ::-1], "rgb8", "camera")

    def processed() -> int:
        return max(
            (
                int(kv.value)
                for a in diagnostics
                for st in a.status
                for kv in st.values
                if kv.key == "processed (total)"
            ),
            default=0,
        )

    deadline = time.monotonic() + 20
    while processed() < 3 and time.monotonic() < deadline:
        info_pub.publish(info)
        odom_pub.publish(odom)
        img_pub.publish(rgb)
        time.sleep(0.1)
    assert processed() >= 3, "frames not processed without depth:\n" + node.output[-2000:]
    node.wait_for_output("processing colour images without depth", 5)
    assert node.output.count("no depth image for") == 1


def test_with_the_sim_the_scene_has_what_the_robot_sees_where_it_is(launch, probe):
    """`sim` + `perception` as real processes: the objects in view of the robot's initial pose
    appear on agent/scene within 0.15 m of sim/ground_truth. What is in view is decided in this
    process from a Simulation with the sim node's default config (ground truth projected
    through its camera, occlusion from depth), so the test follows any change of the world."""
    import json

    from synth_agent.core import contract
    from test.core.perception_sim import PERSON, make_sim, render, truths

    sim = make_sim(lidar_noise_m=SimConfig().lidar_noise_m)
    try:
        _, depth = render(sim)
        expected = {t.label for t in truths(sim, depth) if t.required}
    finally:
        sim.close()
    assert expected, "the sim's initial pose should look at something"

    truth_msgs = probe.subscribe(String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH))
    scenes = probe.subscribe(String, contract.SCENE.name, profile(contract.SCENE))
    launch(["sim", "--ros-args", "-p", "camera_rate_hz:=10.0"], name="sim")
    node = launch(["perception", "--ros-args", "-p", "annotated_rate_hz:=0.0"], name="perception")

    def reported() -> dict:
        if not scenes:
            return {}
        scene = parse_scene(scenes[-1].data)
        return {o.label: o for o in scene.objects if o.visible}

    deadline = time.monotonic() + 60
    while not expected <= set(reported()) and time.monotonic() < deadline:
        time.sleep(0.2)
    got = reported()
    assert expected <= set(got), f"expected {expected}, got {sorted(got)}:\n{node.output[-2000:]}"
    wait_until(lambda: bool(truth_msgs), 10, "ground truth from the sim")
    truth = json.loads(truth_msgs[-1].data)
    # Each object reported (those expected, and anything else seen) is where the sim has it.
    for label, o in got.items():
        if label == PERSON:
            p = truth["person"]
            err = math.dist((o.position.x, o.position.y), (p["x"], p["y"]))
        else:
            assert label.replace(" ", "_") in truth["objects"], f"{label} is not in the sim"
            p = truth["objects"][label.replace(" ", "_")]
            err = math.dist((o.position.x, o.position.y, o.position.z), (p["x"], p["y"], p["z"]))
        assert err < 0.15, f"{label} at {o.position} is {err:.3f} m from the truth {p}"


def test_frame_diagnostics_levels():
    from synth_agent.nodes.perception_node import frame_diagnostics

    totals = {"received": 100, "processed": 60, "dropped": 38, "rejected": 2}
    ok = {"received": 15, "processed": 10, "dropped": 5, "rejected": 0}
    level, message, values = frame_diagnostics(totals, ok, 1.0, 0.1)
    assert bytes([level]) == DiagnosticStatus.OK and "10.0 fps" in message
    assert values["drop_rate"] == "0.333" and values["processing_ms"] == "10.0"
    level, message, _ = frame_diagnostics(totals, {**ok, "rejected": 3}, 1.0, 0.1)
    assert bytes([level]) == DiagnosticStatus.WARN and "3 of 15" in message
    level, message, _ = frame_diagnostics(totals, {**ok, "processed": 0}, 1.0, 0.0)
    assert bytes([level]) == DiagnosticStatus.WARN and "none processed" in message
    # A frame received before the last report and rejected after it (a busy machine): the
    # window has the reject but not the receipt; the rate must still show it.
    late = {"received": 0, "processed": 0, "dropped": 0, "rejected": 1}
    level, message, values = frame_diagnostics(totals, late, 1.0, 0.0)
    assert bytes([level]) == DiagnosticStatus.WARN and "1 of 1 frames rejected" in message
    assert values["reject_rate"] == "1.000"


def test_with_the_sim_and_no_depth_the_lidar_places_the_ball(launch, probe):
    """`sim` + `perception` with `use_depth:=false` (the node does not subscribe to depth, as for
    a camera without one): the blue ball on the bedroom floor is placed from its bearing and
    the `scan` topic within 0.3 m of sim/ground_truth (0.05-0.06 m in-process)."""
    import json

    from synth_agent.core import contract

    truth_msgs = probe.subscribe(String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH))
    scenes = probe.subscribe(String, contract.SCENE.name, profile(contract.SCENE))
    launch(
        ["sim", "--ros-args", "-p", "camera_rate_hz:=10.0", "-p", "initial_pose:=[2.7,5.5,1.57]"],
        name="sim",
    )
    node = launch(
        ["perception", "--ros-args", "-p", "annotated_rate_hz:=0.0", "-p", "use_depth:=false"],
        name="perception",
    )

    def ball():
        if not scenes:
            return None
        scene = parse_scene(scenes[-1].data)
        return next((o for o in scene.objects if o.label == "blue ball" and o.visible), None)

    wait_until(lambda: ball() is not None, 60, "the blue ball on agent/scene")
    wait_until(lambda: bool(truth_msgs), 10, "ground truth from the sim")
    o = ball()
    p = json.loads(truth_msgs[-1].data)["objects"]["blue_ball"]
    err = math.dist((o.position.x, o.position.y, o.position.z), (p["x"], p["y"], p["z"]))
    assert err < 0.3, (
        f"blue ball at {o.position} is {err:.3f} m from the truth {p}\n" + (node.output[-2000:])
    )
