"""Issue 7's acceptance numbers through real processes: sim + safety_gate + motor_control.

The unit tests prove the controllers on a kinematic model; these prove them on the simulator's
physics, with every command passing through the real safety gate, and judge only on the
simulator's ground truth and simulated time (never on what the nodes say about themselves, and
never on the wall clock, so a loaded machine slows the test down instead of failing it):

- drive 1.0 m ends 1.0 +- 0.02 m from where the plan started; turn 90 deg ends 90 +- 2 deg;
- a cancel and a preempting plan bring the robot to rest within the issue's 0.2 s (plus one
  ground-truth period of resolution). The safety gate's braking limit (config/safety_gate.yaml:
  4.0 m/s^2, under the ~4.5 m/s^2 the simulated base's wheel torque allows) needs 0.1 s from
  0.4 m/s and the wheels' own dynamics ~0.05 s; motor_control must not bypass the gate, and its
  zero must go out within one control period of the cancel (it goes out at once). At the
  earlier 2.5 m/s^2 the robot needed 0.22-0.25 s. The measured numbers are printed (`-s`);
- a step that cannot succeed fails with a reason instead of running forever.

Ground truth is raised to 50 Hz here, so a stop time is resolved to 20 ms.
"""

from __future__ import annotations

import json
import math
import threading

import pytest
from geometry_msgs.msg import Twist
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String
from std_srvs.srv import Trigger

from synth_agent.core import contract
from synth_agent.core.config import load_config
from synth_agent.core.motor import MotorControlConfig
from synth_agent.core.places import load_places
from synth_agent.core.safety import SafetyGateConfig
from synth_agent.core.scenarios import speeds
from synth_agent.nodes.qos import profile
from synth_agent.paths import SOURCE_ROOT
from synth_agent.testing import await_response, call_service, service_client, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SIM_TIME = ["-p", "use_sim_time:=true"]
TRUTH_HZ = 50.0
# At rest: ground-truth speed below these between consecutive messages.
REST_MPS = 0.01
REST_RADPS = 0.02
# In the kitchen facing west: 2.5 m of clear floor ahead, walls and furniture well to the sides,
# so the gate's zones never shape the motion being measured.
START = (4.5, 2.6, math.pi)


class Robot:
    """The probe's view of one running simulation: ground truth, status, clock, agent commands."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.truth = probe.subscribe(
            String, contract.GROUND_TRUTH.name, profile(contract.GROUND_TRUTH)
        )
        self.status = probe.subscribe(String, contract.STATUS.name, profile(contract.STATUS))
        self.feedback = probe.subscribe(String, contract.FEEDBACK.name, profile(contract.FEEDBACK))
        self.plans = probe.publisher(String, contract.PLAN.name, profile(contract.PLAN))
        self.clock = 0.0
        self.commands: list[tuple[float, float, float]] = []  # (sim time heard, v, w)
        self._lock = threading.Lock()
        with probe._lock:
            probe.node.create_subscription(Clock, "/clock", self._on_clock, 10)
            probe.node.create_subscription(
                Twist,
                contract.AGENT_CMD_VEL.name,
                self._on_cmd,
                profile(contract.AGENT_CMD_VEL),
            )

    def _on_clock(self, msg: Clock) -> None:
        self.clock = msg.clock.sec + msg.clock.nanosec * 1e-9

    def _on_cmd(self, msg: Twist) -> None:
        with self._lock:
            self.commands.append((self.clock, msg.linear.x, msg.angular.z))

    def states(self) -> list[dict]:
        return [json.loads(m.data) for m in list(self.truth)]

    def pose(self) -> tuple[float, float, float]:
        r = json.loads(self.truth[-1].data)["robot"]
        return r["x"], r["y"], r["yaw"]

    def fresh(self, count: int = 5) -> None:
        n = len(self.truth)
        wait_until(lambda: len(self.truth) >= n + count, 20, "fresh ground truth")

    def send(self, plan_id: str, *steps: dict) -> None:
        plan = {"id": plan_id, "command": plan_id, "type": "plan", "steps": list(steps)}
        self.plans.publish(String(data=json.dumps(plan)))

    def plan_end(self, plan_id: str, timeout: float = 90.0) -> dict:
        def ended():
            for m in list(self.status):
                s = json.loads(m.data)
                if s["plan_id"] == plan_id and s.get("step") is None and s["state"] != "accepted":
                    return s
            return None

        return wait_until(ended, timeout, f"the end of plan {plan_id}")

    def running(self, plan_id: str, timeout: float = 30.0) -> None:
        def started():
            return any(
                (s := json.loads(m.data))["plan_id"] == plan_id and s["state"] == "running"
                for m in list(self.status)
            )

        wait_until(started, timeout, f"plan {plan_id} running")

    def said(self, sentence: str, timeout: float = 10.0) -> None:
        """Wait for `sentence` on agent/feedback (published right after the status)."""
        wait_until(lambda: sentence in [m.data for m in list(self.feedback)], timeout, sentence)

    def speed_now(self) -> float:
        states = self.states()[-3:]
        return speeds(states)[-1][1] if len(states) >= 2 else 0.0


def time_to_rest(states: list[dict], since: float, hold_s: float = 0.5) -> float:
    """Simulated seconds from `since` until the robot is at rest and stays so for `hold_s`."""
    track = [s for s in speeds(states) if s[0] > since]
    for i, (t, v, w) in enumerate(track):
        if v < REST_MPS and w < REST_RADPS:
            later = [s for s in track[i:] if s[0] <= t + hold_s]
            if all(lv < REST_MPS and lw < REST_RADPS for _, lv, lw in later):
                return t - since
    raise AssertionError(f"the robot never came to rest after t={since:.2f}")


def params(**values) -> list[str]:
    """`-p name:=value` arguments; lists in ROS's [a, b] syntax."""
    out = []
    for name, value in values.items():
        out += ["-p", f"{name}:={list(value) if isinstance(value, tuple) else value}"]
    return out


