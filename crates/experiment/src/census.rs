//! The census experiment (PLE paper, section 5.3 / table 5): single-task per task, MMoE, CGC and PLE on UCI
//! Census-Income (KDD): test AUC per task over seeds (exact, and binned as TorchEasyRec's `auc`), each model's gain
//! over single-task training, and PLE paired by seed against single-task and MMoE.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_spec::{Metric, Tower};

use super::chart::{census_chart, census_description, ChartTitle};
use super::paired::{paired_table, Paired};
use super::summary::{cells, headers, markdown_table, rows, runs_table, Gain, TaskColumn};
use super::{arm_spec, run_arms, Arm, RunResult, RunSettings};
use crate::error::{file_err, io_err, ExperimentError, Result};
use plec_trainer::metrics::exact_auc_name;

/// The multi-task models, in table order: (config file stem, display name). The PLE paper's three are PLE special
/// cases (`model_config.ple`); the last two are TorchEasyRec's own `mmoe` and `dbmtl` blocks, run when their
/// configs are in the folder.
pub const MULTI_TASK: [(&str, &str); 5] =
    [("mmoe", "MMoE"), ("cgc", "CGC"), ("ple", "PLE"), ("mmoe_model", "mmoe block"), ("dbmtl", "DBMTL")];
/// The arms of `MULTI_TASK` that run only when their config exists.
const OPTIONAL: [&str; 2] = ["mmoe_model", "dbmtl"];
pub const RESULTS_FILE: &str = "results.md";
pub const CHART_FILE: &str = "chart.png";

