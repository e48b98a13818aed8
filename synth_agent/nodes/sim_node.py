"""The `sim` node: the embedded MuJoCo simulator behind the same topics as a real robot.

Why it is built this way:
- Physics runs from a wall-clock timer (a steady clock, never ROS time: this node *is* the
  source of /clock, so it must not wait on it). Each tick advances the simulation by the wall
  time elapsed times `real_time_factor`, capped so a stall cannot cause a burst of catch-up.
  Sensor messages are published when their period in *simulated* time is due and are stamped
  with simulated time, which is also published on /clock every tick.
- The camera renders in a dedicated thread that owns the OpenGL context (a context can be
  current in one thread only, and executor worker threads vary). It holds the state lock only
  to copy the scene, then rasterises and publishes without blocking physics.
- Subscriptions, the reset service and parameter changes run in the single-threaded executor
  with the physics tick, under the same lock as the camera's scene copy.
- Test controls live under `sim/`, like `sim/reset` and `sim/ground_truth`: `sim/obstacle`
  (std_msgs/String, JSON) drops one of the world's obstacles in the robot's way or parks it
  again (`Simulation.obstacle_command`); what happened shows in the ground truth and the log.
- Images are larger than Fast DDS's default shared-memory segment; `main` gives this process a
  larger one (assets/fastdds_large_images.xml, via nodes/fastdds.py, shared with perception) so
  best-effort frames are not lost in UDP fragments.
- Only `cmd_vel` and `gripper` (the safety gate's outputs) move anything. The base stops its
  wheels on its own when `cmd_vel` goes silent for `cmd_timeout_s`, like real firmware.
"""

from __future__ import annotations

import json
import math
import threading
import time

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image, JointState, LaserScan
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.nodes.fastdds import (  # FASTDDS_PROFILE: re-exported for existing users
    FASTDDS_PROFILE,  # noqa: F401
    use_large_image_transport,
)
from synth_agent.nodes.image import numpy_to_image
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node
from synth_agent.sim.config import SimConfig
from synth_agent.sim.gl import BACKEND
from synth_agent.sim.robot import Camera
from synth_agent.sim.simulation import Simulation

CLOCK_TOPIC = "/clock"
RESET_SERVICE = contract.SIM_RESET[0]
OBSTACLE_TOPIC = contract.SIM_OBSTACLE.name
# Longest wall-clock gap one tick will simulate; longer stalls are dropped, not replayed.
MAX_TICK_S = 0.1


def stamp(t: float) -> Time:
    """builtin_interfaces/Time for t simulated seconds."""
    sec = int(math.floor(t))
    return Time(sec=sec, nanosec=min(999_999_999, int(round((t - sec) * 1e9))))


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) for a rotation about z."""
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


class Schedule:
    """When each periodic output is next due, in simulated time."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def due(self, name: str, now: float, rate_hz: float) -> bool:
        if rate_hz <= 0:
            return False
        period = 1.0 / rate_hz
        nxt = self._next.get(name, now)
        if now + 1e-9 < nxt:
            return False
        # Keep the phase, but never owe more than one message after a stall.
        self._next[name] = max(nxt + period, now + period * 0.5)
        return True


