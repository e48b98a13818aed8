"""Build `.gpu/`, the git-ignored folder that `bench/gpu_check.sh` needs on a GPU machine.

    .venv/bin/python tools/gpu_wheels.py build            # here, where PyPI is reachable
    python3 tools/gpu_wheels.py unpack-slice .gpu/smollm2-slice /tmp/slice   # there

Why: the GPU machine has torch, transformers and CUDA 13.0 (Python 3.12) but no bitsandbytes,
xgrammar or pydantic, reaches no registry, and receives at most 64 MiB of files in all. So:
- `wheels/`: the cp312 manylinux wheels of what it lacks, downloaded with pip (--no-deps), and
  bitsandbytes trimmed to its Python files plus `libbitsandbytes_cuda130.so` (and the 60 kB CPU
  library): the full wheel carries a dozen CUDA builds (43 MB zipped, 125 MB installed).
  bitsandbytes 0.50.2: transformers 5 wants >= 0.46.1, and 0.50 ships the CUDA 13.0 build.
- `smollm2-slice/`: a slice of the bundled SmolLM2-135M's real weights for the correctness check
  (its full weights are 538 MB): the tokenizer, the embedding (tied to the output head) and the
  first `--layers` decoder layers, with 2-D weights stored as int8 with one float scale per row.
  `unpack-slice` turns it back into an ordinary float32 model folder there; the CPU and the CUDA
  paths then load the very same (int8-rounded) values, so their tokens can be compared exactly.
Nothing here imports synth_agent, so `unpack-slice` runs with only torch and safetensors.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BNB = "bitsandbytes==0.50.2"
BNB_KEEP_LIBS = ("libbitsandbytes_cuda130.so", "libbitsandbytes_cpu.so")
# Not a dependency of synth_agent (nothing in requirements.txt): the benchmark's int8wo / int4wo
# rows. 0.17 runs on the GPU image's torch 2.11 (tinygemm int4 needs no extra kernels package).
TORCHAO = "torchao==0.17.0"
# What the GPU image lacks for synth_agent's reasoning core, at requirements.txt's pins (read
# from it, so that the two cannot drift: pydantic 2.14 fails with typing-inspection 0.4.2).
LACKING = (
    "xgrammar", "apache-tvm-ffi", "pydantic", "pydantic-core", "typing-inspection",
    "annotated-types", "typing-extensions",
)  # fmt: skip


def pinned(names: tuple[str, ...], requirements: Path = ROOT / "requirements.txt") -> tuple:
    """`name==version` for each of `names`, as requirements.txt pins it (- and _ alike)."""
    pins = {}
    for line in requirements.read_text().splitlines():
        spec = line.split("#")[0].strip()
        if "==" in spec:
            name, version = spec.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    missing = [n for n in names if n not in pins]
    if missing:
        raise SystemExit(f"requirements.txt pins none of {missing}")
    return tuple(f"{n}=={pins[n]}" for n in names)


PLATFORMS = (
    "manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64", "manylinux2014_x86_64",
)  # fmt: skip
SLICE_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
               "generation_config.json", "special_tokens_map.json")  # fmt: skip


def download(specs: tuple[str, ...], dest: Path) -> None:
    """cp312 manylinux wheels of `specs` into `dest` (no dependencies)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp", "-d", str(dest)]  # fmt: skip
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    subprocess.run([*cmd, *specs], check=True)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def trim_wheel(src: Path, dest: Path, keep_libs: tuple[str, ...]) -> Path:
    """A copy of wheel `src` without the shared libraries not in `keep_libs`; RECORD rewritten."""
    out = dest / src.name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        record_name = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        lines = []
        for info in zin.infolist():
            name = info.filename
            if name == record_name:
                continue
            if name.endswith(".so") and Path(name).name not in keep_libs:
                continue
            data = zin.read(name)
            zout.writestr(info, data)
            lines.append(_record_line(name, data))
        lines.append(f"{record_name},,")
        zout.writestr(record_name, "\n".join(lines) + "\n")
    return out


