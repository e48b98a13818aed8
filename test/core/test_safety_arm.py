"""Arm and gripper checks: ros2_control joint_limits' scenarios, adapted to "reject whole, with
the reason" (a trajectory is never silently changed by the gate)."""

from __future__ import annotations

import math

import pytest

from synth_agent.core.safety_arm import (
    JointLimit,
    Trajectory,
    TrajectoryPoint,
    check_gripper,
    check_trajectory,
)

from .safety_helpers import gate

# joint_saturation_limiter_param.yaml: foo_joint position ±5.0, max_velocity 2.0.
FOO = [JointLimit("foo_joint", -5.0, 5.0, 2.0), JointLimit("bar_joint", -1.0, 1.0, 0.5)]


def traj(*points, names=("foo_joint",)):
    return Trajectory(tuple(names), tuple(points))


def pt(pos, vel=(), t=1.0, acc=()):
    return TrajectoryPoint(tuple(pos), tuple(vel), tuple(acc), t)


def test_within_limits_passes_unchanged():
    t = traj(pt([1.0], [1.0], 1.0), pt([2.5], [1.5], 2.0))
    assert check_trajectory(t, FOO) == ""
    g = gate(
        arm={
            "joint_names": ("foo_joint",),
            "position_min": (-5.0,),
            "position_max": (5.0,),
            "max_velocity": (2.0,),
        }
    )
    assert g.on_trajectory(t, 0.0).accepted


@pytest.mark.parametrize(
    "trajectory,fragment",
    [
        (traj(pt([20.0], t=1.0)), "position 20 outside [-5, 5]"),
        (traj(pt([1.0], [3.0], 1.0)), "velocity 3 over 2"),
        (traj(pt([1.0], [-3.0], 1.0)), "velocity -3 over 2"),
        # Position-only: 0 → 4 in 1 s implies 4 m/s.
        (traj(pt([0.0], t=1.0), pt([4.0], t=2.0)), "moves at 4"),
        (traj(pt([0.0], t=1.0), pt([0.1], t=1.0)), "does not increase"),
        (traj(pt([0.0], t=-1.0)), "time_from_start"),
        (traj(pt([float("nan")])), "non-finite"),
        (traj(pt([0.0], [float("inf")])), "non-finite"),
        (traj(pt([0.0, 0.0])), "2 positions for 1 joints"),
        (traj(pt([0.0], [0.0, 0.0])), "2 velocities"),
        (traj(pt([0.0]), names=("baz_joint",)), "no limits configured"),
        (traj(pt([0.0, 0.0]), names=("foo_joint", "foo_joint")), "twice"),
        (traj(pt([0.0, 1.5]), names=("foo_joint", "bar_joint")), "bar_joint position 1.5"),
    ],
)
def test_violations_reject_the_whole_trajectory_with_a_reason(trajectory, fragment):
    reason = check_trajectory(trajectory, FOO)
    assert fragment in reason


def test_at_the_limit_is_allowed():
    assert check_trajectory(traj(pt([5.0], [2.0])), FOO) == ""
    assert check_trajectory(traj(pt([0.0], t=1.0), pt([2.0], t=2.0)), FOO) == ""


def test_empty_trajectory_is_a_stop_and_passes():
    assert check_trajectory(traj(), FOO) == ""


def test_a_rejected_trajectory_leaves_nothing_behind():
    """NaN must not corrupt stored state: the gate keeps none, so the next valid one passes and
    the next bad one is still caught."""
    g = gate(
        arm={
            "joint_names": ("foo_joint",),
            "position_min": (-5.0,),
            "position_max": (5.0,),
            "max_velocity": (2.0,),
        }
    )
    assert not g.on_trajectory(traj(pt([math.nan])), 0.0).accepted
    assert g.on_trajectory(traj(pt([1.0])), 0.1).accepted
    assert not g.on_trajectory(traj(pt([9.0])), 0.2).accepted
    assert g.rejected == {"arm_limits": 2}


def test_no_arm_configured_rejects_any_motion():
    g = gate()
    d = g.on_trajectory(traj(pt([0.0])), 0.0)
    assert not d.accepted and "no limits configured" in d.reason


def test_gripper():
    assert check_gripper(0.0, 0.0, 1.0) == ""
    assert check_gripper(1.0, 0.0, 1.0) == ""
    assert "outside" in check_gripper(1.5, 0.0, 1.0)
    assert "not finite" in check_gripper(math.nan, 0.0, 1.0)
    g = gate()
    assert not g.on_gripper(-0.1, 0.0).accepted
    assert g.rejected == {"gripper": 1}
