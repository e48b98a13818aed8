"""Config dataclasses <-> dotted ROS parameters <-> params files."""

from dataclasses import dataclass, field

import pytest

from synth_agent.core.config import (
    defaults_flat,
    flatten,
    from_flat,
    load_config,
    read_params_file,
)


@dataclass(frozen=True)
class Zones:
    stop_distance: float = 0.2
    enabled: bool = True


@dataclass(frozen=True)
class Example:
    rate_hz: float = 20.0
    names: list[str] = field(default_factory=lambda: ["agent", "teleop"])
    depth: int = 3
    zones: Zones = field(default_factory=Zones)

    def __post_init__(self):
        if self.rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {self.rate_hz}")


def test_flatten_nested():
    assert flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}


def test_defaults_are_dotted():
    assert defaults_flat(Example) == {
        "rate_hz": 20.0,
        "names": ["agent", "teleop"],
        "depth": 3,
        "zones.stop_distance": 0.2,
        "zones.enabled": True,
    }


def test_from_flat_coerces_and_keeps_defaults():
    cfg = from_flat(Example, {"rate_hz": 10, "zones.stop_distance": 0.5})
    assert cfg.rate_hz == 10.0 and isinstance(cfg.rate_hz, float)
    assert cfg.zones == Zones(stop_distance=0.5)
    assert cfg.names == ["agent", "teleop"]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"rate_hz": float("nan")}, "rate_hz: must be finite"),
        ({"rate_hz": "fast"}, "rate_hz: expected a number"),
        ({"rate_hz": True}, "rate_hz: expected a number"),
        ({"depth": 2.5}, "depth: expected an integer"),
        ({"zones.enabled": "yes"}, "zones.enabled: expected true or false"),
        ({"names": "agent"}, "names: expected a list"),
        ({"names": ["agent", 3]}, r"names\[1\]: expected text"),
        ({"rate_hz": -1.0}, "rate_hz must be > 0"),
    ],
)
def test_bad_values_are_refused_with_the_name(values, message):
    with pytest.raises(ValueError, match=message):
        from_flat(Example, values)


def test_params_file_wildcard_and_node_key(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "/**:\n  ros__parameters:\n    rate_hz: 5.0\n    zones:\n      stop_distance: 0.3\n"
        "example:\n  ros__parameters:\n    depth: 7\n"
        "other:\n  ros__parameters:\n    depth: 99\n"
    )
    assert read_params_file(path, "example") == {
        "rate_hz": 5.0,
        "zones.stop_distance": 0.3,
        "depth": 7,
    }
    cfg = load_config(Example, path, "example")
    assert (cfg.rate_hz, cfg.depth, cfg.zones.stop_distance) == (5.0, 7, 0.3)


def test_unknown_parameter_in_file_is_an_error(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("/**:\n  ros__parameters:\n    rate_hzz: 5.0\n")
    with pytest.raises(ValueError, match="rate_hzz"):
        load_config(Example, path)
