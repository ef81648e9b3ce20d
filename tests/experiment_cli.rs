//! The experiment pipeline (`plec experiment census|synthetic`) end to end on tiny generated data: one or two
//! seeds of one or two steps per model; the table must have the right rows and columns, finite values that agree
//! with the per-run table, gains recomputed from the means, and a PNG chart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plec_data::datagen::census::{census_configs, read_census, write_census, CONTINUOUS, FIELDS};
use plec_data::datagen::synthetic::SyntheticShape;
use plec_data::datagen::write_configs;
use plec_experiment::census::{self, CensusExperiment};
use plec_experiment::synthetic::{self, SyntheticExperiment};
use plec_experiment::{Overrides, RunSettings, Split};
use plec_spec::test_dir::TestDir;
use plec_spec::Norm;

/// Rounding of the 4-decimal table against the 6-decimal per-run values and the gains recomputed from them.
const TABLE_ROUNDING: f64 = 1e-4;

fn workdir(name: &str) -> TestDir {
    TestDir::new(&format!("experiment-{name}"))
}

/// `steps: None` trains one epoch.
fn settings(out: &Path, seeds: u64, steps: Option<u64>) -> RunSettings {
    RunSettings {
        out_dir: out.to_path_buf(),
        split: Split::Test,
        seeds: (1..=seeds).collect(),
        threads: Some(1),
        device: plec_trainer::train::parse_device("cpu").unwrap(),
        overrides: Overrides {
            num_epochs: steps.is_none().then_some(1),
            num_steps: steps,
            batch_size: Some(16),
            dense_lr: None,
        },
        progress: false,
    }
}

/// The first markdown table after `heading` (or the first in the text): header cells and body rows.
fn table_after(text: &str, heading: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let start = text.find(heading).unwrap_or_else(|| panic!("no `{heading}` in:\n{text}"));
    let mut lines = text[start..].lines().skip_while(|l| !l.starts_with('|'));
    let split = |l: &str| l.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    assert!(lines.next().unwrap().starts_with("| ---"));
    let rows = lines.take_while(|l| l.starts_with('|')).map(split).collect();
    (header, rows)
}

/// `mean ± sd` as two finite numbers.
fn mean_sd(cell: &str) -> (f64, f64) {
    let (mean, sd) = cell.split_once(" ± ").unwrap_or_else(|| panic!("not `mean ± sd`: {cell:?}"));
    let (mean, sd): (f64, f64) = (mean.parse().unwrap(), sd.parse().unwrap());
    assert!(mean.is_finite() && sd.is_finite() && sd >= 0.0, "{cell}");
    (mean, sd)
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    // At least one 640 x 460 panel under the caption.
    assert!(width >= 640 && height >= 460, "{}: {width} x {height}", path.display());
}

/// The runs `results_file::parse` reads back, as (run, seed) -> metric -> cell text like the tables have.
fn parsed_runs(text: &str) -> Vec<BTreeMap<String, String>> {
    let file = plec_experiment::results_file::parse(text, Path::new("results.md")).unwrap();
    let mut out = Vec::new();
    for (_, runs) in &file.sections {
        for run in runs.values().flatten() {
            let mut row = BTreeMap::from([("run".to_string(), run.arm.clone()), ("seed".into(), run.seed.to_string())]);
            for (metric, value) in &run.metrics {
                row.insert(metric.clone(), value.map_or("—".into(), |v| format!("{v:.6}")));
            }
            out.push(row);
        }
    }
    out
}

/// Per run: (run, seed) -> metric -> value, from the `## Runs` tables.
fn runs(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut rest = &text[text.find("## Runs").unwrap()..];
    while let Some(at) = rest.find("| run |") {
        let (header, rows) = table_after(&rest[at..], "| run |");
        out.extend(rows.into_iter().map(|r| header.iter().cloned().zip(r).collect::<BTreeMap<_, _>>()));
        rest = &rest[at + 1..];
        rest = &rest[rest.find("\n\n").unwrap_or(rest.len())..];
    }
    out
}

