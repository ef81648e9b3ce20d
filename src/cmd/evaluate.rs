//! `plec evaluate`: metrics of a checkpoint on the eval data, appended to `model_dir/eval_result.txt`.

use std::path::PathBuf;

use plec_trainer::checkpoint::load_model;
use plec_trainer::evaluate::{append_result, evaluate_input};
use plec_trainer::train::{parse_device, set_up_torch};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pipeline config (TorchEasyRec text format).
    #[arg(long)]
    pub config: PathBuf,
    /// Checkpoint folder (`<model_dir>/ckpt-<step>`) or a model_dir (its latest checkpoint).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluation data, overriding `eval_input_path`.
    #[arg(long)]
    pub eval_input: Option<String>,
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loaded = plec_config::load_file(&args.config)?;
    let mut spec = loaded.spec;
    set_up_torch(0, args.threads);
    let device = parse_device(&args.device)?;
    let checkpoint = plec_spec::artifact::checkpoint::resolve(&args.checkpoint)?.dir;
    let input = match args.eval_input {
        Some(path) => {
            plec_trainer::data::use_local_dataset(&mut spec, &path)?;
            path
        }
        None if !spec.paths.eval_input.contains("://") && !spec.paths.eval_input.is_empty() => {
            spec.paths.eval_input.clone()
        }
        None => anyhow::bail!("eval_input_path {:?} is not a local path: pass --eval-input", spec.paths.eval_input),
    };
    let model = load_model(&spec, &checkpoint, device)?;
    let meta = plec_trainer::checkpoint::read_meta(&checkpoint, &model)?;
    let values = evaluate_input(&model, &spec, &input)?;
    // The checkpoint's model_dir is its parent folder.
    let model_dir = checkpoint.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let line = append_result(&model_dir, meta.step, &values)?;
    println!("{line}");
    // On stderr: stdout stays the one JSON line that eval_result.txt holds.
    for legend in plec_trainer::metrics::auc_legend(&spec.towers) {
        eprintln!("{legend}");
    }
    Ok(())
}
