"""Safe middleware defaults, applied by every entry point before rclpy starts.

Fast DDS's default discovery (ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET) multicasts onto the local
network. A robot's operator may want that, but nobody should get it by accident from a demo or
a test run, so every synth_agent process defaults to LOCALHOST unless the user set a value.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

SAFE_DEFAULTS = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


def apply_safe_defaults(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set each safe default the user did not set; return the ones that were applied."""
    env = os.environ if environ is None else environ
    applied = {}
    for key, value in SAFE_DEFAULTS.items():
        if not env.get(key):
            env[key] = value
            applied[key] = value
    return applied
