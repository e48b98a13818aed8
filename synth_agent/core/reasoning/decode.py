"""Greedy decoding for the local language model: transformers' `generate`, or our own loop over a
static KV cache whose one-token step is replayed from a CUDA graph on a GPU.

Why a loop of our own (issue 10): on a GPU a small model decodes launch-bound. SmolLM2-135M's 30
layers are several hundred small kernels per token; `generate` measured ~24 ms per token on an
H100 whatever the precision, so 4-bit weights bought memory, not speed. Capturing the one-token
step once in a CUDA graph and replaying it turns those launches into one.

Why not `torch.compile(mode="reduce-overhead")`: with a static cache it failed on the H100 with
"accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run" - the
logits handed back by one replay *are* the graph's output buffer, and the next replay writes
over them. Here the graph's inputs (token id, position) and output (logits) are buffers this
module owns, and after every replay the logits are copied out (as float32) before anything else
runs; the grammar mask and the argmax work on that copy.

Details that keep the loop exact:
- The attention mask is ours: 4-D, additive, computed from the position buffer inside the graph.
  transformers then skips its own mask builder, which asks the host `padding_mask.all()` (a sync
  that a graph capture refuses).
- transformers' `StaticLayer` keeps its write offset in a device tensor that every forward
  advances in place. The warm-up forwards that must precede a capture would spend cache slots,
  so the offsets are saved before and restored after them. A replay advances them by one, in
  step with our position buffer.
- Constrained decoding: an xgrammar `GrammarMatcher` (used duck-typed: `is_terminated`,
  `fill_next_token_bitmask`, `accept_token`) fills a 32-bit token bitmask on the CPU; it is
  unpacked and applied with plain torch ops - the same -inf masking as xgrammar's logits
  processor - so no xgrammar GPU kernel (triton, nvcc) is needed on the robot.
- Paths: `generate` (transformers' loop, the reference), `static` (this loop without a graph: runs
  anywhere, and a CPU test holds it to the same tokens as `generate`), `graph` (CUDA only).
  bitsandbytes 8-bit finds outlier columns with host syncs, so it cannot be captured: `auto`
  gives it the `static` loop.

Pure torch + transformers; no rclpy.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

DECODE_PATHS = ("auto", "generate", "static", "graph")
# Quantizations whose forward syncs with the host (LLM.int8 outlier detection): no CUDA graph.
NOT_CAPTURABLE = ("8bit",)
CACHE_STEP = 256  # the static cache grows in steps of this many positions (fewer re-captures)


@dataclass
class DecodeResult:
    """New token ids and where the time went (prefill = prompt forward + first token)."""

    tokens: list[int]
    prompt_tokens: int
    prefill_s: float
    decode_s: float  # time for the tokens after the first
    path: str

    @property
    def decode_tok_s(self) -> float:
        n = len(self.tokens) - 1
        return n / self.decode_s if n > 0 and self.decode_s > 0 else 0.0

    @property
    def prefill_tok_s(self) -> float:
        return self.prompt_tokens / self.prefill_s if self.prefill_s > 0 else 0.0


def resolve_decode(decode: str, device: str, quantization: str) -> tuple[str, str]:
    """(path, why) for a requested decode path on a resolved device; ValueError if impossible."""
    if decode not in DECODE_PATHS:
        raise ValueError(f"decode: {decode!r} is not one of {DECODE_PATHS}")
    if decode == "graph" and device != "cuda":
        raise ValueError("decode: graph needs CUDA (use static on the CPU)")
    if decode == "graph" and quantization in NOT_CAPTURABLE:
        raise ValueError(f"decode: graph cannot capture {quantization} (host syncs in its matmul)")
    if decode != "auto":
        return decode, "asked for"
    if device != "cuda":
        return "generate", "CPU: no launch cost to save"
    if quantization in NOT_CAPTURABLE:
        return "static", f"{quantization} matmul syncs with the host; no CUDA graph"
    return "graph", "CUDA: one graph replay per token"


def unpack_bitmask(bitmask: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Bool [vocab_size] of allowed tokens from xgrammar's int32 bitmask (bit j of word i =
    token 32*i + j); tokens past the mask's width are not allowed."""
    words = bitmask.reshape(-1)
    shifts = torch.arange(32, dtype=torch.int32, device=words.device)
    bits = ((words.unsqueeze(-1) >> shifts) & 1).reshape(-1).bool()
    if bits.numel() >= vocab_size:
        return bits[:vocab_size]
    return torch.cat([bits, bits.new_zeros(vocab_size - bits.numel())])


