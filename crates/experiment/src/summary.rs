//! Means, standard deviations and multi-task gains over an experiment's runs, and their markdown tables.

use std::collections::BTreeMap;

use super::RunResult;

/// Mean and sample standard deviation (n - 1; 0 for one run) of a metric over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub sd: f64,
    pub runs: usize,
}

impl Stat {
    /// `None` when there are no values or any is missing or not finite (a run that failed to evaluate).
    pub fn of(values: &[Option<f64>]) -> Option<Stat> {
        let values: Vec<f64> = values.iter().map(|v| v.filter(|x| x.is_finite())).collect::<Option<_>>()?;
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(Stat { mean, sd, runs: values.len() })
    }
}

/// How a multi-task model's gain over the single-task model is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gain {
    /// `mean(model) - mean(single)`: for AUC (higher is better), as in the PLE paper's tables.
    Difference,
    /// `(mean(single) - mean(model)) / mean(single)`, in percent: for MSE (lower is better).
    RelativeReduction,
}

impl Gain {
    pub fn of(self, model: f64, single: f64) -> f64 {
        match self {
            Gain::Difference => model - single,
            Gain::RelativeReduction => 100.0 * (single - model) / single,
        }
    }

    fn format(self, value: f64) -> String {
        match self {
            Gain::Difference => format!("{value:+.5}"),
            Gain::RelativeReduction => format!("{value:+.2}%"),
        }
    }
}

/// One task of a comparison: its metric key and the arm that trains it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskColumn {
    pub task: String,
    /// `<metric>_<tower>`, as in the evaluation results.
    pub metric: String,
    pub single_arm: String,
}

/// One table row: the single-task baselines (one arm per task) or a multi-task arm.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub model: String,
    pub stats: Vec<Option<Stat>>,
    /// Per task; `None` for the single-task row or when a mean is missing.
    pub gains: Vec<Option<f64>>,
}

fn stat(results: &BTreeMap<String, Vec<RunResult>>, arm: &str, metric: &str) -> Option<Stat> {
    let runs = results.get(arm)?;
    let values: Vec<Option<f64>> = runs.iter().map(|r| r.metrics.get(metric).copied().flatten()).collect();
    Stat::of(&values)
}

/// The single-task row, then one row per multi-task arm (`(arm, display name)`), in the given order.
pub fn rows(
    tasks: &[TaskColumn],
    arms: &[(String, String)],
    results: &BTreeMap<String, Vec<RunResult>>,
    gain: Gain,
) -> Vec<Row> {
    let singles: Vec<Option<Stat>> = tasks.iter().map(|t| stat(results, &t.single_arm, &t.metric)).collect();
    let mut out = vec![Row { model: "single-task".into(), stats: singles.clone(), gains: vec![None; tasks.len()] }];
    for (arm, display) in arms {
        let stats: Vec<Option<Stat>> = tasks.iter().map(|t| stat(results, arm, &t.metric)).collect();
        let gains = stats
            .iter()
            .zip(&singles)
            .map(|(s, single)| Some(gain.of(s.as_ref()?.mean, single.as_ref()?.mean)))
            .collect();
        out.push(Row { model: display.clone(), stats, gains });
    }
    out
}

/// `mean ± sd` with `digits` decimals, or `n/a`.
pub fn format_stat(stat: Option<Stat>, digits: usize) -> String {
    match stat {
        Some(s) => format!("{:.digits$} ± {:.digits$}", s.mean, s.sd),
        None => "n/a".into(),
    }
}

/// Cells of `rows` after `leading` cells: each task's `mean ± sd`, then each task's gain.
pub fn cells(leading: &[String], row: &Row, digits: usize, gain: Gain) -> Vec<String> {
    let mut cells: Vec<String> = leading.to_vec();
    cells.push(row.model.clone());
    cells.extend(row.stats.iter().map(|s| format_stat(*s, digits)));
    cells.extend(row.gains.iter().map(|g| g.map_or_else(|| "—".to_string(), |v| gain.format(v))));
    cells
}

/// Headers matching [`cells`]: leading headers, `model`, `<task> <metric>`, `<task> gain`.
pub fn headers(leading: &[&str], tasks: &[TaskColumn], metric_label: &str) -> Vec<String> {
    let mut headers: Vec<String> = leading.iter().map(|h| h.to_string()).collect();
    headers.push("model".into());
    headers.extend(tasks.iter().map(|t| format!("{} {metric_label} (mean ± sd)", t.task)));
    headers.extend(tasks.iter().map(|t| format!("{} gain", t.task)));
    headers
}

/// A markdown table.
pub fn markdown_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(headers);
    out.push_str(&line(&vec!["---".to_string(); headers.len()]));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

/// Every run's metrics: one row per (arm, seed), metric columns sorted by name.
pub fn runs_table(results: &BTreeMap<String, Vec<RunResult>>, leading: &[(&str, String)]) -> String {
    let mut metrics: Vec<String> =
        results.values().flatten().flat_map(|r| r.metrics.keys().cloned()).collect::<Vec<_>>();
    metrics.sort();
    metrics.dedup();
    let mut headers: Vec<String> = leading.iter().map(|(h, _)| h.to_string()).collect();
    headers.extend(["run".to_string(), "seed".to_string()]);
    headers.extend(metrics.iter().cloned());
    let rows: Vec<Vec<String>> = results
        .values()
        .flatten()
        .map(|r| {
            let mut row: Vec<String> = leading.iter().map(|(_, v)| v.clone()).collect();
            row.extend([r.arm.clone(), r.seed.to_string()]);
            row.extend(metrics.iter().map(|m| match r.metrics.get(m).copied().flatten() {
                Some(v) => format!("{v:.6}"),
                None => "—".into(),
            }));
            row
        })
        .collect();
    markdown_table(&headers, &rows)
}

/// The runs of one correlation under their heading, as the synthetic experiment writes them.
pub fn correlation_runs(p: f64, results: &BTreeMap<String, Vec<RunResult>>) -> String {
    format!("\n### correlation {p}\n\n{}", runs_table(results, &[]))
}
