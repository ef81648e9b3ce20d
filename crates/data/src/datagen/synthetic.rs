//! `plec datagen synthetic`: the MMoE paper's (Ma et al., KDD 2018, section 3.2) two regression tasks whose
//! correlation is controlled by `P`:
//!
//! ```text
//! u1, u2 orthogonal unit vectors in R^d;  w1 = c u1;  w2 = c (P u1 + sqrt(1 - P^2) u2)
//! x ~ N(0, I_d);  y_k = w_k.x + sum_{i=1..m} sin(alpha_i w_k.x + beta_i) + eps_k,  eps_k ~ N(0, 0.01)
//! ```
//! `alpha_i, beta_i ~ N(0, 1)` are drawn once per data set; `N(0, 0.01)` is read as variance 0.01 (sd 0.1).
//! Columns `x_0 .. x_{d-1}` (floats) and `y1`, `y2`.

use std::path::{Path, PathBuf};

use super::rng::{mix64, Rng};
use super::write::{Chunk, ChunkWriter};
use crate::FileFormat;
use crate::{Column, DataError};
use plec_spec::Norm;

/// Standard deviation of the label noise (variance 0.01).
pub const NOISE_SD: f64 = 0.1;
const TASK_STREAM: u64 = 10;
const TRAIN_STREAM: u64 = 11;
const EVAL_STREAM: u64 = 12;
/// Rows generated and written at a time (512 columns x 8192 rows x 8 bytes = 32 MiB).
const CHUNK_ROWS: usize = 8192;

#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticOptions {
    pub rows: u64,
    pub eval_rows: u64,
    /// Rows of `validation.<ext>`: the evaluation stream continued after the `eval_rows` test rows, so choosing
    /// settings on them never reads the test rows, and the test rows do not depend on this number.
    pub validation_rows: u64,
    pub dim: usize,
    /// `P`, the cosine of the angle between w1 and w2, in [-1, 1].
    pub correlation: f64,
    /// `c`, the length of w1 and w2.
    pub scale: f64,
    /// `m`, the number of sine terms.
    pub sines: usize,
    pub seed: u64,
    pub format: FileFormat,
}

impl SyntheticOptions {
    /// The paper's defaults: c = 1, m = 10, d = 512.
    pub fn new(rows: u64, correlation: f64, seed: u64) -> SyntheticOptions {
        SyntheticOptions {
            rows,
            eval_rows: rows / 10,
            validation_rows: 0,
            dim: 512,
            correlation,
            scale: 1.0,
            sines: 10,
            seed,
            format: FileFormat::Parquet,
        }
    }
}

