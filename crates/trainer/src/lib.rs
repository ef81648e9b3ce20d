//! plec's trainer: the PLE model, losses, optimizers, metrics, checkpoints and the training loop on libtorch (tch).

pub mod error;
pub mod model;

pub use error::{Result, TrainError};
pub use model::PleModel;
pub mod checkpoint;
pub mod curves;
pub mod data;
pub mod device;
pub mod evaluate;
pub mod golden;
pub mod loss;
pub mod loss_log;
/// The metrics live in plec-metrics (no backend needed), re-exported here under their old path.
pub use plec_metrics as metrics;
pub mod optim;
pub mod plot;
pub mod predict;
#[cfg(test)]
mod reader_panic_tests;
pub mod shuffle;
pub mod testing;
pub mod train;
