//! `plec compile --precision int8 --eval-data FILE`: the float32 and the int8 model score the same rows through
//! ONNX Runtime; per binary task, exact AUC (ranks, ties averaged) and logloss of both and their difference.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plec_compiler::CompiledModel;
use plec_data::{encode, raw_inputs, BatchReader, EncodeOptions, ReadOptions};
use plec_metrics::auc::exact_auc;
use plec_metrics::logloss;
use plec_runtime::{Model, RawInputs, RunOptions};
use plec_spec::ModelSpec;
use plec_spec::{OutputKind, Tower};

/// Rows per model call.
const BATCH: usize = 8192;

/// One task's metrics for both models.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMetrics {
    pub task: String,
    pub auc: (f64, f64),
    pub logloss: (f64, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub rows: usize,
    pub files: Vec<PathBuf>,
    pub tasks: Vec<TaskMetrics>,
    /// Towers without a binary probability output or without both classes in the data, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl Report {
    /// Fails naming the first task (in tower order) whose AUC dropped by more than `max_drop`, with both values.
    pub fn within(&self, max_drop: f64) -> anyhow::Result<()> {
        let failed: Vec<String> = self
            .tasks
            .iter()
            .filter(|t| t.auc.0 - t.auc.1 > max_drop)
            .map(|t| {
                format!(
                    "task `{}`: AUC {:.6} with int8 against {:.6} with float32, a drop of {:.6} (more than \
                     --max-auc-drop {max_drop})",
                    t.task,
                    t.auc.1,
                    t.auc.0,
                    t.auc.0 - t.auc.1
                )
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("int8 loses accuracy on the eval data:\n  {}", failed.join("\n  "))
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        writeln!(f, "eval data: {} rows from {}", self.rows, files.join(", "))?;
        writeln!(
            f,
            "  {:<16} {:>12} {:>12} {:>10}   {:>12} {:>12} {:>10}",
            "task", "AUC float32", "AUC int8", "delta", "logloss f32", "logloss int8", "delta"
        )?;
        for t in &self.tasks {
            writeln!(
                f,
                "  {:<16} {:>12.6} {:>12.6} {:>+10.6}   {:>12.6} {:>12.6} {:>+10.6}",
                t.task,
                t.auc.0,
                t.auc.1,
                t.auc.1 - t.auc.0,
                t.logloss.0,
                t.logloss.1,
                t.logloss.1 - t.logloss.0
            )?;
        }
        for (task, why) in &self.skipped {
            writeln!(f, "  {task:<16} not compared: {why}")?;
        }
        Ok(())
    }
}

/// The output holding a tower's probability of the positive class, if it has one.
fn binary_output(tower: &Tower) -> Option<&str> {
    tower
        .outputs
        .iter()
        .find(|o| (o.kind == OutputKind::Probs && tower.num_class == 1) || o.kind == OutputKind::Probs1)
        .map(|o| o.name.as_str())
}

/// Scores every row of `files` with `reference` (the float32 model, in memory) and the int8 model at `int8`.
pub fn check(spec: &ModelSpec, reference: &CompiledModel, int8: &Path, files: &[PathBuf]) -> anyhow::Result<Report> {
    let options = RunOptions::default();
    // Never written to disk, so there is nothing to check its hashes against.
    let in_memory = RunOptions { integrity: plec_runtime::IntegrityCheck::Skip, ..RunOptions::default() };
    let float = Model::from_bytes(PathBuf::from("<float32 reference>"), reference.to_bytes()?, &in_memory)?;
    let quantized = Model::load(int8, &options)?;
    let towers: Vec<(&Tower, Option<&str>)> = spec.towers.iter().map(|t| (t, binary_output(t))).collect();
    let mut scores: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = vec![Default::default(); towers.len()];
    let reader = BatchReader::open(files.to_vec(), ReadOptions::for_spec(spec, BATCH)?)?;
    let mut rows = 0;
    for batch in reader {
        let batch = batch?;
        let encoded = encode(spec, &batch, &EncodeOptions::default())?;
        let inputs = RawInputs::from(raw_inputs(float.signature(), &batch)?);
        let a = float.run_checked(&inputs, batch.num_rows).context("float32 model on the eval data")?;
        let b = quantized.run_checked(&inputs, batch.num_rows).context("int8 model on the eval data")?;
        rows += batch.num_rows;
        for ((tower, output), (fs, qs, ys)) in towers.iter().zip(scores.iter_mut()) {
            let Some(output) = output else { continue };
            let (Some(fa), Some(qb), Some(labels)) = (a.get(output), b.get(output), encoded.labels.get(&tower.label))
            else {
                anyhow::bail!("eval data: no output `{output}` or label `{}` for task `{}`", tower.label, tower.name);
            };
            fs.extend_from_slice(&fa.values);
            qs.extend_from_slice(&qb.values);
            ys.extend_from_slice(labels);
        }
    }
    let mut report = Report { rows, files: files.to_vec(), tasks: Vec::new(), skipped: Vec::new() };
    for ((tower, output), (fs, qs, ys)) in towers.iter().zip(&scores) {
        if output.is_none() {
            report
                .skipped
                .push((tower.name.clone(), "no binary probability output (regression or multi-class)".into()));
            continue;
        }
        match (exact_auc(fs, ys), exact_auc(qs, ys)) {
            (Some(af), Some(aq)) => report.tasks.push(TaskMetrics {
                task: tower.name.clone(),
                auc: (af, aq),
                logloss: (logloss(fs, ys), logloss(qs, ys)),
            }),
            _ => report.skipped.push((tower.name.clone(), format!("label `{}` has one class only", tower.label))),
        }
    }
    if report.tasks.is_empty() {
        anyhow::bail!(
            "--eval-data: no task could be compared ({} rows):\n{report}any binary task needs both classes in its label",
            rows
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(auc: (f64, f64)) -> Report {
        Report {
            rows: 4,
            files: vec![PathBuf::from("e.csv")],
            tasks: vec![TaskMetrics { task: "ctr".into(), auc, logloss: (0.5, 0.5) }],
            skipped: vec![],
        }
    }

    #[test]
    fn a_drop_beyond_the_bound_names_the_task_and_both_values() {
        assert!(report((0.75, 0.7491)).within(0.001).is_ok());
        assert!(report((0.75, 0.76)).within(0.001).is_ok());
        let err = report((0.75, 0.7485)).within(0.001).unwrap_err().to_string();
        assert_eq!(
            err,
            "int8 loses accuracy on the eval data:\n  task `ctr`: AUC 0.748500 with int8 against 0.750000 with \
             float32, a drop of 0.001500 (more than --max-auc-drop 0.001)"
        );
    }
}
