//! Latency and throughput of a loaded model per batch size, on synthetic inputs, measured through
//! [`Model::run`] (input checks included: that is what callers pay).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::Result;
use crate::model::Model;
use crate::synthetic::synthetic_inputs;

#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub batch_size: usize,
    pub iterations: usize,
    pub median_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    /// Rows per second at the mean latency.
    pub rows_per_second: f64,
    /// Median of bare ONNX Runtime runs of the same inputs (converted once; no checks, no output copies).
    pub bare_median_us: f64,
    /// `median_us - bare_median_us`: what plec's checks, conversions, session pool and copies cost per call.
    pub overhead_us: f64,
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e6
}

/// Summary statistics of per-call latencies (bare runs not measured: 0).
pub fn summarize(batch_size: usize, mut samples: Vec<Duration>) -> BenchResult {
    samples.sort();
    let total: f64 = samples.iter().map(Duration::as_secs_f64).sum();
    let mean = if samples.is_empty() { 0.0 } else { total / samples.len() as f64 };
    BenchResult {
        batch_size,
        iterations: samples.len(),
        median_us: percentile(&samples, 50.0),
        p90_us: percentile(&samples, 90.0),
        p99_us: percentile(&samples, 99.0),
        mean_us: mean * 1e6,
        rows_per_second: if mean > 0.0 { batch_size as f64 / mean } else { 0.0 },
        bare_median_us: 0.0,
        overhead_us: 0.0,
    }
}

/// Runs `warmup` untimed then `iterations` timed calls per batch size, each followed by a bare ONNX Runtime run of
/// the same inputs on a second session (interleaved, so load changes hit both alike).
pub fn bench(model: &Model, batch_sizes: &[usize], iterations: usize, warmup: usize) -> Result<Vec<BenchResult>> {
    let mut results = Vec::new();
    for &batch in batch_sizes {
        let inputs = synthetic_inputs(model.signature(), batch, 0x5eed ^ batch as u64);
        let mut bare = model.bare_runner(&inputs)?;
        for _ in 0..warmup {
            model.run(&inputs)?;
            bare.run_once()?;
        }
        let mut samples = Vec::with_capacity(iterations);
        let mut bare_samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let outputs = model.run(&inputs)?;
            samples.push(start.elapsed());
            std::hint::black_box(outputs);
            bare_samples.push(bare.run_once()?);
        }
        let mut result = summarize(batch, samples);
        bare_samples.sort();
        result.bare_median_us = percentile(&bare_samples, 50.0);
        result.overhead_us = result.median_us - result.bare_median_us;
        results.push(result);
    }
    Ok(results)
}