class SimNode(Node):
    """ROS shell around `synth_agent.sim.simulation.Simulation`."""

    def __init__(self) -> None:
        super().__init__("sim")
        self.config: SimConfig = declare_config(self, SimConfig, "sim", on_change=self._on_config)
        self._lock = threading.Lock()
        self._pending_rebuild: set[str] = set()
        self.sim = Simulation(self.config)
        self._generation = 0
        self._schedule = Schedule()
        self._watchdog_logged = False

        sensor = profile
        self.pub_clock = self.create_publisher(ClockMsg, CLOCK_TOPIC, 10)
        self.pub_odom = self.create_publisher(Odometry, contract.ODOM.name, sensor(contract.ODOM))
        self.pub_scan = self.create_publisher(LaserScan, contract.SCAN.name, sensor(contract.SCAN))
        self.pub_joints = self.create_publisher(
            JointState, contract.JOINT_STATES.name, sensor(contract.JOINT_STATES)
        )
        self.pub_image = self.create_publisher(Image, contract.IMAGE.name, sensor(contract.IMAGE))
        self.pub_depth = self.create_publisher(Image, contract.DEPTH.name, sensor(contract.DEPTH))
        self.pub_info = self.create_publisher(
            CameraInfo, contract.CAMERA_INFO.name, sensor(contract.CAMERA_INFO)
        )
        self.pub_truth = self.create_publisher(
            String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH)
        )
        self.create_subscription(
            Twist, contract.CMD_VEL.name, self._on_cmd_vel, profile(contract.CMD_VEL)
        )
        self.create_subscription(
            Float64, contract.GRIPPER.name, self._on_gripper, profile(contract.GRIPPER)
        )
        self.create_subscription(
            String, contract.SIM_OBSTACLE.name, self._on_obstacle, profile(contract.SIM_OBSTACLE)
        )
        self.create_service(Trigger, RESET_SERVICE, self._on_reset)

        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._last_wall = time.monotonic()
        self._tick_timer = self.create_timer(
            1.0 / self.config.tick_rate_hz, self._tick, clock=self._steady
        )
        self._stop = threading.Event()
        self._camera_thread = threading.Thread(
            target=self._camera_loop, name="sim_camera", daemon=True
        )
        self._camera_thread.start()
        w = self.sim.world
        self.get_logger().info(
            f"sim ready: world {w.path.name}, robot at {tuple(self.config.initial_pose)}, "
            f"rendering with MUJOCO_GL={BACKEND or 'none'}, "
            f"real_time_factor {self.config.real_time_factor}"
        )

    # --- inputs -------------------------------------------------------------------------------

    def _on_cmd_vel(self, msg: Twist) -> None:
        with self._lock:
            self.sim.set_cmd_vel(msg.linear.x, msg.angular.z)
        self._watchdog_logged = False

    def _on_gripper(self, msg: Float64) -> None:
        with self._lock:
            before = self.sim.gripper.held
            held = self.sim.set_gripper(msg.data)
        if held != before:
            self.get_logger().info(
                f"gripper {'holds ' + held if held else 'released ' + str(before)}"
            )

    def _on_obstacle(self, msg: String) -> None:
        try:
            with self._lock:
                done = self.sim.obstacle_command(msg.data)
        except ValueError as e:
            self.get_logger().warning(f"{OBSTACLE_TOPIC}: {e}")
            return
        self.get_logger().info(f"{OBSTACLE_TOPIC}: {done}")

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            if self._pending_rebuild:
                old = self.sim
                self.sim = Simulation(self.config, start_time=old.time)
                old.close()
                self._generation += 1
                rebuilt = sorted(self._pending_rebuild)
                self._pending_rebuild = set()
            else:
                self.sim.reset()
                rebuilt = []
            t = self.sim.time
        response.success = True
        response.message = f"simulation reset at t={t:.3f} s" + (
            f" (rebuilt for {', '.join(rebuilt)})" if rebuilt else ""
        )
        self.get_logger().info(response.message)
        return response

    def _on_config(self, config: SimConfig) -> None:
        with self._lock:
            needs_rebuild = self.sim.reconfigure(config)
            self._pending_rebuild |= needs_rebuild
            old_tick = self.config.tick_rate_hz
            self.config = config
        if config.tick_rate_hz != old_tick:
            self._tick_timer.timer_period_ns = int(1e9 / config.tick_rate_hz)
        if needs_rebuild:
            self.get_logger().info(
                f"{', '.join(sorted(needs_rebuild))} will take effect on {RESET_SERVICE}"
            )

    # --- physics tick -------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        wall_dt = min(now - self._last_wall, MAX_TICK_S)
        self._last_wall = now
        c = self.config
        out: list[tuple] = []
        with self._lock:
            self.sim.advance(wall_dt * c.real_time_factor)
            t = self.sim.time
            if self._schedule.due("odom", t, c.odom_rate_hz):
                out.append((self.pub_odom, self._odometry(t)))
            if self._schedule.due("joints", t, c.joint_states_rate_hz):
                out.append((self.pub_joints, self._joint_states(t)))
            if self._schedule.due("scan", t, c.lidar_rate_hz):
                out.append((self.pub_scan, self._scan(t)))
            if self._schedule.due("truth", t, c.ground_truth_rate_hz):
                out.append((self.pub_truth, String(data=json.dumps(self.sim.ground_truth()))))
            stopped = self.sim.watchdog_stopped
        self.pub_clock.publish(ClockMsg(clock=stamp(t)))
        for pub, msg in out:
            pub.publish(msg)
        if stopped and not self._watchdog_logged:
            self._watchdog_logged = True
            self.get_logger().warning(
                f"cmd_vel silent for {c.cmd_timeout_s} s: wheels stopped by the base watchdog"
            )

    def _odometry(self, t: float) -> Odometry:
        c, o = self.config, self.sim.odom()
        msg = Odometry()
        msg.header.stamp = stamp(t)
        msg.header.frame_id = c.odom_frame
        msg.child_frame_id = c.base_frame
        msg.pose.pose.position.x, msg.pose.pose.position.y = o.x, o.y
        q = msg.pose.pose.orientation
        q.x, q.y, q.z, q.w = yaw_quaternion(o.yaw)
        msg.twist.twist.linear.x, msg.twist.twist.angular.z = o.v, o.w
        # Diagonal covariances: planar pose and twist known to about a centimetre / degree;
        # z, roll and pitch are fixed by the floor.
        pose_cov = [1e-4, 1e-4, 1e-6, 1e-6, 1e-6, 3e-4]
        msg.pose.covariance = [pose_cov[i // 6] if i % 7 == 0 else 0.0 for i in range(36)]
        msg.twist.covariance = [pose_cov[i // 6] if i % 7 == 0 else 0.0 for i in range(36)]
        return msg

    def _joint_states(self, t: float) -> JointState:
        names, pos, vel = self.sim.wheel_states()
        msg = JointState(name=names, position=pos, velocity=vel)
        msg.header.stamp = stamp(t)
        msg.header.frame_id = self.config.base_frame
        return msg

    def _scan(self, t: float) -> LaserScan:
        ranges = self.sim.scan()
        g = self.sim.lidar.geometry
        msg = LaserScan()
        msg.header.stamp = stamp(t)
        msg.header.frame_id = self.config.laser_frame
        msg.angle_min, msg.angle_max, msg.angle_increment = (
            g.angle_min,
            g.angle_max,
            g.angle_increment,
        )
        msg.scan_time = 1.0 / self.config.lidar_rate_hz
        msg.time_increment = 0.0  # all beams at once (ray casting)
        msg.range_min, msg.range_max = g.range_min, g.range_max
        msg.ranges = ranges.tolist()
        return msg

    # --- camera thread ------------------------------------------------------------------------

    def _camera_loop(self) -> None:
        camera: Camera | None = None
        generation = -1
        try:
            while not self._stop.is_set() and self.context.ok():
                c = self.config
                if c.camera_rate_hz <= 0:
                    self._stop.wait(0.2)
                    continue
                with self._lock:
                    if generation != self._generation or camera is None:
                        if camera is not None:
                            camera.close()
                        camera = Camera(
                            self.sim.world,
                            c.image_width,
                            c.image_height,
                            c.camera_fovy_deg,
                            c.depth_max_m,
                        )
                        generation = self._generation
                    due = self._schedule.due("camera", self.sim.time, c.camera_rate_hz)
                    if due:
                        camera.prepare()
                        t = self.sim.time
                if not due:
                    self._stop.wait(0.002)
                    continue
                rgb, depth = camera.render()
                self._publish_camera(camera, rgb, depth, t)
        except Exception as e:  # noqa: BLE001 - report and stop the camera, keep the robot up
            if self.context.ok() and not self._stop.is_set():
                self.get_logger().error(f"camera thread stopped: {type(e).__name__}: {e}")
        finally:
            if camera is not None:
                camera.close()

    def _publish_camera(self, camera: Camera, rgb, depth, t: float) -> None:
        frame = self.config.camera_frame
        st = stamp(t)
        k = camera.intrinsics()
        info = CameraInfo()
        info.header.stamp, info.header.frame_id = st, frame
        info.width, info.height = k.width, k.height
        info.distortion_model = "plumb_bob"
        info.d = [0.0] * 5
        info.k = k.k
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = k.p
        self.pub_image.publish(numpy_to_image(rgb, "rgb8", frame, st))
        if depth is not None:
            self.pub_depth.publish(numpy_to_image(depth, "32FC1", frame, st))
        self.pub_info.publish(info)

    def close(self) -> None:
        """Stop the wheels and the camera thread before the node goes away."""
        self._stop.set()
        self._camera_thread.join(2.0)
        with self._lock:
            self.sim.set_cmd_vel(0.0, 0.0)
            self.sim.close()


def main(argv: list[str] | None = None) -> int:
    use_large_image_transport()
    return spin_node(SimNode, args=argv)
