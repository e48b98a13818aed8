"""config/safety_gate.yaml mirrors SafetyGateConfig, and bad parameter values are refused."""

from __future__ import annotations

import dataclasses

import pytest

from synth_agent.core.config import defaults_flat, from_flat, load_config, read_params_file
from synth_agent.core.safety import ArmConfig, SafetyGateConfig, SourcesConfig
from synth_agent.paths import SOURCE_ROOT

YAML = SOURCE_ROOT / "config" / "safety_gate.yaml"


def test_yaml_and_dataclass_agree():
    in_file = read_params_file(YAML, "safety_gate")
    defaults = defaults_flat(SafetyGateConfig)
    assert set(in_file) == set(defaults)
    for key, value in defaults.items():
        got = in_file[key]
        want = list(value) if isinstance(value, tuple) else value
        assert got == want and type(got) is type(want), f"{key}: YAML {got!r} != {want!r}"
    assert load_config(SafetyGateConfig, YAML, "safety_gate") == SafetyGateConfig()


def test_yaml_floats_are_written_as_floats():
    """ROS parameter types are strict: 1 in YAML is an integer and would not fit a double."""
    text = YAML.read_text()
    for key, (value) in defaults_flat(SafetyGateConfig).items():
        if isinstance(value, float):
            line = next(
                x for x in text.splitlines() if x.strip().startswith(key.split(".")[-1] + ":")
            )
            assert "." in line.split(":", 1)[1], line


def test_issue_parameter_names_exist():
    names = set(defaults_flat(SafetyGateConfig))
    for required in (
        "max_linear_velocity",
        "max_angular_velocity",
        "max_linear_acceleration",
        "max_linear_deceleration",
        "max_angular_acceleration",
        "command_timeout",
        "output_rate",
        "robot_radius",
        "stop_distance",
        "slowdown_distance",
        "slowdown_ratio",
        "scan_timeout",
        "geofence",
        "sources.priorities",
        "sources.timeouts",
        "arm.position_min",
        "arm.position_max",
        "arm.max_velocity",
        "audit_log",
    ):
        assert required in names


@pytest.mark.parametrize(
    "values,fragment",
    [
        ({"max_linear_velocity": 0.0}, "max_linear_velocity must be > 0"),
        ({"max_linear_deceleration": -1.0}, "max_linear_deceleration must be > 0"),
        ({"output_rate": 0.0}, "output_rate must be > 0"),
        ({"output_rate": -1.0}, "output_rate must be > 0"),
        ({"command_timeout": float("nan")}, "must be finite"),
        ({"slowdown_ratio": 1.5}, "slowdown_ratio"),
        ({"stop_distance": 0.5, "slowdown_distance": 0.3}, "slowdown_distance"),
        ({"scan_timeout": -0.1}, "scan_timeout must be >= 0"),
        ({"geofence": [0.0, 0.0, 1.0]}, "geofence"),
        ({"geofence": [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]}, "no area"),
        ({"scan_pose": [0.0, 0.0]}, "scan_pose"),
        ({"sources.names": ["a"]}, "same length"),
        ({"sources.names": ["a", "a"]}, "repeated"),
        ({"sources.timeouts": [0.5, -1.0]}, "sources.timeouts"),
        (
            {
                "arm.joint_names": ["j"],
                "arm.position_min": [1.0],
                "arm.position_max": [0.0],
                "arm.max_velocity": [1.0],
            },
            "below position_max",
        ),
        ({"arm.joint_names": ["j"]}, "same length"),
        ({"max_linear_velocity": "fast"}, "expected a number"),
        ({"gripper_min": 1.0}, "gripper_min"),
        ({"max_input_magnitude": 0.1}, "max_input_magnitude"),
        ({"deadband_velocity": [0.1, 0.0]}, "deadband_velocity must be [vx, vy, wz]"),
        ({"deadband_velocity": [-0.1, 0.0, 0.0]}, "deadband_velocity must be >= 0"),
        ({"deadband_velocity": [0.6, 0.0, 0.0]}, "below the velocity limits"),
        ({"zone_trigger_count": 0}, "zone_trigger_count"),
        ({"zone_release_count": -1}, "zone_release_count"),
        ({"zone_trigger_count": 1.5}, "expected an integer"),
        ({"zones_enabled": "no"}, "expected true or false"),
        ({"locks.names": ["a"]}, "locks: names, topics"),
        (
            {
                "locks.names": ["a"],
                "locks.topics": ["a"],
                "locks.priorities": [1],
                "locks.timeouts": [-1.0],
            },
            "locks.timeouts",
        ),
        (
            {
                "locks.names": ["a"],
                "locks.topics": ["agent/cmd_vel"],
                "locks.priorities": [1],
                "locks.timeouts": [0.0],
            },
            "locks.topics must differ",
        ),
        ({"velocity_zones.names": ["f"]}, "velocity_zones: every list"),
        (
            {
                "velocity_zones.names": ["f"],
                "velocity_zones.linear_min": [0.5],
                "velocity_zones.linear_max": [0.0],
                "velocity_zones.angular_min": [-1.0],
                "velocity_zones.angular_max": [1.0],
                "velocity_zones.stop_distance": [0.1],
                "velocity_zones.slowdown_distance": [0.0],
                "velocity_zones.limit_distance": [0.0],
            },
            "min above its max",
        ),
        (
            {
                "velocity_zones.names": ["f"],
                "velocity_zones.linear_min": [0.0],
                "velocity_zones.linear_max": [0.5],
                "velocity_zones.angular_min": [-1.0],
                "velocity_zones.angular_max": [1.0],
                "velocity_zones.stop_distance": [0.5],
                "velocity_zones.slowdown_distance": [0.3],
                "velocity_zones.limit_distance": [0.0],
            },
            "slowdown_distance must be >= stop_distance",
        ),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(values, fragment):
    with pytest.raises(ValueError, match=None) as e:
        from_flat(SafetyGateConfig, values)
    assert fragment in str(e.value)


def test_off_values_are_accepted():
    cfg = from_flat(
        SafetyGateConfig,
        {
            "geofence": [],
            "scan_timeout": 0.0,
            "limit_distance": 0.0,
            "time_before_collision": 0.0,
            "sources.timeouts": [0.0, 0.0],
            "locks.names": [],
            "velocity_zones.names": [],
            "deadband_velocity": [0.0, 0.0, 0.0],
        },
    )
    assert cfg.geofence == ()
    assert dataclasses.replace(cfg, sources=SourcesConfig(("a",), ("a/cmd_vel",), (1,), (0.0,)))
    assert ArmConfig(("j",), (-1.0,), (1.0,), (2.0,)).as_limits()[0].max_velocity == 2.0


def test_new_feature_defaults_keep_the_old_behaviour():
    """Debounce 1/1, no velocity zones, deadband 0, zones enabled, no locks."""
    cfg = SafetyGateConfig()
    assert (cfg.zone_trigger_count, cfg.zone_release_count) == (1, 1)
    assert cfg.velocity_zones.names == () and cfg.locks.names == ()
    assert cfg.deadband_velocity == (0.0, 0.0, 0.0) and cfg.zones_enabled is True
