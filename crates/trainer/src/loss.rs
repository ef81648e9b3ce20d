//! Losses and their weights (section 6). Each tower's loss is the sum of its losses; the training loss is the plain
//! sum over towers.

use plec_config::spec::{Loss, LossWeighting, Tower};
use tch::{Kind, Reduction, Tensor};

use crate::error::{Result, TrainError};
use crate::model::Targets;

/// The loss of one tower (a scalar tensor), summed over its configured losses.
pub fn tower_loss(tower: &Tower, logits: &Tensor, targets: &Targets) -> Result<Tensor> {
    let label = targets.get(&tower.label)?;
    let mut total: Option<Tensor> = None;
    for loss in &tower.losses {
        let per_sample = per_sample_loss(tower, loss, logits, label)?;
        let value = match &tower.weighting {
            None => per_sample.mean(Kind::Float),
            Some(weighting) => (per_sample * sample_weights(weighting, label, targets)?).mean(Kind::Float),
        };
        total = Some(match total {
            Some(t) => t + value,
            None => value,
        });
    }
    total.ok_or_else(|| TrainError::Config(format!("tower `{}` has no loss", tower.name)))
}

/// `[batch]` per-sample losses.
fn per_sample_loss(tower: &Tower, loss: &Loss, logits: &Tensor, label: &Tensor) -> Result<Tensor> {
    Ok(match *loss {
        Loss::BinaryCrossEntropy { label_smoothing } => {
            let y = if label_smoothing > 0.0 {
                label * (1.0 - label_smoothing as f64) + 0.5 * label_smoothing as f64
            } else {
                label.shallow_clone()
            };
            logits.squeeze_dim(1).binary_cross_entropy_with_logits::<Tensor>(&y, None, None, Reduction::None)
        }
        Loss::BinaryFocal { gamma, alpha } => {
            let logits = logits.squeeze_dim(1);
            // The focal weight is a constant for the gradient (detached), as tzrec.
            let p = logits.detach().sigmoid();
            let (g, a) = (gamma as f64, alpha as f64);
            let one_minus_p: Tensor = 1.0 - &p;
            let one_minus_y: Tensor = 1.0 - label;
            let w = label * a * one_minus_p.pow_tensor_scalar(g) + one_minus_y * (1.0 - a) * p.pow_tensor_scalar(g);
            logits.binary_cross_entropy_with_logits::<Tensor>(label, Some(w), None, Reduction::None)
        }
        Loss::SoftmaxCrossEntropy { label_smoothing } => {
            let classes = tower.num_class as f64;
            let bad = label.lt(0.0).logical_or(&label.ge(classes)).logical_or(&label.ne_tensor(&label.floor()));
            if bad.any().int64_value(&[]) != 0 {
                let row = bad.to_kind(Kind::Int64).argmax(0, false).int64_value(&[]);
                let value = label.double_value(&[row]);
                return Err(TrainError::Input(format!(
                    "label `{}` row {row} of the batch is {value}: expected a class id in 0..{}",
                    tower.label, tower.num_class
                )));
            }
            logits.cross_entropy_loss::<Tensor>(
                &label.to_kind(Kind::Int64),
                None,
                Reduction::None,
                -100,
                label_smoothing as f64,
            )
        }
        Loss::L2 => (logits.squeeze_dim(1) - label).square(),
    })
}

/// `w` of section 6: sample weight x task-space in/out weight, normalised by its mean (0 when the mean is 0),
/// times the task's `weight`.
pub fn sample_weights(weighting: &LossWeighting, label: &Tensor, targets: &Targets) -> Result<Tensor> {
    let mut w = match &weighting.sample_weight {
        Some(column) => targets.get(column)?.to_kind(Kind::Float),
        None => label.ones_like().to_kind(Kind::Float),
    };
    if let Some(space) = &weighting.task_space {
        let inside = targets.get(&space.indicator_label)?.gt(0.0).to_kind(Kind::Float);
        w *= &inside * space.in_weight as f64 + (1.0 - inside) * space.out_weight as f64;
    }
    let mean = w.mean(Kind::Float);
    let nonzero = mean.ne(0.0);
    // 1/mean where the mean is nonzero, else 0: a batch whose weights are all 0 contributes 0, never NaN.
    let inverse = mean.reciprocal().where_self(&nonzero, &mean.zeros_like());
    Ok(w * inverse * weighting.weight as f64)
}
