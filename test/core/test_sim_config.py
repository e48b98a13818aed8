"""config/sim.yaml and SimConfig agree, and SimConfig refuses values the simulator cannot use."""

from __future__ import annotations

import dataclasses
import math

import pytest
import yaml

from synth_agent.core.config import defaults_flat, fields_flat, load_config, read_params_file
from synth_agent.paths import config_path
from synth_agent.sim.config import SimConfig

SIM_YAML = config_path("sim")


def test_yaml_lists_every_parameter_with_the_dataclass_default():
    values = read_params_file(SIM_YAML, "sim")
    defaults = defaults_flat(SimConfig)
    assert set(values) == set(defaults)
    for name, default in defaults.items():
        value = values[name]
        if isinstance(default, float):
            assert isinstance(value, float), f"{name}: write {value} as a float (e.g. 1.0)"
            assert value == pytest.approx(default), name
        elif isinstance(default, list):
            assert value == pytest.approx(default), name
            assert all(isinstance(v, float) for v in value), f"{name}: floats only"
        else:
            assert value == default and type(value) is type(default), name


def test_yaml_is_a_params_file_and_loads_into_the_dataclass():
    data = yaml.safe_load(SIM_YAML.read_text())
    assert list(data) == ["/**"] and list(data["/**"]) == ["ros__parameters"]
    assert load_config(SimConfig, SIM_YAML, "sim") == SimConfig()


def test_no_empty_lists_which_ros_params_files_cannot_type():
    for name, (_, default) in fields_flat(SimConfig).items():
        if isinstance(default, list):
            assert default, f"{name} must not default to an empty list"


@pytest.mark.parametrize(
    "change",
    [
        {"real_time_factor": 0.0},
        {"real_time_factor": 50.0},
        {"odom_rate_hz": 0.0},
        {"odom_rate_hz": 500.0},  # above the tick rate
        {"camera_rate_hz": -1.0},
        {"image_width": 8},
        {"lidar_beams": 0},
        {"lidar_range_max_m": 0.1},
        {"lidar_noise_m": -0.1},
        {"initial_pose": [1.0, 2.0]},
        {"person_path": [1.0, 2.0, 3.0]},
        {"person_path": []},
        {"cmd_timeout_s": 0.0},
        {"max_linear_mps": 2.0},
        {"world": ""},
        {"base_frame": ""},
    ],
)
def test_out_of_range_values_are_refused_with_the_field_named(change):
    name = next(iter(change))
    with pytest.raises(ValueError, match=name.split("_")[0]):
        dataclasses.replace(SimConfig(), **change)


def test_camera_can_be_turned_off_and_person_points_pair_up():
    c = SimConfig(camera_rate_hz=0.0, person_path=[1.0, 2.0, 3.0, 4.0])
    assert c.person_points == [(1.0, 2.0), (3.0, 4.0)]
    assert SimConfig().initial_pose[2] == pytest.approx(math.pi)
