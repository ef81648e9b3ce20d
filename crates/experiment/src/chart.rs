//! The experiments' charts, drawn from every run's metrics (as an experiment has them, or as read back from its
//! results file): one panel per measured metric (a metric key `<metric>_<task>`, whatever metrics the runs report),
//! points at the mean over seeds and error bars of ± one standard deviation.

use std::collections::BTreeMap;
use std::path::Path;

use super::summary::{rows, Gain, Row, TaskColumn};
use super::RunResult;
use crate::error::Result;
use plec_trainer::plot::{draw, Figure, Legend, Panel, Point, Series, XTicks};

/// Horizontal distance between the models' points at one correlation, in correlation units, so their error
/// bars do not hide each other.
const DODGE: f64 = 0.018;

/// Every metric the runs report that belongs to a task, in task then metric order. A task is an arm named
/// `single_<task>`; a metric key belongs to the task whose name it ends with (`_<task>`, the longest such).
pub fn measured(results: &BTreeMap<String, Vec<RunResult>>) -> Vec<TaskColumn> {
    let tasks: Vec<&str> = results.keys().filter_map(|arm| arm.strip_prefix("single_")).collect();
    let mut metrics: Vec<&String> = results.values().flatten().flat_map(|r| r.metrics.keys()).collect();
    metrics.sort();
    metrics.dedup();
    let mut columns: Vec<TaskColumn> = metrics
        .into_iter()
        .filter_map(|metric| {
            let task = tasks.iter().filter(|t| metric.ends_with(&format!("_{t}"))).max_by_key(|t| t.len())?;
            Some(TaskColumn { task: task.to_string(), metric: metric.clone(), single_arm: format!("single_{task}") })
        })
        .collect();
    columns.sort_by(|a, b| (&a.task, &a.metric).cmp(&(&b.task, &b.metric)));
    columns
}

/// The multi-task arms present in `results`: those of `known` (arm, display name) in that order, then any other
/// arm that is not single-task, under its own name.
pub fn multi_task_arms(results: &BTreeMap<String, Vec<RunResult>>, known: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut arms: Vec<(String, String)> = known
        .iter()
        .filter(|(arm, _)| results.contains_key(*arm))
        .map(|(arm, display)| (arm.to_string(), display.to_string()))
        .collect();
    for arm in results.keys() {
        if !arm.starts_with("single_") && !known.iter().any(|(k, _)| k == arm) {
            arms.push((arm.clone(), arm.clone()));
        }
    }
    arms
}

/// `auc` -> `AUC`, `mean_squared_error` -> `MSE`; other metric names as they are.
fn metric_label(column: &TaskColumn) -> String {
    let name = column.metric.strip_suffix(&format!("_{}", column.task)).unwrap_or(&column.metric);
    match name {
        "auc" => "binned AUC".into(),
        "exact_auc" => "exact AUC".into(),
        "mean_squared_error" => "MSE".into(),
        other => other.into(),
    }
}

/// The most runs behind any mean, for the caption.
fn seeds(results: &BTreeMap<String, Vec<RunResult>>) -> usize {
    results.values().map(Vec::len).max().unwrap_or(0)
}

/// What an experiment's chart is about: its results' heading and the split its runs were scored on.
#[derive(Debug, Clone, Copy)]
pub struct ChartTitle<'a> {
    pub heading: &'a str,
    pub split: &'a str,
}

/// Census: one panel per task and metric, the models along x, mean ± sd over seeds, each mean written out.
pub fn census_chart(
    path: &Path,
    title: ChartTitle<'_>,
    results: &BTreeMap<String, Vec<RunResult>>,
    known_arms: &[(&str, &str)],
) -> Result<()> {
    let columns = measured(results);
    let table = rows(&columns, &multi_task_arms(results, known_arms), results, Gain::Difference);
    let ticks: Vec<(f64, String)> = table.iter().enumerate().map(|(i, r)| (i as f64, r.model.clone())).collect();
    let panels = columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let label = metric_label(column);
            let points =
                table.iter().enumerate().filter_map(|(i, row)| Some(stat_point(i as f64, row.stats.get(c)?.as_ref()?)));
            Panel {
                title: format!("{}: {} {label}", column.task, title.split),
                x_label: "model".into(),
                y_label: format!("{} {label} (mean ± sd)", title.split),
                x_ticks: XTicks::At(ticks.clone()),
                series: vec![Series { name: column.metric.clone(), points: points.collect() }],
                lines: false,
                value_labels: true,
                legend: Legend::None,
            }
        })
        .collect();
    let figure = Figure {
        caption: format!("{}: mean ± sd over {} seeds", title.heading, seeds(results)),
        panels,
        columns: 2,
        panel_size: (640, 460),
    };
    Ok(draw(path, &figure)?)
}

fn stat_point(x: f64, stat: &super::summary::Stat) -> Point {
    Point { x, y: stat.mean, error: Some((stat.mean - stat.sd, stat.mean + stat.sd)) }
}

