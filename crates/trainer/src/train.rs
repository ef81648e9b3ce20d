//! The training loop: data from the reader thread, forward, per-task losses, backward, clipping, dense and sparse
//! optimizer steps, logging, checkpoints, resume, evaluation and training curves.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use plec_config::artifact::checkpoint::{latest_checkpoint, CONFIG_FILE};
use plec_config::spec::ModelSpec;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, TrainState};
use crate::data::{self, DataPlan, Message};
use crate::error::{io_err, During, Result, TrainError};
use crate::evaluate::{self, MetricValues};
use crate::loss;
use crate::loss_log::{self, LossWindow};
use crate::model::PleModel;
use crate::optim::{clip, DenseOpt, SparseOpt};

pub use crate::curves::CURVES_FILE;
pub use crate::loss_log::LOSS_LOG_FILE;

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The config text, copied to `<model_dir>/pipeline.config`.
    pub config_text: String,
    pub train_input: String,
    /// Evaluated at the end (and every `eval_every_steps`); `None` skips evaluation.
    pub eval_input: Option<String>,
    pub model_dir: PathBuf,
    /// Overrides `num_steps` / `num_epochs`: train this many steps in total, repeating the data as needed.
    pub num_steps: Option<u64>,
    pub seed: u64,
    /// libtorch intra-op threads (`None`: libtorch's default).
    pub threads: Option<usize>,
    pub device: Device,
    pub eval_every_steps: Option<u64>,
    /// Draw a progress bar and log lines on stderr.
    pub progress: bool,
    /// Checked between steps (set by a SIGINT / SIGTERM handler): when set, training stops after the step in
    /// progress, writes a checkpoint of it (a rerun resumes there, losing no work) and returns
    /// [`TrainError::Interrupted`].
    pub interrupt: Option<Arc<AtomicBool>>,
}

#[derive(Debug, Clone)]
pub struct TrainReport {
    pub steps: u64,
    pub samples: u64,
    /// Samples per second of this run's training steps (data wait included).
    pub samples_per_second: f64,
    /// Step the run resumed from, if it did.
    pub resumed_from: Option<u64>,
    /// The last logged window's mean loss per task.
    pub last_losses: BTreeMap<String, f64>,
    pub eval: Option<MetricValues>,
    pub checkpoint: PathBuf,
}

/// `cpu` or `cuda` / `cuda:N`; CUDA must be usable by libtorch.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        _ if name == "cuda" || name.starts_with("cuda:") => {
            let index: usize = match name.strip_prefix("cuda:") {
                Some(i) => {
                    i.parse().map_err(|_| TrainError::Device(format!("bad device `{name}`: expected cuda:N")))?
                }
                None => 0,
            };
            if !tch::Cuda::is_available() {
                return Err(TrainError::Device(format!(
                    "--device {name}: libtorch sees no CUDA device on this machine (no GPU, no driver, or a CPU-only \
                     libtorch); use --device cpu"
                )));
            }
            let count = tch::Cuda::device_count() as usize;
            if index >= count {
                return Err(TrainError::Device(format!("--device {name}: only {count} CUDA device(s) are visible")));
            }
            Ok(Device::Cuda(index))
        }
        other => Err(TrainError::Device(format!("unknown device `{other}`: expected cpu, cuda or cuda:N"))),
    }
}

/// Seeds libtorch and sets its thread count (deterministic CPU runs for a given seed).
pub fn set_up_torch(seed: u64, threads: Option<usize>) {
    keep_freed_memory();
    tch::manual_seed(seed as i64);
    if let Some(n) = threads {
        tch::set_num_threads(n.max(1) as i32);
    }
}

/// glibc serves allocations above 32 MB with fresh `mmap`s and unmaps them on free, so every step's large
/// activations would page-fault in anew (and be zeroed by the kernel). Serving everything from the heap and never
/// trimming it lets steps reuse the same memory. (glibc only; a no-op elsewhere.)
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; it is called before training allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

fn log_progress(bar: &ProgressBar, progress: bool, line: String) {
    if progress {
        bar.println(line);
    }
}

