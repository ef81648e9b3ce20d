//! The PLE paper's experiments, one call each: train every model of an experiment over several seeds, evaluate
//! each run on held-out data, and summarise the runs as a markdown table and a chart.
//!
//! - [`census`]: UCI Census-Income (KDD), single-task per task vs MMoE, CGC and PLE (test AUC, exact and binned;
//!   PLE paired by seed against single-task and MMoE).
//! - [`synthetic`]: the MMoE paper's two regression tasks at several correlations (test MSE).
//! - [`results_file`]: an experiment's results file read back, to redraw its chart.
//!
//! A run whose model_dir already holds a finished checkpoint is resumed by [`plec_trainer::train::train`], which then only
//! evaluates: an interrupted experiment continues where it stopped.

pub mod census;
pub mod chart;
mod error;
pub mod paired;
pub mod results_file;
pub mod summary;
pub mod synthetic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_spec::{DenseOptimizer, ModelSpec};

pub use error::{ExperimentError, Result};
use plec_trainer::device::Device;
use plec_trainer::evaluate::MetricValues;
use plec_trainer::train::{train, TrainOptions};

/// Settings that replace the configs' own for every run of an experiment (so one command states them all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub num_epochs: Option<u64>,
    /// Train exactly this many steps (repeating the data as needed), instead of epochs.
    pub num_steps: Option<u64>,
    pub batch_size: Option<usize>,
    /// The dense optimizer's learning rate.
    pub dense_lr: Option<f32>,
}

impl Overrides {
    pub fn apply(&self, spec: &mut ModelSpec) {
        if let Some(epochs) = self.num_epochs {
            spec.train.num_epochs = Some(epochs);
            spec.train.num_steps = None;
        }
        if let Some(batch) = self.batch_size {
            spec.data.batch_size = batch;
        }
        if let Some(new_lr) = self.dense_lr {
            match &mut spec.train.dense_optimizer {
                DenseOptimizer::Sgd { lr, .. }
                | DenseOptimizer::Adagrad { lr, .. }
                | DenseOptimizer::Adam { lr, .. }
                | DenseOptimizer::AdamW { lr, .. } => *lr = new_lr,
            }
        }
    }

    /// A comment appended to the copied pipeline.config, so a run folder says how it was trained.
    fn comment(&self) -> String {
        format!(
            "\n# plec experiment overrides: num_epochs {:?}, num_steps {:?}, batch_size {:?}, dense lr {:?}\n",
            self.num_epochs, self.num_steps, self.batch_size, self.dense_lr
        )
    }
}

/// The held-out rows every run is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// The test rows: for the tables that are reported.
    #[default]
    Test,
    /// Rows disjoint from the test rows: for choosing settings without reading the test rows.
    Validation,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Validation => "validation",
        }
    }
}

/// Where the runs go and how they are trained.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub out_dir: PathBuf,
    /// What every run is scored on.
    pub split: Split,
    /// Training seeds, one run each.
    pub seeds: Vec<u64>,
    pub threads: Option<usize>,
    pub device: Device,
    pub overrides: Overrides,
    pub progress: bool,
}

/// One model of an experiment: a config text and the data it trains and is tested on.
#[derive(Debug, Clone)]
pub struct Arm {
    /// Short name, also the run folder's name (`single_income`, `mmoe`, ...).
    pub name: String,
    pub config_text: String,
    pub config_source: PathBuf,
    pub train_input: String,
    pub test_input: String,
}

/// The test metrics of one (arm, seed) run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub arm: String,
    pub seed: u64,
    pub metrics: MetricValues,
}

/// Loads an arm's config with the experiment's data and overrides.
pub fn arm_spec(arm: &Arm, overrides: &Overrides) -> Result<ModelSpec> {
    let loaded = plec_config::load_str(&arm.config_text, &arm.config_source)
        .map_err(|source| ExperimentError::ArmConfig { path: arm.config_source.clone(), source })?;
    let mut spec = loaded.spec;
    plec_trainer::data::use_local_dataset(&mut spec, &arm.train_input)?;
    overrides.apply(&mut spec);
    Ok(spec)
}

/// Trains `arm` once per seed into `<out_dir>/runs/<arm>/seed-<s>` and evaluates each run on its test input.
pub fn run_arm(arm: &Arm, settings: &RunSettings, runs_dir: &Path) -> Result<Vec<RunResult>> {
    let spec = arm_spec(arm, &settings.overrides)?;
    let config_text = format!("{}{}", arm.config_text, settings.overrides.comment());
    let mut results = Vec::new();
    for &seed in &settings.seeds {
        let model_dir = runs_dir.join(&arm.name).join(format!("seed-{seed}"));
        refuse_other_settings(&model_dir, &config_text)?;
        if settings.progress {
            eprintln!("experiment: {} seed {seed} -> {}", arm.name, model_dir.display());
        }
        let options = TrainOptions {
            config_text: config_text.clone(),
            train_input: arm.train_input.clone(),
            eval_input: Some(arm.test_input.clone()),
            model_dir,
            num_steps: settings.overrides.num_steps,
            seed,
            threads: settings.threads,
            device: settings.device,
            eval_every_steps: None,
            progress: settings.progress,
            interrupt: None,
        };
        let report = train(&spec, &options)?;
        let metrics =
            report.eval.ok_or_else(|| ExperimentError::Unusable(format!("{}: no test evaluation", arm.name)))?;
        results.push(RunResult { arm: arm.name.clone(), seed, metrics });
    }
    Ok(results)
}

/// An existing run folder trained from another config (other model shape or overrides) would otherwise be
/// resumed, or only evaluated, as if it were this one.
fn refuse_other_settings(model_dir: &Path, config_text: &str) -> Result<()> {
    let path = model_dir.join(plec_spec::artifact::checkpoint::CONFIG_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing != config_text => Err(ExperimentError::Config(format!(
            "{}: this run was started with other settings (model shape, epochs, steps, batch size or learning \
             rate) than this experiment's; use a fresh output folder (-o) for different settings",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Every arm's runs, in arm order.
pub fn run_arms(arms: &[Arm], settings: &RunSettings, runs_dir: &Path) -> Result<BTreeMap<String, Vec<RunResult>>> {
    let mut all = BTreeMap::new();
    for arm in arms {
        all.insert(arm.name.clone(), run_arm(arm, settings, runs_dir)?);
    }
    Ok(all)
}