/// A census-format file: 42 fields, both labels present in every split (rows i % 5 pick the split).
fn tiny_census(path: &Path, rows: usize) {
    let mut text = String::new();
    for i in 0..rows {
        let fields: Vec<String> = FIELDS
            .iter()
            .enumerate()
            .map(|(j, field)| match j {
                7 => if (i / 5) % 3 == 0 { "Never married" } else { "Married-civilian spouse present" }.to_string(),
                41 => if (i / 5) % 2 == 0 { "50000+." } else { "- 50000." }.to_string(),
                _ if CONTINUOUS.contains(field) || *field == "instance_weight" => ((i * 7 + j) % 50).to_string(),
                _ => format!("v{}", (i + j) % 3),
            })
            .collect();
        text.push_str(&fields.join(", "));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn census_experiment_writes_a_table_of_every_model_and_a_chart() {
    let dir = workdir("census");
    tiny_census(&dir.join("census.txt"), 100);
    let data = read_census(&dir.join("census.txt")).unwrap();
    write_census(&data, &dir.join("data")).unwrap();
    write_configs(&census_configs(&data), &dir.join("configs")).unwrap();
    let out = dir.join("out");
    let mut experiment = CensusExperiment {
        data_dir: dir.join("data"),
        configs_dir: dir.join("configs"),
        only_models: Vec::new(),
        settings: settings(&out, 2, None),
    };
    let report = census::run(&experiment).unwrap();
    let text = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert_eq!(text, report.markdown);
    assert_png(&out.join("chart.png"));
    // Run again: every run is finished, so it is only evaluated again, giving the same table.
    assert_eq!(census::run(&experiment).unwrap().markdown, text);

    let per_run = runs(&text);
    assert_eq!(per_run.len(), 2 * 7, "two seeds of seven runs: {per_run:?}");
    assert_eq!(parsed_runs(&text), per_run, "the results file reads back to other runs");
    let run_values = |run: &str, metric: &str| -> Vec<f64> {
        per_run.iter().filter(|r| r["run"] == run).map(|r| r[metric].parse().unwrap()).collect()
    };
    // The exact AUC table first (the reported one), then the binned AUC (TorchEasyRec's `auc`) of the same runs.
    for (heading, kind, prefix) in
        [("## Exact AUC", "exact AUC", "exact_auc_"), ("## Binned AUC", "binned AUC", "auc_")]
    {
        let (header, rows) = table_after(&text, heading);
        assert_eq!(
            header,
            [
                "model".to_string(),
                format!("income {kind} (mean ± sd)"),
                format!("never_married {kind} (mean ± sd)"),
                "income gain".into(),
                "never_married gain".into()
            ]
        );
        let models: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(models, ["single-task", "MMoE", "CGC", "PLE", "mmoe block", "DBMTL"]);
        let singles = [mean_sd(&rows[0][1]).0, mean_sd(&rows[0][2]).0];
        for (task, column) in [("income", 1), ("never_married", 2)] {
            let arms = [
                format!("single_{task}"),
                "mmoe".into(),
                "cgc".into(),
                "ple".into(),
                "mmoe_model".into(),
                "dbmtl".into(),
            ];
            for (row, run) in rows.iter().zip(arms) {
                let (mean, sd) = mean_sd(&row[column]);
                let values = run_values(&run, &format!("{prefix}{task}"));
                assert_eq!(values.len(), 2);
                let expected_mean = (values[0] + values[1]) / 2.0;
                let expected_sd = (values[0] - values[1]).abs() / 2f64.sqrt();
                assert!((mean - expected_mean).abs() < TABLE_ROUNDING, "{run} {task}: {mean} vs {values:?}");
                assert!((sd - expected_sd).abs() < TABLE_ROUNDING, "{run} {task}: sd {sd} vs {values:?}");
                assert!((0.0..=1.0).contains(&mean));
            }
            assert_eq!(rows[0][column + 2], "—");
            for row in &rows[1..] {
                let gain: f64 = row[column + 2].parse().unwrap();
                let expected = mean_sd(&row[column]).0 - singles[column - 1];
                assert!((gain - expected).abs() < 2.0 * TABLE_ROUNDING, "{} {task}: gain {gain}", row[0]);
            }
        }
    }
    // Paired by seed on the exact AUC: PLE minus the task's single-task model, PLE minus MMoE, TorchEasyRec's MMoE
    // block minus the PLE special case, DBMTL minus that MMoE.
    let (header, rows) = table_after(&text, "## Paired differences");
    assert_eq!(header[..4], ["comparison", "task", "seed 1", "seed 2"]);
    let pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("PLE − single-task", "income"),
            ("PLE − single-task", "never_married"),
            ("PLE − MMoE", "income"),
            ("PLE − MMoE", "never_married"),
            ("mmoe block − MMoE", "income"),
            ("mmoe block − MMoE", "never_married"),
            ("DBMTL − mmoe block", "income"),
            ("DBMTL − mmoe block", "never_married")
        ]
    );
    for row in &rows {
        let task = &row[1];
        let (model, other) = match row[0].as_str() {
            "PLE − single-task" => ("ple", format!("single_{task}")),
            "PLE − MMoE" => ("ple", "mmoe".to_string()),
            "mmoe block − MMoE" => ("mmoe_model", "mmoe".to_string()),
            _ => ("dbmtl", "mmoe_model".to_string()),
        };
        let metric = format!("exact_auc_{task}");
        let (model, other) = (run_values(model, &metric), run_values(&other, &metric));
        for seed in 0..2 {
            let got: f64 = row[2 + seed].parse().unwrap();
            // The 6-decimal per-run values against the 5-decimal difference.
            assert!((got - (model[seed] - other[seed])).abs() < 1e-5, "{row:?}: seed {}", seed + 1);
        }
    }

    // The same runs scored on the validation split: its own heading, every run again, other rows.
    experiment.settings.split = plec_experiment::Split::Validation;
    let on_validation = census::run(&experiment).unwrap().markdown;
    assert!(on_validation.starts_with("# Census-Income (KDD): validation AUC"), "{on_validation}");
    let validation_runs = runs(&on_validation);
    assert_eq!(validation_runs.len(), per_run.len());
    assert!(validation_runs != per_run, "the validation rows scored exactly like the test rows");

    // Without their configs, TorchEasyRec's MMoE and DBMTL blocks are left out (the PLE paper's four remain).
    for name in ["mmoe_model", "dbmtl"] {
        std::fs::remove_file(dir.join("configs").join(format!("{name}.config"))).unwrap();
    }
    let mut without = CensusExperiment { settings: settings(&dir.join("out-ple-only"), 1, None), ..experiment };
    // `--only-model`: one model first, then the rest gathered with it; a model that is not there is refused.
    without.only_models = vec!["dbmtl".into()];
    let err = census::run(&without).unwrap_err().to_string();
    assert!(err.contains("--only-model dbmtl: not a model here (single_income, "), "{err}");
    without.only_models = vec!["cgc".into()];
    assert_eq!(runs(&census::run(&without).unwrap().markdown).len(), 1);
    without.only_models.clear();
    let text = census::run(&without).unwrap().markdown;
    let (_, rows) = table_after(&text, "## Exact AUC");
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["single-task", "MMoE", "CGC", "PLE"]);
    assert_eq!(runs(&text).len(), 5);
}

