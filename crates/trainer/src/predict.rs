//! Runs a model in eval mode and names its outputs (for golden sets and evaluation outside the training loop).

use std::collections::BTreeMap;

use plec_data::EncodedBatch;
use tch::{Device, Kind};

use crate::error::{During, Result};
use crate::model::{ModelInput, PleModel};

/// Named outputs as (shape, row-major f32 values).
pub type NamedOutputs = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Runs `model` in eval mode on `batch` and returns every output of section 5.
pub fn predict(model: &PleModel, batch: &EncodedBatch) -> Result<NamedOutputs> {
    let _guard = tch::no_grad_guard();
    let input = ModelInput::from_batch(&model.spec, batch, model.device())?;
    let rows = batch.num_rows;
    let forward = model.forward(&input, false).during(|| format!("predicting a batch of {rows} rows"))?;
    let mut out = BTreeMap::new();
    for (name, tensor) in model.outputs(&forward.logits)? {
        let shape = tensor.size().iter().map(|&d| d as usize).collect();
        let flat = tensor.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?.f_contiguous()?.f_view([-1])?;
        out.insert(name, (shape, Vec::<f32>::try_from(&flat)?));
    }
    Ok(out)
}
