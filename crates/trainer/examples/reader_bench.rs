//! The reader thread's time per batch, with no training: `reader_bench CONFIG INPUT [--batch N] [--shuffle N]`
//! (`--shuffle N`: shuffle through a buffer of N batches; 0 or absent reads in file order). Drains one epoch and
//! prints the batches, the seconds and the milliseconds per batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use plec_trainer::data::{self, DataPlan, Message};
use plec_trainer::shuffle::ShufflePlan;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config), Some(input)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: reader_bench CONFIG INPUT [--batch N] [--shuffle N]");
        std::process::exit(2);
    };
    // The allocator settings of `plec train` (freed memory is kept for reuse).
    plec_trainer::train::set_up_torch(1, Some(1));
    let mut spec = plec_config::load_file(config).expect("config").spec;
    data::use_local_dataset(&mut spec, input).expect("input");
    let batch_size = arg(&args, "--batch", spec.data.batch_size);
    let buffer_batches = arg(&args, "--shuffle", 0);
    let plan = DataPlan {
        files: data::input_files(input).expect("files"),
        batch_size,
        epochs: Some(1),
        start_epoch: 0,
        skip_rows: 0,
        drop_remainder: false,
        shuffle: (buffer_batches > 0).then_some(ShufflePlan { seed: 1, buffer_batches }),
    };
    let started = Instant::now();
    let (rx, handle) = data::spawn(spec, plan).expect("reader");
    let (mut batches, mut rows) = (0usize, 0usize);
    for message in rx {
        match message {
            Message::Batch(batch) => {
                batches += 1;
                rows += batch.rows;
            }
            Message::EpochEnd(_) => break,
            Message::Failed(error) => panic!("{error}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = handle.join();
    println!(
        "batch {batch_size} shuffle {buffer_batches}: {batches} batches, {rows} rows, {seconds:.2} s, {:.1} ms/batch",
        seconds * 1000.0 / batches.max(1) as f64
    );
}
