//! Evaluation metrics (section 7), accumulated over batches and computed at the end. Names: `<metric>_<tower>`.
//!
//! Beside every binned `auc_<tower>` (TorchEasyRec's metric, kept as is so its numbers stay comparable), plec
//! always reports `exact_auc_<tower>`, the exact ROC AUC of the same scores: binning loses resolution when most
//! scores crowd into a few bins (rare positives), and the exact value is the standard definition. It needs no config field, so
//! TorchEasyRec configs stay as they are; no `<metric>_<tower>` name can collide with it (no metric is named
//! `exact...`), while `auc_exact_<tower>` would be the binned AUC of a tower named `exact_<tower>`.

pub mod auc;
mod logloss;

pub use logloss::logloss;

use std::collections::BTreeMap;

use plec_spec::{Loss, Metric, Tower};

/// What one tower's metrics read, gathered over an evaluation.
#[derive(Default, Clone)]
pub struct TowerValues {
    /// The probability (binary), `probs1` (2-class softmax) or `y` (regression) per sample.
    pub scores: Vec<f32>,
    /// The arg-max class per sample (softmax towers).
    pub classes: Vec<i64>,
    pub labels: Vec<f32>,
    /// `grouping_key` values per sample, when a `grouped_auc` needs them.
    pub groups: Vec<String>,
}

/// The key of the exact AUC reported beside a tower's binned `auc`.
pub fn exact_auc_name(tower: &str) -> String {
    format!("exact_auc_{tower}")
}

/// One line per `auc` metric of `towers`, saying what `auc_<tower>` and `exact_auc_<tower>` are (so a printout of
/// metric values can be read without knowing plec's naming).
pub fn auc_legend(towers: &[Tower]) -> Vec<String> {
    let mut lines = Vec::new();
    for tower in towers {
        for metric in &tower.metrics {
            if let Metric::Auc { thresholds } = metric {
                lines.push(format!(
                    "auc_{0}: binned AUC ({thresholds} thresholds, TorchEasyRec's `auc`); {1}: exact ROC AUC \
                     (rank-based, ties averaged)",
                    tower.name,
                    exact_auc_name(&tower.name)
                ));
            }
        }
    }
    lines.dedup();
    lines
}

pub fn is_softmax(tower: &Tower) -> bool {
    tower.losses.iter().any(|l| matches!(l, Loss::SoftmaxCrossEntropy { .. } | Loss::Jrc { .. }))
}

/// Every metric of `tower` on `values`; undefined ones (e.g. AUC on one class) are `None`.
pub fn compute(tower: &Tower, values: &TowerValues) -> BTreeMap<String, Option<f64>> {
    let mut out = BTreeMap::new();
    let n = values.labels.len().max(1) as f64;
    for metric in &tower.metrics {
        let value = match metric {
            Metric::Auc { thresholds } => auc::binned_auc(&values.scores, &values.labels, *thresholds),
            Metric::GroupedAuc { .. } => auc::grouped_auc(&values.scores, &values.labels, &values.groups),
            Metric::Accuracy { threshold } => {
                let correct = if is_softmax(tower) {
                    values.classes.iter().zip(&values.labels).filter(|(c, y)| **c as f32 == **y).count()
                } else {
                    // torchmetrics' binary accuracy: predicted positive when score > threshold.
                    values.scores.iter().zip(&values.labels).filter(|(s, y)| (**s > *threshold) == (**y > 0.5)).count()
                };
                Some(correct as f64 / n)
            }
            Metric::MeanAbsoluteError => Some(
                values.scores.iter().zip(&values.labels).map(|(s, y)| (*s as f64 - *y as f64).abs()).sum::<f64>() / n,
            ),
            Metric::MeanSquaredError => Some(
                values.scores.iter().zip(&values.labels).map(|(s, y)| (*s as f64 - *y as f64).powi(2)).sum::<f64>() / n,
            ),
        };
        let defined = |v: Option<f64>| if values.labels.is_empty() { None } else { v };
        out.insert(format!("{}_{}", metric.name(), tower.name), defined(value));
        if matches!(metric, Metric::Auc { .. }) {
            out.insert(exact_auc_name(&tower.name), defined(auc::exact_auc(&values.scores, &values.labels)));
        }
    }
    out
}