/// The two tasks of one data set.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticTasks {
    pub w1: Vec<f64>,
    pub w2: Vec<f64>,
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn unit(mut v: Vec<f64>) -> Vec<f64> {
    let norm = dot(&v, &v).sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

impl SyntheticTasks {
    pub fn new(options: &SyntheticOptions) -> Result<SyntheticTasks, DataError> {
        let p = options.correlation;
        if !(-1.0..=1.0).contains(&p) {
            return Err(DataError::Settings(format!("--correlation {p} must be in [-1, 1]")));
        }
        if options.dim < 2 {
            return Err(DataError::Settings(format!("--dim {} must be at least 2", options.dim)));
        }
        let mut rng = Rng::new(mix64(options.seed ^ TASK_STREAM));
        let d = options.dim;
        // Gram-Schmidt on two Gaussian vectors (orthogonal with probability 1 after the projection).
        let u1 = unit((0..d).map(|_| rng.normal()).collect());
        let v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let along = dot(&v, &u1);
        let u2 = unit(v.iter().zip(&u1).map(|(a, b)| a - along * b).collect());
        let c = options.scale;
        let w1 = u1.iter().map(|x| c * x).collect();
        let q = (1.0 - p * p).max(0.0).sqrt();
        let w2 = u1.iter().zip(&u2).map(|(a, b)| c * (p * a + q * b)).collect();
        let alpha = (0..options.sines).map(|_| rng.normal()).collect();
        let beta = (0..options.sines).map(|_| rng.normal()).collect();
        Ok(SyntheticTasks { w1, w2, alpha, beta })
    }

    fn label(&self, w: &[f64], x: &[f64], noise: f64) -> f64 {
        let z = dot(w, x);
        z + self.alpha.iter().zip(&self.beta).map(|(a, b)| (a * z + b).sin()).sum::<f64>() + noise
    }

    /// `rows` rows: x_0 .. x_{d-1}, y1, y2.
    pub fn chunk(&self, rng: &mut Rng, rows: usize) -> Chunk {
        let d = self.w1.len();
        let mut xs: Vec<Vec<Option<f64>>> = (0..d).map(|_| Vec::with_capacity(rows)).collect();
        let (mut y1, mut y2) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        let mut x = vec![0.0; d];
        for _ in 0..rows {
            x.iter_mut().for_each(|v| *v = rng.normal());
            for (column, v) in xs.iter_mut().zip(&x) {
                column.push(Some(*v));
            }
            y1.push(Some(self.label(&self.w1, &x, NOISE_SD * rng.normal())));
            y2.push(Some(self.label(&self.w2, &x, NOISE_SD * rng.normal())));
        }
        let mut chunk: Chunk =
            xs.into_iter().enumerate().map(|(j, v)| (format!("x_{j}"), Column::Float64(v))).collect();
        chunk.push(("y1".into(), Column::Float64(y1)));
        chunk.push(("y2".into(), Column::Float64(y2)));
        chunk
    }
}

/// Pearson correlation, accumulated one pair at a time (co-moments, numerically stable).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pearson {
    n: f64,
    mean_a: f64,
    mean_b: f64,
    m2_a: f64,
    m2_b: f64,
    co: f64,
}

impl Pearson {
    pub fn add(&mut self, a: f64, b: f64) {
        self.n += 1.0;
        let da = a - self.mean_a;
        self.mean_a += da / self.n;
        let db = b - self.mean_b;
        self.mean_b += db / self.n;
        self.m2_a += da * (a - self.mean_a);
        self.m2_b += db * (b - self.mean_b);
        self.co += da * (b - self.mean_b);
    }

