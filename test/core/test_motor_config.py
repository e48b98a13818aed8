"""MotorControlConfig range checks, and config/motor_control.yaml mirrors it exactly."""

from __future__ import annotations

import pytest

from synth_agent.core.config import defaults_flat, load_config, read_params_file
from synth_agent.core.motor import MotorControlConfig
from synth_agent.paths import SOURCE_ROOT


def test_defaults_are_valid():
    MotorControlConfig()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"control_rate_hz": 0.0},
        {"control_rate_hz": 1000.0},
        {"max_linear_mps": -0.1},
        {"max_linear_mps": float("nan")},
        {"position_tolerance_m": 0.0},
        {"min_linear_mps": 0.5},
        {"max_recoveries": -1},
        {"planner_sectors": 2},
        {"approach_standoff_m": 0.1},
        {"gripper_closed": 1.5},
        {"stop_hold_s": -1.0},
        {"gripper_joint_open": 1.0},  # equal to gripper_joint_closed: no travel to read
        {"gripper_joint_closed": float("inf")},
        {"grip_released_closure": 0.0},
        {"grip_empty_closure": 0.1},  # below grip_released_closure
        {"grip_empty_closure": 1.2},
        {"gripper_state_timeout_s": 0.0},
    ],
)
def test_bad_values_are_refused(kwargs):
    with pytest.raises(ValueError):
        MotorControlConfig(**kwargs)


def test_yaml_mirrors_the_dataclass():
    path = SOURCE_ROOT / "config" / "motor_control.yaml"
    in_file = read_params_file(path, "motor_control")
    defaults = defaults_flat(MotorControlConfig)
    assert set(in_file) == set(defaults)
    for key, value in defaults.items():
        assert in_file[key] == value and type(in_file[key]) is type(value), key
    assert load_config(MotorControlConfig, path) == MotorControlConfig()
