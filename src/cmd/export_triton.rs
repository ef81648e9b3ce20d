//! `plec export-triton`: an NVIDIA Triton model repository entry for a compiled model.

use std::path::PathBuf;

use anyhow::Context;
use plec_runtime::{triton, Model, RunOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The compiled model (`plec compile` output).
    pub model: PathBuf,
    /// The Triton model repository folder; the model goes to DIR/<name>/1/model.onnx with DIR/<name>/config.pbtxt.
    pub dir: PathBuf,
    /// Model name in Triton (default: the model file's name without extension).
    #[arg(long)]
    pub name: Option<String>,
    /// Triton's max_batch_size: the largest batch its dynamic batcher forms.
    #[arg(long, default_value_t = triton::DEFAULT_MAX_BATCH_SIZE)]
    pub max_batch_size: u32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Loading checks the model is a plec model whose graph matches its signature before anything is written.
    let model = Model::load(&args.model, &RunOptions::default())?;
    let name = args.name.unwrap_or_else(|| triton::default_name(&args.model));
    let folder =
        triton::export(&args.model, model.signature(), model.gate_outputs(), &args.dir, &name, args.max_batch_size)
            .with_context(|| format!("exporting {} to {}", args.model.display(), args.dir.display()))?;
    println!("wrote {} (config.pbtxt, 1/model.onnx)", folder.display());
    Ok(())
}