    pub fn value(&self) -> f64 {
        self.co / (self.m2_a * self.m2_b).sqrt()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSummary {
    pub files: Vec<(PathBuf, u64)>,
    /// Pearson correlation of y1 and y2 over the training rows.
    pub label_correlation: f64,
}

/// Writes `train.<ext>`, and (unless their row counts are 0) `eval.<ext>` and `validation.<ext>`, into `dir`.
pub fn write_synthetic(options: &SyntheticOptions, dir: &Path) -> Result<SyntheticSummary, DataError> {
    if options.rows == 0 {
        return Err(DataError::Settings("--rows must be at least 1".into()));
    }
    let tasks = SyntheticTasks::new(options)?;
    let mut summary = SyntheticSummary { files: Vec::new(), label_correlation: f64::NAN };
    let path = |name: &str| dir.join(format!("{name}.{}", options.format.extension()));
    let mut train_rng = Rng::new(mix64(options.seed ^ TRAIN_STREAM));
    let (written, pearson) = write_rows(&tasks, &mut train_rng, options.rows, &path("train"), options.format)?;
    summary.files.extend(written.map(|n| (path("train"), n)));
    summary.label_correlation = pearson.value();
    // Validation continues the test rows' stream: it draws after them, so they are the same with or without it.
    let mut eval_rng = Rng::new(mix64(options.seed ^ EVAL_STREAM));
    for (name, rows) in [("eval", options.eval_rows), ("validation", options.validation_rows)] {
        let (written, _) = write_rows(&tasks, &mut eval_rng, rows, &path(name), options.format)?;
        summary.files.extend(written.map(|n| (path(name), n)));
    }
    Ok(summary)
}

/// Writes the next `rows` rows of `rng`'s stream to `path` (no file when `rows` is 0): the rows written and the
/// labels' correlation.
fn write_rows(
    tasks: &SyntheticTasks,
    rng: &mut Rng,
    rows: u64,
    path: &Path,
    format: FileFormat,
) -> Result<(Option<u64>, Pearson), DataError> {
    let mut pearson = Pearson::default();
    if rows == 0 {
        return Ok((None, pearson));
    }
    let mut writer = ChunkWriter::create(path, format)?;
    let mut left = rows;
    while left > 0 {
        let size = left.min(CHUNK_ROWS as u64) as usize;
        let chunk = tasks.chunk(rng, size);
        if let [.., (_, Column::Float64(y1)), (_, Column::Float64(y2))] = chunk.as_slice() {
            y1.iter().zip(y2).for_each(|(a, b)| pearson.add(a.unwrap_or(0.0), b.unwrap_or(0.0)));
        }
        writer.write(&chunk)?;
        left -= size as u64;
    }
    Ok((Some(writer.finish()?), pearson))
}

/// The configs of `examples/synthetic/` (at the default shape): `(file name, text)` for MMoE and PLE over `dim`
/// dense features.
pub fn synthetic_configs(dim: usize, shape: &SyntheticShape) -> Vec<(&'static str, String)> {
    synthetic_model_configs(dim, shape)
        .into_iter()
        .filter_map(|(name, text)| match name {
            "mmoe" => Some(("mmoe.config", text)),
            "ple" => Some(("ple.config", text)),
            _ => None,
        })
        .collect()
}

/// The layer sizes of every synthetic model. The default is the MMoE paper's: experts of one hidden layer of 16
/// ReLU units, towers of 8, no normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticShape {
    pub expert_hidden: Vec<usize>,
    pub tower_hidden: Vec<usize>,
    pub tower_norm: Norm,
}

impl Default for SyntheticShape {
    fn default() -> SyntheticShape {
        SyntheticShape { expert_hidden: vec![16], tower_hidden: vec![8], tower_norm: Norm::None }
    }
}

/// Every synthetic model, `(name, text)`: a single-task model per task (the experiments' baselines), MMoE and PLE,
/// all of the same `shape`.
pub fn synthetic_model_configs(dim: usize, shape: &SyntheticShape) -> Vec<(&'static str, String)> {
    use super::configs::{quote, Architecture, ConfigText, TaskText};
    let features: Vec<(String, String)> = (0..dim)
        .map(|j| {
            let name = format!("x_{j}");
            let body = format!(
                "    raw_feature {{\n        feature_name: {}\n        expression: {}\n    }}",
                quote(&name),
                quote(&format!("item:{name}"))
            );
            (name, body)
        })
        .collect();
    let task = |i: usize| TaskText {
        tower: format!("task{i}"),
        label: format!("y{i}"),
        loss: "l2_loss {}".into(),
        metric: "mean_squared_error {}".into(),
    };
    let text = |name: &str| ConfigText {
        header: vec![
            format!("The MMoE paper's synthetic two-task regression ({name}), for data written by"),
            "`plec datagen synthetic --correlation P --rows N -o data/synthetic`.".into(),
        ],
        train_input: "data/synthetic/train.parquet".into(),
        eval_input: "data/synthetic/eval.parquet".into(),
        model_dir: format!("experiments/synthetic_{name}"),
        batch_size: 256,
        num_epochs: 10,
        sparse_lr: 0.01,
        dense_lr: 0.001,
        features: features.clone(),
        tasks: vec![task(1), task(2)],
        expert_hidden: shape.expert_hidden.clone(),
        tower_hidden: shape.tower_hidden.clone(),
        tower_norm: shape.tower_norm,
    };
    vec![
        ("single_task1", text("single_task1").render(Architecture::SingleTask(0))),
        ("single_task2", text("single_task2").render(Architecture::SingleTask(1))),
        ("mmoe", text("mmoe").render(Architecture::Mmoe { experts: 8 })),
        ("ple", text("ple").render(Architecture::Ple { layers: 2, per_task: 2, shared: 4 })),
    ]
}