pub fn train(spec: &ModelSpec, options: &TrainOptions) -> Result<TrainReport> {
    set_up_torch(options.seed, options.threads);
    let model_dir = &options.model_dir;
    fs::create_dir_all(model_dir).map_err(|e| io_err(model_dir, e))?;
    let config_path = model_dir.join(CONFIG_FILE);
    fs::write(&config_path, &options.config_text).map_err(|e| io_err(&config_path, e))?;

    let model = PleModel::new(spec, options.device)?;
    let table_names: Vec<String> = spec.tables.iter().map(|t| t.name.clone()).collect();
    let mut sparse = SparseOpt::new(spec.train.sparse_optimizer, model.tables(), &table_names)?;
    let mut dense = DenseOpt::new(spec.train.dense_optimizer, model.dense_trainable())?;
    let mut state = TrainState::default();
    let mut resumed_from = None;
    let bar = if options.progress { ProgressBar::new(0) } else { ProgressBar::hidden() };
    if let Some(latest) = latest_checkpoint(model_dir).map_err(|e| io_err(model_dir, e))? {
        checkpoint::load_weights(&latest, &model)?;
        state = checkpoint::load_training_state(&latest, &mut sparse, &mut dense)?;
        resumed_from = Some(state.step);
        // A resumed run draws dropout masks from a stream of its own, still determined by seed and step.
        tch::manual_seed(options.seed.wrapping_add(state.step) as i64);
        log_progress(&bar, options.progress, format!("resuming from {} (step {})", latest.display(), state.step));
    } else if let Some(fine_tune) = &spec.train.fine_tune_checkpoint {
        let dir = fine_tune_dir(Path::new(fine_tune))?;
        let (loaded, missing) = checkpoint::load_partial(&dir, &model)?;
        log_progress(
            &bar,
            options.progress,
            format!("fine-tuning from {}: {loaded} tensors loaded, {} left at init", dir.display(), missing.len()),
        );
    }

    // Golden rows of every checkpoint: the first eval rows (train rows without eval data) plus edge cases.
    let golden_source = crate::data::input_files(options.eval_input.as_deref().unwrap_or(&options.train_input))?;
    let golden_rows = crate::golden::golden_rows(spec, Some(&golden_source))?;

    let max_steps = options.num_steps.or(spec.train.num_steps);
    let epochs = if options.num_steps.is_some() || (spec.train.num_steps.is_some() && spec.train.num_epochs.is_none()) {
        None
    } else {
        Some(spec.train.num_epochs.unwrap_or(1))
    };
    let plan = DataPlan {
        files: data::input_files(&options.train_input)?,
        batch_size: spec.data.batch_size.max(1),
        epochs,
        start_epoch: state.epoch,
        skip_rows: state.rows_in_epoch,
        drop_remainder: spec.data.drop_remainder,
        shuffle: spec.data.shuffle.then(|| crate::shuffle::ShufflePlan {
            seed: options.seed,
            buffer_batches: spec.data.shuffle_buffer_size.max(1),
        }),
    };
    if let Some(max) = max_steps {
        bar.set_length(max);
        bar.set_position(state.step.min(max));
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{elapsed_precise}<{eta_precise}] {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let towers: Vec<String> = spec.towers.iter().map(|t| t.name.clone()).collect();
    // The curve's window empties at every logged step, the progress line's every `log_step_count_steps`.
    let mut curve_window = LossWindow::new(towers.len());
    let mut progress_window = LossWindow::new(towers.len());
    let mut last_losses = BTreeMap::new();
    let mut last_saved = None;
    let mut eval = None;
    let started = Instant::now();
    let start_samples = state.samples;
    let log_every = spec.train.log_step_count_steps.max(1);
    let save_every = spec.train.save_checkpoints_steps;

    let done = |state: &TrainState| max_steps.is_some_and(|m| state.step >= m);
    let interrupted = || options.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed));
    let mut stopped_early = false;
    if !done(&state) {
        let (rx, handle) = data::spawn(spec.clone(), plan)?;
        for message in &rx {
            let batch = match message {
                Message::Batch(batch) => batch,
                Message::EpochEnd(epoch) => {
                    state.epoch = epoch + 1;
                    state.rows_in_epoch = 0;
                    continue;
                }
                Message::Failed(error) => return Err(error),
            };
            let values = train_step(&model, &mut sparse, &mut dense, &batch, state.step, spec, options.device)?;
            state.step += 1;
            state.samples += batch.rows as u64;
            state.rows_in_epoch += batch.rows as u64;
            curve_window.add(&values);
            progress_window.add(&values);
            bar.set_position(state.step);
            if loss_log::logs_at(state.step, max_steps, log_every) {
                if let Some(means) = curve_window.take_means(&towers) {
                    loss_log::append(model_dir, state.step, &means)?;
                }
            }
            if state.step % log_every == 0 {
                if let Some(means) = progress_window.take_means(&towers) {
                    let text: Vec<String> = means.iter().map(|(t, v)| format!("loss_{t}={v:.5}")).collect();
                    log_progress(&bar, options.progress, format!("step {}: {}", state.step, text.join(" ")));
                    last_losses = means;
                }
            }
            if save_every > 0 && state.step % save_every == 0 {
                state.sparse_step = sparse.step;
                state.dense_step = dense.step;
                let golden = crate::golden::golden_set(&model, &golden_rows)?;
                last_saved = Some(checkpoint::save(
                    model_dir,
                    &model,
                    &sparse,
                    &dense,
                    &state,
                    spec.train.keep_checkpoint_max,
                    &golden,
                )?);
            }
            if let (Some(every), Some(input)) = (options.eval_every_steps, &options.eval_input) {
                if every > 0 && state.step % every == 0 {
                    let values = evaluate::evaluate_input(&model, spec, input)?;
                    let line = evaluate::append_result(model_dir, state.step, &values)?;
                    log_progress(&bar, options.progress, line);
                }
            }
            if done(&state) {
                break;
            }
            if interrupted() {
                stopped_early = true;
                break;
            }
        }
        drop(rx);
        // A panicked reader closes the channel just as the end of the data does: only the join tells them apart.
        data::join(handle)?;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(means) = curve_window.take_means(&towers) {
        loss_log::append(model_dir, state.step, &means)?;
    }
    if let Some(means) = progress_window.take_means(&towers) {
        last_losses = means;
    }
    let checkpoint = match last_saved
        .filter(|p: &PathBuf| p == &plec_config::artifact::checkpoint::checkpoint_dir(model_dir, state.step))
    {
        Some(path) => path,
        None => {
            state.sparse_step = sparse.step;
            state.dense_step = dense.step;
            let golden = crate::golden::golden_set(&model, &golden_rows)?;
            checkpoint::save(model_dir, &model, &sparse, &dense, &state, spec.train.keep_checkpoint_max, &golden)?
        }
    };
    // Interrupted: the checkpoint of the last complete step is written; evaluation and curves are left to the rerun.
    if stopped_early {
        return Err(TrainError::Interrupted { step: state.step, checkpoint });
    }
    if let Some(input) = &options.eval_input {
        let values = evaluate::evaluate_input(&model, spec, input)?;
        let line = evaluate::append_result(model_dir, state.step, &values)?;
        if options.progress {
            eprintln!("{line}");
        }
        eval = Some(values);
    }
    crate::curves::write_curves(model_dir, &towers)?;
    let trained = state.samples - start_samples;
    Ok(TrainReport {
        steps: state.step,
        samples: state.samples,
        samples_per_second: if seconds > 0.0 { trained as f64 / seconds } else { 0.0 },
        resumed_from,
        last_losses,
        eval,
        checkpoint,
    })
}

