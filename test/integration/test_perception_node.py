"""The perception node in its own process: synthetic camera, depth and odom in, scene out."""

from __future__ import annotations

import math
import time

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from synth_agent.core.schemas import parse_scene
from synth_agent.nodes.image import numpy_to_image
from synth_agent.nodes.qos import profile
from test.core.perception_synth import K, render

pytestmark = pytest.mark.integration

ROBOT = (3.5, 2.0, math.pi)
CUP = (1.6, 2.1, 0.8)


def test_node_publishes_a_scene_with_the_red_cup_where_it_is(launch, probe):
    node = launch(["perception", "--ros-args", "-p", "annotated_rate_hz:=0.0"], name="perception")
    node.wait_for_output("perception up", 30)
    scenes = probe.subscribe(String, "agent/scene", profile("scene"))
    img_pub = probe.publisher(Image, "camera/image_raw", profile("sensor"))
    info_pub = probe.publisher(CameraInfo, "camera/camera_info", profile("sensor"))
    depth_pub = probe.publisher(Image, "camera/depth/image_raw", profile("sensor"))
    odom_pub = probe.publisher(Odometry, "odom", profile("sensor"))
    probe.wait_for_subscribers(img_pub)

    img, depth, in_view = render([("red cup", CUP)], ROBOT)
    assert len(in_view) == 1
    info = CameraInfo(width=K.width, height=K.height)
    info.k = [K.fx, 0.0, K.cx, 0.0, K.fy, K.cy, 0.0, 0.0, 1.0]
    odom = Odometry()
    odom.pose.pose.position.x, odom.pose.pose.position.y = ROBOT[0], ROBOT[1]
    odom.pose.pose.orientation.z = math.sin(ROBOT[2] / 2)
    odom.pose.pose.orientation.w = math.cos(ROBOT[2] / 2)
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
    node.wait_for_output("frame rejected: data has 100 bytes", 10)
    assert node.proc.poll() is None
