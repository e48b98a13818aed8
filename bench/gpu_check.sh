#!/usr/bin/env bash
# The language model on a GPU, checked and measured in one short call (issue 10).
#
# Run it on the GPU machine from the repository root, with .gpu carried (build it here first with
# `.venv/bin/python tools/gpu_wheels.py build`):
#     bash bench/gpu_check.sh            # writes under $OUT (default /tmp/gpu_check)
#     STAGES=check,bench bash bench/gpu_check.sh   # some stages only (check,bench,extra,cpu)
# On a machine without CUDA it says "no CUDA" and runs the CPU rows only, quickly
# (`PYTHON=.venv/bin/python bash bench/gpu_check.sh` here, as a dry run).
#
# Why this shape: the GPU machine has torch, transformers and CUDA 13.0 but no bitsandbytes,
# xgrammar or pydantic and no registry, and device time is minutes. So it installs the carried
# wheels (only those whose package is missing) into /tmp, prints what it runs on, checks that
# every CUDA path gives the CPU's tokens on a slice of real SmolLM2 weights, then benchmarks
# random-weight 135M and 1.5B architectures (speed does not depend on the weights' values).
# Each stage has a time budget so that the whole call ends well inside the 600 s limit, and
# every result file is written as it goes.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
PY=${PYTHON:-python3}
GPU_DIR=${GPU_DIR:-.gpu}
STAGES=",${STAGES:-check,bench,extra,cpu},"
want() { [[ "$STAGES" == *",$1,"* ]] || { echo "$1: skipped (STAGES)"; return 1; }; }
ran() { echo "$1 exit code: $2"; }
SITE=/tmp/gpu_site
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
T0=$(date +%s)
stage() { echo; echo "== $* (t=$(($(date +%s) - T0)) s)"; }

stage "machine"
date -u
uname -srm
if command -v nvidia-smi >/dev/null; then
    nvidia-smi | tee "$OUT/nvidia-smi.txt"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
else
    echo "no nvidia-smi"
fi

stage "carried wheels"
missing=()
for whl in "$GPU_DIR"/wheels/*.whl; do
    [ -e "$whl" ] || { echo "no wheels in $GPU_DIR/wheels (tools/gpu_wheels.py build)"; break; }
    dist=$(basename "$whl" | cut -d- -f1)
    version=$(basename "$whl" | cut -d- -f2)
    # Installed at this very version already? (An older one can break its users: pydantic 2.14
    # fails on typing-inspection 0.4.2.)
    if "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('$dist') != '$version')" \
        2>/dev/null; then
        echo "have $dist $version"
    else
        missing+=("$whl")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]##*/}"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" "${missing[@]}" || echo "WARNING: wheel install failed"
fi
export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
"$PY" - <<'EOF'
import importlib.metadata as md, platform, torch
import pydantic, xgrammar  # noqa: F401 - fail here, loudly, if a carried wheel does not fit
from synth_agent.core.schemas import Plan  # noqa: F401
names = ("torch", "transformers", "bitsandbytes", "xgrammar", "pydantic", "torchao", "accelerate")
v = {n: (md.version(n) if __import__("importlib").util.find_spec(n.replace("-", "_")) else None)
     for n in names}
print("python", platform.python_version(), v)
print("cuda", torch.cuda.is_available(), torch.version.cuda,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
EOF
if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    CUDA=1
else
    CUDA=0
    echo "no CUDA: the CUDA rows are skipped; running the CPU rows only (quick)"
fi

stage "correctness: every path vs CPU generate on a slice of real SmolLM2 weights"
SLICE=/tmp/smollm2-slice
if [ -f "$GPU_DIR/smollm2-slice/slice.safetensors" ]; then
    [ -f "$SLICE/config.json" ] || "$PY" tools/gpu_wheels.py unpack-slice "$GPU_DIR/smollm2-slice" "$SLICE"
    want check && { timeout 100 "$PY" bench/llm_bench.py --check "$SLICE" --threads 4 \
        --out "$OUT/llm_check.json"; ran check $?; }
    TOKENIZER=$SLICE
else
    echo "no $GPU_DIR/smollm2-slice: correctness check skipped"
    TOKENIZER=""
fi

stage "benchmark"
TOK_ARG=()
[ -n "$TOKENIZER" ] && TOK_ARG=(--tokenizer "$TOKENIZER")
if [ "$CUDA" = 1 ]; then
    want bench && { timeout 200 "$PY" bench/llm_bench.py --no-real "${TOK_ARG[@]}" \
        --devices cuda --random-weights smollm2-135m,qwen2.5-1.5b --quant bf16,4bit,none \
        --decode graph,static,generate --repeats 2 --deadline-s 150 --keep \
        --out "$OUT/llm_bench.json"; ran bench $?; }
    stage "benchmark: torchao and 8-bit (8-bit is slow; what time allows)"
    want extra && { timeout 120 "$PY" bench/llm_bench.py --no-real "${TOK_ARG[@]}" \
        --devices cuda --random-weights smollm2-135m,qwen2.5-1.5b --quant int4wo,int8wo,8bit \
        --decode graph,static,generate --repeats 1 --deadline-s 80 --plan-tokens 48 \
        --out "$OUT/llm_bench_8bit.json"; ran extra $?; }
    CPU_ARGS=(--repeats 2 --deadline-s 25)
    CPU_TIMEOUT=70
else
    echo "no CUDA: CUDA benchmark skipped"
    CPU_ARGS=(--quick --deadline-s 200)
    CPU_TIMEOUT=400
fi
stage "CPU baseline"
want cpu && { timeout "$CPU_TIMEOUT" "$PY" bench/llm_bench.py --no-real "${TOK_ARG[@]}" \
    --devices cpu --random-weights smollm2-135m --quant none --decode generate,static \
    --threads "${THREADS:-8}" "${CPU_ARGS[@]}" --out "$OUT/llm_bench_cpu.json"; ran cpu $?; }
stage "done"
ls -la "$OUT"