/// Synthetic: per task and metric, the multi-task models' gain over the single-task model against the correlation
/// (top row), and every model's metric against the correlation (bottom row); mean ± sd over seeds. The gain's
/// error bar is the spread of the runs' own gains against the single-task mean (the model's sd, in gain units).
pub fn synthetic_chart(
    path: &Path,
    title: ChartTitle<'_>,
    by_correlation: &[(f64, BTreeMap<String, Vec<RunResult>>)],
    known_arms: &[(&str, &str)],
) -> Result<()> {
    let mut all_runs: BTreeMap<String, Vec<RunResult>> = BTreeMap::new();
    for (_, results) in by_correlation {
        for (arm, runs) in results {
            all_runs.entry(arm.clone()).or_default().extend(runs.iter().cloned());
        }
    }
    let columns = measured(&all_runs);
    let arms = multi_task_arms(&all_runs, known_arms);
    let gain = Gain::RelativeReduction;
    let tables: Vec<(f64, Vec<Row>)> =
        by_correlation.iter().map(|(p, results)| (*p, rows(&columns, &arms, results, gain))).collect();
    let ticks: Vec<(f64, String)> = by_correlation.iter().map(|(p, _)| (*p, p.to_string())).collect();
    let models: Vec<String> =
        std::iter::once("single-task".to_string()).chain(arms.iter().map(|a| a.1.clone())).collect();
    // Model `m`'s series, a point per correlation from that correlation's rows, dodged sideways by its place.
    let series = |m: usize, place: usize, count: usize, value: &dyn Fn(&[Row]) -> Option<Point>| {
        let offset = (place as f64 - (count as f64 - 1.0) / 2.0) * DODGE;
        let points = tables.iter().filter_map(|(p, rows)| Some(Point { x: p + offset, ..value(rows)? })).collect();
        Series { name: models[m].clone(), points }
    };
    let mut gain_panels = Vec::new();
    let mut metric_panels = Vec::new();
    for (c, column) in columns.iter().enumerate() {
        let label = metric_label(column);
        let gain_point = |rows: &[Row], m: usize| -> Option<Point> {
            let (row, single) = (rows.get(m)?, rows.first()?);
            let (s, base) = (row.stats.get(c)?.as_ref()?, single.stats.get(c)?.as_ref()?);
            let (a, b) = (gain.of(s.mean - s.sd, base.mean), gain.of(s.mean + s.sd, base.mean));
            Some(Point { x: 0.0, y: row.gains.get(c).copied().flatten()?, error: Some((a.min(b), a.max(b))) })
        };
        let gains: Vec<Series> =
            (1..models.len()).map(|m| series(m, m - 1, models.len() - 1, &|rows| gain_point(rows, m))).collect();
        gain_panels.push(Panel {
            title: format!("{}: {label} gain over single-task", column.task),
            x_label: "correlation of the tasks (P)".into(),
            y_label: format!("{} {label} reduction, % (mean ± sd)", title.split),
            x_ticks: XTicks::At(ticks.clone()),
            series: gains,
            lines: true,
            value_labels: false,
            legend: Legend::LowerRight,
        });
        let metric_point = |rows: &[Row], m: usize| Some(stat_point(0.0, rows.get(m)?.stats.get(c)?.as_ref()?));
        let metrics: Vec<Series> =
            (0..models.len()).map(|m| series(m, m, models.len(), &|rows| metric_point(rows, m))).collect();
        metric_panels.push(Panel {
            title: format!("{}: {} {label}", column.task, title.split),
            x_label: "correlation of the tasks (P)".into(),
            y_label: format!("{} {label} (mean ± sd)", title.split),
            x_ticks: XTicks::At(ticks.clone()),
            series: metrics,
            lines: true,
            value_labels: false,
            legend: Legend::UpperRight,
        });
    }
    let columns_count = gain_panels.len().max(1);
    gain_panels.extend(metric_panels);
    let figure = Figure {
        caption: format!(
            "{}: mean ± sd over {} seeds",
            title.heading,
            by_correlation.iter().map(|(_, r)| seeds(r)).max().unwrap_or(0)
        ),
        panels: gain_panels,
        columns: columns_count,
        panel_size: (640, 460),
    };
    Ok(draw(path, &figure)?)
}

/// The census chart, in a sentence for the results file.
pub fn census_description(split: &str) -> String {
    format!(
        "`chart.png`: one panel per task and metric, the models along x: the mean {split} metric over seeds (written \
         beside it) with an error bar of ± one standard deviation.\n"
    )
}

/// The synthetic chart, in a sentence for the results file.
pub fn synthetic_description(split: &str) -> String {
    format!(
        "`chart.png`: per task, top: each multi-task model's gain over the single-task model (relative {split} MSE \
         reduction, %) against the correlation P; bottom: every model's {split} MSE against P. Points at the mean \
         over seeds, error bars ± one standard deviation (for a gain: of the runs' own gains against the \
         single-task mean).\n"
    )
}