@pytest.fixture
def start(launch, probe):
    """Start sim (+ perception) + safety_gate + motor_control; return the probe's `Robot`."""

    def _start(sim: dict, motor: dict | None = None, perception: bool = False) -> Robot:
        launch(["sim", "--ros-args", *params(**sim)])
        launch(["safety_gate", "--ros-args", *SIM_TIME])
        if perception:
            launch(["perception", "--ros-args", *SIM_TIME, *params(annotated_rate_hz=0.0)])
        proc = launch(["motor_control", "--ros-args", *SIM_TIME, *params(**(motor or {}))])
        r = Robot(probe)
        proc.wait_for_output("motor_control ready", timeout=60)
        wait_until(lambda: r.truth, 60, "ground truth from the simulator")
        probe.wait_for_subscribers(r.plans)
        r.motor = proc
        return r

    return _start


@pytest.fixture
def robot(start):
    """In the kitchen, camera off, ground truth at 50 Hz."""
    return start({"camera_rate_hz": 0.0, "ground_truth_rate_hz": TRUTH_HZ, "initial_pose": START})


def test_drive_one_metre_and_turn_ninety_degrees_within_tolerance(robot):
    cfg = MotorControlConfig()
    robot.fresh()
    x0, y0, yaw0 = robot.pose()
    robot.send("drive1m", {"skill": "drive", "distance_m": 1.0})
    end = robot.plan_end("drive1m")
    assert end["state"] == "succeeded", end
    robot.fresh(10)  # 0.2 s: anything still rolling has stopped
    x1, y1, yaw1 = robot.pose()
    along = (x1 - x0) * math.cos(yaw0) + (y1 - y0) * math.sin(yaw0)
    across = -(x1 - x0) * math.sin(yaw0) + (y1 - y0) * math.cos(yaw0)
    print(f"\ndrive 1.0 m: travelled {along:.4f} m along, {across:+.4f} m across (ground truth)")
    assert along == pytest.approx(1.0, abs=cfg.position_tolerance_m)
    assert abs(across) < 0.05, "heading held while driving"

    robot.send("turn90", {"skill": "turn", "angle_deg": 90.0})
    end = robot.plan_end("turn90")
    assert end["state"] == "succeeded", end
    robot.fresh(10)
    x2, y2, yaw2 = robot.pose()
    turned = math.degrees(math.remainder(yaw2 - yaw1, 2 * math.pi))
    print(
        f"turn 90 deg: turned {turned:.3f} deg, centre moved {math.dist((x1, y1), (x2, y2)):.4f} m"
    )
    assert turned == pytest.approx(90.0, abs=cfg.angle_tolerance_deg)


def _cruise(robot, plan_id: str) -> float:
    """Start a long drive and wait until it cruises; return its ground-truth speed."""
    robot.send(plan_id, {"skill": "drive", "distance_m": 1.8})
    robot.running(plan_id)
    wait_until(lambda: robot.speed_now() > 0.35, 30, "the robot cruising")
    robot.fresh(3)
    return robot.speed_now()


