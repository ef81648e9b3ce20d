//! Evaluation metrics (section 7), accumulated over batches and computed at the end. Names: `<metric>_<tower>`.

pub mod auc;

use std::collections::BTreeMap;

use plec_config::spec::{Loss, Metric, Tower};

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

pub fn is_softmax(tower: &Tower) -> bool {
    tower.losses.iter().any(|l| matches!(l, Loss::SoftmaxCrossEntropy { .. }))
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
        out.insert(format!("{}_{}", metric.name(), tower.name), if values.labels.is_empty() { None } else { value });
    }
    out
}
