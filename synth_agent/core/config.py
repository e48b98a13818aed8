"""One source of truth for node parameters: a config dataclass per node.

Each node's defaults live in a frozen dataclass in core. The node declares its ROS parameters
from it, `config/<node>.yaml` mirrors it (a test checks the two agree), and core code receives
the dataclass, never a ROS parameter object. Nested dataclasses become dotted parameter names
(`zones.stop_distance`), as ROS does for nested YAML.

YAML files use the params-file form `/**: {ros__parameters: {...}}` so that they apply to the
node whatever namespace it is started in.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")

ScalarTypes = (bool, int, float, str)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def read_params_file(path: str | Path, node_name: str | None = None) -> dict[str, Any]:
    """Read a ROS params file and return the flattened `ros__parameters` that apply to the
    node (`/**` first, then a key naming the node, which wins)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of node names to ros__parameters")
    params: dict[str, Any] = {}
    keys = ["/**"]
    if node_name:
        keys += [node_name, f"/{node_name}", f"/**/{node_name}"]
    for key in keys:
        section = data.get(key)
        if isinstance(section, dict):
            params.update(flatten(section.get("ros__parameters", {}) or {}))
    return params


def fields_flat(cls: type, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """Dotted parameter name -> (type, default) for a config dataclass, nested ones flattened."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.update(fields_flat(hint, f"{prefix}{f.name}."))
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"{cls.__name__}.{f.name} needs a default")
        out[f"{prefix}{f.name}"] = (hint, default)
    return out


def defaults_flat(cls: type) -> dict[str, Any]:
    """Dotted parameter name -> default value."""
    return {k: d for k, (_, d) in fields_flat(cls).items()}


def _coerce(name: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (Any,)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name}: expected a list, got {value!r}")
        items = [_coerce(f"{name}[{i}]", item, v) for i, v in enumerate(value)]
        return list(items) if origin is list else tuple(items)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected text, got {value!r}")
        return value
    return value


def from_flat(cls: type[C], values: dict[str, Any], prefix: str = "") -> C:
    """Build a config dataclass from dotted values (missing ones keep their defaults), checking
    types and finiteness; the dataclass's own `__post_init__` checks ranges."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            kwargs[f.name] = from_flat(hint, values, name + ".")
        elif name in values:
            kwargs[f.name] = _coerce(name, hint, values[name])
    return cls(**kwargs)


def load_config(cls: type[C], path: str | Path | None, node_name: str | None = None) -> C:
    """A config dataclass from a params file (or the defaults when path is None)."""
    values = read_params_file(path, node_name) if path else {}
    unknown = set(values) - set(fields_flat(cls))
    if unknown:
        raise ValueError(f"unknown parameters for {cls.__name__}: {sorted(unknown)}")
    return from_flat(cls, values)


def require_positive(config: Any, *names: str) -> None:
    """ValueError naming the first of `names` on `config` that is not a finite number above 0
    (for the range checks in each config dataclass's `__post_init__`)."""
    for name in names:
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name}: must be a finite number above 0, got {value!r}")


def require_non_negative(config: Any, *names: str) -> None:
    """ValueError naming the first of `names` on `config` that is not a finite number ≥ 0."""
    for name in names:
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{name}: must be a finite number of at least 0, got {value!r}")
