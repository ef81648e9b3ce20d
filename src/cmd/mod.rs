pub mod bench;
pub mod check;
pub mod compile;
pub mod datagen;
pub mod dump;
#[cfg(feature = "train")]
pub mod evaluate;
#[cfg(feature = "train")]
pub mod experiment;
pub mod export_triton;
#[cfg(feature = "train")]
pub mod import;
pub mod predict;
pub mod synthetic_shape;
#[cfg(feature = "train")]
pub mod train;
pub mod verify;
#[cfg(not(feature = "train"))]
pub mod without_trainer;
#[cfg(not(feature = "train"))]
pub use without_trainer::{evaluate, experiment, import, train};

use std::path::{Path, PathBuf};

use anyhow::Context;
use plec_spec::artifact::checkpoint::{self, CONFIG_FILE};

/// `--config`, else the `pipeline.config` of the resolved checkpoint (its folder or the model_dir above it).
pub fn checkpoint_config(explicit: Option<&Path>, resolved: &checkpoint::Resolved) -> anyhow::Result<PathBuf> {
    if let Some(config) = explicit {
        return Ok(config.to_path_buf());
    }
    resolved.config.clone().with_context(|| {
        format!("no --config given and no {CONFIG_FILE} in or above {}: pass --config", resolved.dir.display())
    })
}

/// `--skip-integrity-check`, shared by the commands that load a compiled model.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct IntegrityArgs {
    /// Load the model without checking its graph and external data against the sha256 its metadata records
    /// (a model compiled before plec recorded them, or from a store that checks files itself).
    #[arg(long)]
    pub skip_integrity_check: bool,
}

impl IntegrityArgs {
    pub fn check(self) -> plec_runtime::IntegrityCheck {
        if self.skip_integrity_check {
            eprintln!("warning: --skip-integrity-check: the model's content hashes are not checked");
            plec_runtime::IntegrityCheck::Skip
        } else {
            plec_runtime::IntegrityCheck::Check
        }
    }
}
