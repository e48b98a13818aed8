"""`save_views` writes the two PNGs a person looks at, and they show the world."""

from __future__ import annotations

import math

import cv2

from synth_agent.sim.config import SimConfig
from synth_agent.sim.simulation import Simulation
from synth_agent.sim.view import TopDown, save_views


def test_save_views_writes_camera_and_topdown_pngs(tmp_path):
    config = SimConfig(image_width=320, image_height=240, initial_pose=[2.8, 2.0, math.pi])
    paths = save_views(tmp_path / "out", config, seconds=0.2, topdown_size=(450, 360))
    assert [p.name for p in paths] == ["camera.png", "topdown.png"]
    camera = cv2.imread(str(paths[0]))
    topdown = cv2.imread(str(paths[1]))
    assert camera.shape == (240, 320, 3)
    assert topdown.shape == (360, 450, 3)
    # The robot faces the kitchen table: the red cup is in its view.
    b, g, r = (camera[:, :, i].astype(int) for i in range(3))
    assert ((r > 120) & (g < 60) & (b < 60)).sum() > 20
    assert topdown.std() > 20


def test_topdown_pixels_map_to_world_coordinates():
    sim = Simulation(SimConfig())
    try:
        td = TopDown(sim, 900, 720)
        # The camera centre is the apartment centre; 8.6 m span the image height.
        assert td.pixel(5.0, 4.0) == (450, 360)
        u0, v0 = td.pixel(0.0, 0.0)
        u1, v1 = td.pixel(10.0, 8.0)
        # North is up, east is right, at 720 / 8.6 pixels per metre.
        assert abs((u1 - u0) - 10 * 720 / 8.6) <= 1 and abs((v0 - v1) - 8 * 720 / 8.6) <= 1
    finally:
        sim.close()
