"""The `voice` node: speech from a microphone, audio files, a watched folder or an audio topic
becomes text on `agent/command`; doubtful text becomes "did you say ...?" on `agent/feedback`,
which (like everything else on `agent/feedback`) is spoken through espeak-ng when available.

All decisions are in `synth_agent.core.voice`; this file moves audio and messages.

Threading, and why: recognising an utterance takes about half a second of CPU and loading the
model about one, far longer than any callback may take. So callbacks and the folder timer only
convert and enqueue (audio chunks with their arrival time, file paths); one worker thread owns
the VAD, the recogniser and the dialogue state, and publishes what it decides. The queue is
bounded: when the recogniser falls behind a live stream, the oldest audio is dropped and counted
rather than answering commands from the past. Text-to-speech runs in its own thread so a long
sentence never delays a "stop"; while the robot speaks (and `tts_mute_tail_s` after), audio from
the microphone and the topic is dropped so the robot does not hear itself.

Latency is measured on the monotonic clock, not ROS time: under `use_sim_time` ROS time is the
simulator's, but "how long after the operator stopped speaking did the command go out" is a
wall-clock question.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Int16MultiArray, String, UInt8MultiArray

from synth_agent.core import contract
from synth_agent.core.voice import (
    AUDIO_SUFFIXES,
    WHISPER_RATE_HZ,
    AudioError,
    EnergyVad,
    ModelError,
    SphinxTranscriber,
    Transcriber,
    Utterance,
    VoiceConfig,
    VoiceDialogue,
    load_audio,
    make_transcriber,
    pcm_to_float,
    resample,
    split_utterances,
)
from synth_agent.nodes.params import declare_config
from synth_agent.nodes.qos import profile
from synth_agent.nodes.spin import spin_node

# Live audio waiting for the recogniser, in chunks (about 0.1 s each): 30 s at most.
MAX_QUEUED_CHUNKS = 300
AUDIO_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=200, reliability=ReliabilityPolicy.RELIABLE
)


class VoiceNode(Node):
    """Audio sources in, `agent/command` and `agent/feedback` out; see the module docstring."""

    def __init__(self) -> None:
        super().__init__("voice")
        self.config: VoiceConfig = declare_config(self, VoiceConfig)
        c = self.config
        self.cmd_pub = self.create_publisher(
            String, contract.COMMAND.name, profile(contract.COMMAND)
        )
        self.feedback_pub = self.create_publisher(
            String, contract.FEEDBACK.name, profile(contract.FEEDBACK)
        )
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._live_chunks = 0  # live audio chunks in the queue (bounded by MAX_QUEUED_CHUNKS)
        self._lock = threading.Lock()
        self.dropped_chunks = 0
        self._last_audio = 0.0  # monotonic time of the last live chunk
        self._in_speech = False  # written by the worker, read by the stream-gap timer
        self._muted_until = 0.0
        self._mic_stream = None

        self._worker = threading.Thread(target=self._work, name="voice-worker", daemon=True)
        self._worker.start()

        self._espeak = shutil.which("espeak-ng") if c.tts else None
        self._tts_jobs: queue.Queue[str | None] = queue.Queue(maxsize=10)
        self._tts_proc: subprocess.Popen | None = None
        if c.tts and self._espeak is None:
            self.get_logger().warning("tts: espeak-ng is not installed; feedback is not spoken")
        if self._espeak:
            self._tts_thread = threading.Thread(
                target=self._speak_loop, name="voice-tts", daemon=True
            )
            self._tts_thread.start()
            self.create_subscription(
                String, contract.FEEDBACK.name, self._on_feedback, profile(contract.FEEDBACK)
            )

        self._start_source()
        self.get_logger().info(f"voice up (source={c.source})")

    # ---- sources

    def _start_source(self) -> None:
        c = self.config
        log = self.get_logger()
        if c.source == "files":
            files = c.file_list()
            if not files:
                log.warning("source=files but the 'files' parameter is empty")
            for path in files:
                self._jobs.put(("file", path))
        elif c.source == "folder":
            folder = c.folder_path()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                log.error(f"cannot create the watched folder {folder}: {e}")
            self._folder = folder
            self._seen: set[str] = set(self._audio_files())
            self._sizes: dict[str, int] = {}
            if self._seen:
                log.info(f"{len(self._seen)} file(s) already in {folder} are skipped")
            self.create_timer(c.folder_poll_s, self._poll_folder)
            log.info(f"watching {folder} for new WAV/FLAC files")
        elif c.source == "topic":
            msg_type = Int16MultiArray if c.audio_encoding == "int16" else UInt8MultiArray
            self.create_subscription(msg_type, c.audio_topic, self._on_audio_msg, AUDIO_QOS)
            self.create_timer(0.1, self._check_stream_gap)
            log.info(
                f"listening on {c.audio_topic} ({msg_type.__name__}, {c.sample_rate_hz} Hz, "
                f"{c.channels} channel(s))"
            )
        elif c.source == "mic":
            self._open_microphone()
            self.create_timer(0.1, self._check_stream_gap)

    def _audio_files(self) -> list[str]:
        try:
            return [
                p.name
                for p in self._folder.iterdir()
                if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
            ]
        except OSError:
            return []

    def _poll_folder(self) -> None:
        """Enqueue each new audio file once its size has stopped changing (fully written)."""
        for name in self._audio_files():
            if name in self._seen:
                continue
            try:
                size = (self._folder / name).stat().st_size
            except OSError:
                continue
            if self._sizes.get(name) == size:
                self._seen.add(name)
                self._sizes.pop(name, None)
                self._jobs.put(("file", self._folder / name))
            else:
                self._sizes[name] = size

    def _open_microphone(self) -> None:
        c = self.config
        try:
            import sounddevice
        except (ImportError, OSError) as e:
            self.get_logger().error(
                f"no microphone: sounddevice is unavailable ({e}); the node keeps running "
                "without audio input (use source:=folder or source:=topic)"
            )
            return
        device: int | str | None = int(c.device) if c.device.isdigit() else (c.device or None)

        def on_block(indata, frames, time_info, status) -> None:  # noqa: ARG001 - sounddevice API
            self._enqueue_live(indata[:, 0].copy(), c.sample_rate_hz)

        try:
            self._mic_stream = sounddevice.InputStream(
                device=device,
                channels=1,
                samplerate=c.sample_rate_hz,
                dtype="float32",
                blocksize=c.sample_rate_hz // 10,
                callback=on_block,
            )
            self._mic_stream.start()
        except Exception as e:  # noqa: BLE001 - PortAudio raises its own error types
            self._mic_stream = None
            self.get_logger().error(
                f"no microphone: cannot open input device {c.device or 'default'!r} ({e}); "
                "the node keeps running without audio input"
            )
            return
        self.get_logger().info(f"microphone {c.device or 'default'} open at {c.sample_rate_hz} Hz")

    def _on_audio_msg(self, msg: Int16MultiArray | UInt8MultiArray) -> None:
        c = self.config
        try:
            data = bytes(msg.data) if c.audio_encoding == "uint8" else msg.data
            samples = pcm_to_float(data, c.audio_encoding, c.channels)
        except AudioError as e:
            self.get_logger().warning(f"audio message dropped: {e}", throttle_duration_sec=5.0)
            return
        self._enqueue_live(samples, c.sample_rate_hz)

    def _enqueue_live(self, samples, rate: int) -> None:
        """Queue a live chunk (any thread), unless the robot is speaking or the queue is full."""
        now = time.monotonic()
        if now < self._muted_until:
            return
        with self._lock:
            if self._live_chunks >= MAX_QUEUED_CHUNKS:
                self.dropped_chunks += 1
                return
            self._live_chunks += 1
            self._last_audio = now
        self._jobs.put(("pcm", resample(samples, rate, WHISPER_RATE_HZ), now))

    def _check_stream_gap(self) -> None:
        """A stream that stops mid-utterance (publisher gone) still ends the utterance."""
        with self._lock:
            idle = time.monotonic() - self._last_audio
        if self._in_speech and idle > self.config.vad_end_silence_s + 0.2:
            self._in_speech = False
            self._jobs.put(("flush", time.monotonic()))

    # ---- worker

    def _work(self) -> None:
        log = self.get_logger()
        c = self.config
        transcriber: Transcriber | SphinxTranscriber | None = None
        try:
            t0 = time.perf_counter()
            transcriber = make_transcriber(c)
            log.info(
                f"speech model {transcriber.model_path} loaded in {time.perf_counter() - t0:.2f} s"
            )
        except ModelError as e:
            log.error(f"{e}; speech is not recognised until the node is restarted with a model")
        vad = EnergyVad(c)
        dialogue = VoiceDialogue(c)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind = job[0]
            try:
                if kind == "said":
                    dialogue.said(job[1], job[2])
                    continue
                if kind == "pcm":
                    with self._lock:
                        self._live_chunks -= 1
                    utts = vad.feed(job[1], job[2])
                    self._in_speech = vad.in_speech
                    live = True
                elif kind == "flush":
                    utts, live = vad.flush(job[1]), True
                else:  # file
                    utts, live = self._read_file(job[1]), False
                for utt in utts:
                    if transcriber is None:
                        log.error("speech heard but no speech model is loaded", once=True)
                        break
                    self._handle(utt, transcriber, dialogue, live, job)
            except Exception as e:  # noqa: BLE001 - the worker must survive any one job
                log.error(f"voice worker: {type(e).__name__}: {e}")

    def _read_file(self, path: Path) -> list[Utterance]:
        try:
            audio = load_audio(path)
        except AudioError as e:
            self.get_logger().error(f"cannot use audio file: {e}")
            return []
        utts = split_utterances(audio, self.config, time.monotonic())
        if not utts:
            self.get_logger().warning(f"{path}: no speech found")
        return utts

    def _handle(
        self,
        utt: Utterance,
        transcriber: Transcriber | SphinxTranscriber,
        dialogue: VoiceDialogue,
        live: bool,
        job: tuple[Any, ...],
    ) -> None:
        log = self.get_logger()
        transcript = transcriber.transcribe(utt.samples)
        decision = dialogue.decide(transcript, time.monotonic())
        origin = "" if live else f" from {Path(job[1]).name}"
        rescored = f"; {transcript.rescored}" if transcript.rescored else ""
        heard = (
            f"heard {transcript.text!r}{origin} (confidence {transcript.confidence:.2f}, "
            f"recognised in {transcript.elapsed_s:.2f} s{rescored})"
        )
        if decision.action == "send":
            self.cmd_pub.publish(String(data=decision.text))
            latency = ""
            if live:
                latency = (
                    f", end of speech to publish {time.monotonic() - utt.speech_end_time:.2f} s"
                )
            log.info(f"{heard} -> agent/command {decision.text!r} ({decision.reason}{latency})")
        elif decision.action == "ask":
            self.feedback_pub.publish(String(data=decision.text))
            log.info(f"{heard} -> asking {decision.text!r} ({decision.reason})")
        else:
            log.info(f"{heard} -> ignored ({decision.reason})")

    # ---- text to speech

    def _on_feedback(self, msg: String) -> None:
        if not msg.data.strip():
            return
        try:
            self._tts_jobs.put_nowait(msg.data)
        except queue.Full:
            self.get_logger().warning("tts: too much feedback queued; sentence not spoken")

    def _speak_loop(self) -> None:
        c = self.config
        warned = False
        while True:
            text = self._tts_jobs.get()
            if text is None:
                return
            self._jobs.put(("said", text, time.monotonic()))
            self._muted_until = float("inf")
            try:
                self._tts_proc = subprocess.Popen(
                    [self._espeak, "-v", c.tts_voice, "-s", str(c.tts_rate_wpm), "--", text],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                _, err = self._tts_proc.communicate(timeout=60)
                if self._tts_proc.returncode != 0 and not warned:
                    warned = True
                    self.get_logger().warning(
                        f"tts: espeak-ng failed ({err.decode(errors='replace').strip()[-200:]})"
                    )
            except (OSError, subprocess.TimeoutExpired) as e:
                if self._tts_proc is not None:
                    self._tts_proc.kill()
                self.get_logger().warning(f"tts: {e}")
            finally:
                self._muted_until = time.monotonic() + c.tts_mute_tail_s

    def close(self) -> None:
        """Stop the microphone, the speaker and the worker (called by spin_node at shutdown)."""
        if self._mic_stream is not None:
            self._mic_stream.stop()
            self._mic_stream.close()
        if self._tts_proc is not None and self._tts_proc.poll() is None:
            self._tts_proc.kill()
        try:
            self._tts_jobs.put_nowait(None)
        except queue.Full:
            pass  # a full queue: the speaker is still alive after the joins, see spin.leave
        self._jobs.put(None)
        self._worker.join(timeout=2.0)
        if self._espeak:
            self._tts_thread.join(timeout=0.5)


def main(argv: list[str] | None = None) -> int:
    return spin_node(VoiceNode, argv)
