"""Where the package's shared files (config/, launch/) are.

On a ROS install they are in `share/synth_agent`, found through the ament index; pip-only, the
editable install leaves them in the source tree. Both resolve through `share_dir()`, so nodes,
the launcher and the tests read the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = "synth_agent"
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    """The directory holding config/ and launch/: the ament share directory when this package is
    on AMENT_PREFIX_PATH, else the source tree this module was imported from."""
    if os.environ.get("AMENT_PREFIX_PATH"):
        try:
            from ament_index_python.packages import (
                PackageNotFoundError,
                get_package_share_directory,
            )

            try:
                return Path(get_package_share_directory(PACKAGE))
            except PackageNotFoundError:
                pass
        except ImportError:
            pass
    return SOURCE_ROOT


def config_path(name: str) -> Path:
    """Path of `config/<name>` (add `.yaml` when no suffix is given)."""
    if not Path(name).suffix:
        name += ".yaml"
    return share_dir() / "config" / name
