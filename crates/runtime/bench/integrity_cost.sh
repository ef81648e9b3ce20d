#!/usr/bin/env bash
# What the integrity check costs at load (BENCHMARKS.md, "Integrity check at load"): the example config and
# TorchEasyRec's ple_has_sequence compiled with random weights (fused layout), each loaded 7 times with and without
# the check, interleaved; medians of the whole load and of the hashing alone.
#
#   crates/runtime/bench/integrity_cost.sh [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
work=${1:-out/integrity_cost}
mkdir -p "$work"
cargo build --release --quiet --workspace --example bench_prep --example integrity_cost
lscpu | grep -E 'Model name' || true
for config in examples/ple_taobao.config tests/configs/torcheasyrec/taobao_ple_has_sequence.config; do
  name=$(basename "$config" .config)
  target/release/examples/bench_prep weights "$config" "$work/$name.safetensors" 1
  target/release/examples/bench_prep compile "$config" "$work/$name.safetensors" "$work/$name.onnx" fused >/dev/null
  target/release/examples/integrity_cost "$work/$name.onnx" 7
done