/// `fine_tune_checkpoint` may name a checkpoint folder or a model_dir (its latest checkpoint).
fn fine_tune_dir(path: &Path) -> Result<PathBuf> {
    if path.join(plec_config::artifact::checkpoint::META_FILE).is_file() {
        return Ok(path.to_path_buf());
    }
    latest_checkpoint(path).map_err(|e| io_err(path, e))?.ok_or_else(|| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: "fine_tune_checkpoint is neither a checkpoint folder nor a model_dir holding one".into(),
    })
}

/// One optimisation step; returns each tower's loss.
pub fn train_step(
    model: &PleModel,
    sparse: &mut SparseOpt,
    dense: &mut DenseOpt,
    batch: &data::Batch,
    step: u64,
    spec: &ModelSpec,
    device: Device,
) -> Result<Vec<f64>> {
    let rows = batch.rows;
    let (input, targets) = if device == Device::Cpu {
        (None, None)
    } else {
        (Some(batch.input.to_device(device)?), Some(batch.targets.to_device(device)?))
    };
    let input = input.as_ref().unwrap_or(&batch.input);
    let targets = targets.as_ref().unwrap_or(&batch.targets);
    let forward = model.forward(input, true).during(|| format!("in the forward pass of a batch of {rows} rows"))?;
    let mut losses = Vec::with_capacity(spec.towers.len());
    for (tower, logits) in spec.towers.iter().zip(&forward.logits) {
        losses.push(
            loss::tower_loss(tower, logits, targets)
                .during(|| format!("computing the loss of task `{}` for a batch of {rows} rows", tower.name))?,
        );
    }
    let values: Vec<f64> = Tensor::f_stack(&losses, 0)
        .and_then(|l| l.f_to_kind(Kind::Double))
        .and_then(|l| l.f_to_device(Device::Cpu))
        .and_then(|l| Vec::<f64>::try_from(&l))
        .during(|| "reading the losses".into())?;
    for (tower, value) in spec.towers.iter().zip(&values) {
        if !value.is_finite() {
            return Err(TrainError::NonFinite { step: step + 1, task: tower.name.clone(), value: *value });
        }
    }
    let mut backward = || -> Result<()> {
        let mut total = losses[0].shallow_clone();
        for l in &losses[1..] {
            total = total.f_add(l)?;
        }
        dense.zero_grad()?;
        total.f_backward()?;
        Ok(())
    };
    backward().during(|| format!("in the backward pass of a batch of {rows} rows"))?;
    let mut optimize = || -> Result<()> {
        if let Some(clipping) = &spec.train.grad_clipping {
            clip::clip(dense.params(), clipping)?;
        }
        dense.step(spec.train.dense_lr.lr_at(spec.train.dense_optimizer.lr(), step) as f64)?;
        let mut grads: Vec<Option<Tensor>> = Vec::with_capacity(forward.gathered.rows.len());
        for r in &forward.gathered.rows {
            let g = r.f_grad()?;
            grads.push(if g.defined() { Some(g) } else { None });
        }
        let sparse_lr = spec.train.sparse_lr.lr_at(spec.train.sparse_optimizer.lr(), step) as f64;
        sparse.step(model.tables(), &input.table_rows, &forward.gathered.rows, &grads, sparse_lr)
    };
    optimize().during(|| format!("in the optimizer step of a batch of {rows} rows"))?;
    Ok(values)
}
