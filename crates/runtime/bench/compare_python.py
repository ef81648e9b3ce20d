#!/usr/bin/env python3
"""plec's Rust runtime (`plec bench`, `plec predict`) against Python onnxruntime on the same model file, same run.

    .native/venv/bin/python crates/runtime/bench/compare_python.py [--model M.onnx] [--threads 2] [--out DIR]

1. Model: MODEL, or examples/ple_taobao.config compiled with random weights (seed 0, explicit layout) via the
   compiler's `bench_prep` example.
2. Latency at batch 1 and 256: `plec bench --json` (Model::run: input checks, session pool, copies included;
   also bare ONNX Runtime runs of the same inputs in the same process, whose difference is plec's overhead)
   and Python onnxruntime 1.31.1 (`InferenceSession.run` on numpy arrays), both with THREADS intra-op threads,
   alternated for ROUNDS rounds (so background load hits both alike); per implementation, the median over rounds
   of each round's median / p90 / p99.
3. `plec predict` over a 1,000,000-row Parquet file (`plec datagen taobao`) at batch 8192: rows/s end to end
   (read, convert, check, run, write Parquet) against pure inference throughput (`plec bench` at batch 8192).

Prints a table and writes OUT/results.json. Needs a release build (`cargo build --release`).
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[3]
PLEC = ROOT / "target" / "release" / "plec"
BATCHES = [1, 256]
ROUNDS = 3
ITERATIONS = {1: 2000, 256: 200}
WARMUP = 50
PREDICT_ROWS = 1_000_000
PREDICT_BATCH = 8192
MISSING_EVERY = 16
MULTI_LEN = 4


def run(cmd, **kwargs):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def build_model(out):
    config = ROOT / "examples" / "ple_taobao.config"
    weights = out / "weights.safetensors"
    model = out / "ple_taobao.onnx"
    prep = ["cargo", "run", "--release", "-q", "-p", "plec-compiler", "--example", "bench_prep", "--"]
    if not weights.exists():
        run(prep + ["weights", config, weights, "0"], cwd=ROOT)
    if not model.exists():
        run(prep + ["compile", config, weights, model, "explicit"], cwd=ROOT)
    return model


def synthetic(signature, batch, rng):
    """Inputs of the signature's kinds, like plec's own (valid ids, vocabulary words, 1 in 16 missing)."""
    feeds = {}
    for spec in signature["inputs"]:
        shape = [batch] + [d if isinstance(d, int) else MULTI_LEN for d in spec["shape"][1:]]
        count = int(np.prod(shape))
        missing = rng.integers(0, MISSING_EVERY, count) == 0
        transform = spec.get("transform") or {}
        if spec["dtype"] == "int64":
            lo, hi = spec.get("valid_range") or [0, 1_000_000]
            values = np.where(missing, -1, rng.integers(lo, hi, count)).astype(np.int64)
        elif spec["dtype"] == "string":
            words = transform.get("vocab_list") or [k for k, _ in transform.get("vocab_dict") or []]
            pool = np.array(words or [f"v{i}" for i in range(1000)], dtype=object)
            values = np.where(missing, "", pool[rng.integers(0, len(pool), count)]).astype(object)
        else:
            bounds = transform.get("boundaries") or [0.0, 1.0]
            values = rng.uniform(bounds[0] - 1, bounds[-1] + 1, count).astype(np.float32)
            values[missing] = np.nan
        feeds[spec["name"]] = values.reshape(shape)
    return feeds


def python_latencies(session, signature, batch, iterations):
    feeds = synthetic(signature, batch, np.random.default_rng(batch))
    for _ in range(WARMUP):
        session.run(None, feeds)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feeds)
        samples.append((time.perf_counter() - start) * 1e6)
    return summarize(samples)


def summarize(samples_us):
    samples = sorted(samples_us)

    def pct(p):
        return samples[max(1, math.ceil(p / 100 * len(samples))) - 1]

    return {"median_us": pct(50), "p90_us": pct(90), "p99_us": pct(99)}


def rust_latencies(model, batch, iterations, threads):
    out = run(
        [PLEC, "bench", model, "--batch-sizes", batch, "--iterations", iterations, "--warmup", WARMUP,
         "--threads", threads, "--json"],
        capture_output=True, text=True).stdout
    result = json.loads(out)["results"][0]
    return {k: result[k] for k in ("median_us", "p90_us", "p99_us", "bare_median_us", "overhead_us")}


def median_of_rounds(rounds):
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "bench-runtime")
    parser.add_argument("--skip-predict", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not PLEC.exists():
        sys.exit(f"{PLEC} is missing: run `cargo build --release` first")
    model = args.model or build_model(args.out)

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    signature = json.loads(session.get_modelmeta().custom_metadata_map["plec.signature"])

    results = {"model": str(model), "threads": args.threads, "onnxruntime": ort.__version__, "latency": {}}
    for batch in BATCHES:
        rust_rounds, python_rounds = [], []
        for _ in range(ROUNDS):
            rust_rounds.append(rust_latencies(model, batch, ITERATIONS[batch], args.threads))
            python_rounds.append(python_latencies(session, signature, batch, ITERATIONS[batch]))
        rust, python = median_of_rounds(rust_rounds), median_of_rounds(python_rounds)
        results["latency"][batch] = {"rust": rust, "python": python}

    if not args.skip_predict:
        data = args.out / "taobao-1m"
        if not (data / "train.parquet").exists():
            run([PLEC, "datagen", "taobao", "--rows", PREDICT_ROWS, "--output", data])
        output = args.out / "scores.parquet"
        start = time.perf_counter()
        run([PLEC, "predict", model, "--input", data / "train.parquet", "--output", output,
             "--batch-size", PREDICT_BATCH, "--threads", args.threads], capture_output=True)
        seconds = time.perf_counter() - start
        pure = json.loads(run(
            [PLEC, "bench", model, "--batch-sizes", PREDICT_BATCH, "--iterations", 10, "--warmup", 2,
             "--threads", args.threads, "--json"], capture_output=True, text=True).stdout)["results"][0]
        results["predict"] = {
            "rows": PREDICT_ROWS,
            "batch_size": PREDICT_BATCH,
            "seconds": seconds,
            "rows_per_second": PREDICT_ROWS / seconds,
            "inference_rows_per_second": pure["rows_per_second"],
        }

    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"model {model}, {args.threads} threads, onnxruntime {ort.__version__}")
    print(f"{'batch':>6} {'impl':>7} {'median µs':>10} {'p90 µs':>10} {'p99 µs':>10} {'bare µs':>10} {'overhead µs':>12}")
    for batch, pair in results["latency"].items():
        for impl in ("rust", "python"):
            r = pair[impl]
            extra = f" {r['bare_median_us']:>10.1f} {r['overhead_us']:>12.1f}" if impl == "rust" else ""
            print(f"{batch:>6} {impl:>7} {r['median_us']:>10.1f} {r['p90_us']:>10.1f} {r['p99_us']:>10.1f}{extra}")
    if "predict" in results:
        p = results["predict"]
        print(f"predict {p['rows']} rows: {p['seconds']:.1f} s, {p['rows_per_second']:.0f} rows/s end to end; "
              f"pure inference at batch {p['batch_size']}: {p['inference_rows_per_second']:.0f} rows/s")


if __name__ == "__main__":
    main()
