//! The `plec` command line: argument parsing, then library calls.

mod cmd;
mod interrupt;
mod report;

use clap::{Parser, Subcommand};

/// Train, compile to ONNX, run and verify TorchEasyRec PLE multi-task rankers.
#[derive(Parser, Debug)]
#[command(name = "plec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a config and summarise the model it describes.
    Check(cmd::check::Args),
    /// Train a model from a config on CSV or Parquet data.
    Train(cmd::train::Args),
    /// Evaluate a checkpoint on the eval data.
    Evaluate(cmd::evaluate::Args),
    /// Turn a TorchEasyRec checkpoint into a plec checkpoint (weights checked against the config, golden set).
    Import(cmd::import::Args),
    /// Lower a config and its weights into one ONNX model.
    Compile(cmd::compile::Args),
    /// Print a compiled model as deterministic text.
    Dump(cmd::dump::Args),
    /// Check a compiled model against its golden outputs.
    Verify(cmd::verify::Args),
    /// Score CSV or Parquet rows with a compiled model.
    Predict(cmd::predict::Args),
    /// Measure a compiled model's latency and throughput.
    Bench(cmd::bench::Args),
    /// Write an NVIDIA Triton model repository for a compiled model.
    ExportTriton(cmd::export_triton::Args),
    /// Generate synthetic data sets.
    Datagen(cmd::datagen::Args),
    /// Run the PLE paper's experiments (census, synthetic): train over seeds, test, table and chart.
    Experiment(cmd::experiment::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Evaluate(args) => cmd::evaluate::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Dump(args) => cmd::dump::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Predict(args) => cmd::predict::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::ExportTriton(args) => cmd::export_triton::run(args),
        Command::Datagen(args) => cmd::datagen::run(args),
        Command::Experiment(args) => cmd::experiment::run(args),
    };
    if let Err(error) = result {
        eprintln!("error: {}", report::error_line(&error));
        std::process::exit(if interrupt::requested() { interrupt::EXIT_CODE } else { 1 });
    }
}
