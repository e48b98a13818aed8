"""Declare a node's ROS parameters from its core config dataclass and keep them valid.

Defaults come from `config/<node>.yaml` found through the ament index (or the source tree when
pip-only), falling back to the dataclass; `--params-file` and `-p` overrides win as usual in ROS.
Changes at run time are checked by building a new config dataclass: a bad value (wrong type,
NaN, out of range) is refused with the reason, and the node keeps its previous config.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter

from synth_agent.core.config import fields_flat, from_flat, read_params_file
from synth_agent.paths import config_path

C = TypeVar("C")

_LIST_TYPES = {
    float: Parameter.Type.DOUBLE_ARRAY,
    int: Parameter.Type.INTEGER_ARRAY,
    str: Parameter.Type.STRING_ARRAY,
    bool: Parameter.Type.BOOL_ARRAY,
}
_SCALAR_TYPES = {
    float: Parameter.Type.DOUBLE,
    int: Parameter.Type.INTEGER,
    str: Parameter.Type.STRING,
    bool: Parameter.Type.BOOL,
}


def _param_type(hint: Any) -> Parameter.Type:
    if typing.get_origin(hint) in (list, tuple):
        return _LIST_TYPES[typing.get_args(hint)[0]]
    return _SCALAR_TYPES[hint]


def _value(param: Parameter, hint: Any) -> Any:
    value = param.value
    if typing.get_origin(hint) in (list, tuple):
        return list(value) if value is not None else []
    return value


def installed_defaults(node_name: str) -> tuple[dict[str, Any], Path | None]:
    """The flattened defaults from `config/<node_name>.yaml`, and the file they came from."""
    path = config_path(node_name)
    if path.is_file():
        return read_params_file(path, node_name), path
    return {}, None


def declare_config(
    node: Node,
    cls: type[C],
    config_name: str | None = None,
    on_change: Callable[[C], None] | None = None,
) -> C:
    """Declare one ROS parameter per config field and return the validated config.

    `on_change` receives each new config accepted at run time; a change that makes the config
    invalid is refused with the validation message as the reason.
    """
    name = config_name or node.get_name()
    yaml_defaults, source = installed_defaults(name)
    fields = fields_flat(cls)
    for pname, (hint, default) in fields.items():
        value = yaml_defaults.get(pname, default)
        descriptor = ParameterDescriptor(description=f"{cls.__name__}.{pname}")
        ptype = _param_type(hint)
        if isinstance(value, (list, tuple)) and not value:
            # An empty list has no element type; declare the type so overrides still apply.
            node.declare_parameter(pname, ptype, descriptor)
        else:
            if hint is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            node.declare_parameter(pname, value, descriptor)
    # get_parameter_or: an empty-list parameter is declared by type only and stays unset (the
    # params-file parser also leaves `[]` unset); it reads as None, i.e. an empty list.
    current = {p: _value(node.get_parameter_or(p), fields[p][0]) for p in fields}
    config = from_flat(cls, current)
    origin = str(source) if source else f"{cls.__name__} (no config file found)"
    node.get_logger().info(f"parameters: defaults from {origin}")

    def _check(params: list[Parameter]) -> SetParametersResult:
        nonlocal current
        candidate = dict(current)
        for p in params:
            if p.name in fields:  # others (use_sim_time, QoS overrides) are ROS's own to check
                candidate[p.name] = _value(p, fields[p.name][0])
        try:
            new = from_flat(cls, candidate)
        except (TypeError, ValueError) as e:
            node.get_logger().warning(f"refused parameter change: {e}")
            return SetParametersResult(successful=False, reason=str(e))
        current = candidate
        if on_change is not None:
            on_change(new)
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(_check)
    return config