#[test]
fn synthetic_experiment_writes_a_row_per_model_and_correlation_and_a_chart() {
    let dir = workdir("synthetic");
    let experiment = SyntheticExperiment {
        correlations: vec![0.0, 1.0],
        rows: 80,
        dim: 4,
        data_seed: 3,
        shape: SyntheticShape::default(),
        settings: settings(&dir, 1, Some(2)),
    };
    let report = synthetic::run(&experiment).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("results.md")).unwrap(), report.markdown);
    assert_png(&dir.join("chart.png"));
    let (header, rows) = table_after(&report.markdown, "# Synthetic");
    assert_eq!(
        header,
        ["correlation", "model", "task1 MSE (mean ± sd)", "task2 MSE (mean ± sd)", "task1 gain", "task2 gain"]
    );
    let keys: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        keys,
        [("0", "single-task"), ("0", "MMoE"), ("0", "PLE"), ("1", "single-task"), ("1", "MMoE"), ("1", "PLE")]
    );
    for block in rows.chunks(3) {
        let singles = [mean_sd(&block[0][2]).0, mean_sd(&block[0][3]).0];
        for row in &block[1..] {
            for t in 0..2 {
                let (mse, sd) = mean_sd(&row[2 + t]);
                assert_eq!(sd, 0.0, "one seed has no spread");
                assert!(mse > 0.0);
                let gain: f64 = row[4 + t].trim_end_matches('%').parse().unwrap();
                let expected = 100.0 * (singles[t] - mse) / singles[t];
                // The gain is computed from unrounded means: allow the table's rounding, relative to the MSE.
                assert!((gain - expected).abs() < 100.0 * 2.0 * TABLE_ROUNDING / singles[t], "{row:?}");
            }
        }
    }
    // The data of both correlations was generated, and each test split has a tenth of the rows.
    for p in ["corr-0", "corr-1"] {
        let data = dir.join("data").join(format!("rows-80-dim-4-seed-3-{p}"));
        assert!(data.join("train.parquet").is_file(), "{}", data.display());
        assert!(data.join("eval.parquet").is_file());
    }
    assert_eq!(runs(&report.markdown).len(), 2 * 4);
    assert_eq!(parsed_runs(&report.markdown), runs(&report.markdown));
}

