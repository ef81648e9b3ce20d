//! What the integrity check adds to loading a model (`BENCHMARKS.md`, "Integrity check at load"):
//!
//!     cargo run --release -p plec-runtime --example integrity_cost -- MODEL.onnx [REPEATS]
//!
//! Loads the model REPEATS times (default 7) with the check and without it, interleaved, and prints the medians of
//! the whole load (file read, hashing, session creation) and of the hashing alone, as JSON.

use std::time::Instant;

use plec_runtime::{IntegrityCheck, Model, RunOptions};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args.first().ok_or("usage: integrity_cost MODEL.onnx [REPEATS]")?;
    let repeats: usize = args.get(1).map_or(Ok(7), |r| r.parse())?;
    let (mut checked, mut skipped, mut hashing) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeats.max(1) {
        for integrity in [IntegrityCheck::Check, IntegrityCheck::Skip] {
            let options = RunOptions { integrity, max_sessions: Some(1), ..RunOptions::default() };
            let started = Instant::now();
            let loaded = Model::load(model, &options)?;
            let seconds = started.elapsed().as_secs_f64();
            match loaded.integrity() {
                Some(report) => {
                    checked.push(seconds);
                    hashing.push(report.seconds);
                }
                None => skipped.push(seconds),
            }
        }
    }
    let bytes = std::fs::metadata(model)?.len();
    let (checked, skipped, hashing) = (median(checked), median(skipped), median(hashing));
    println!(
        "{{\"model\": {model:?}, \"bytes\": {bytes}, \"repeats\": {repeats}, \"load_checked_s\": {checked:.4}, \
         \"load_skipped_s\": {skipped:.4}, \"hash_s\": {hashing:.4}, \"hash_share_of_checked_load\": {:.3}}}",
        hashing / checked
    );
    Ok(())
}
