pub mod bench;
pub mod check;
pub mod compile;
pub mod datagen;
pub mod dump;
pub mod evaluate;
pub mod experiment;
pub mod export_triton;
pub mod import;
pub mod predict;
pub mod synthetic_shape;
pub mod train;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context;
use plec_config::artifact::checkpoint::CONFIG_FILE;

/// The config to use: the explicit one, or the `pipeline.config` in `near` or up to `levels - 1` folders above it.
pub fn config_near(explicit: Option<&Path>, near: &Path, levels: usize) -> anyhow::Result<PathBuf> {
    if let Some(config) = explicit {
        return Ok(config.to_path_buf());
    }
    near.ancestors().take(levels).map(|dir| dir.join(CONFIG_FILE)).find(|path| path.is_file()).with_context(|| {
        format!("no --config given and no {CONFIG_FILE} in or above {}: pass --config", near.display())
    })
}