def apply_bitmask_(logits: torch.Tensor, bitmask: torch.Tensor) -> torch.Tensor:
    """Set disallowed tokens' logits ([vocab]) to -inf in place, as xgrammar does."""
    allowed = unpack_bitmask(bitmask.to(logits.device, non_blocking=True), logits.shape[-1])
    return logits.masked_fill_(~allowed, float("-inf"))


def _cache_kwarg(model) -> str:
    """transformers 5.2x calls the cache `cache`; earlier 5.x `past_key_values`."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class StaticDecoder:
    """Greedy decoding over one reusable static KV cache; the step is a CUDA graph if `graph`.

    Not thread-safe (the caller holds a lock); call under `torch.inference_mode()`.
    """

    def __init__(self, model, graph: bool = False, max_len: int = 1024) -> None:
        self.model = model
        self.use_graph = graph
        self.max_len = max_len
        self.device = model.get_input_embeddings().weight.device
        self.dtype = model.get_input_embeddings().weight.dtype
        self.vocab_size = int(model.config.vocab_size)
        self.note = ""  # why the graph is not used, if it is not
        self._cache_kw = _cache_kwarg(model)
        params = inspect.signature(model.forward).parameters
        self._keep_kw = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        # Earlier transformers write the cache at `cache_position`; 5.2x at the layer's offset.
        self._pass_cache_position = "cache_position" in params
        self.cache = None
        self._graph: torch.cuda.CUDAGraph | None = None
        self._out: torch.Tensor | None = None

    @property
    def path(self) -> str:
        return "graph" if self.use_graph else "static"

    def _ensure_cache(self, need: int) -> None:
        from transformers import StaticCache

        if self.cache is not None and need <= self.max_len:
            self.cache.reset()  # zeroes in place: the captured graph's addresses stay valid
            return
        if need > self.max_len or self.cache is None:
            self.max_len = max(self.max_len, -(-need // CACHE_STEP) * CACHE_STEP)
        self.cache = StaticCache(config=self.model.config, max_cache_len=self.max_len)
        self._graph = None
        self._out = None
        self._ids = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        self._pos = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        self._slots = torch.arange(self.max_len, device=self.device)

    def _forward(self, ids: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Logits [1, vocab] of the last position; writes the K/V of `ids` at `pos`."""
        blocked = self._slots.view(1, 1, 1, -1) > pos.view(1, 1, -1, 1)
        mask = blocked.to(self.dtype) * torch.finfo(self.dtype).min
        extra = {"cache_position": pos.view(-1)} if self._pass_cache_position else {}
        out = self.model(
            input_ids=ids,
            position_ids=pos,
            attention_mask=mask,
            use_cache=True,
            **{self._cache_kw: self.cache},
            **self._keep_kw,
            **extra,
        )
        return out.logits[:, -1, :]

    def _offsets(self) -> list[torch.Tensor]:
        layers = getattr(self.cache, "layers", [])
        out = [getattr(layer, "cumulative_length", None) for layer in layers]
        return [t for t in out if isinstance(t, torch.Tensor)]

    def _capture(self) -> None:
        """Warm up on a side stream, then capture one step; the buffers must hold a real step.

        The warm-ups compute that same step (same token, same slot), so what they write is what
        the first replay writes again; only the cache offsets they advance are put back."""
        saved = [t.clone() for t in self._offsets()]
        try:
            side = torch.cuda.Stream(device=self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._forward(self._ids, self._pos)
            torch.cuda.current_stream(self.device).wait_stream(side)
            for t, s in zip(self._offsets(), saved, strict=True):
                t.copy_(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._out = self._forward(self._ids, self._pos)
            self._graph = graph
        finally:  # a capture runs nothing, but a failed warm-up may have advanced them
            for t, s in zip(self._offsets(), saved, strict=True):
                t.copy_(s)

    def _step(self, token: int, pos: int) -> torch.Tensor:
        """Float32 logits [vocab] after feeding `token` at `pos` - a copy the next replay
        won't touch."""
        self._ids.fill_(token)
        self._pos.fill_(pos)
        if self.use_graph and self._graph is None:
            try:
                self._capture()
            except Exception as e:  # noqa: BLE001 - keep decoding without the graph, say why
                self.use_graph = False
                self._graph = self._out = None
                self.note = f"graph capture failed, static loop instead: {e}"[:300]
        if self.use_graph:
            self._graph.replay()
            return self._out[0].to(torch.float32, copy=True)
        return self._forward(self._ids, self._pos)[0].to(torch.float32, copy=True)

    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int,
        eos_ids: Iterable[int] = (),
        matcher: Any = None,
        ignore_eos: bool = False,
    ) -> DecodeResult:
        """Greedy tokens after `input_ids` [1, P], under `matcher`'s grammar when given."""
        eos = set(eos_ids)
        prompt = int(input_ids.shape[1])
        self._ensure_cache(prompt + max_new_tokens)
        t0 = time.perf_counter()
        pos = torch.arange(prompt, device=self.device).view(1, -1)
        logits = self._forward(input_ids.to(self.device), pos)[0].to(torch.float32, copy=True)
        bitmask = None
        if matcher is not None:
            bitmask = torch.full((1, -(-self.vocab_size // 32)), -1, dtype=torch.int32)
        tokens: list[int] = []
        t_first = t0
        while True:
            if matcher is not None and not matcher.is_terminated():
                matcher.fill_next_token_bitmask(bitmask)
                apply_bitmask_(logits, bitmask)
            token = int(torch.argmax(logits))
            if not tokens:
                t_first = time.perf_counter()
            tokens.append(token)
            if len(tokens) >= max_new_tokens or (token in eos and not ignore_eos):
                break
            if matcher is not None and not matcher.is_terminated():
                if not matcher.accept_token(token):
                    raise RuntimeError(f"grammar rejected token {token}")
            logits = self._step(token, prompt + len(tokens) - 1)
        t_end = time.perf_counter()
        return DecodeResult(tokens, prompt, t_first - t0, t_end - t_first, self.path)


class _FirstCallClock:
    """A logits processor that only notes when `generate` first asks it (= prefill done)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.first: float | None = None

    def __call__(self, input_ids, scores):
        if self.first is None:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.first = time.perf_counter()
        return scores


def hf_generate(
    model,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    pad_token_id: int | None,
    processors: list | None = None,
    ignore_eos: bool = False,
) -> DecodeResult:
    """transformers' greedy `generate`, timed the same way as `StaticDecoder.generate`."""
    device = model.get_input_embeddings().weight.device
    clock = _FirstCallClock(device)
    extra: dict[str, Any] = {"min_new_tokens": max_new_tokens} if ignore_eos else {}
    t0 = time.perf_counter()
    out = model.generate(
        input_ids=input_ids.to(device),
        attention_mask=torch.ones_like(input_ids, device=device),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        logits_processor=[clock, *(processors or [])],
        pad_token_id=pad_token_id,
        **extra,
    )
    tokens = out[0, input_ids.shape[1] :].tolist()
    t_end = time.perf_counter()
    first = clock.first if clock.first is not None else t_end
    return DecodeResult(tokens, int(input_ids.shape[1]), first - t0, t_end - first, "generate")
