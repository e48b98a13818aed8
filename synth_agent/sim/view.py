"""Pictures of the simulated world for people: what the robot's camera sees, and a map.

`synth-agent sim --view` calls `save_views`, which runs the simulator headless for a moment
(long enough for objects to settle, optionally driving the robot) and writes two PNGs:
- `camera.png`: the robot's forward camera, exactly as published on camera/image_raw;
- `topdown.png`: an orthographic MuJoCo render from above, annotated with OpenCV: room names,
  named places (robot poses, with heading), doorways, objects, the person and the robot.
The map uses the same rendering as the camera, so what it shows is what is simulated, not a
separately drawn diagram that could drift from the world file.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from synth_agent.core.places import Places, load_places
from synth_agent.sim.config import SimConfig
from synth_agent.sim.gl import mujoco
from synth_agent.sim.robot import Camera
from synth_agent.sim.simulation import Simulation

TOPDOWN_CAMERA = "topdown"
TICK = 0.01

PLACE_COLOUR = (170, 80, 30)  # BGR
DOOR_COLOUR = (60, 140, 60)
ROBOT_COLOUR = (20, 20, 20)
TEXT_COLOUR = (30, 30, 30)
OBJECT_COLOURS = {
    "red_cup": (30, 30, 210),
    "blue_ball": (210, 80, 30),
    "green_box": (40, 160, 40),
    "yellow_bottle": (20, 180, 230),
}


def _places_path(config: SimConfig) -> Path:
    from synth_agent.paths import config_path

    path = Path(config.places_file).expanduser()
    return path if path.is_file() else config_path(config.places_file)


class TopDown:
    """World (x, y) <-> pixel mapping of the orthographic `topdown` camera."""

    def __init__(self, sim: Simulation, width: int, height: int) -> None:
        m = sim.world.model
        self.cam = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, TOPDOWN_CAMERA)
        if self.cam < 0 or int(m.cam_projection[self.cam]) != int(
            mujoco.mjtProjection.mjPROJ_ORTHOGRAPHIC
        ):
            raise ValueError(f"world has no orthographic camera named {TOPDOWN_CAMERA!r}")
        self.width, self.height = width, height
        self.scale = height / float(m.cam_fovy[self.cam])  # pixels per metre
        self.centre = m.cam_pos[self.cam][:2].copy()

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        u = self.width / 2 + (x - self.centre[0]) * self.scale - 0.5
        v = self.height / 2 - (y - self.centre[1]) * self.scale - 0.5
        return int(round(u)), int(round(v))


def _label(
    img: np.ndarray,
    text: str,
    at: tuple[int, int],
    colour=TEXT_COLOUR,
    scale: float = 0.45,
    bold: int = 1,
) -> None:
    x, y = at
    cv2.putText(
        img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), bold + 2, cv2.LINE_AA
    )
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, bold, cv2.LINE_AA)


def _arrow(
    img: np.ndarray,
    td: TopDown,
    x: float,
    y: float,
    yaw: float,
    length_m: float,
    colour,
    thickness: int = 2,
) -> None:
    a = td.pixel(x, y)
    b = td.pixel(x + length_m * math.cos(yaw), y + length_m * math.sin(yaw))
    cv2.arrowedLine(img, a, b, colour, thickness, cv2.LINE_AA, tipLength=0.35)


def draw_topdown(
    sim: Simulation, places: Places | None, width: int = 900, height: int = 720
) -> np.ndarray:
    """The annotated map as an RGB array (renders in the calling thread)."""
    td = TopDown(sim, width, height)
    cam = Camera(sim.world, width, height, 0.0, 100.0, camera=td.cam)
    try:
        cam.prepare()
        rgb, _ = cam.render(depth=False)
    finally:
        cam.close()
    img = np.ascontiguousarray(rgb[:, :, ::-1])  # OpenCV draws in BGR
    truth = sim.ground_truth()
    if places is not None:
        for room in places.rooms.values():
            u, v = td.pixel(room.x_min + 0.15, room.y_max - 0.25)
            _label(img, room.name.replace("_", " ").upper(), (u, v), (90, 90, 90), 0.5, 1)
        for door in places.doorways.values():
            cv2.circle(img, td.pixel(door.x, door.y), 5, DOOR_COLOUR, -1, cv2.LINE_AA)
        for place in [*places.places.values(), places.operator]:
            centre = td.pixel(place.x, place.y)
            cv2.circle(img, centre, int(0.2 * td.scale), PLACE_COLOUR, 1, cv2.LINE_AA)
            _arrow(img, td, place.x, place.y, place.yaw, 0.3, PLACE_COLOUR, 1)
            _label(img, place.name, (centre[0] + 8, centre[1] + 16), PLACE_COLOUR, 0.4)
    for name, pose in truth["objects"].items():
        u, v = td.pixel(pose["x"], pose["y"])
        colour = OBJECT_COLOURS.get(name, TEXT_COLOUR)
        cv2.circle(img, (u, v), 9, colour, 2, cv2.LINE_AA)
        _label(img, name.replace("_", " "), (u + 10, v - 8), colour, 0.4)
    if "person" in truth:
        p = truth["person"]
        _arrow(img, td, p["x"], p["y"], p["yaw"], 0.35, (120, 40, 120), 2)
        u, v = td.pixel(p["x"], p["y"])
        _label(img, "person", (u + 12, v + 4), (120, 40, 120), 0.45)
    r = truth["robot"]
    cv2.circle(img, td.pixel(r["x"], r["y"]), int(0.2 * td.scale), ROBOT_COLOUR, 2, cv2.LINE_AA)
    _arrow(img, td, r["x"], r["y"], r["yaw"], 0.45, ROBOT_COLOUR, 2)
    u, v = td.pixel(r["x"], r["y"])
    _label(img, "robot", (u - 20, v - int(0.2 * td.scale) - 6), ROBOT_COLOUR, 0.5)
    # A 1 m scale bar in the bottom-left corner.
    a, b = td.pixel(0.2, -0.25), td.pixel(1.2, -0.25)
    cv2.line(img, a, b, TEXT_COLOUR, 2)
    _label(img, "1 m", (a[0], a[1] - 6), TEXT_COLOUR, 0.4)
    return img[:, :, ::-1].copy()


def save_views(
    out_dir: str | Path,
    config: SimConfig | None = None,
    seconds: float = 1.0,
    cmd_vel: tuple[float, float] = (0.0, 0.0),
    topdown_size: tuple[int, int] = (900, 720),
) -> list[Path]:
    """Run the simulator headless for `seconds` (commanding `cmd_vel` = (v, w) throughout),
    then write `camera.png` and `topdown.png` into `out_dir`; return their paths."""
    config = config or SimConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(config)
    try:
        for _ in range(max(1, round(seconds / TICK))):
            sim.set_cmd_vel(*cmd_vel)
            sim.advance(TICK)
        sim.camera.prepare()
        rgb, _ = sim.camera.render(depth=False)
        try:
            places = load_places(_places_path(config))
        except (OSError, ValueError):
            places = None
        topdown = draw_topdown(sim, places, *topdown_size)
    finally:
        sim.close()
    paths = [out / "camera.png", out / "topdown.png"]
    for path, image in zip(paths, (rgb, topdown), strict=True):
        if not cv2.imwrite(str(path), image[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9]):
            raise OSError(f"could not write {path}")
    return paths
