//! `plec bench`: latency and throughput of a compiled model per batch size, on inputs generated from its signature.

use std::path::PathBuf;

use plec_runtime::bench::{bench, BenchResult};
use plec_runtime::{Device, Model, OptimizationLevel, RunOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The compiled model (`plec compile` output).
    pub model: PathBuf,
    /// Batch sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64,256,8192")]
    pub batch_sizes: Vec<usize>,
    /// ONNX Runtime threads inside one run (default: ONNX Runtime's choice, one per physical core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed calls per batch size.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// Untimed calls per batch size before timing.
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// cpu, cuda[:N] or tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// `cpu`: run on the CPU when the device cannot be used (reported) instead of failing.
    #[arg(long)]
    pub fallback: Option<Fallback>,
    /// ONNX Runtime graph optimisations: disable, basic, extended or all.
    #[arg(long, default_value = "all")]
    pub optimization: OptimizationLevel,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub integrity: super::IntegrityArgs,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    Cpu,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.iterations > 0, "--iterations must be at least 1");
    anyhow::ensure!(args.batch_sizes.iter().all(|&b| b > 0), "batch sizes must be at least 1");
    let options = RunOptions {
        device: args.device,
        intra_threads: args.threads,
        optimization_level: args.optimization,
        fallback_cpu: args.fallback == Some(Fallback::Cpu),
        max_sessions: Some(1),
        integrity: args.integrity.check(),
        ..RunOptions::default()
    };
    let model = Model::load(&args.model, &options)?;
    let results = bench(&model, &args.batch_sizes, args.iterations, args.warmup)?;
    if args.json {
        let report = serde_json::json!({
            "model": args.model.display().to_string(),
            "device": model.device_report().to_string(),
            "threads": args.threads,
            "integrity": model.integrity_line(),
            "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&model, &results));
    }
    Ok(())
}

fn table(model: &Model, results: &[BenchResult]) -> String {
    let mut text =
        format!("model {} on {}\n{}\n", model.path().display(), model.device_report(), model.integrity_line());
    text.push_str("(bare: ONNX Runtime alone on inputs converted once; overhead: checks, conversions, copies)\n");
    text.push_str(&format!(
        "{:>8} {:>8} {:>12} {:>12} {:>12} {:>14} {:>12} {:>12}\n",
        "batch", "calls", "median µs", "p90 µs", "p99 µs", "rows/s", "bare µs", "overhead µs"
    ));
    for r in results {
        text.push_str(&format!(
            "{:>8} {:>8} {:>12.1} {:>12.1} {:>12.1} {:>14.0} {:>12.1} {:>12.1}\n",
            r.batch_size,
            r.iterations,
            r.median_us,
            r.p90_us,
            r.p99_us,
            r.rows_per_second,
            r.bare_median_us,
            r.overhead_us
        ));
    }
    text
}
