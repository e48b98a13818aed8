"""Spoken robot commands synthesized with espeak-ng, for the voice tests and bench/voice_wer.py.

Real recordings of operators would be better and are not available offline; espeak-ng is
deterministic, installed by `make setup`, and robotic enough that a recogniser that handles it
has no accent advantage. Each WAV is synthesized once into the given cache folder.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

# What an operator says, as the reference transcript (stop phrasings first).
STOP_COMMANDS = ["stop", "halt", "freeze", "stop now", "emergency stop", "stop the robot"]
COMMANDS = STOP_COMMANDS + [
    "turn left 90 degrees",
    "turn right 45 degrees",
    "turn left 30 degrees",
    "turn right 180 degrees",
    "turn around",
    "drive forward 2 meters",
    "drive forward 1 meter",
    "drive backward 1 meter",
    "drive forward 3 meters",
    "move forward 50 centimeters",
    "turn left 90 degrees and drive forward 2 meters",
    "go to the kitchen",
    "go to the living room",
    "go to the bedroom",
    "come back to me",
    "find the red cup",
    "find the blue ball",
    "bring me the red cup",
    "pick up the green box",
    "put it on the table",
    "go to the kitchen and find the red cup",
    "follow me",
    "what do you see",
    "wait 5 seconds",
    "describe the room",
    "find the yellow bottle and bring it to me",
    "turn left 45 degrees",
]

ESPEAK = shutil.which("espeak-ng")


def synthesize(text: str, cache: Path, speed_wpm: int = 175, voice: str = "en") -> Path:
    """The WAV (22.05 kHz mono, espeak-ng's rate) of `text`, made once per cache folder."""
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{voice}|{speed_wpm}|{text}".encode()).hexdigest()[:12]
    path = cache / f"{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(".part")
        subprocess.run(
            [ESPEAK, "-v", voice, "-s", str(speed_wpm), "-w", str(tmp), text],
            check=True,
            capture_output=True,
        )
        tmp.rename(path)
    return path