def _stop_report(robot, what: str, t0: float, v0: float) -> tuple[float, float]:
    """(agent zero latency, time to rest) after an event at simulated time t0."""
    wait_until(lambda: robot.states()[-1]["time"] > t0 + 1.5, 30, "1.5 s of ground truth")
    with robot._lock:
        after = [c for c in robot.commands if c[0] >= t0 - 1e-3]
    zero = next((t for t, v, w in after if v == 0.0 and w == 0.0), None)
    assert zero is not None, f"motor_control sent no zero after the {what}"
    rest = time_to_rest(robot.states(), t0)
    print(
        f"\n{what} at {v0:.2f} m/s: agent zero after {zero - t0:.3f} s, robot at rest after "
        f"{rest:.3f} s of simulated time (ground truth at {TRUTH_HZ:.0f} Hz)"
    )
    return zero - t0, rest


def _bounds(v0: float) -> tuple[float, float]:
    """(agent zero limit, robot-at-rest limit) in simulated seconds, from speed v0."""
    motor = MotorControlConfig()
    gate = load_config(SafetyGateConfig, SOURCE_ROOT / "config" / "safety_gate.yaml")
    slack = 1.0 / TRUTH_HZ
    # Ours: the zero goes out in the cancel/plan callback itself; one control period is the
    # headroom for a busy executor, 0.05 s for reading /clock in another process.
    agent = motor.period_s + 0.05
    # The gate's ramp is a floor nobody may cut: a configuration whose ramp alone takes longer
    # than the 0.2 s cannot meet it, and says so here rather than in a timing failure.
    ramp = v0 / gate.max_linear_deceleration
    assert ramp < 0.2, f"the gate's braking ({gate.max_linear_deceleration} m/s^2) is too slow"
    return agent, 0.2 + slack


def test_cancel_stops_the_robot_fast(robot, probe):
    # The clock starts when the cancel is sent: a new client's discovery of the service (tens
    # of ms under load) is the test's set-up, not the robot's reaction.
    with service_client(probe.node, Trigger, contract.CANCEL[0]) as client:
        v0 = _cruise(robot, "long")
        t0 = robot.clock
        reply = await_response(client, Trigger.Request())
    assert reply.success
    assert robot.plan_end("long", timeout=10)["state"] == "canceled"
    zero, rest = _stop_report(robot, "cancel", t0, v0)
    agent_limit, rest_limit = _bounds(v0)
    assert zero <= agent_limit
    assert rest <= rest_limit


def test_a_new_plan_preempts_and_stops_the_robot_fast(robot):
    v0 = _cruise(robot, "ahead")
    t0 = robot.clock
    robot.send("hold", {"skill": "wait", "seconds": 3.0})
    assert robot.plan_end("ahead", timeout=10)["state"] == "preempted"
    zero, rest = _stop_report(robot, "preemption", t0, v0)
    agent_limit, rest_limit = _bounds(v0)
    assert zero <= agent_limit
    assert rest <= rest_limit
    assert robot.plan_end("hold", timeout=30)["state"] == "succeeded"


# The follow test: the person walks the hallway westwards from just under 1 m in front of the
# robot. A straight walk, because the follower chases the track without obstacle avoidance and a
# person who turns back walks into the robot. Slowly: in the 1.2 m hallway the walls are within
# the safety gate's slowdown distance (0.4 m from the robot's edge), which halves the robot's
# speed to 0.2 m/s, so a faster walker would simply be outrun. The first seconds (the robot sets
# off after the person, perception's latency) are not judged: 2 s, then 30 s within 1.0 +- 0.3 m.
FOLLOW_START = (9.5, 4.0, math.pi)
PERSON_WALK = (8.65, 4.0, 1.5, 4.0)
PERSON_MPS = 0.18
SETTLE_S = 2.0
FOLLOW_S = 30.0


