//! `plec predict`: score CSV or Parquet rows with a compiled model, one output row per input row, in order.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use plec_data::{resolve_inputs, CsvOptions};
use plec_runtime::predict::{predict, PredictOptions, Progress};
use plec_runtime::{Device, Model, RunOptions};

use super::bench::Fallback;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The compiled model (`plec compile` output).
    pub model: PathBuf,
    /// Input files: paths, directories or globs, comma-separated or repeated (CSV with a header, or Parquet).
    #[arg(long, required = true)]
    pub input: Vec<String>,
    /// Output file: .csv or .parquet.
    #[arg(long)]
    pub output: PathBuf,
    /// Rows per model call.
    #[arg(long, default_value_t = 1024)]
    pub batch_size: usize,
    /// Input columns to copy into the output, before the predictions (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub keep_columns: Vec<String>,
    /// Write rows that cannot be scored here (CSV: output row, file, row, line, column, reason) and score the
    /// others; their predictions are left empty. Without it, a bad row stops the run.
    #[arg(long)]
    pub bad_rows: Option<PathBuf>,
    /// Also write every gate's softmax the model outputs (compiled with `plec compile --expose-gates`), one column
    /// per expert after the predictions: `<gate>.softmax_<e>` (e.g. `mmoe.gate_ctr.softmax_0`,
    /// `ple.layer1.gate_shared.softmax_2`).
    #[arg(long)]
    pub expose_gates: bool,
    /// CSV field delimiter of the inputs.
    #[arg(long, default_value = ",")]
    pub delimiter: char,
    /// ONNX Runtime threads inside one run (default: ONNX Runtime's choice, one per physical core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// cpu, cuda[:N] or tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// `cpu`: run on the CPU when the device cannot be used (reported) instead of failing.
    #[arg(long)]
    pub fallback: Option<Fallback>,
    #[command(flatten)]
    pub integrity: super::IntegrityArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    for spec in &args.input {
        inputs.extend(resolve_inputs(spec)?);
    }
    anyhow::ensure!(args.delimiter.is_ascii(), "--delimiter must be one ASCII character");
    let options = RunOptions {
        device: args.device,
        intra_threads: args.threads,
        fallback_cpu: args.fallback == Some(Fallback::Cpu),
        max_sessions: Some(1),
        integrity: args.integrity.check(),
        ..RunOptions::default()
    };
    let model = Model::load(&args.model, &options)?;
    println!("{}", model.integrity_line());
    if let Some(reason) = &model.device_report().fallback_reason {
        eprintln!("warning: running on the CPU: {reason}");
    }
    let predict_options = PredictOptions {
        inputs,
        output: args.output.clone(),
        batch_size: args.batch_size,
        keep_columns: args.keep_columns,
        bad_rows: args.bad_rows.clone(),
        csv: CsvOptions { delimiter: args.delimiter as u8, ..CsvOptions::default() },
        gates: args.expose_gates,
        interrupt: Some(crate::interrupt::install()),
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut last = Duration::ZERO;
    let mut report = |p: Progress| {
        if show_progress && p.elapsed >= last + Duration::from_millis(250) {
            last = p.elapsed;
            let rate = p.rows as f64 / p.elapsed.as_secs_f64().max(1e-9);
            eprint!("\rscored {} rows ({} bad), {:.0} rows/s", p.rows, p.bad_rows, rate);
        }
    };
    let summary = predict(&model, &predict_options, &mut report)?;
    if show_progress {
        eprintln!();
    }
    let seconds = summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "scored {} rows from {} file(s) into {} in {:.2}s ({:.0} rows/s; model time {:.2}s)",
        summary.rows,
        summary.files,
        args.output.display(),
        seconds,
        summary.rows as f64 / seconds,
        summary.inference.as_secs_f64()
    );
    if summary.bad_rows > 0 {
        let file = args.bad_rows.as_ref().map_or_else(String::new, |p| p.display().to_string());
        println!("{} bad row(s) left empty in the output, listed in {file}", summary.bad_rows);
    }
    Ok(())
}
