//! Losses and their weights (section 6). Each tower's loss is the sum of its losses; the training loss is the plain
//! sum over towers.

use plec_spec::{Loss, LossWeighting, Tower};
use tch::{Kind, Reduction, Tensor};

use crate::error::{Result, TrainError};
use crate::model::Targets;

/// The loss of one tower (a scalar tensor), summed over its configured losses.
pub fn tower_loss(tower: &Tower, logits: &Tensor, targets: &Targets) -> Result<Tensor> {
    let label = targets.get(&tower.label)?;
    let mut total: Option<Tensor> = None;
    for loss in &tower.losses {
        let per_sample = per_sample_loss(tower, loss, logits, label, targets)?;
        let value = match &tower.weighting {
            None => per_sample.f_mean(Kind::Float)?,
            Some(weighting) => per_sample.f_mul(&sample_weights(weighting, label, targets)?)?.f_mean(Kind::Float)?,
        };
        total = Some(match total {
            Some(t) => t.f_add(&value)?,
            None => value,
        });
    }
    total.ok_or_else(|| TrainError::Config(format!("tower `{}` has no loss", tower.name)))
}

/// `[batch]` per-sample losses.
fn per_sample_loss(tower: &Tower, loss: &Loss, logits: &Tensor, label: &Tensor, targets: &Targets) -> Result<Tensor> {
    Ok(match loss {
        Loss::BinaryCrossEntropy { label_smoothing } => {
            let y = if *label_smoothing > 0.0 {
                let label_smoothing = *label_smoothing as f64;
                label.f_mul_scalar(1.0 - label_smoothing)?.f_add_scalar(0.5 * label_smoothing)?
            } else {
                label.shallow_clone()
            };
            logits.f_squeeze_dim(1)?.f_binary_cross_entropy_with_logits::<Tensor>(&y, None, None, Reduction::None)?
        }
        Loss::BinaryFocal { gamma, alpha } => {
            let logits = logits.f_squeeze_dim(1)?;
            // The focal weight is a constant for the gradient (detached), as tzrec.
            let p = logits.f_detach()?.f_sigmoid()?;
            let (g, a) = (*gamma as f64, *alpha as f64);
            let one_minus_p = p.f_rsub_scalar(1.0)?;
            let one_minus_y = label.f_rsub_scalar(1.0)?;
            let positive = label.f_mul_scalar(a)?.f_mul(&one_minus_p.f_pow_tensor_scalar(g)?)?;
            let negative = one_minus_y.f_mul_scalar(1.0 - a)?.f_mul(&p.f_pow_tensor_scalar(g)?)?;
            let w = positive.f_add(&negative)?;
            logits.f_binary_cross_entropy_with_logits::<Tensor>(label, Some(w), None, Reduction::None)?
        }
        Loss::SoftmaxCrossEntropy { label_smoothing } => {
            let classes = class_ids(tower, label)?;
            logits.f_cross_entropy_loss::<Tensor>(&classes, None, Reduction::None, -100, *label_smoothing as f64)?
        }
        Loss::L2 => logits.f_squeeze_dim(1)?.f_sub(label)?.f_square()?,
        Loss::Jrc { alpha, session_feature } => {
            let classes = class_ids(tower, label)?;
            let cross_entropy = logits.f_cross_entropy_loss::<Tensor>(&classes, None, Reduction::None, -100, 0.0)?;
            let competition = session_competition(logits, &classes, targets.session(session_feature)?)?;
            let alpha = *alpha as f64;
            cross_entropy.f_mul_scalar(alpha)?.f_add(&competition.f_mul_scalar(1.0 - alpha)?)?
        }
    })
}

/// The labels as int64 class ids, each checked to be in `0..num_class`.
fn class_ids(tower: &Tower, label: &Tensor) -> Result<Tensor> {
    let classes = tower.num_class as f64;
    let bad =
        label.f_lt(0.0)?.f_logical_or(&label.f_ge(classes)?)?.f_logical_or(&label.f_ne_tensor(&label.f_floor()?)?)?;
    if bad.f_any()?.f_int64_value(&[])? != 0 {
        let row = bad.f_to_kind(Kind::Int64)?.f_argmax(0, false)?.f_int64_value(&[])?;
        let value = label.f_double_value(&[row])?;
        return Err(TrainError::Input(format!(
            "label `{}` row {row} of the batch is {value}: expected a class id in 0..{}",
            tower.label, tower.num_class
        )));
    }
    Ok(label.f_to_kind(Kind::Int64)?)
}

/// What a masked score adds in TorchEasyRec's `JRCLoss`: enough that its exponent is 0 in float32.
const MASKED_SCORE: f64 = -1e9;

/// JRC's `[batch]` competition term: sample i's cross entropy among itself and the samples of its session whose
/// label is the opposite of i's, each scored with its logit of i's class (a positive competes with the session's
/// negatives on the positive logit, a negative with its positives on the negative logit). The per-sample form of
/// TorchEasyRec's `JRCLoss` (whose mean weighs the positives' and the negatives' means by their counts, which is the
/// same mean).
fn session_competition(logits: &Tensor, classes: &Tensor, sessions: &Tensor) -> Result<Tensor> {
    let n = classes.size()[0];
    let device = logits.device();
    let same_session = sessions.f_unsqueeze(1)?.f_eq_tensor(&sessions.f_unsqueeze(0)?)?;
    let opposite = classes.f_unsqueeze(1)?.f_ne_tensor(&classes.f_unsqueeze(0)?)?;
    let itself = Tensor::f_eye(n, (Kind::Bool, device))?;
    let competes = same_session.f_logical_and(&opposite.f_logical_or(&itself)?)?;
    // Row i: every sample's logit of i's class.
    let scores = logits.f_transpose(0, 1)?.f_index_select(0, classes)?;
    let masked = scores.f_add(&competes.f_logical_not()?.f_to_kind(Kind::Float)?.f_mul_scalar(MASKED_SCORE)?)?;
    let diagonal = Tensor::f_arange(n, (Kind::Int64, device))?;
    Ok(masked.f_cross_entropy_loss::<Tensor>(&diagonal, None, Reduction::None, -100, 0.0)?)
}

/// `w` of section 6: sample weight x task-space in/out weight, normalised by its mean (0 when the mean is 0),
/// times the task's `weight`.
pub fn sample_weights(weighting: &LossWeighting, label: &Tensor, targets: &Targets) -> Result<Tensor> {
    let mut w = match &weighting.sample_weight {
        Some(column) => targets.get(column)?.f_to_kind(Kind::Float)?,
        None => label.f_ones_like()?.f_to_kind(Kind::Float)?,
    };
    if let Some(space) = &weighting.task_space {
        let inside = targets.get(&space.indicator_label)?.f_gt(0.0)?.f_to_kind(Kind::Float)?;
        let factor = inside
            .f_mul_scalar(space.in_weight as f64)?
            .f_add(&inside.f_rsub_scalar(1.0)?.f_mul_scalar(space.out_weight as f64)?)?;
        w = w.f_mul(&factor)?;
    }
    let mean = w.f_mean(Kind::Float)?;
    let nonzero = mean.f_ne(0.0)?;
    // 1/mean where the mean is nonzero, else 0: a batch whose weights are all 0 contributes 0, never NaN.
    let inverse = mean.f_reciprocal()?.f_where_self(&nonzero, &mean.f_zeros_like()?)?;
    Ok(w.f_mul(&inverse)?.f_mul_scalar(weighting.weight as f64)?)
}
