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


def test_nothing_imports_mujoco_before_the_backend_is_chosen():
    """MuJoCo fixes its GL backend at first import: a bare `import mujoco` in a module or test
    collected before the renderer tests leaves the process on GLFW, and every later render in
    it aborts on a headless machine (a fresh CI run did exactly that)."""
    import re

    from synth_agent.paths import SOURCE_ROOT

    bare = re.compile(r"^\s*import mujoco\b|^\s*from mujoco\b", re.MULTILINE)
    offenders = [
        str(p.relative_to(SOURCE_ROOT))
        for folder in ("synth_agent", "test", "bench", "tools")
        for p in (SOURCE_ROOT / folder).rglob("*.py")
        if p.name != "gl.py" and bare.search(p.read_text())
    ]
    assert offenders == [], f"use `from synth_agent.sim.gl import mujoco` in {offenders}"
