"""Every node's config/<node>.yaml agrees with its config dataclass (one source of truth)."""

import importlib

import pytest

from synth_agent.core.config import defaults_flat, read_params_file
from synth_agent.graph import CONFIG_CLASSES, NODE_NAMES
from synth_agent.nodes.entry import node_available
from synth_agent.paths import SOURCE_ROOT

BUILT = [n for n in NODE_NAMES if node_available(n)]


def config_class(node: str):
    module, cls = CONFIG_CLASSES[node].split(":")
    return getattr(importlib.import_module(module), cls)


def test_every_node_has_a_config_class_entry():
    assert set(CONFIG_CLASSES) == set(NODE_NAMES)


@pytest.mark.parametrize("node", BUILT)
def test_yaml_matches_dataclass_defaults(node):
    path = SOURCE_ROOT / "config" / f"{node}.yaml"
    assert path.is_file(), f"{node} is built but has no {path.name}"
    in_file = read_params_file(path, node)
    defaults = defaults_flat(config_class(node))
    assert set(in_file) == set(defaults), (
        f"only in YAML: {sorted(set(in_file) - set(defaults))}; "
        f"only in dataclass: {sorted(set(defaults) - set(in_file))}"
    )
    for key, value in defaults.items():
        got = in_file[key]
        if isinstance(value, tuple):
            value = list(value)
        assert got == value and type(got) is type(value), f"{key}: YAML {got!r} != {value!r}"
