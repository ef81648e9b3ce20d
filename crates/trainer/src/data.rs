//! The data path off the training thread: a reader thread reads and encodes batches (files -> `ColumnBatch` ->
//! `EncodedBatch` -> tensors) and hands them over a bounded channel, so decoding overlaps training. With a
//! [`ShufflePlan`] it reads each epoch's files in a random order and draws rows through a [`ShuffleBuffer`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use plec_data::{encode, resolve_inputs, BatchReader, EncodeOptions, EncodedBatch, EncodedFeature, ReadOptions};
use plec_spec::{Loss, ModelSpec};
use tch::Device;

use crate::error::{Result, TrainError};
use crate::model::{ModelInput, Targets};
use crate::shuffle::{epoch_rng, shuffle_in_place, ShuffleBuffer, ShufflePlan};

/// Batches decoded ahead of the trainer.
const PREFETCH: usize = 4;

/// One batch ready for the model (CPU tensors).
pub struct Batch {
    pub input: ModelInput,
    pub targets: Targets,
    /// `grouped_auc` keys per row.
    pub groups: BTreeMap<String, Vec<String>>,
    pub rows: usize,
}

pub enum Message {
    Batch(Box<Batch>),
    /// Every file of `epoch` has been read.
    EpochEnd(u64),
    Failed(TrainError),
}

/// What the reader thread reads.
#[derive(Debug, Clone)]
pub struct DataPlan {
    pub files: Vec<PathBuf>,
    pub batch_size: usize,
    /// Epochs to read; `None` repeats until the receiver hangs up.
    pub epochs: Option<u64>,
    pub start_epoch: u64,
    /// Rows of `start_epoch` to skip (already trained on before a resume).
    pub skip_rows: u64,
    /// Drop batches shorter than `batch_size`.
    pub drop_remainder: bool,
    /// Shuffle files and rows (training only; `None` reads in file order).
    pub shuffle: Option<ShufflePlan>,
}

/// Resolves an input path string (comma-separated files, folders, globs) to files.
pub fn input_files(spec: &str) -> Result<Vec<PathBuf>> {
    resolve_inputs(spec).map_err(data_err)
}

/// The model's tensors and the targets of an encoded batch.
pub fn to_batch(spec: &ModelSpec, encoded: EncodedBatch, device: Device) -> Result<Batch> {
    let input = ModelInput::from_batch(spec, &encoded, device)?;
    let sessions = session_ids(spec, &encoded)?;
    let mut columns = encoded.labels;
    columns.extend(encoded.sample_weights);
    let targets =
        Targets::build(encoded.num_rows, &columns, device)?.with_sessions(encoded.num_rows, &sessions, device)?;
    Ok(Batch { input, targets, groups: encoded.groups, rows: encoded.num_rows })
}

/// Each `jrc_loss` session feature's first table row per sample, 0 for an empty value (TorchEasyRec's
/// `to_padded_dense(1)[:, 0]` of the feature's ids).
fn session_ids(spec: &ModelSpec, encoded: &EncodedBatch) -> Result<BTreeMap<String, Vec<i64>>> {
    let mut sessions = BTreeMap::new();
    for tower in &spec.towers {
        for loss in &tower.losses {
            let Loss::Jrc { session_feature, .. } = loss else { continue };
            let index = spec.features.iter().position(|f| &f.name == session_feature);
            let Some(EncodedFeature::Ids { indices, offsets, .. }) = index.and_then(|i| encoded.features.get(i)) else {
                return Err(TrainError::Config(format!(
                    "tower `{}`: jrc_loss's session feature `{session_feature}` is not an id feature of the batch",
                    tower.name
                )));
            };
            let first = |r: usize| match (offsets.get(r), offsets.get(r + 1)) {
                (Some(&start), Some(&end)) if start < end => indices.get(start as usize).copied().unwrap_or(0),
                _ => 0,
            };
            sessions.insert(session_feature.clone(), (0..encoded.num_rows).map(first).collect());
        }
    }
    Ok(sessions)
}

/// The reader thread's name, in panic messages.
pub const READER_THREAD: &str = "plec-data-reader";

/// Starts the reader thread; [`join`] it after the last message to learn whether it ended or panicked.
pub fn spawn(spec: ModelSpec, plan: DataPlan) -> Result<(Receiver<Message>, JoinHandle<()>)> {
    let (tx, rx) = sync_channel(PREFETCH);
    let handle = std::thread::Builder::new()
        .name(READER_THREAD.into())
        .spawn(move || {
            if let Err(error) = read_all(&spec, &plan, &tx) {
                let _ = tx.send(Message::Failed(error));
            }
        })
        .map_err(TrainError::ReaderThread)?;
    Ok((rx, handle))
}

/// Waits for the reader thread; its panic becomes an error naming the thread and the panic message.
pub fn join(handle: JoinHandle<()>) -> Result<()> {
    handle.join().map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic without a message)".into());
        TrainError::ReaderPanicked(format!("`{READER_THREAD}`: {message}"))
    })
}

/// Whether the receiver still listens.
enum Flow {
    Continue,
    HungUp,
}

/// Reads every planned epoch; returns early (Ok) when the receiver hangs up.
fn read_all(spec: &ModelSpec, plan: &DataPlan, tx: &SyncSender<Message>) -> Result<()> {
    let options = ReadOptions::for_spec(spec, plan.batch_size).map_err(data_err)?;
    let mut epoch = plan.start_epoch;
    let mut skip = plan.skip_rows;
    loop {
        if plan.epochs.is_some_and(|n| epoch >= n) {
            return Ok(());
        }
        let flow = match plan.shuffle {
            None => read_epoch_in_order(spec, plan, &options, &mut skip, tx)?,
            Some(shuffle) => read_epoch_shuffled(spec, plan, &options, shuffle, epoch, &mut skip, tx)?,
        };
        if matches!(flow, Flow::HungUp) || tx.send(Message::EpochEnd(epoch)).is_err() {
            return Ok(());
        }
        epoch += 1;
    }
}

