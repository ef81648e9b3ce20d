//! The data path's time, one thread: `data_path_bench CONFIG INPUT [--repeats N] [--warmup N] [--batch N]`.
//!
//! Each repeat streams every batch of INPUT (files, folders or globs, as `resolve_inputs` reads them) through
//! three stages, each timed on its own around the library call, then times a fourth on its own:
//!
//! - `read`: `BatchReader::open` (which checks every file up front) and `next`, with `ReadOptions::for_spec`
//!   (the columns training reads: features and labels);
//! - `encode`: `encode` with default options (what the trainer's reader thread feeds its model: table rows,
//!   dense values, labels);
//! - `raw`: `raw_inputs` + `check_raw` against `spec.signature()` (the signature `plec compile` writes): the
//!   compiled graph's raw inputs and the id range check, as `plec predict` builds them. `plec predict`'s other
//!   checks (tensor structure, NUL bytes in strings) live in plec-runtime, which needs ONNX Runtime, and are not
//!   timed; nor is the model;
//! - `decode_only`, a separate loop after those three: the decoding library alone on the same files, columns and
//!   batch size, nothing converted into plec's columns: the parquet crate's `ParquetRecordBatchReader` (Arrow
//!   record batches) or the csv crate's `read_byte_record` (no fields copied, no UTF-8 check). The difference to
//!   `read` is what plec's reader adds on top of its libraries.
//!
//! `--warmup N` (default 1) untimed passes come first (the process's first pass also pays for growing its heap).
//! Dropping a batch's results is not timed. Like `plec train`, an input file's format decides the dataset kind
//! (`.csv` files have a header line unless the config lists `input_fields`).
//!
//! Output, one `key value...` per line: `rows`, `batches`, `batch_size`, `columns` (comma-separated), then per
//! repeat `sample STAGE SECONDS` for read, encode, raw and decode_only, and at the end `median STAGE SECONDS`.
//!
//! Build: `cargo build --release -p plec-data --example data_path_bench`; the driver is
//! `crates/data/bench/run_data_path.sh`.

use std::error::Error;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use plec_data::{check_raw, encode, raw_inputs, resolve_inputs, BatchReader, EncodeOptions, FileFormat, ReadOptions};

const STAGES: [&str; 4] = ["read", "encode", "raw", "decode_only"];

fn usage() -> ! {
    eprintln!("usage: data_path_bench CONFIG INPUT [--repeats N] [--warmup N] [--batch N]");
    std::process::exit(2);
}

/// The value after `name`, parsed; `default` when the flag is absent.
fn flag(args: &[String], name: &str, default: usize) -> Result<usize, Box<dyn Error>> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let value = args.get(i + 1).ok_or_else(|| format!("{name} needs a value"))?;
            Ok(value.parse().map_err(|e| format!("{name} {value}: {e}"))?)
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The decoding libraries alone (see `decode_only` above); returns the rows read.
fn decode_only(files: &[PathBuf], options: &ReadOptions) -> Result<usize, Box<dyn Error>> {
    let mut rows = 0;
    for path in files {
        match FileFormat::detect(path)? {
            FileFormat::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
                let roots: Vec<usize> =
                    options.columns.iter().map(|c| builder.schema().index_of(c)).collect::<Result<_, _>>()?;
                let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
                for batch in builder.with_projection(mask).with_batch_size(options.batch_size).build()? {
                    rows += batch?.num_rows();
                }
            }
            FileFormat::Csv => {
                let file = File::open(path)?;
                let input: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
                    Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
                } else {
                    Box::new(file)
                };
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(options.csv.with_header)
                    .delimiter(options.csv.delimiter)
                    .flexible(true)
                    .buffer_capacity(1 << 20)
                    .from_reader(input);
                let mut record = csv::ByteRecord::new();
                while reader.read_byte_record(&mut record)? {
                    rows += 1;
                }
            }
        }
    }
    Ok(rows)
}

fn run() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args[0].starts_with("--") || args[1].starts_with("--") {
        usage();
    }
    let (config, input) = (&args[0], &args[1]);
    let repeats = flag(&args, "--repeats", 3)?.max(1);
    let warmup = flag(&args, "--warmup", 1)?;
    let mut spec = plec_config::load_file(config)?.spec;
    let files = resolve_inputs(input)?;
    let first = files.first().ok_or_else(|| format!("{input}: no files"))?;
    FileFormat::detect(first)?.apply_to(&mut spec.data);
    let batch_size = flag(&args, "--batch", spec.data.batch_size)?;
    let options = ReadOptions::for_spec(&spec, batch_size)?;
    let signature = spec.signature();
    let encode_options = EncodeOptions::default();
    println!("batch_size {batch_size}");
    println!("columns {}", options.columns.join(","));

    let mut samples: Vec<[f64; 4]> = Vec::with_capacity(repeats);
    for pass in 0..warmup + repeats {
        let mut spent = [Duration::ZERO; 4];
        let (mut rows, mut batches, mut out_of_range) = (0usize, 0usize, 0usize);
        let started = Instant::now();
        let mut reader = BatchReader::open(files.clone(), options.clone())?;
        spent[0] += started.elapsed();
        loop {
            let started = Instant::now();
            let next = reader.next();
            spent[0] += started.elapsed();
            let Some(batch) = next else { break };
            let batch = batch?;

            let started = Instant::now();
            let encoded = encode(&spec, &batch, &encode_options);
            spent[1] += started.elapsed();
            let encoded = encoded?;

            let started = Instant::now();
            let raw = raw_inputs(&signature, &batch).map(|tensors| {
                let problems = check_raw(&signature, &tensors).len();
                (tensors, problems)
            });
            spent[2] += started.elapsed();
            let (raw, problems) = raw?;
            out_of_range += problems;

            rows += batch.num_rows;
            batches += 1;
            drop((encoded, raw, batch));
        }
        let started = Instant::now();
        let decoded = decode_only(&files, &options)?;
        spent[3] += started.elapsed();
        if decoded != rows {
            return Err(format!("decode_only read {decoded} rows, plec's reader {rows}").into());
        }
        if out_of_range > 0 {
            return Err(format!("{out_of_range} ids out of range: the data does not fit the config").into());
        }
        if pass == 0 {
            println!("rows {rows}");
            println!("batches {batches}");
        }
        if pass < warmup {
            continue;
        }
        let seconds = spent.map(|d| d.as_secs_f64());
        for (stage, value) in STAGES.iter().zip(seconds) {
            println!("sample {stage} {value:.6}");
        }
        samples.push(seconds);
    }
    for (i, stage) in STAGES.iter().enumerate() {
        let values: Vec<f64> = samples.iter().map(|s| s[i]).collect();
        println!("median {stage} {:.6}", median(&values));
    }
    Ok(())
}

fn main() {
    if let Err(error) = run() {
        eprintln!("data_path_bench: {error}");
        std::process::exit(1);
    }
}
