//! Evaluation: the model in eval mode over an input, the metrics of section 7, and `eval_result.txt`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use plec_spec::artifact::checkpoint::EVAL_RESULT_FILE;
use plec_spec::{Metric, ModelSpec, OutputKind};
use tch::Kind;

use crate::data::{self, DataPlan, Message};
use crate::error::{io_err, During, Result, TrainError};
use crate::metrics::{self, TowerValues};
use crate::model::PleModel;

pub type MetricValues = BTreeMap<String, Option<f64>>;

fn floats(t: &tch::Tensor) -> Result<Vec<f32>> {
    let flat = t.f_to_kind(Kind::Float)?.f_to_device(tch::Device::Cpu)?.f_contiguous()?.f_view([-1])?;
    Ok(Vec::<f32>::try_from(&flat)?)
}

/// Every tower's metrics over the rows of `files`, in eval mode.
pub fn evaluate_files(model: &PleModel, files: Vec<PathBuf>, batch_size: usize) -> Result<MetricValues> {
    let spec = model.spec.clone();
    let plan = DataPlan {
        files,
        batch_size,
        epochs: Some(1),
        start_epoch: 0,
        skip_rows: 0,
        drop_remainder: false,
        shuffle: None,
    };
    let (rx, handle) = data::spawn(spec.clone(), plan)?;
    let mut values: Vec<TowerValues> = vec![TowerValues::default(); spec.towers.len()];
    let _guard = tch::no_grad_guard();
    for message in rx {
        let batch = match message {
            Message::Batch(batch) => batch,
            Message::EpochEnd(_) => break,
            Message::Failed(error) => return Err(error),
        };
        let rows = batch.rows;
        let input = batch.input.to_device(model.device())?;
        let forward = model.forward(&input, false).during(|| format!("evaluating a batch of {rows} rows"))?;
        let outputs = model.outputs(&forward.logits)?;
        for ((tower, logits), acc) in spec.towers.iter().zip(&forward.logits).zip(values.iter_mut()) {
            collect(tower, logits, &outputs, &batch, acc)?;
        }
    }
    // A panicked reader closes the channel just as the end of the data does: only the join tells them apart.
    data::join(handle)?;
    let mut out = BTreeMap::new();
    for (tower, acc) in spec.towers.iter().zip(&values) {
        out.extend(metrics::compute(tower, acc));
    }
    Ok(out)
}

fn collect(
    tower: &plec_spec::Tower,
    logits: &tch::Tensor,
    outputs: &BTreeMap<String, tch::Tensor>,
    batch: &data::Batch,
    acc: &mut TowerValues,
) -> Result<()> {
    // The score metrics read: probs (binary), probs1 (2-class softmax), y (regression).
    let score = [OutputKind::Probs1, OutputKind::Regression, OutputKind::Probs]
        .iter()
        .find_map(|kind| tower.outputs.iter().find(|o| o.kind == *kind && o.dims.is_empty()))
        .and_then(|o| outputs.get(&o.name));
    if let Some(score) = score {
        acc.scores.extend(floats(score)?);
    }
    if metrics::is_softmax(tower) {
        let classes = logits.f_argmax(1, false)?.f_to_device(tch::Device::Cpu)?;
        acc.classes.extend(Vec::<i64>::try_from(&classes)?);
    }
    acc.labels.extend(floats(batch.targets.get(&tower.label)?)?);
    for metric in &tower.metrics {
        if let Metric::GroupedAuc { grouping_key } = metric {
            let keys = batch
                .groups
                .get(grouping_key)
                .ok_or_else(|| TrainError::Input(format!("the batch has no grouping key column `{grouping_key}`")))?;
            acc.groups.extend(keys.iter().cloned());
        }
    }
    Ok(())
}

/// Evaluates on the config's (or an overriding) eval input with the eval batch size.
pub fn evaluate_input(model: &PleModel, spec: &ModelSpec, input: &str) -> Result<MetricValues> {
    evaluate_files(model, data::input_files(input)?, spec.data.eval_batch_size.max(1))
}

/// One evaluation as a JSON object: `{"global_step": N, "<metric>_<tower>": value or null, ...}`.
pub fn result_json(step: u64, values: &MetricValues) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("global_step".into(), step.into());
    for (name, value) in values {
        object.insert(name.clone(), value.map_or(serde_json::Value::Null, serde_json::Value::from));
    }
    serde_json::Value::Object(object)
}

/// Appends one evaluation to `model_dir/eval_result.txt`; returns the line written.
pub fn append_result(model_dir: &Path, step: u64, values: &MetricValues) -> Result<String> {
    let line = result_json(step, values).to_string();
    let path = model_dir.join(EVAL_RESULT_FILE);
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
    writeln!(file, "{line}").map_err(|e| io_err(&path, e))?;
    Ok(line)
}