def test_follow_keeps_one_metre_behind_the_walking_person(start, probe):
    cfg = MotorControlConfig()
    robot = start(
        {
            "initial_pose": FOLLOW_START,
            "person_path": PERSON_WALK,
            "person_speed_mps": PERSON_MPS,
            "image_width": 320,
            "image_height": 240,
            "camera_rate_hz": 10.0,
        },
        perception=True,
    )
    scenes = probe.subscribe(String, contract.SCENE.name, profile(contract.SCENE))
    wait_until(lambda: any('"person"' in m.data for m in list(scenes)), 90, "a tracked person")
    # The person's walk is a function of time since the simulator's reset: restart it now, so
    # the 30 s of walking are measured from the start of the follow plan.
    reply = call_service(probe.node, Trigger, "sim/reset", Trigger.Request())
    assert reply.success, reply.message
    robot.send("follow", {"skill": "follow", "target": "person"})
    robot.running("follow")
    t0 = robot.states()[-1]["time"] + SETTLE_S
    wait_until(
        lambda: robot.states()[-1]["time"] > t0 + FOLLOW_S, FOLLOW_S * 4, "30 s of following"
    )
    window = [s for s in robot.states() if t0 <= s["time"] <= t0 + FOLLOW_S]
    gaps = [
        math.dist((s["robot"]["x"], s["robot"]["y"]), (s["person"]["x"], s["person"]["y"]))
        for s in window
    ]
    walked = window[0]["person"]["x"] - window[-1]["person"]["x"]
    driven = window[0]["robot"]["x"] - window[-1]["robot"]["x"]
    print(
        f"\nfollow: {len(window)} ground-truth samples over {FOLLOW_S:.0f} s, person walked "
        f"{walked:.2f} m, robot drove {driven:.2f} m; distance min {min(gaps):.3f} m, "
        f"max {max(gaps):.3f} m, mean {sum(gaps) / len(gaps):.3f} m"
    )
    assert walked > 0.9 * PERSON_MPS * FOLLOW_S, "the person walked the whole time"
    assert len(window) > 0.8 * FOLLOW_S * 10  # 10 Hz ground truth, no gaps
    assert all(s["robot"]["x"] > s["person"]["x"] for s in window), "behind the person"
    assert min(gaps) >= cfg.follow_distance_m - 0.3
    assert max(gaps) <= cfg.follow_distance_m + 0.3
    ends = [json.loads(m.data) for m in list(robot.status)]
    assert [e["state"] for e in ends if e["step"] is None] == ["accepted"], "runs until canceled"
    call_service(probe.node, Trigger, contract.CANCEL[0], Trigger.Request())
    assert robot.plan_end("follow", timeout=10)["state"] == "canceled"


def test_pick_of_an_object_that_is_not_there_fails_with_a_reason(robot):
    robot.fresh()
    x0, y0, _ = robot.pose()
    robot.send("unicorn", {"skill": "pick", "object": "purple unicorn"})
    end = robot.plan_end("unicorn", timeout=30)
    assert end["state"] == "failed"
    assert "purple unicorn is not in the scene" in end["detail"]
    robot.said("I can't see the purple unicorn.")
    robot.fresh()
    assert math.dist(robot.pose()[:2], (x0, y0)) < 0.01


def test_navigate_to_a_blocked_room_gives_up_with_a_reason(start):
    """The person stands in the bedroom's only door (0.37 m free either side of them, the robot
    is 0.4 m wide): navigate_to bedroom must get stuck, recover, and fail saying where. Shorter
    stuck timeout and fewer recoveries than the defaults keep the test short; the behaviour is
    the same."""
    robot = start(
        {"camera_rate_hz": 0.0, "initial_pose": START, "person_path": (3.0, 4.6)},
        {"stuck_timeout_s": 3.0, "max_recoveries": 1},
    )
    robot.send("blocked", {"skill": "navigate_to", "place": "bedroom"})
    end = robot.plan_end("blocked", timeout=150)
    print(f"\nblocked: {end['state']}: {end['detail']}")
    assert end["state"] == "failed", end
    assert "stuck at" in end["detail"] and "bedroom" in end["detail"]
    robot.said("I'm stuck and can't get to the bedroom.")
    robot.fresh()
    x, y, _ = robot.pose()
    assert y < 4.6, "never got past the person into the bedroom"


def test_localisation_reaches_places_despite_miscalibrated_odometry(start, probe):
    """Odometry 3 % off in wheel radius and track drifts by decimetres on the way from the dock
    to the kitchen; matching scans to the map keeps the goal where the places file puts it.
    A simulator reset then restarts odometry at the dock, and the old correction is dropped."""
    places = load_places()
    kitchen = places.places["kitchen"]
    r = start({"camera_rate_hz": 0.0, "odom_wheel_radius_error": 0.03, "odom_track_error": 0.03})
    r.fresh()
    r.send("go", {"skill": "navigate_to", "place": "kitchen"})
    end = r.plan_end("go", timeout=240)
    assert end["state"] == "succeeded", end
    r.fresh()
    truth = r.states()[-1]
    robot, odom = truth["robot"], truth["odom"]
    miss = math.hypot(robot["x"] - kitchen.x, robot["y"] - kitchen.y)
    drift = math.hypot(odom["x"] - robot["x"], odom["y"] - robot["y"])
    print(f"\nkitchen reached {miss:.3f} m from the place; odometry drifted {drift:.3f} m")
    assert drift > 0.1, "the miscalibration should make odometry drift; nothing was tested"
    assert miss < 0.1
    assert call_service(probe.node, Trigger, "sim/reset", Trigger.Request()).success
    r.motor.wait_for_output(r"odometry jumped [0-9.]+ m: localisation starts again", timeout=20)