#[derive(Debug, Clone)]
pub struct CensusExperiment {
    /// `train.parquet`, `validation.parquet` and `test.parquet`, as written by `plec datagen census`.
    pub data_dir: PathBuf,
    /// `single_<task>.config`, `mmoe.config`, `cgc.config`, `ple.config`, and optionally `mmoe_model.config` and
    /// `dbmtl.config`.
    pub configs_dir: PathBuf,
    /// Train only these arms (config stems); empty: every arm.
    pub only_models: Vec<String>,
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
            return Err(file_err(&file, "missing: write it with `plec datagen census --input ... -o DIR`"));
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

/// A task's columns: its exact AUC (the table, the chart and the paired tests) and its binned AUC (TorchEasyRec's
/// `auc`, kept as the earlier runs' measure).
struct AucColumns {
    exact: TaskColumn,
    binned: TaskColumn,
    thresholds: u32,
}

fn auc_columns(tower: &Tower) -> Result<AucColumns> {
    let Some(Metric::Auc { thresholds }) = tower.metrics.first() else {
        return Err(ExperimentError::Config(format!(
            "tower `{}`: the census experiment compares AUC, so its first metric must be `auc`",
            tower.name
        )));
    };
    let column =
        |metric: String| TaskColumn { task: tower.name.clone(), metric, single_arm: format!("single_{}", tower.name) };
    Ok(AucColumns {
        exact: column(exact_auc_name(&tower.name)),
        binned: column(format!("auc_{}", tower.name)),
        thresholds: *thresholds,
    })
}

/// Trains every model over the seeds, writes `results.md` and `chart.png` into the output folder.
pub fn run(experiment: &CensusExperiment) -> Result<ExperimentReport> {
    let settings = &experiment.settings;
    // The tasks are the multi-task models' towers; each has a `single_<tower>` config.
    let ple = read_arm("ple", experiment)?;
    let spec = arm_spec(&ple, &settings.overrides)?;
    let tasks: Vec<AucColumns> = spec.towers.iter().map(auc_columns).collect::<Result<_>>()?;
    let mut arms = Vec::new();
    for task in &tasks {
        arms.push(read_arm(&task.exact.single_arm, experiment)?);
    }
    for (name, _) in MULTI_TASK {
        if OPTIONAL.contains(&name) && !experiment.configs_dir.join(format!("{name}.config")).is_file() {
            continue;
        }
        arms.push(read_arm(name, experiment)?);
    }
    if let Some(unknown) = experiment.only_models.iter().find(|m| !arms.iter().any(|a| &a.name == *m)) {
        let known: Vec<&str> = arms.iter().map(|a| a.name.as_str()).collect();
        return Err(ExperimentError::Config(format!(
            "--only-model {unknown}: not a model here ({})",
            known.join(", ")
        )));
    }
    arms.retain(|a| experiment.only_models.is_empty() || experiment.only_models.contains(&a.name));
    let out = &settings.out_dir;
    std::fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    let results = run_arms(&arms, settings, &out.join("runs"))?;
    write_report(experiment, &tasks, &results)
}

/// PLE minus single-task and PLE minus MMoE, per task, paired by seed on the exact AUC; where they ran, TorchEasyRec's
/// `mmoe` block minus the PLE special case, and DBMTL minus the `mmoe` block.
fn paired_comparisons(tasks: &[TaskColumn], results: &BTreeMap<String, Vec<RunResult>>) -> String {
    let runs = |arm: &str| results.get(arm).map_or(&[][..], Vec::as_slice);
    let pairs = [
        ("PLE − single-task", "ple", None),
        ("PLE − MMoE", "ple", Some("mmoe")),
        ("mmoe block − MMoE", "mmoe_model", Some("mmoe")),
        ("DBMTL − mmoe block", "dbmtl", Some("mmoe_model")),
    ];
    let mut comparisons = Vec::new();
    for (label, model, other) in pairs {
        if !results.contains_key(model) {
            continue;
        }
        for task in tasks {
            let other = other.unwrap_or(task.single_arm.as_str());
            comparisons.push((
                label.to_string(),
                task.task.clone(),
                Paired::of(runs(model), runs(other), &task.metric),
            ));
        }
    }
    paired_table(&comparisons)
}

fn write_report(
    experiment: &CensusExperiment,
    columns: &[AucColumns],
    results: &BTreeMap<String, Vec<RunResult>>,
) -> Result<ExperimentReport> {
    let out = &experiment.settings.out_dir;
    let multi: Vec<(String, String)> = MULTI_TASK
        .iter()
        .filter(|(arm, _)| !OPTIONAL.contains(arm) || results.contains_key(*arm))
        .map(|(a, d)| (a.to_string(), d.to_string()))
        .collect();
    let exact: Vec<TaskColumn> = columns.iter().map(|c| c.exact.clone()).collect();
    let binned: Vec<TaskColumn> = columns.iter().map(|c| c.binned.clone()).collect();
    let table = |tasks: &[TaskColumn], label: &str| {
        let table_rows = rows(tasks, &multi, results, Gain::Difference);
        let body: Vec<Vec<String>> = table_rows.iter().map(|r| cells(&[], r, 4, Gain::Difference)).collect();
        (markdown_table(&headers(&[], tasks, label), &body), table_rows)
    };
    let (exact_table, _) = table(&exact, "exact AUC");
    let (binned_table, _) = table(&binned, "binned AUC");
    let split = experiment.settings.split.name();
    let heading = format!("Census-Income (KDD): {split} AUC");
    // One panel per task and metric: the exact and the binned AUC side by side.
    let chart_file = out.join(CHART_FILE);
    census_chart(&chart_file, ChartTitle { heading: &heading, split }, results, &MULTI_TASK)?;
    let mut thresholds: Vec<String> = columns.iter().map(|c| c.thresholds.to_string()).collect();
    thresholds.dedup();
    let mut md = format!("# {heading}\n\n");
    md.push_str(&settings_line(&experiment.settings, &experiment.data_dir));
    md.push_str(&format!(
        "Two AUCs of the same predictions: **exact AUC** (`exact_auc_<task>` in `eval_result.txt`): the exact ROC \
         AUC, rank-based with ties averaged, the measure the papers report; **binned AUC** (`auc_<task>`): \
         TorchEasyRec's `auc` metric, over {} thresholds evenly spaced in [0, 1], which loses resolution when most \
         scores crowd into the lowest bins.\n\n",
        thresholds.join(" / ")
    ));
    md.push_str(&format!("## Exact AUC ({split})\n\n"));
    md.push_str(&exact_table);
    md.push_str(&format!(
        "\nGain: mean {split} exact AUC of the model minus that of the single-task model of the task (positive: \
         better).\n"
    ));
    md.push('\n');
    md.push_str(&census_description(split));
    md.push_str(&format!("\n## Paired differences ({split} exact AUC, per seed)\n\n"));
    md.push_str(&paired_comparisons(&exact, results));
    md.push_str(
        "\nEach seed's exact AUC of the first model minus that of the second trained with the same seed; paired t = mean / \
         (sd / sqrt(n)) with n - 1 degrees of freedom, p two-sided (below 0.05: a difference unlikely to be seed \
         noise).\n",
    );
    md.push_str(&format!("\n## Binned AUC ({split}; TorchEasyRec's `auc`)\n\n"));
    md.push_str(&binned_table);
    md.push_str("\n## Runs\n\n");
    md.push_str("`auc_<task>`: binned AUC; `exact_auc_<task>`: exact AUC.\n\n");
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
