//! `training_curves.png`: each task's loss against the step (from `loss_log.txt`) above each evaluation metric
//! against the step (from `eval_result.txt`), redrawn from both files so a resumed run plots its whole history.

use std::path::Path;

use plec_spec::artifact::checkpoint::EVAL_RESULT_FILE;

use crate::error::Result;
use crate::loss_log::LOSS_LOG_FILE;
use crate::plot::{self, Figure, Legend, Panel, Point, Series, XTicks};

pub const CURVES_FILE: &str = "training_curves.png";

/// A panel whose series have at most this many points also prints each value.
const VALUE_LABELS_UP_TO: usize = 4;

fn read_lines(model_dir: &Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(model_dir.join(name))
        .map(|text| text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
        .unwrap_or_default()
}

/// The metrics drawn: the AUCs when there are any (one scale, 0.5 to 1), otherwise every metric.
fn metric_names(evals: &[serde_json::Value]) -> (Vec<String>, &'static str) {
    let mut all: Vec<String> = evals
        .iter()
        .filter_map(|v| v.as_object())
        .flat_map(|o| o.iter().filter(|(k, v)| *k != "global_step" && v.is_number()).map(|(k, _)| k.clone()))
        .collect();
    all.sort();
    all.dedup();
    let aucs: Vec<String> = all.iter().filter(|k| k.contains("auc")).cloned().collect();
    if aucs.is_empty() {
        (all, "metric")
    } else {
        (aucs, "AUC")
    }
}

fn panel(title: &str, y_label: &str, series: Vec<Series>, legend: Legend) -> Panel {
    let few = series.iter().all(|s| s.points.len() <= VALUE_LABELS_UP_TO);
    Panel {
        title: title.into(),
        x_label: "step".into(),
        y_label: y_label.into(),
        x_ticks: XTicks::Auto,
        series,
        lines: true,
        value_labels: few,
        legend,
    }
}

/// Redraws `training_curves.png` in `model_dir` from its loss log and evaluation results.
pub fn write_curves(model_dir: &Path, towers: &[String]) -> Result<()> {
    let losses = read_lines(model_dir, LOSS_LOG_FILE);
    let loss_series: Vec<Series> = towers
        .iter()
        .map(|t| Series {
            name: format!("loss_{t}"),
            points: losses
                .iter()
                .filter_map(|v| Some(Point::new(v["global_step"].as_f64()?, v["losses"][t].as_f64()?)))
                .collect(),
        })
        .collect();
    let evals = read_lines(model_dir, EVAL_RESULT_FILE);
    let (names, y_label) = metric_names(&evals);
    let metric_series: Vec<Series> = names
        .iter()
        .map(|m| Series {
            name: m.clone(),
            points: evals.iter().filter_map(|v| Some(Point::new(v["global_step"].as_f64()?, v[m].as_f64()?))).collect(),
        })
        .collect();
    let figure = Figure {
        caption: format!("Training curves: {}", model_dir.display()),
        panels: vec![
            panel("training loss per task (mean since the previous point)", "loss", loss_series, Legend::UpperRight),
            panel("evaluation", y_label, metric_series, Legend::LowerRight),
        ],
        columns: 1,
        panel_size: (960, 420),
    };
    plot::draw(&model_dir.join(CURVES_FILE), &figure)
}