/// Every committed results file reads back to the runs its tables list, and its chart redraws from it (as
/// `plec experiment chart` does for the committed charts).
#[test]
fn committed_results_files_read_back_and_redraw_their_charts() {
    let dir = workdir("committed-charts");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/experiments");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with("_results.md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(parsed_runs(&text), runs(&text), "{}", path.display());
        let chart = dir.join("chart.png");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_plec"))
            .args(["experiment", "chart"])
            .arg(&path)
            .arg("-o")
            .arg(&chart)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
        assert_png(&chart);
        std::fs::remove_file(&chart).unwrap();
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} results files");
}

/// Every file under `dir` with its bytes, in path order.
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn synthetic_validation_split_scores_the_same_runs_on_other_rows() {
    let dir = workdir("synthetic-validation");
    let mut experiment = SyntheticExperiment {
        correlations: vec![0.5],
        rows: 120,
        dim: 3,
        data_seed: 2,
        shape: SyntheticShape { expert_hidden: vec![4], tower_hidden: vec![6], tower_norm: Norm::Batch },
        settings: settings(&dir, 1, Some(3)),
    };
    let on_test = synthetic::run(&experiment).unwrap().markdown;
    assert!(on_test.starts_with("# Synthetic two-task regression: test MSE"), "{on_test}");
    assert!(on_test.contains("Experts [4], towers [6] with BatchNorm."), "{on_test}");
    // The trained weights (a checkpoint's golden set is drawn from the scored rows, so it may change).
    let weights = || {
        let files = files_under(&dir.join("runs"));
        files.into_iter().filter(|(p, _)| p.ends_with("model.safetensors")).collect::<Vec<_>>()
    };
    let trained = weights();
    assert_eq!(trained.len(), 4, "one checkpoint per model");

    experiment.settings.split = Split::Validation;
    let on_validation = synthetic::run(&experiment).unwrap().markdown;
    assert!(on_validation.starts_with("# Synthetic two-task regression: validation MSE"), "{on_validation}");
    assert!(on_validation.contains("12 validation rows per correlation"), "{on_validation}");
    // The same trained runs (not retrained), scored on different rows: every run's number changes.
    assert!(weights() == trained, "scoring on validation retrained a run");
    let (test_runs, validation_runs) = (runs(&on_test), runs(&on_validation));
    assert_eq!(test_runs.len(), 4);
    for (t, v) in test_runs.iter().zip(&validation_runs) {
        assert_eq!((&t["run"], &t["seed"]), (&v["run"], &v["seed"]));
        let scored = t.keys().filter(|k| k.starts_with("mean_squared_error") && t[*k] != "—");
        assert_eq!(scored.clone().count(), if t["run"].starts_with("single_") { 1 } else { 2 }, "{t:?}");
        for metric in scored {
            assert_ne!(t[metric], v[metric], "{} {metric}: the validation rows scored like the test rows", t["run"]);
        }
    }
}

