"""The pocketsphinx fallback: a JSGF grammar built from the skill registry, selected by
`engine: pocketsphinx`, on grammar sentences synthesized with espeak-ng.

Skipped with the reason when pocketsphinx (29 MB wheel, optional) or espeak-ng is missing.
Measured here: the CMU en-us acoustic model matches espeak-ng's formant voice poorly, so the
test asserts what the engine guarantees (only grammar sentences or nothing come out, partial
decodes are never confident) and a floor on exact sentences, not exactness.
"""

from __future__ import annotations

import pytest

from synth_agent.core.voice import (
    SphinxTranscriber,
    VoiceConfig,
    jsgf_grammar,
    load_audio,
    make_transcriber,
    normalize,
    registry_vocabulary,
)
from test.core.voice_synth import ESPEAK, synthesize

# Grammar sentences, spoken by espeak-ng "en-us" at 160 wpm (the closer voice for the CMU model).
GRAMMAR_SENTENCES = [
    "stop",
    "turn left ninety degrees",
    "drive forward two meters",
    "pick up the green box",
    "navigate to the kitchen",
    "find the red cup",
    "wait five seconds",
    "follow me",
]


def test_grammar_is_built_from_the_registry():
    grammar = jsgf_grammar(registry_vocabulary())
    assert grammar.startswith("#JSGF V1.0;")
    for word in ("kitchen", "living room", "red cup", "degrees", "navigate to", "halt"):
        assert word in grammar
    assert VoiceConfig(engine="pocketsphinx").engine == "pocketsphinx"
    with pytest.raises(ValueError, match="engine"):
        VoiceConfig(engine="vosk")


@pytest.fixture(scope="module")
def sphinx():
    pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed (optional)")
    t = make_transcriber(VoiceConfig(engine="pocketsphinx"))
    assert isinstance(t, SphinxTranscriber)
    return t


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
def test_grammar_sentences_spoken_by_espeak(sphinx, tmp_path_factory):
    cache = tmp_path_factory.mktemp("sphinx_wavs")
    exact = 0
    for said in GRAMMAR_SENTENCES:
        t = sphinx.transcribe(load_audio(synthesize(said, cache, 160, "en-us")))
        exact += normalize(t.text) == normalize(said)
        if normalize(t.text) != normalize(said):
            print(f"{said!r} -> {t.text!r} (confidence {t.confidence})")
    print(f"pocketsphinx: {exact} of {len(GRAMMAR_SENTENCES)} grammar sentences exact")
    assert exact >= 2


def test_a_bad_grammar_file_is_a_clear_error(tmp_path):
    pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed (optional)")
    from synth_agent.core.voice import ModelError

    with pytest.raises(ModelError, match="grammar"):
        SphinxTranscriber(VoiceConfig(engine="pocketsphinx", grammar=str(tmp_path / "none.gram")))
