//! A bank of identically shaped MLPs (section 3) evaluated together: every Linear of the bank is one batched
//! matmul over `[experts, batch, in]`, BatchNorm/LayerNorm are per expert, activation after every layer, dropout in
//! training only.

use plec_spec::artifact::names::{self, leaf};
use plec_spec::{Activation, Mlp, Norm, NORM_EPS};
use tch::{TchError, Tensor};

use super::activation;
use super::params::ParamFactory;
use crate::error::{Result, TrainError};

/// What a bank reads: one input per group of consecutive experts (`(x [batch, in], experts reading it)`).
pub struct BankInput<'a> {
    pub groups: Vec<(&'a Tensor, usize)>,
}

enum BankNorm {
    None,
    /// Per expert `[E, units]`; running statistics are updated in place in training.
    Batch {
        weight: Tensor,
        bias: Tensor,
        running_mean: Tensor,
        running_var: Tensor,
    },
    Layer {
        weight: Tensor,
        bias: Tensor,
    },
}

struct BankLayer {
    /// `[E, units, in]`, PyTorch's Linear layout per expert.
    weight: Tensor,
    /// `[E, units]`.
    bias: Option<Tensor>,
    norm: BankNorm,
    activation: Activation,
    dropout: f64,
}

pub struct MlpBank {
    experts: usize,
    layers: Vec<BankLayer>,
}

impl MlpBank {
    /// The MLPs under the module prefixes `modules` (e.g. `ple.layer1.task_ctr.expert_0`), all shaped by `mlp`.
    pub fn new(factory: &mut ParamFactory, modules: &[String], mlp: &Mlp) -> Result<Self> {
        let names = |j: usize, suffix: &str| -> Vec<String> {
            modules.iter().map(|m| names::param(&names::fc(m, j), suffix)).collect()
        };
        let mut layers = Vec::with_capacity(mlp.layers.len());
        for (j, (_, layer)) in mlp.widths().enumerate() {
            let weight = factory.bank(&names(j, leaf::WEIGHT))?;
            let bias = if layer.bias { Some(factory.bank(&names(j, leaf::BIAS))?) } else { None };
            let norm = match layer.norm {
                Norm::None => BankNorm::None,
                Norm::Batch => BankNorm::Batch {
                    weight: factory.bank(&names(j, leaf::BN_WEIGHT))?,
                    bias: factory.bank(&names(j, leaf::BN_BIAS))?,
                    running_mean: factory.bank(&names(j, leaf::BN_RUNNING_MEAN))?,
                    running_var: factory.bank(&names(j, leaf::BN_RUNNING_VAR))?,
                },
                Norm::Layer => BankNorm::Layer {
                    weight: factory.bank(&names(j, leaf::LN_WEIGHT))?,
                    bias: factory.bank(&names(j, leaf::LN_BIAS))?,
                },
            };
            layers.push(BankLayer { weight, bias, norm, activation: layer.activation, dropout: layer.dropout as f64 });
        }
        Ok(MlpBank { experts: modules.len(), layers })
    }

    /// Trainable bank tensors (each `[E, ...]`), for the dense optimizer.
    pub fn trainable(&self, out: &mut Vec<Tensor>) {
        for layer in &self.layers {
            out.push(layer.weight.shallow_clone());
            if let Some(b) = &layer.bias {
                out.push(b.shallow_clone());
            }
            match &layer.norm {
                BankNorm::None => {}
                BankNorm::Batch { weight, bias, .. } | BankNorm::Layer { weight, bias } => {
                    out.push(weight.shallow_clone());
                    out.push(bias.shallow_clone());
                }
            }
        }
    }

    /// `[E, batch, out]`. Without layers (an empty `hidden_units`), the inputs pass through.
    pub fn forward(&self, input: &BankInput, train: bool) -> Result<Tensor> {
        let total: usize = input.groups.iter().map(|(_, n)| n).sum();
        if total != self.experts {
            return Err(TrainError::Input(format!("an MLP bank of {} got {total} inputs", self.experts)));
        }
        let Some((first, rest)) = self.layers.split_first() else {
            let parts: Vec<Tensor> = input
                .groups
                .iter()
                .map(|(x, n)| x.f_unsqueeze(0)?.f_expand([*n as i64, -1, -1], false))
                .collect::<Result<_, _>>()?;
            return Ok(Tensor::f_cat(&parts, 0)?);
        };
        let mut h = first_linear(first, input)?;
        h = first.finish(h, train)?;
        for layer in rest {
            h = match &layer.bias {
                Some(b) => b.f_unsqueeze(1)?.f_baddbmm(&h, &layer.weight.f_transpose(1, 2)?, 1.0, 1.0)?,
                None => h.f_bmm(&layer.weight.f_transpose(1, 2)?)?,
            };
            h = layer.finish(h, train)?;
        }
        Ok(h)
    }
}