#[test]
fn an_output_folder_of_other_settings_is_refused_not_resumed() {
    let dir = workdir("synthetic-other-settings");
    let mut experiment = SyntheticExperiment {
        correlations: vec![0.0],
        rows: 40,
        dim: 2,
        data_seed: 1,
        shape: SyntheticShape::default(),
        settings: settings(&dir, 1, Some(1)),
    };
    synthetic::run(&experiment).unwrap();
    let before = files_under(&dir.join("runs"));
    experiment.shape.tower_hidden = vec![32];
    let error = synthetic::run(&experiment).unwrap_err().to_string();
    assert!(error.contains("single_task1/seed-1/pipeline.config"), "{error}");
    assert!(error.contains("use a fresh output folder (-o)"), "{error}");
    experiment.shape = SyntheticShape::default();
    experiment.settings.overrides.dense_lr = Some(0.01);
    let error = synthetic::run(&experiment).unwrap_err().to_string();
    assert!(error.contains("other settings"), "{error}");
    assert!(files_under(&dir.join("runs")) == before, "a refused run must leave the folder as it was");
}

#[test]
fn a_bad_model_shape_is_refused_before_any_data_is_written() {
    let dir = workdir("synthetic-bad-shape");
    let experiment = SyntheticExperiment {
        correlations: vec![0.0],
        rows: 40,
        dim: 2,
        data_seed: 1,
        shape: SyntheticShape { tower_hidden: vec![0], ..SyntheticShape::default() },
        settings: settings(&dir, 1, Some(1)),
    };
    let error = synthetic::run(&experiment).unwrap_err().to_string();
    assert!(error.starts_with("single_task1.config, generated from the model shape options"), "{error}");
    assert!(error.contains("task_towers[0].mlp.hidden_units[0]: hidden units must be positive"), "{error}");
    assert!(!dir.join("data").exists(), "data was generated before the shape was checked");
}

#[test]
fn datagen_writes_configs_of_the_requested_shape() {
    let dir = workdir("datagen-shape");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["datagen", "synthetic", "--correlation", "0.5", "--rows", "20", "--dim", "3", "--validation-rows", "7"])
        .args(["--tower-hidden", "32,4", "--tower-norm", "layer", "--expert-hidden", "12"])
        .arg("-o")
        .arg(dir.join("data"))
        .arg("--write-configs")
        .arg(dir.join("configs"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("validation.parquet: 7 rows"), "{stdout}");
    for name in ["mmoe.config", "ple.config"] {
        let text = std::fs::read_to_string(dir.join("configs").join(name)).unwrap();
        let spec = plec_config::load_str(&text, name).unwrap().spec;
        for tower in &spec.towers {
            let layers: Vec<(usize, Norm)> =
                tower.mlp.as_ref().unwrap().layers.iter().map(|l| (l.units, l.norm)).collect();
            assert_eq!(layers, [(32, Norm::Layer), (4, Norm::Layer)], "{name}");
        }
        assert!(spec.layers.iter().all(|l| l.output_width == 12), "{name}");
    }
}
