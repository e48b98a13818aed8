"""Headless rendering picks a working OpenGL backend by itself: EGL, else OSMesa."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = "from synth_agent.sim.gl import BACKEND; print(BACKEND)"


def chosen_backend(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=environ, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_backend_the_user_set_is_kept():
    assert chosen_backend(MUJOCO_GL="osmesa") == "osmesa"


def test_falls_back_to_osmesa_when_egl_cannot_start():
    # No EGL vendor library: EGL cannot create a context, OSMesa (pure software) still can.
    assert chosen_backend(__EGL_VENDOR_LIBRARY_FILENAMES="/nonexistent.json") == "osmesa"