/// The first Linear: one wide matmul per input group (its experts' weights side by side), then `[E, B, units]`.
fn first_linear(layer: &BankLayer, input: &BankInput) -> Result<Tensor, TchError> {
    let (_, units, width) = layer.weight.size3()?;
    let mut start = 0i64;
    let mut parts = Vec::with_capacity(input.groups.len());
    for (x, n) in &input.groups {
        let n = *n as i64;
        let w = layer.weight.f_narrow(0, start, n)?.f_reshape([n * units, width])?;
        let y = match &layer.bias {
            Some(b) => b.f_narrow(0, start, n)?.f_reshape([1, n * units])?.f_addmm(x, &w.f_transpose(0, 1)?)?,
            None => x.f_matmul(&w.f_transpose(0, 1)?)?,
        };
        let batch = x.size()[0];
        parts.push(y.f_reshape([batch, n, units])?.f_permute([1, 0, 2])?);
        start += n;
    }
    // One group (the first layer, where every expert reads the group input): keep the permuted view; the batched
    // matmuls after it read it in place, so the big first activation is never copied.
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    Tensor::f_cat(&parts, 0)
}

impl BankLayer {
    /// Norm -> activation -> dropout on `[E, B, units]`.
    fn finish(&self, h: Tensor, train: bool) -> Result<Tensor> {
        let h = match &self.norm {
            BankNorm::None => h,
            BankNorm::Batch { weight, bias, running_mean, running_var } => {
                batch_norm(&h, weight, bias, running_mean, running_var, train)?
            }
            BankNorm::Layer { weight, bias } => {
                let mean = h.f_mean_dim(-1, true, None)?;
                let var = h.f_var_dim(-1, false, true)?;
                normalize(&h, &mean, &var, weight, bias)?
            }
        };
        let h = activation::apply(self.activation, &h)?;
        Ok(if train && self.dropout > 0.0 { h.f_dropout(self.dropout, true)? } else { h })
    }
}

/// `(h - mean) / sqrt(var + eps) * weight + bias`, with per-expert `weight` and `bias` `[E, units]`.
fn normalize(h: &Tensor, mean: &Tensor, var: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor, TchError> {
    h.f_sub(mean)?
        .f_mul(&var.f_add_scalar(NORM_EPS as f64)?.f_rsqrt()?)?
        .f_mul(&weight.f_unsqueeze(1)?)?
        .f_add(&bias.f_unsqueeze(1)?)
}

/// BatchNorm1d per expert over the batch dimension (1): batch statistics and a running-statistics update in
/// training (momentum 0.1, unbiased variance for the running estimate, as PyTorch), running statistics in eval.
fn batch_norm(
    h: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let (mean, var) = if train {
        let batch = h.size()[1];
        if batch < 2 {
            return Err(TrainError::Input(
                "BatchNorm needs more than 1 sample per batch in training (a last batch of 1 row?)".into(),
            ));
        }
        let mean = h.f_mean_dim(1, true, None)?;
        let var = h.f_var_dim(1, false, true)?;
        tch::no_grad(|| -> Result<(), TchError> {
            let m = plec_spec::BN_MOMENTUM;
            let unbiased = var.f_squeeze_dim(1)?.f_mul_scalar(batch as f64 / (batch - 1) as f64)?;
            let mut rm = running_mean.shallow_clone();
            let mut rv = running_var.shallow_clone();
            let _ = rm.f_lerp_(&mean.f_squeeze_dim(1)?.f_detach()?, m)?;
            let _ = rv.f_lerp_(&unbiased.f_detach()?, m)?;
            Ok(())
        })?;
        (mean, var)
    } else {
        (running_mean.f_unsqueeze(1)?, running_var.f_unsqueeze(1)?)
    };
    Ok(normalize(h, &mean, &var, weight, bias)?)
}
