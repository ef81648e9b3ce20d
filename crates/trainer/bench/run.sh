#!/usr/bin/env bash
# Training throughput, plec (tch) vs a PyTorch eager loop, in one run.
# Usage: crates/trainer/bench/run.sh [--configs example|plain-vs-sequence] [--rounds N] [--batch N] [--steps N]
#        [--repeats N] [--threads N] [--warmup N]
#   example (default): the example config's model shape, plus the dense matmuls alone (--gemm-floor).
#   plain-vs-sequence: TorchEasyRec's taobao_ple and taobao_ple_has_sequence configs on both sides, interleaved
#     (plec plain, torch plain, plec sequence, torch sequence) --rounds times (default 3); the summary takes the
#     median over every repeat of every round.
# The other options go to both sides. TRAIN_BENCH=path runs that train_bench binary instead of building the
# release one (for smoke tests with a debug build; its numbers mean nothing).
# The PyTorch side needs a full torch install: it goes into .native/bench-venv (created here, ~4.7 GB), never into
# the project's .native/venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
configs=example
rounds=3
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) configs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$configs" in
  example | plain-vs-sequence) ;;
  *) echo "run.sh: --configs is example or plain-vs-sequence, not '$configs'" >&2; exit 2 ;;
esac
venv=.native/bench-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$venv"
  # No pip cache: it would keep a second copy of the ~4.7 GB download.
  "$venv/bin/pip" install --quiet --no-cache-dir "torch==2.13.0"
fi
bench="${TRAIN_BENCH:-}"
if [ -z "$bench" ]; then
  cargo build --release --workspace --example train_bench
  bench=target/release/examples/train_bench
fi
torch_bench=("$venv/bin/python" crates/trainer/bench/torch_bench.py)
out=$(mktemp -d)

if [ "$configs" = example ]; then
  # Alternate the two sides so that machine noise hits both alike.
  "$bench" examples/ple_taobao.config "${args[@]}" | tee -a "$out/all"
  "${torch_bench[@]}" "${args[@]}" | tee -a "$out/all"
  "${torch_bench[@]}" --gemm-floor "${args[@]}" | tee -a "$out/all"
  python3 - "$out/all" <<'PY'
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
  exit 0
fi

# plain-vs-sequence: one file per side and config, every round appended, so that the summary sees all repeats.
configs_dir=tests/configs/torcheasyrec
for ((round = 1; round <= rounds; round++)); do
  echo "# round $round of $rounds" >&2
  for kind in plain sequence; do
    if [ "$kind" = plain ]; then model=taobao_ple; else model=taobao_ple_has_sequence; fi
    "$bench" "$configs_dir/$model.config" "${args[@]}" | tee -a "$out/plec.$kind"
    "${torch_bench[@]}" --model "$model" "${args[@]}" | tee -a "$out/pytorch.$kind"
  done
done
python3 - "$out" "$rounds" "${args[@]}" <<'PY'
import json, os, statistics, sys
out, rounds, passed = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def rates(name):
    # Per-repeat lines only (the summary lines carry a median, not a repeat).
    lines = [json.loads(l) for l in open(os.path.join(out, name)) if l.startswith("{")]
    return [r["samples_per_s"] for r in lines if "repeat" in r]


median = {(side, kind): statistics.median(rates(f"{side}.{kind}"))
          for side in ("plec", "pytorch") for kind in ("plain", "sequence")}
summary = {"configs": "plain-vs-sequence", "rounds": rounds, "args": " ".join(passed)}
for kind, config in (("plain", "taobao_ple"), ("sequence", "taobao_ple_has_sequence")):
    plec, torch = median["plec", kind], median["pytorch", kind]
    summary[kind] = {"config": config, "plec_samples_per_s": round(plec, 1),
                     "pytorch_eager_samples_per_s": round(torch, 1), "plec_over_pytorch": round(plec / torch, 2)}
# What the sequence group costs each side: below 1 is the slowdown from the DIN encoder and its lookups.
summary["sequence_over_plain"] = {
    side: round(median[side, "sequence"] / median[side, "plain"], 2) for side in ("plec", "pytorch")}
print(json.dumps(summary))
PY
