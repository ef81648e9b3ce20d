//! The synthetic experiment (MMoE paper, section 3; PLE paper, figure 4 style): two regression tasks whose
//! correlation is set by `P`; single-task per task, MMoE and PLE at each correlation, test MSE over seeds, and the
//! multi-task gain (relative MSE reduction) against the correlation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_data::datagen::synthetic::{write_synthetic, SyntheticOptions, SyntheticShape};

use super::census::{settings_line, ExperimentReport, CHART_FILE, RESULTS_FILE};
use super::chart::{synthetic_chart, synthetic_description, ChartTitle};
use super::summary::{cells, correlation_runs, headers, markdown_table, rows, Gain, Row, TaskColumn};
use super::{run_arms, Arm, RunResult, RunSettings, Split};
use crate::error::{io_err, ExperimentError, Result};

/// The multi-task models, in table order: (arm, display name).
pub const MULTI_TASK: [(&str, &str); 2] = [("mmoe", "MMoE"), ("ple", "PLE")];
const TASKS: [&str; 2] = ["task1", "task2"];

#[derive(Debug, Clone)]
pub struct SyntheticExperiment {
    pub correlations: Vec<f64>,
    /// Training rows per correlation (a tenth as many test rows).
    pub rows: u64,
    pub dim: usize,
    /// Seed of the generated data (the same tasks' randomness at every correlation).
    pub data_seed: u64,
    /// Every model's layer sizes (the default: the MMoE paper's, as in `examples/synthetic/`).
    pub shape: SyntheticShape,
    pub settings: RunSettings,
}

/// The configs of `examples/synthetic/` at `shape` (`synthetic_configs` at the default), plus one
/// single-task config per task.
pub fn configs(dim: usize, shape: &SyntheticShape) -> Vec<(String, String)> {
    plec_data::datagen::synthetic::synthetic_model_configs(dim, shape)
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect()
}

/// The file a run is scored on: the generator's evaluation rows for test, the rows after them for validation.
fn scored_file(split: Split) -> &'static str {
    match split {
        Split::Test => "eval",
        Split::Validation => "validation",
    }
}

const DATA_FILES: [&str; 3] = ["train", "eval", "validation"];

fn correlation_name(p: f64) -> String {
    format!("corr-{p}")
}

/// The data folder of one correlation, named by everything that determines its bytes.
fn data_name(experiment: &SyntheticExperiment, p: f64) -> String {
    format!("rows-{}-dim-{}-seed-{}-corr-{p}", experiment.rows, experiment.dim, experiment.data_seed)
}

/// Writes the data of correlation `p` into `data_dir` unless it is there: generated into a private folder, then
/// moved file by file, so processes running other seeds of the same experiment never read a half-written file,
/// and a folder written before validation rows existed only gains `validation.parquet` (the other files are the
/// same bytes).
fn generate(experiment: &SyntheticExperiment, p: f64, data_dir: &Path, progress: bool) -> Result<()> {
    let file = |dir: &Path, name: &str| dir.join(format!("{name}.parquet"));
    if DATA_FILES.iter().all(|name| file(data_dir, name).is_file()) {
        return Ok(());
    }
    let private = data_dir.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::create_dir_all(&private).map_err(|e| io_err(&private, e))?;
    let mut options = SyntheticOptions::new(experiment.rows, p, experiment.data_seed);
    options.dim = experiment.dim;
    options.validation_rows = options.eval_rows;
    let summary = write_synthetic(&options, &private)?;
    if progress {
        eprintln!("experiment: P = {p}: label correlation {:.3}", summary.label_correlation);
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io_err(data_dir, e))?;
    for name in DATA_FILES {
        let target = file(data_dir, name);
        // Another process may have moved the same bytes first: keep theirs.
        if !target.is_file() {
            std::fs::rename(file(&private, name), &target).map_err(|e| io_err(&target, e))?;
        }
    }
    std::fs::remove_dir_all(&private).map_err(|e| io_err(&private, e))
}

