//! The training loop: data from the reader thread, forward, per-task losses, backward, clipping, dense and sparse
//! optimizer steps, logging, checkpoints, resume, evaluation and training curves.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use plec_data::ColumnBatch;
use plec_spec::artifact::checkpoint::{latest_checkpoint, CONFIG_FILE};
use plec_spec::ModelSpec;
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

/// `--device` in the one grammar (`plec_spec::device`): `cpu` or `cuda[:N]`; CUDA must be usable by libtorch.
pub fn parse_device(name: &str) -> Result<Device> {
    let parsed: plec_spec::device::Device =
        name.parse().map_err(|e: plec_spec::device::UnknownDevice| TrainError::Device(e.to_string()))?;
    let index = match parsed {
        plec_spec::device::Device::Cpu => return Ok(Device::Cpu),
        plec_spec::device::Device::Cuda(index) => index as usize,
        plec_spec::device::Device::TensorRt(_) => {
            return Err(TrainError::Device(format!(
                "--device {name}: TensorRT runs compiled models (plec predict / bench); training runs on cpu or cuda"
            )))
        }
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

/// Trains `spec` as `options` say: [`set_up`] (folder, model, optimizers, resume or fine-tune, data plan), then
/// [`run_steps`] (the steps with their logs, checkpoints and evaluations), then [`finish`] (last checkpoint, final
/// evaluation, curves).
pub fn train(spec: &ModelSpec, options: &TrainOptions) -> Result<TrainReport> {
    let (mut run, plan) = set_up(spec, options)?;
    let end = run_steps(&mut run, spec, options, plan)?;
    finish(run, end, spec, options)
}

/// What a run carries from [`set_up`] through [`run_steps`] to [`finish`].
struct Run {
    model: PleModel,
    sparse: SparseOpt,
    dense: DenseOpt,
    state: TrainState,
    /// Step the run resumed from, if it did.
    resumed_from: Option<u64>,
    bar: ProgressBar,
    /// Golden rows of every checkpoint: the first eval rows (train rows without eval data) plus edge cases.
    golden_rows: ColumnBatch,
    max_steps: Option<u64>,
    towers: Vec<String>,
}

impl Run {
    fn done(&self) -> bool {
        self.max_steps.is_some_and(|m| self.state.step >= m)
    }

    fn log(&self, options: &TrainOptions, line: String) {
        log_progress(&self.bar, options.progress, line);
    }

    /// Writes a checkpoint of the current step (optimizer step counters and golden set included).
    fn save_checkpoint(&mut self, spec: &ModelSpec, options: &TrainOptions) -> Result<PathBuf> {
        self.state.sparse_step = self.sparse.step;
        self.state.dense_step = self.dense.step;
        let golden = crate::golden::golden_set(&self.model, &self.golden_rows)?;
        checkpoint::save(
            &options.model_dir,
            &self.model,
            &self.sparse,
            &self.dense,
            &self.state,
            spec.train.keep_checkpoint_max,
            &golden,
        )
    }
}

/// The model folder and its config copy, the model and optimizers (resumed from the latest checkpoint or
/// fine-tuned from `fine_tune_checkpoint`), the golden rows and the plan of the data still to read.
fn set_up(spec: &ModelSpec, options: &TrainOptions) -> Result<(Run, DataPlan)> {
    set_up_torch(options.seed, options.threads);
    let model_dir = &options.model_dir;
    fs::create_dir_all(model_dir).map_err(|e| io_err(model_dir, e))?;
    let config_path = model_dir.join(CONFIG_FILE);
    fs::write(&config_path, &options.config_text).map_err(|e| io_err(&config_path, e))?;

    let model = PleModel::new(spec, options.device)?;
    let table_names: Vec<String> = spec.tables.iter().map(|t| t.name.clone()).collect();
    let mut sparse = SparseOpt::new(spec.train.sparse_optimizer, model.tables(), &table_names)?;
    let mut dense = DenseOpt::new(spec.train.dense_optimizer, model.dense_trainable())?;
    let bar = if options.progress { ProgressBar::new(0) } else { ProgressBar::hidden() };
    let (state, resumed_from) = restore(&model, &mut sparse, &mut dense, spec, options, &bar)?;

    let golden_source = crate::data::input_files(options.eval_input.as_deref().unwrap_or(&options.train_input))?;
    let golden_rows = crate::golden::golden_rows(spec, Some(&golden_source))?;
    let max_steps = options.num_steps.or(spec.train.num_steps);
    let plan = data_plan(spec, options, &state)?;
    if let Some(max) = max_steps {
        bar.set_length(max);
        bar.set_position(state.step.min(max));
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} step {pos}/{len} [{elapsed_precise}<{eta_precise}] {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let towers = spec.towers.iter().map(|t| t.name.clone()).collect();
    let run = Run { model, sparse, dense, state, resumed_from, bar, golden_rows, max_steps, towers };
    Ok((run, plan))
}

/// Resumes from the model folder's latest checkpoint (returning its state and step), or else loads
/// `fine_tune_checkpoint` if the config names one.
fn restore(
    model: &PleModel,
    sparse: &mut SparseOpt,
    dense: &mut DenseOpt,
    spec: &ModelSpec,
    options: &TrainOptions,
    bar: &ProgressBar,
) -> Result<(TrainState, Option<u64>)> {
    let model_dir = &options.model_dir;
    if let Some(latest) = latest_checkpoint(model_dir).map_err(|e| io_err(model_dir, e))? {
        checkpoint::load_weights(&latest, model)?;
        let state = checkpoint::load_training_state(&latest, sparse, dense)?;
        // A resumed run draws dropout masks from a stream of its own, still determined by seed and step.
        tch::manual_seed(options.seed.wrapping_add(state.step) as i64);
        log_progress(bar, options.progress, format!("resuming from {} (step {})", latest.display(), state.step));
        let step = state.step;
        return Ok((state, Some(step)));
    }
    if let Some(fine_tune) = &spec.train.fine_tune_checkpoint {
        let dir = fine_tune_dir(Path::new(fine_tune))?;
        let (loaded, missing) = checkpoint::load_partial(&dir, model)?;
        log_progress(
            bar,
            options.progress,
            format!("fine-tuning from {}: {loaded} tensors loaded, {} left at init", dir.display(), missing.len()),
        );
    }
    Ok((TrainState::default(), None))
}

/// The training data from where `state` left off: epochs unless a step count bounds the run.
fn data_plan(spec: &ModelSpec, options: &TrainOptions, state: &TrainState) -> Result<DataPlan> {
    let epochs = if options.num_steps.is_some() || (spec.train.num_steps.is_some() && spec.train.num_epochs.is_none()) {
        None
    } else {
        Some(spec.train.num_epochs.unwrap_or(1))
    };
    Ok(DataPlan {
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
    })
}

/// What [`run_steps`] leaves for [`finish`].
struct StepsEnd {
    /// The curve's window empties at every logged step, the progress line's every `log_step_count_steps`.
    curve_window: LossWindow,
    progress_window: LossWindow,
    last_losses: BTreeMap<String, f64>,
    last_saved: Option<PathBuf>,
    /// Interrupted (SIGINT / SIGTERM) before the planned end.
    stopped_early: bool,
    seconds: f64,
    /// Samples trained on by this run (not counting those before a resume).
    samples: u64,
}

/// Trains on `plan`'s batches until the step budget or the data runs out, or an interrupt arrives.
fn run_steps(run: &mut Run, spec: &ModelSpec, options: &TrainOptions, plan: DataPlan) -> Result<StepsEnd> {
    let mut end = StepsEnd {
        curve_window: LossWindow::new(run.towers.len()),
        progress_window: LossWindow::new(run.towers.len()),
        last_losses: BTreeMap::new(),
        last_saved: None,
        stopped_early: false,
        seconds: 0.0,
        samples: 0,
    };
    let started = Instant::now();
    let start_samples = run.state.samples;
    let interrupted = || options.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed));
    if !run.done() {
        let (rx, handle) = data::spawn(spec.clone(), plan)?;
        for message in &rx {
            let batch = match message {
                Message::Batch(batch) => batch,
                Message::EpochEnd(epoch) => {
                    run.state.epoch = epoch + 1;
                    run.state.rows_in_epoch = 0;
                    continue;
                }
                Message::Failed(error) => return Err(error),
            };
            let values =
                train_step(&run.model, &mut run.sparse, &mut run.dense, &batch, run.state.step, spec, options.device)?;
            run.state.step += 1;
            run.state.samples += batch.rows as u64;
            run.state.rows_in_epoch += batch.rows as u64;
            after_step(run, &mut end, spec, options, &values)?;
            if run.done() {
                break;
            }
            if interrupted() {
                end.stopped_early = true;
                break;
            }
        }
        drop(rx);
        // A panicked reader closes the channel just as the end of the data does: only the join tells them apart.
        data::join(handle)?;
    }
    run.bar.finish_and_clear();
    end.seconds = started.elapsed().as_secs_f64();
    end.samples = run.state.samples - start_samples;
    Ok(end)
}

/// The bookkeeping after a step: loss log and progress line, periodic checkpoint and evaluation.
fn after_step(
    run: &mut Run,
    end: &mut StepsEnd,
    spec: &ModelSpec,
    options: &TrainOptions,
    losses: &[f64],
) -> Result<()> {
    let model_dir = &options.model_dir;
    let step = run.state.step;
    let log_every = spec.train.log_step_count_steps.max(1);
    end.curve_window.add(losses);
    end.progress_window.add(losses);
    run.bar.set_position(step);
    if loss_log::logs_at(step, run.max_steps, log_every) {
        if let Some(means) = end.curve_window.take_means(&run.towers) {
            loss_log::append(model_dir, step, &means)?;
        }
    }
    if step.is_multiple_of(log_every) {
        if let Some(means) = end.progress_window.take_means(&run.towers) {
            let text: Vec<String> = means.iter().map(|(t, v)| format!("loss_{t}={v:.5}")).collect();
            run.log(options, format!("step {step}: {}", text.join(" ")));
            end.last_losses = means;
        }
    }
    let save_every = spec.train.save_checkpoints_steps;
    if save_every > 0 && step.is_multiple_of(save_every) {
        end.last_saved = Some(run.save_checkpoint(spec, options)?);
    }
    if let (Some(every), Some(input)) = (options.eval_every_steps, &options.eval_input) {
        if every > 0 && step.is_multiple_of(every) {
            let values = evaluate::evaluate_input(&run.model, spec, input)?;
            let line = evaluate::append_result(model_dir, step, &values)?;
            run.log(options, line);
        }
    }
    Ok(())
}

/// The last loss-log line, a checkpoint of the last step (unless just written), then (not when interrupted) the
/// final evaluation and the training curves.
fn finish(mut run: Run, mut end: StepsEnd, spec: &ModelSpec, options: &TrainOptions) -> Result<TrainReport> {
    let model_dir = &options.model_dir;
    if let Some(means) = end.curve_window.take_means(&run.towers) {
        loss_log::append(model_dir, run.state.step, &means)?;
    }
    if let Some(means) = end.progress_window.take_means(&run.towers) {
        end.last_losses = means;
    }
    let last_dir = plec_spec::artifact::checkpoint::checkpoint_dir(model_dir, run.state.step);
    let checkpoint = match end.last_saved.filter(|p| p == &last_dir) {
        Some(path) => path,
        None => run.save_checkpoint(spec, options)?,
    };
    // Interrupted: the checkpoint of the last complete step is written; evaluation and curves are left to the rerun.
    if end.stopped_early {
        return Err(TrainError::Interrupted { step: run.state.step, checkpoint });
    }
    let mut eval = None;
    if let Some(input) = &options.eval_input {
        let values = evaluate::evaluate_input(&run.model, spec, input)?;
        let line = evaluate::append_result(model_dir, run.state.step, &values)?;
        if options.progress {
            eprintln!("{line}");
        }
        eval = Some(values);
    }
    crate::curves::write_curves(model_dir, &run.towers)?;
    Ok(TrainReport {
        steps: run.state.step,
        samples: run.state.samples,
        samples_per_second: if end.seconds > 0.0 { end.samples as f64 / end.seconds } else { 0.0 },
        resumed_from: run.resumed_from,
        last_losses: end.last_losses,
        eval,
        checkpoint,
    })
}

/// `fine_tune_checkpoint` names a checkpoint as every command reads one (`checkpoint::resolve`): a checkpoint
/// folder, its weights file or a model_dir (its latest checkpoint).
fn fine_tune_dir(path: &Path) -> Result<PathBuf> {
    let resolved = plec_spec::artifact::checkpoint::resolve(path).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("train_config.fine_tune_checkpoint names no checkpoint: {e}"),
    })?;
    Ok(resolved.dir)
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