def quantize_rows(weight):
    """(int8 [rows, cols], float32 scale [rows]): weight ~= q * scale / 127."""
    import torch

    w = weight.to(torch.float32)
    scale = w.abs().amax(dim=1).clamp(min=1e-12)
    q = torch.round(w / scale[:, None] * 127).clamp(-127, 127).to(torch.int8)
    return q, scale


def build_slice(model_dir: Path, out: Path, layers: int) -> None:
    """The tokenizer, embedding and first `layers` layers of `model_dir`, 2-D weights in int8."""
    from safetensors.torch import load_file, save_file

    config = json.loads((model_dir / "config.json").read_text())
    config["num_hidden_layers"] = layers
    state = load_file(str(model_dir / "model.safetensors"))
    kept = {}
    for name, tensor in state.items():
        if name.startswith("model.layers."):
            if int(name.split(".")[2]) >= layers:
                continue
        elif name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        if tensor.ndim == 2:
            q, scale = quantize_rows(tensor)
            kept[name + ".q8"] = q
            kept[name + ".scale"] = scale
        else:
            kept[name] = tensor.float().contiguous()
    out.mkdir(parents=True, exist_ok=True)
    save_file(kept, str(out / "slice.safetensors"), metadata={"format": "int8-rowwise"})
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    for f in SLICE_FILES:
        if (model_dir / f).is_file():
            shutil.copy(model_dir / f, out / f)


def unpack_slice(src: Path, dest: Path) -> None:
    """An ordinary float32 model folder from a slice made by `build_slice`."""
    import torch
    from safetensors.torch import load_file, save_file

    packed = load_file(str(src / "slice.safetensors"))
    state = {}
    for name, tensor in packed.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".q8"):
            base = name.removesuffix(".q8")
            scale = packed[base + ".scale"]
            state[base] = (tensor.to(torch.float32) * (scale[:, None] / 127)).contiguous()
        else:
            state[name] = tensor
    dest.mkdir(parents=True, exist_ok=True)
    save_file(state, str(dest / "model.safetensors"), metadata={"format": "pt"})
    for f in ("config.json", *SLICE_FILES):
        if (src / f).is_file():
            shutil.copy(src / f, dest / f)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(args) -> int:
    out = Path(args.dir)
    wheels = out / "wheels"
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        download((BNB,), Path(tmp))
        full = next(Path(tmp).glob("bitsandbytes-*.whl"))
        trimmed = trim_wheel(full, wheels, BNB_KEEP_LIBS)
        mib = full.stat().st_size / 2**20, trimmed.stat().st_size / 2**20
        print(f"{full.name}: {mib[0]:.1f} MiB -> {mib[1]:.1f} MiB (trimmed)")
    download((*pinned(LACKING), TORCHAO), wheels)
    if args.layers > 0:
        sys.path.insert(0, str(ROOT))
        from synth_agent.core.reasoning.lm import DEFAULT_MODEL, resolve_model

        slice_dir = out / "smollm2-slice"
        shutil.rmtree(slice_dir, ignore_errors=True)
        build_slice(resolve_model(DEFAULT_MODEL), slice_dir, args.layers)
    for p in sorted(out.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size / 2**20:8.2f} MiB  {p.relative_to(out)}")
    total = folder_bytes(out) / 2**20
    print(f"{total:.1f} MiB in {out} (budget {args.budget_mib} MiB; the whole call may carry 64)")
    return 0 if total <= args.budget_mib else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="download and trim the wheels, slice the model")
    b.add_argument("--dir", default=str(ROOT / ".gpu"))
    b.add_argument("--layers", type=int, default=2, help="decoder layers in the slice (0 = none)")
    b.add_argument("--budget-mib", type=float, default=56.0)
    u = sub.add_parser("unpack-slice", help="slice -> float32 model folder")
    u.add_argument("src")
    u.add_argument("dest")
    args = p.parse_args(argv)
    if args.cmd == "build":
        return build(args)
    unpack_slice(Path(args.src), Path(args.dest))
    print(f"unpacked {args.src} -> {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
