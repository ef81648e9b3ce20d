//! `plec train`: train a PLE model from a config on local CSV / Parquet files.

use std::path::PathBuf;

use anyhow::Context;
use plec_trainer::train::{parse_device, train, TrainOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pipeline config (TorchEasyRec text format).
    #[arg(long)]
    pub config: PathBuf,
    /// Training data (files, folders or globs, comma-separated), overriding `train_input_path`.
    #[arg(long)]
    pub train_input: Option<String>,
    /// Evaluation data, overriding `eval_input_path`.
    #[arg(long)]
    pub eval_input: Option<String>,
    /// Output folder, overriding `model_dir`.
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    /// Train this many steps in total (repeating the data as needed), overriding num_steps / num_epochs.
    #[arg(long)]
    pub num_steps: Option<u64>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// libtorch threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also evaluate every N steps (besides the evaluation at the end).
    #[arg(long)]
    pub eval_every_steps: Option<u64>,
}

/// A config path that names remote storage (odps://...) cannot be read locally: those need an override.
fn local(path: &str) -> Option<String> {
    if path.is_empty() || path.contains("://") {
        None
    } else {
        Some(path.to_string())
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = plec_config::load_file(&args.config)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let mut spec = loaded.spec;
    let device = parse_device(&args.device)?;
    if spec.data.shuffle {
        eprintln!(
            "shuffling rows through a buffer of {} batches (files in a random order each epoch, seed {})",
            spec.data.shuffle_buffer_size.max(1),
            args.seed
        );
    }
    let train_input = match args.train_input {
        Some(path) => {
            plec_trainer::data::use_local_dataset(&mut spec, &path)?;
            path
        }
        None => local(&spec.paths.train_input).with_context(|| {
            format!("train_input_path {:?} is not a local path: pass --train-input", spec.paths.train_input)
        })?,
    };
    let eval_input = match args.eval_input {
        Some(path) => Some(path),
        None => local(&spec.paths.eval_input),
    };
    if eval_input.is_none() {
        eprintln!(
            "note: no local eval input (eval_input_path {:?}); pass --eval-input to evaluate",
            spec.paths.eval_input
        );
    }
    let model_dir = args.model_dir.unwrap_or_else(|| PathBuf::from(&spec.paths.model_dir));
    let options = TrainOptions {
        config_text: loaded.text,
        train_input,
        eval_input,
        model_dir: model_dir.clone(),
        num_steps: args.num_steps,
        seed: args.seed,
        threads: args.threads,
        device,
        eval_every_steps: args.eval_every_steps,
        progress: true,
        interrupt: Some(crate::interrupt::install()),
    };
    let report = train(&spec, &options)?;
    if let Some(step) = report.resumed_from {
        println!("resumed from step {step}");
    }
    println!(
        "trained {} steps ({} samples, {:.0} samples/s); checkpoint {}",
        report.steps,
        report.samples,
        report.samples_per_second,
        report.checkpoint.display()
    );
    for (task, loss) in &report.last_losses {
        println!("loss_{task} = {loss:.6}");
    }
    if let Some(eval) = &report.eval {
        println!("{}", plec_trainer::evaluate::result_json(report.steps, eval));
        for line in plec_trainer::metrics::auc_legend(&spec.towers) {
            println!("{line}");
        }
    }
    println!("curves: {}", model_dir.join(plec_trainer::train::CURVES_FILE).display());
    Ok(())
}
