//! `plec compile --precision int8` with calibration rows (`--calibration-data`, or the `--eval-data` rows): the
//! float32 model, with every tensor static int8 quantizes as an extra output (`plec_compiler::calibration_model`),
//! scores the rows, and each tensor's smallest and largest value become its int8 range.

use std::path::PathBuf;

use anyhow::Context;
use plec_compiler::{calibration_model, Calibration, CompileOptions, Weights};
use plec_data::{raw_inputs, BatchReader, CsvOptions, ReadOptions};
use plec_runtime::{IntegrityCheck, Model, RawInputs, RunOptions};
use plec_spec::ModelSpec;

/// Rows per call: the extra outputs are every expert's activations, so a small batch keeps them small.
const BATCH: usize = 1024;

/// Calibration reads at most this many rows (the first ones of the files, in order): ranges settle long before,
/// and compile time stays bounded.
pub const MAX_CALIBRATION_ROWS: usize = 65_536;

/// The ranges of `options`' static int8 tensors over (up to [`MAX_CALIBRATION_ROWS`] of) the rows of `files`.
pub fn calibrate(
    spec: &ModelSpec,
    weights: &Weights,
    options: &CompileOptions,
    files: &[PathBuf],
) -> anyhow::Result<Calibration> {
    let (model, taps) = calibration_model(spec, weights, options)?;
    // Never written to disk, so there is nothing to check its hashes against.
    let in_memory = RunOptions { integrity: IntegrityCheck::Skip, ..RunOptions::default() };
    let float = Model::from_bytes(PathBuf::from("<float32 calibration model>"), model.to_bytes()?, &in_memory)?;
    let read = ReadOptions::for_signature(&spec.signature(), BATCH, CsvOptions::from_settings(&spec.data)?);
    let mut calibration = Calibration::default();
    for batch in BatchReader::open(files.to_vec(), read)? {
        let batch = batch?;
        let inputs = RawInputs::from(raw_inputs(float.signature(), &batch)?);
        let outputs = float.run_checked(&inputs, batch.num_rows).context("float32 model on the calibration data")?;
        for tap in &taps {
            let values = outputs.get(tap).with_context(|| format!("calibration: no output `{tap}`"))?;
            calibration.observe(tap, &values.values)?;
        }
        calibration.add_rows(batch.num_rows);
        if calibration.rows() >= MAX_CALIBRATION_ROWS {
            break;
        }
    }
    if calibration.is_empty() {
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!("calibration data {} holds no rows", files.join(", "));
    }
    Ok(calibration)
}
