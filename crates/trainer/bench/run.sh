#!/usr/bin/env bash
# Training throughput, plec (tch) vs a PyTorch eager loop, on the example config's model shape, in one run.
# Usage: crates/trainer/bench/run.sh [--batch N] [--steps N] [--repeats N] [--threads N]
# The PyTorch side needs a full torch install: it goes into .native/bench-venv (created here, ~4.7 GB), never into
# the project's .native/venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
args=("$@")
venv=.native/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.13.0"
fi
cargo build --release -p plec-trainer --example train_bench
out=$(mktemp)
# Alternate the two sides so that machine noise hits both alike.
target/release/examples/train_bench examples/ple_taobao.config "${args[@]}" | tee -a "$out"
"$venv/bin/python" crates/trainer/bench/torch_bench.py "${args[@]}" | tee -a "$out"
"$venv/bin/python" crates/trainer/bench/torch_bench.py --gemm-floor "${args[@]}" | tee -a "$out"
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "median_samples_per_s" in l]
by = {r["impl"]: r["median_samples_per_s"] for r in rows}
if "plec" in by and "pytorch_eager" in by:
    summary = {"plec_samples_per_s": by["plec"], "pytorch_eager_samples_per_s": by["pytorch_eager"],
               "ratio": round(by["plec"] / by["pytorch_eager"], 2)}
    if "gemm_floor" in by:
        # The dense matmuls alone: how close each loop gets to what the BLAS allows.
        summary["gemm_floor_samples_per_s"] = by["gemm_floor"]
        summary["plec_of_floor"] = round(by["plec"] / by["gemm_floor"], 2)
        summary["pytorch_of_floor"] = round(by["pytorch_eager"] / by["gemm_floor"], 2)
    print(json.dumps(summary))
PY