/// Generates the data of each correlation, trains every model over the seeds, writes `results.md`, `chart.png`.
pub fn run(experiment: &SyntheticExperiment) -> Result<ExperimentReport> {
    let settings = &experiment.settings;
    let out = &settings.out_dir;
    if experiment.correlations.is_empty() {
        return Err(ExperimentError::Config("--correlations: give at least one correlation".into()));
    }
    // Checked before any data is generated, so a bad shape fails at once.
    let model_configs = configs(experiment.dim, &experiment.shape);
    for (arm, text) in &model_configs {
        plec_config::load_str(text, arm)
            .map_err(|source| ExperimentError::GeneratedConfig { arm: arm.to_string(), source })?;
    }
    let tasks: Vec<TaskColumn> = TASKS
        .iter()
        .map(|t| TaskColumn {
            task: t.to_string(),
            metric: format!("mean_squared_error_{t}"),
            single_arm: format!("single_{t}"),
        })
        .collect();
    let mut by_correlation: Vec<(f64, BTreeMap<String, Vec<RunResult>>)> = Vec::new();
    for &p in &experiment.correlations {
        let name = correlation_name(p);
        let data_dir = out.join("data").join(data_name(experiment, p));
        generate(experiment, p, &data_dir, settings.progress)?;
        let path = |split: &str| data_dir.join(format!("{split}.parquet")).to_string_lossy().into_owned();
        let arms: Vec<Arm> = model_configs
            .iter()
            .map(|(arm, text)| Arm {
                config_source: PathBuf::from(format!("{name}/{arm}.config")),
                name: arm.clone(),
                config_text: text.clone(),
                train_input: path("train"),
                test_input: path(scored_file(settings.split)),
            })
            .collect();
        by_correlation.push((p, run_arms(&arms, settings, &out.join("runs").join(&name))?));
    }
    let multi: Vec<(String, String)> = MULTI_TASK.iter().map(|(a, d)| (a.to_string(), d.to_string())).collect();
    let tables: Vec<(f64, Vec<Row>)> = by_correlation
        .iter()
        .map(|(p, results)| (*p, rows(&tasks, &multi, results, Gain::RelativeReduction)))
        .collect();
    let split = settings.split.name();
    let heading = format!("Synthetic two-task regression: {split} MSE (lower is better)");
    let chart_file = out.join(CHART_FILE);
    synthetic_chart(&chart_file, ChartTitle { heading: &heading, split }, &by_correlation, &MULTI_TASK)?;
    let mut md = format!("# {heading}\n\n");
    let shape = &experiment.shape;
    md.push_str(&format!(
        "{} training rows and {} {split} rows per correlation, d = {}, data seed {}. Experts {:?}, towers {:?}{}. ",
        experiment.rows,
        experiment.rows / 10,
        experiment.dim,
        experiment.data_seed,
        shape.expert_hidden,
        shape.tower_hidden,
        match shape.tower_norm {
            plec_spec::Norm::None => "",
            plec_spec::Norm::Batch => " with BatchNorm",
            plec_spec::Norm::Layer => " with LayerNorm",
        },
    ));
    md.push_str(&settings_line(settings, &out.join("data")));
    let body: Vec<Vec<String>> = tables
        .iter()
        .flat_map(|(p, rows)| rows.iter().map(move |r| cells(&[p.to_string()], r, 4, Gain::RelativeReduction)))
        .collect();
    md.push_str(&markdown_table(&headers(&["correlation"], &tasks, "MSE"), &body));
    md.push_str(&format!(
        "\nGain: relative {split} MSE reduction against the single-task model of the task (positive: better).\n"
    ));
    md.push('\n');
    md.push_str(&synthetic_description(split));
    md.push_str("\n## Runs\n\n");
    for (p, results) in &by_correlation {
        md.push_str(&correlation_runs(*p, results));
    }
    let results_file = out.join(RESULTS_FILE);
    std::fs::write(&results_file, &md).map_err(|e| io_err(&results_file, e))?;
    Ok(ExperimentReport { results_file, chart_file, markdown: md })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_task_configs_are_the_committed_examples() {
        let mine = configs(5, &SyntheticShape::default());
        for (name, text) in plec_data::datagen::synthetic::synthetic_configs(5, &SyntheticShape::default()) {
            let arm = name.trim_end_matches(".config");
            let ours = mine.iter().find(|(a, _)| a == arm).map(|(_, t)| t.as_str());
            assert_eq!(ours, Some(text.as_str()), "{name}");
        }
    }

    #[test]
    fn single_task_configs_have_one_tower_and_one_label() {
        for (arm, text) in configs(3, &SyntheticShape::default()).iter().filter(|(a, _)| a.starts_with("single_")) {
            let spec = plec_config::load_str(text, arm).map(|l| l.spec);
            let spec = spec.unwrap_or_else(|e| panic!("{arm}: {e}"));
            let task = arm.trim_start_matches("single_");
            assert_eq!(spec.towers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec![task]);
            assert_eq!(spec.data.label_fields, vec![format!("y{}", &task[4..])]);
        }
    }
}
