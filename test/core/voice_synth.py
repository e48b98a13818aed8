"""Spoken robot commands synthesized with espeak-ng, for the voice tests and bench/voice_wer.py.

Two sets, so the word error rate is measured honestly: `TUNING_COMMANDS` is what recogniser
settings (padding, beam, temperatures, VAD) were chosen on, and `HELD_OUT_COMMANDS` is worded
differently from it and from the recogniser's prompt (which is built from the skill registry's
vocabulary, never from these sentences), so its WER is what a new operator sentence can expect.
Both are spoken by more than one espeak-ng voice and rate (`VOICES`); the first is the primary.

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
TUNING_COMMANDS = STOP_COMMANDS + [
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
COMMANDS = TUNING_COMMANDS  # the name the older tests use

# Never used to choose a setting; no sentence here appears in the tuning set.
HELD_OUT_STOP_COMMANDS = ["stop moving", "hold on", "abort", "stop stop"]
HELD_OUT_COMMANDS = HELD_OUT_STOP_COMMANDS + [
    # numeric turns and drives
    "rotate right 60 degrees",
    "spin left 120 degrees",
    "turn right 270 degrees",
    "turn left 15 degrees",
    "drive forward 4 meters",
    "back up 2 meters",
    "drive backward 30 centimeters",
    "move forward 6 meters",
    "pause for 3 seconds",
    "wait 10 seconds",
    # navigation
    "navigate to the bathroom",
    "head to the hallway",
    "go back to the dock",
    "drive to the living room",
    # fetching
    "fetch the blue ball",
    "grab the yellow bottle",
    "bring the green box to the kitchen",
    "take the red cup to the bedroom",
    "get me the blue ball from the living room",
    "approach the person",
    "place the cup on the table",
    "pick up the red cup and bring it here",
    "follow the person",
    # questions and talk
    "where is the red cup",
    "what is in front of you",
    "how far is the kitchen",
    "where are you",
    "can you see the green box",
    "is there a person in the bedroom",
    "say hello",
    "describe what you see",
]

# (espeak-ng voice, words per minute): the primary voice first.
VOICES = [("en", 175), ("en-us", 160)]

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