fn data_err(error: plec_data::DataError) -> TrainError {
    TrainError::Data(error)
}

fn no_rows() -> TrainError {
    TrainError::Unusable("the input files hold no rows".into())
}

fn send(spec: &ModelSpec, encoded: EncodedBatch, tx: &SyncSender<Message>) -> Result<Flow> {
    let ready = to_batch(spec, encoded, Device::Cpu)?;
    Ok(if tx.send(Message::Batch(Box::new(ready))).is_err() { Flow::HungUp } else { Flow::Continue })
}

/// One epoch in file order; batches never span files.
fn read_epoch_in_order(
    spec: &ModelSpec,
    plan: &DataPlan,
    options: &ReadOptions,
    skip: &mut u64,
    tx: &SyncSender<Message>,
) -> Result<Flow> {
    let reader = BatchReader::open(plan.files.clone(), options.clone()).map_err(data_err)?;
    let mut rows_this_epoch = 0u64;
    for batch in reader {
        let batch = batch.map_err(data_err)?;
        if plan.drop_remainder && batch.num_rows < plan.batch_size {
            continue;
        }
        rows_this_epoch += batch.num_rows as u64;
        if *skip > 0 {
            // Batch boundaries are deterministic (batches never span files), so resumes skip whole batches.
            *skip = skip.saturating_sub(batch.num_rows as u64);
            continue;
        }
        let encoded = encode(spec, &batch, &EncodeOptions::default()).map_err(data_err)?;
        if let Flow::HungUp = send(spec, encoded, tx)? {
            return Ok(Flow::HungUp);
        }
        #[cfg(test)]
        injected::panic_if_registered(&plan.files);
    }
    if rows_this_epoch == 0 {
        return Err(no_rows());
    }
    Ok(Flow::Continue)
}

/// One epoch shuffled: files in a random order, each file's batches encoded into the buffer, and a batch drawn
/// whenever the buffer is full; at the end the buffer is drained. Every draw happens whether or not its batch is
/// skipped, so a resume regenerates the same stream.
fn read_epoch_shuffled(
    spec: &ModelSpec,
    plan: &DataPlan,
    options: &ReadOptions,
    shuffle: ShufflePlan,
    epoch: u64,
    skip: &mut u64,
    tx: &SyncSender<Message>,
) -> Result<Flow> {
    let mut rng = epoch_rng(shuffle.seed, epoch);
    let mut files = plan.files.clone();
    shuffle_in_place(&mut files, &mut rng);
    let mut buffer = ShuffleBuffer::new(plan.batch_size, shuffle, rng);
    let mut emit = |buffer: &mut ShuffleBuffer| -> Result<Flow> {
        let picks = buffer.draw();
        let short = picks.len() < plan.batch_size;
        let flow = if (short && plan.drop_remainder) || picks.is_empty() {
            Flow::Continue
        } else if *skip > 0 {
            *skip = skip.saturating_sub(picks.len() as u64);
            Flow::Continue
        } else {
            send(spec, buffer.gather(&picks)?, tx)?
        };
        buffer.release(&picks);
        Ok(flow)
    };
    let reader = BatchReader::open(files, options.clone()).map_err(data_err)?;
    let mut rows_this_epoch = 0u64;
    for batch in reader {
        let batch = batch.map_err(data_err)?;
        rows_this_epoch += batch.num_rows as u64;
        buffer.push(encode(spec, &batch, &EncodeOptions::default()).map_err(data_err)?);
        while buffer.is_full() {
            if let Flow::HungUp = emit(&mut buffer)? {
                return Ok(Flow::HungUp);
            }
        }
    }
    if rows_this_epoch == 0 {
        return Err(no_rows());
    }
    while !buffer.is_empty() {
        if let Flow::HungUp = emit(&mut buffer)? {
            return Ok(Flow::HungUp);
        }
    }
    Ok(Flow::Continue)
}

/// For an input path given on the command line: the dataset kind follows the files' extension (`.csv` /
/// `.parquet`), so a config written for another source (e.g. `OdpsDataset`) trains on local files. A CSV read in
/// place of a non-CSV dataset has a header row unless the config lists `input_fields`.
pub fn use_local_dataset(spec: &mut ModelSpec, input: &str) -> Result<()> {
    let files = input_files(input)?;
    let Some(first) = files.first() else {
        return Err(TrainError::Unusable(format!("{input}: no files")));
    };
    plec_data::FileFormat::detect(first).map_err(data_err)?.apply_to(&mut spec.data);
    Ok(())
}

/// A test-only seam: makes the reader thread panic after its first batch of a registered file, as a bug in the
/// reading code would (no data can make it panic). Not compiled outside the crate's unit tests.
#[cfg(test)]
pub(crate) mod injected {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    pub(crate) fn panic_on(file: &Path) {
        FILES.lock().unwrap_or_else(|e| e.into_inner()).push(file.to_path_buf());
    }

    pub(super) fn panic_if_registered(files: &[PathBuf]) {
        let same = |a: &PathBuf, b: &PathBuf| a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a));
        let registered =
            FILES.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|r| files.iter().any(|f| same(f, r)));
        if registered {
            panic!("injected reader panic");
        }
    }
}
