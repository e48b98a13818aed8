"""The simulator's apartment as a map_server occupancy grid, drawn from the MuJoCo model itself.

A real robot gets its map from slam_toolbox; the simulated one can have it exactly: every static
geom the lidar can see (geom groups of `World.lidar_geomgroup`, welded to the world) that crosses
the lidar's scan plane is drawn as its footprint. Movable furniture, the objects and the person
are left out on purpose — they move, and the localiser must treat them as clutter.

    python -m synth_agent.sim.occupancy [OUT.yaml]    (default: config/map.yaml)

`test/core/test_localization.py` checks that the committed map equals a fresh rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from synth_agent.core.localization import OccupancyMap
from synth_agent.sim.gl import mujoco
from synth_agent.sim.world import World

RESOLUTION_M = 0.025
MARGIN_M = 0.25


def render(world: World, resolution: float = RESOLUTION_M) -> OccupancyMap:
    """The occupancy grid of `world`'s static geoms at the lidar's height."""
    m, d = world.model, world.data
    mujoco.mj_forward(m, d)
    z = float(d.site_xpos[world.lidar_site][2])
    boxes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # centre, 2×2 rotation, half size
    circles: list[tuple[float, float, float]] = []
    for g in range(m.ngeom):
        if m.body_weldid[m.geom_bodyid[g]] != 0 or not world.lidar_geomgroup[m.geom_group[g]]:
            continue
        kind, size = int(m.geom_type[g]), m.geom_size[g]
        pos, rot = d.geom_xpos[g], d.geom_xmat[g].reshape(3, 3)
        if kind == mujoco.mjtGeom.mjGEOM_BOX:
            if abs(z - pos[2]) > float(np.abs(rot[2]) @ size):
                continue
            boxes.append((pos[:2].copy(), rot[:2, :2].copy(), size[:2].copy()))
        elif kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
            if abs(z - pos[2]) <= size[1]:
                circles.append((float(pos[0]), float(pos[1]), float(size[0])))
    if not boxes and not circles:
        raise ValueError("no static geom crosses the lidar plane")
    reach = [np.abs(r) @ h for _, r, h in boxes] + [np.array([c[2], c[2]]) for c in circles]
    centres = [c for c, _, _ in boxes] + [np.array(c[:2]) for c in circles]
    lo = np.min([c - e for c, e in zip(centres, reach, strict=True)], axis=0) - MARGIN_M
    hi = np.max([c + e for c, e in zip(centres, reach, strict=True)], axis=0) + MARGIN_M
    lo = np.round(np.floor(lo / resolution) * resolution, 6)
    w, h = np.ceil((hi - lo) / resolution).astype(int)
    # A cell is occupied when its centre lies inside a footprint: exact, no rasteriser rounding.
    xs = lo[0] + (np.arange(w) + 0.5) * resolution
    ys = lo[1] + (np.arange(h) + 0.5) * resolution
    px, py = np.meshgrid(xs, ys)  # row = y, col = x
    occupied = np.zeros((h, w), bool)
    for centre, rot, half in boxes:
        dx, dy = px - centre[0], py - centre[1]
        u = rot[0, 0] * dx + rot[1, 0] * dy  # the cell centre in the box's own axes
        v = rot[0, 1] * dx + rot[1, 1] * dy
        occupied |= (np.abs(u) <= half[0]) & (np.abs(v) <= half[1])
    for cx, cy, r in circles:
        occupied |= (px - cx) ** 2 + (py - cy) ** 2 <= r * r
    return OccupancyMap(occupied, resolution, float(lo[0]), float(lo[1]))


def main(argv: list[str] | None = None) -> int:
    from synth_agent.paths import SOURCE_ROOT

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else SOURCE_ROOT / "config" / "map.yaml"
    from synth_agent.sim.config import SimConfig

    grid = render(World(SimConfig().world))
    grid.save(out)
    h, w = grid.shape
    print(f"wrote {out} and {out.with_suffix('.pgm').name}: {w}×{h} cells at {grid.resolution} m")
    return 0


if __name__ == "__main__":
    sys.exit(main())
