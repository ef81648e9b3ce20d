//! `plec import --tzrec-checkpoint DIR --config pipeline.config --model-dir OUT [--golden-data FILES]`: turn a
//! checkpoint that TorchEasyRec's (distributed) training wrote into a plec checkpoint — the weights under plec's
//! names, checked both ways against the config, plus a golden set computed by plec's trainer forward from them —
//! which `plec compile`, `plec evaluate` and `plec verify` then use like one plec trained.

use std::path::{Path, PathBuf};

use anyhow::Context;
use plec_spec::artifact::checkpoint::{self, CONFIG_FILE};

/// The config to use: the explicit one, or the `pipeline.config` in `near` or up to `levels - 1` folders above it.
pub fn config_near(explicit: Option<&Path>, near: &Path, levels: usize) -> anyhow::Result<PathBuf> {
    if let Some(config) = explicit {
        return Ok(config.to_path_buf());
    }
    checkpoint::config_in_or_above(near, levels).with_context(|| {
        format!("no --config given and no {CONFIG_FILE} in or above {}: pass --config", near.display())
    })
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// TorchEasyRec checkpoint: its model_dir (newest `model.ckpt-<step>`), one `model.ckpt-<step>` folder, or that
    /// folder's `model/` (a torch.distributed.checkpoint directory).
    #[arg(long)]
    pub tzrec_checkpoint: PathBuf,
    /// The pipeline config the checkpoint was trained with (default: `pipeline.config` in the TorchEasyRec
    /// model_dir).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// plec model folder to write (`pipeline.config` and `ckpt-<step>/`).
    #[arg(long)]
    pub model_dir: PathBuf,
    /// Rows (CSV / Parquet paths, folders or globs) whose outputs become the golden set, before plec's edge cases
    /// (default: the edge cases only).
    #[arg(long)]
    pub golden_data: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = config_near(args.config.as_deref(), &args.tzrec_checkpoint, CONFIG_SEARCH_LEVELS)?;
    import(&args.tzrec_checkpoint, &config, &args.model_dir, args.golden_data.as_deref())?;
    println!("next: plec compile --checkpoint {} -o model.onnx", args.model_dir.display());
    Ok(())
}

/// Part of the name of the temporary model folder `plec compile --tzrec-checkpoint` imports into.
pub const TEMPORARY_MARK: &str = ".import-";

/// How far up from `--tzrec-checkpoint` its `pipeline.config` is looked for: TorchEasyRec keeps it in the model_dir,
/// two levels above `model.ckpt-<step>/model`.
pub const CONFIG_SEARCH_LEVELS: usize = 3;

/// Imports the checkpoint into `model_dir` and returns the new `ckpt-<step>` folder.
pub fn import(
    checkpoint: &Path,
    config: &Path,
    model_dir: &Path,
    golden_data: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let loaded = plec_config::load_file(config)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let mut spec = loaded.spec;
    let imported = plec_tzrec::import(checkpoint, &spec)?;
    let mut staged = plec_tzrec::stage(&imported, &spec, &loaded.text, model_dir)?;
    let golden = (|| -> anyhow::Result<usize> {
        plec_trainer::train::set_up_torch(0, None);
        let model = plec_trainer::checkpoint::model_from_weights(&spec, &staged.weights)?;
        let files = match golden_data {
            Some(input) => {
                plec_trainer::data::use_local_dataset(&mut spec, input)?;
                Some(plec_trainer::data::input_files(input)?)
            }
            None => None,
        };
        let rows = plec_trainer::golden::golden_rows(&spec, files.as_deref())?;
        let set = plec_trainer::golden::golden_set(&model, &rows)?;
        set.write(&staged.golden_dir())?;
        staged.set_golden(&set);
        Ok(set.rows())
    })();
    let rows = match golden {
        Ok(rows) => rows,
        Err(error) => {
            staged.abandon();
            return Err(error);
        }
    };
    let folder = staged.finish()?;
    let sharded: usize = imported.sharded.iter().map(|(_, chunks)| chunks).sum();
    println!(
        "read {} tensors of TorchEasyRec checkpoint {} (step {}, keys prefixed `{}`): {} sharded tensor(s) \
         assembled from {} chunks; {} BatchNorm step counter(s) not needed",
        imported.tensors.len(),
        imported.source.display(),
        imported.step,
        imported.prefix,
        imported.sharded.len(),
        sharded,
        imported.skipped.len()
    );
    println!(
        "{} {} (weights, and a golden set of {rows} rows from plec's trainer forward{})",
        if model_dir.file_name().is_some_and(|n| n.to_string_lossy().contains(TEMPORARY_MARK)) {
            "staged (temporary)"
        } else {
            "wrote"
        },
        folder.display(),
        if golden_data.is_some() { "" } else { ": edge cases only, pass --golden-data for real rows" }
    );
    Ok(folder)
}
