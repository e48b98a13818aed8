"""Fast DDS transport for processes that publish or receive full-size camera images.

Why: Fast DDS's default shared-memory segment is 512 KB, smaller than one 640x480 rgb8 image
(0.9 MB) or its 32FC1 depth (1.2 MB). Larger samples go over UDP in fragments, and with the
best-effort sensor QoS a whole frame is lost whenever one fragment is (measured: 2-5 of 15
frames per second arrived). `assets/fastdds_large_images.xml` gives the process a 16 MB
segment. The sim applies it for the camera it publishes; perception applies it for the
annotated images it publishes (and so that it can be the only image-heavy process on a robot
whose camera driver is configured the same way).

The profile is applied only when the user chose none and Fast DDS is the RMW, and must be
applied before `rclpy.init`, because Fast DDS reads it when the participant is created.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from synth_agent.sim.world import ASSETS

FASTDDS_PROFILE = ASSETS / "fastdds_large_images.xml"


def use_large_image_transport(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Point Fast DDS at the large-shared-memory profile (see the XML for why), unless the user
    chose a profile or a different RMW. Must run before rclpy.init."""
    rmw = environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    if environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or rmw != "rmw_fastrtps_cpp":
        return False
    environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)
    return True
