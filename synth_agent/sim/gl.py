"""Pick a headless OpenGL backend for MuJoCo before MuJoCo is imported, then re-export it.

MuJoCo reads `MUJOCO_GL` once, when `mujoco` is first imported, and PyOpenGL fixes its platform
at the same moment, so a backend that fails cannot be swapped for another inside the same
process. We therefore probe each candidate (EGL first: it is the fast path on machines with a
GPU or Mesa's EGL; then OSMesa, pure software) in a short child process that creates a context
and renders one frame, and set the first that works in `os.environ` before importing mujoco.
Child processes inherit the choice, so the probe runs at most once per process tree. A value the
user already set is respected.

Every module of `synth_agent.sim` imports mujoco as `from synth_agent.sim.gl import mujoco` so
that this happens first.
"""

from __future__ import annotations

import os
import subprocess
import sys

CANDIDATES = ("egl", "osmesa")

_PROBE = """
import mujoco
m = mujoco.MjModel.from_xml_string('<mujoco><worldbody><geom size="1"/></worldbody></mujoco>')
r = mujoco.Renderer(m, 8, 8)
d = mujoco.MjData(m)
r.update_scene(d)
r.render()
r.close()
print("ok")
"""


def probe_backend(name: str, timeout_s: float = 30.0) -> bool:
    """True when MuJoCo can render offscreen with MUJOCO_GL=name (checked in a child process)."""
    env = dict(os.environ, MUJOCO_GL=name)
    env.pop("PYOPENGL_PLATFORM", None)
    try:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "ok" in out.stdout


def select_backend() -> str:
    """Set MUJOCO_GL (and PYOPENGL_PLATFORM) to a backend that works here; return its name.

    Returns "" when none works: physics and lidar still run, rendering raises when used.
    """
    chosen = os.environ.get("MUJOCO_GL", "").strip().lower()
    if chosen or "mujoco" in sys.modules:
        return chosen
    for name in CANDIDATES:
        if probe_backend(name):
            os.environ["MUJOCO_GL"] = name
            os.environ["PYOPENGL_PLATFORM"] = name
            return name
    # Nothing renders; keep mujoco importable for physics-only use.
    os.environ["MUJOCO_GL"] = "disable"
    return ""


BACKEND = select_backend()

import mujoco  # noqa: E402 - must follow the backend choice

__all__ = ["BACKEND", "mujoco", "probe_backend", "select_backend"]
