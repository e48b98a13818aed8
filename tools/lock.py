"""Write requirements.txt from `pip freeze` of a venv that installed requirements.in.

The ROS wheels register extra distributions (`action_msgs`, `rosidl_parser`, …) beside their
`ros-*` names; those are not on PyPI, so they are left out. Local version labels (`+cpu`) are
dropped so the pin matches the CPU wheel on disk here and the same release elsewhere.
"""

import re
import sys


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


lines = [ln.strip() for ln in sys.stdin if "==" in ln and not ln.startswith(("-e", "#"))]
names = {norm(ln.split("==")[0]) for ln in lines}
print("# Generated from requirements.in by tools/lock.py (make lock). Python 3.11, x86_64.")
for ln in sorted(lines, key=str.lower):
    name, version = ln.split("==", 1)
    if norm(name) == "synth-agent" or f"ros-{norm(name)}" in names:
        continue
    print(f"{name}=={version.split('+')[0]}")
