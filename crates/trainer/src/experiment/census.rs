//! The census experiment (PLE paper, section 5.3 / table 5): single-task per task, MMoE, CGC and PLE on UCI
//! Census-Income (KDD), test AUC per task over seeds, and each model's gain over single-task training.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::chart::{census_chart, census_description, ChartTitle};
use super::summary::{cells, headers, markdown_table, rows, runs_table, Gain, TaskColumn};
use super::{arm_spec, headline_metric, run_arms, Arm, RunResult, RunSettings};
use crate::error::{io_err, Result, TrainError};

/// The multi-task models, in table order: (config file stem, display name).
pub const MULTI_TASK: [(&str, &str); 3] = [("mmoe", "MMoE"), ("cgc", "CGC"), ("ple", "PLE")];
pub const RESULTS_FILE: &str = "results.md";
pub const CHART_FILE: &str = "chart.png";

#[derive(Debug, Clone)]
pub struct CensusExperiment {
    /// `train.parquet`, `validation.parquet` and `test.parquet`, as written by `plec datagen census`.
    pub data_dir: PathBuf,
    /// `single_<task>.config`, `mmoe.config`, `cgc.config`, `ple.config`.
    pub configs_dir: PathBuf,
    pub settings: RunSettings,
}

#[derive(Debug, Clone)]
pub struct ExperimentReport {
    pub results_file: PathBuf,
    pub chart_file: PathBuf,
    pub markdown: String,
}

fn read_arm(name: &str, experiment: &CensusExperiment) -> Result<Arm> {
    let path = experiment.configs_dir.join(format!("{name}.config"));
    let config_text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    let data = |split: &str| -> Result<String> {
        let file = experiment.data_dir.join(format!("{split}.parquet"));
        if !file.is_file() {
            return Err(io_err(&file, "missing: write it with `plec datagen census --input ... -o DIR`"));
        }
        Ok(file.to_string_lossy().into_owned())
    };
    Ok(Arm {
        name: name.to_string(),
        config_text,
        config_source: path,
        train_input: data("train")?,
        test_input: data(experiment.settings.split.name())?,
    })
}

/// Trains every model over the seeds, writes `results.md` and `chart.png` into the output folder.
pub fn run(experiment: &CensusExperiment) -> Result<ExperimentReport> {
    let settings = &experiment.settings;
    // The tasks are the multi-task models' towers; each has a `single_<tower>` config.
    let ple = read_arm("ple", experiment)?;
    let spec = arm_spec(&ple, &settings.overrides)?;
    let tasks: Vec<TaskColumn> = spec
        .towers
        .iter()
        .map(|t| {
            let metric = headline_metric(t)
                .ok_or_else(|| TrainError::Config(format!("tower `{}` has no metric to compare", t.name)))?;
            Ok(TaskColumn { task: t.name.clone(), metric, single_arm: format!("single_{}", t.name) })
        })
        .collect::<Result<_>>()?;
    let mut arms = Vec::new();
    for task in &tasks {
        arms.push(read_arm(&task.single_arm, experiment)?);
    }
    for (name, _) in MULTI_TASK {
        arms.push(read_arm(name, experiment)?);
    }
    let out = &settings.out_dir;
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let results = run_arms(&arms, settings, &out.join("runs"))?;
    write_report(experiment, &tasks, &results)
}

fn write_report(
    experiment: &CensusExperiment,
    tasks: &[TaskColumn],
    results: &BTreeMap<String, Vec<RunResult>>,
) -> Result<ExperimentReport> {
    let out = &experiment.settings.out_dir;
    let multi: Vec<(String, String)> = MULTI_TASK.iter().map(|(a, d)| (a.to_string(), d.to_string())).collect();
    let table_rows = rows(tasks, &multi, results, Gain::Difference);
    let body: Vec<Vec<String>> = table_rows.iter().map(|r| cells(&[], r, 4, Gain::Difference)).collect();
    let split = experiment.settings.split.name();
    let heading = format!("Census-Income (KDD): {split} AUC");
    let chart_file = out.join(CHART_FILE);
    census_chart(&chart_file, ChartTitle { heading: &heading, split }, results, &MULTI_TASK)?;
    let mut md = format!("# {heading}\n\n");
    md.push_str(&settings_line(&experiment.settings, &experiment.data_dir));
    md.push_str(&markdown_table(&headers(&[], tasks, "AUC"), &body));
    md.push_str(&format!(
        "\nGain: mean {split} AUC of the model minus that of the single-task model of the task (positive: better).\n"
    ));
    md.push('\n');
    md.push_str(&census_description(split));
    md.push_str("\n## Runs\n\n");
    md.push_str(&runs_table(results, &[]));
    let results_file = out.join(RESULTS_FILE);
    std::fs::write(&results_file, &md).map_err(|e| io_err(&results_file, e))?;
    Ok(ExperimentReport { results_file, chart_file, markdown: md })
}

/// The settings a table was produced with, as a sentence.
pub fn settings_line(settings: &RunSettings, data: &Path) -> String {
    let o = &settings.overrides;
    format!(
        "Data: `{}`. Seeds {:?}; overrides: epochs {}, steps {}, batch size {}, dense lr {}; threads {}.\n\n",
        data.display(),
        settings.seeds,
        o.num_epochs.map_or("config".into(), |v| v.to_string()),
        o.num_steps.map_or("config".into(), |v| v.to_string()),
        o.batch_size.map_or("config".into(), |v| v.to_string()),
        o.dense_lr.map_or("config".into(), |v| v.to_string()),
        settings.threads.map_or("default".into(), |v| v.to_string()),
    )
}
