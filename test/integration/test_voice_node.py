"""The voice node in its own process: spoken commands (espeak-ng) in, text on agent/command out.

Files arrive in a watched folder and PCM over the audio topic; an unreadable file must be
logged and leave the node running; doubtful speech becomes a question on agent/feedback.
"""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from std_msgs.msg import Int16MultiArray, String, UInt8MultiArray

from synth_agent.core.voice import float_to_int16, load_audio, normalize
from synth_agent.nodes.qos import profile
from synth_agent.testing import wait_until
from test.core.voice_synth import ESPEAK, synthesize

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed"),
]
RATE = 16000


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    return tmp_path_factory.mktemp("voice_node_wavs")


def start_voice(launch, *params: str):
    node = launch(
        ["voice", "--ros-args", "-p", "tts:=false", *[a for p in params for a in ("-p", p)]],
        name="voice",
    )
    node.wait_for_output(r"voice up", 30)
    node.wait_for_output(r"speech model .* loaded", 60)
    return node


def texts(msgs):
    return [normalize(m.data) for m in list(msgs)]


def test_a_file_dropped_in_the_watched_folder_becomes_a_command(launch, probe, tmp_path, wavs):
    inbox = tmp_path / "inbox"
    old = synthesize("go to the kitchen", wavs)
    inbox.mkdir()
    shutil.copy(old, inbox / "before_start.wav")  # there before the node: never replayed
    node = start_voice(launch, "source:=folder", f"folder:={inbox}")
    commands = probe.subscribe(String, "agent/command", profile("reliable"))
    time.sleep(1.0)
    shutil.copy(synthesize("turn left 90 degrees", wavs), inbox / "cmd.wav")
    wait_until(lambda: commands, 60, "a command from the dropped file")
    assert texts(commands) == ["turn left 90 degrees"]
    node.wait_for_output(r"heard .* from cmd\.wav")
    assert "before_start" not in node.output

    (inbox / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    node.wait_for_output(r"cannot use audio file: .*broken\.wav", 30)
    shutil.copy(synthesize("stop", wavs), inbox / "stop.flac.wav")
    wait_until(lambda: len(commands) >= 2, 60, "the node to go on after the broken file")
    assert texts(commands)[1] == "stop"
    assert node.proc.poll() is None


@pytest.mark.parametrize("encoding", ["int16", "uint8"])
def test_pcm_on_the_audio_topic_becomes_a_command(launch, probe, wavs, encoding):
    rate = 22050  # not 16 kHz: the node resamples
    node = start_voice(
        launch, "source:=topic", f"audio_encoding:={encoding}", f"sample_rate_hz:={rate}"
    )
    commands = probe.subscribe(String, "agent/command", profile("reliable"))
    msg_type = Int16MultiArray if encoding == "int16" else UInt8MultiArray
    pub = probe.publisher(msg_type, "audio/pcm", 200)
    probe.wait_for_subscribers(pub)
    speech = load_audio(synthesize("stop", wavs), rate)
    audio = np.concatenate([np.zeros(rate // 2), speech, np.zeros(rate)]).astype(np.float32)
    pcm = float_to_int16(audio)
    chunk = rate // 10
    for i in range(0, pcm.size, chunk):
        part = pcm[i : i + chunk]
        msg = msg_type()
        msg.data = part.tolist() if encoding == "int16" else part.astype("<i2").tobytes()
        pub.publish(msg)
        time.sleep(0.1)  # real time, as a microphone on another computer would send it
    wait_until(lambda: commands, 30, "a command from the audio topic")
    assert texts(commands) == ["stop"]
    m = node.wait_for_output(r"end of speech to publish (\d+\.\d+) s")
    assert float(m.group(1)) < 5.0


def test_doubtful_speech_is_a_question_not_a_command(launch, probe, tmp_path, wavs):
    inbox = tmp_path / "inbox"
    # tts on: the question is also spoken (espeak-ng; no sound card here, which must not matter).
    node = start_voice(launch, f"folder:={inbox}", "confidence_threshold:=0.999", "tts:=true")
    commands = probe.subscribe(String, "agent/command", profile("reliable"))
    feedback = probe.subscribe(String, "agent/feedback", profile("reliable"))
    time.sleep(1.0)
    shutil.copy(synthesize("go to the kitchen", wavs), inbox / "a.wav")
    wait_until(lambda: feedback, 60, "a question on agent/feedback")
    assert feedback[0].data.startswith("Did you say: ")
    assert "kitchen" in feedback[0].data.lower()
    assert commands == []
    time.sleep(1.0)
    assert node.proc.poll() is None
    assert "voice worker:" not in node.output


def test_default_config_starts_without_microphone_or_files(launch, tmp_path):
    node = launch(["voice"], name="voice", HOME=str(tmp_path))
    node.wait_for_output(r"voice up \(source=folder\)", 30)
    assert (tmp_path / ".synth_agent" / "voice_inbox").is_dir()
    assert node.proc.poll() is None


def test_no_microphone_is_a_clear_error_and_the_node_keeps_running(launch, tmp_path):
    node = launch(["voice", "--ros-args", "-p", "source:=mic", "-p", "tts:=false"], name="voice")
    node.wait_for_output(r"no microphone: .*keeps running", 30)
    time.sleep(0.5)
    assert node.proc.poll() is None


def test_missing_model_is_a_clear_error_and_the_node_keeps_running(launch, tmp_path):
    node = launch(
        ["voice", "--ros-args", "-p", f"model:={tmp_path / 'no_model'}", "-p", "tts:=false",
         "-p", f"folder:={tmp_path / 'inbox'}"],
        name="voice",
    )  # fmt: skip
    node.wait_for_output(r"speech model folder .*no_model does not exist", 30)
    time.sleep(0.5)
    assert node.proc.poll() is None
