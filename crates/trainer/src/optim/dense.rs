//! Optimizers for dense parameters with PyTorch's semantics (`torch.optim` single-tensor code paths). Banked
//! expert tensors are stepped as a whole, which is the same arithmetic as stepping each expert's slice.

use plec_spec::DenseOptimizer;
use tch::{TchError, Tensor};

use crate::error::{alloc_err, Result};

pub struct DenseOpt {
    kind: DenseOptimizer,
    params: Vec<Tensor>,
    /// Per parameter: Adam/AdamW `[exp_avg, exp_avg_sq(, max_exp_avg_sq)]`, Adagrad `[sum]`, Sgd `[momentum]`.
    state: Vec<Vec<Tensor>>,
    pub step: u64,
}

impl DenseOpt {
    /// Allocates the optimizer state (errors name the parameter's position and shape).
    pub fn new(kind: DenseOptimizer, params: Vec<Tensor>) -> Result<Self> {
        let state = params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let slots = match kind {
                    DenseOptimizer::Adam { amsgrad, .. } | DenseOptimizer::AdamW { amsgrad, .. } => {
                        if amsgrad {
                            3
                        } else {
                            2
                        }
                    }
                    DenseOptimizer::Adagrad { .. } => 1,
                    DenseOptimizer::Sgd { momentum, .. } => usize::from(momentum != 0.0),
                };
                let fill = match kind {
                    DenseOptimizer::Adagrad { initial_accumulator_value, .. } => initial_accumulator_value as f64,
                    _ => 0.0,
                };
                (0..slots).map(|_| p.f_detach()?.f_full_like(fill)).collect::<Result<Vec<_>, _>>().map_err(|e| {
                    alloc_err(format!("the dense optimizer state of parameter {i}"), &p.size(), p.device(), e)
                })
            })
            .collect::<Result<_>>()?;
        Ok(DenseOpt { kind, params, state, step: 0 })
    }

    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    pub fn zero_grad(&mut self) -> Result<()> {
        for p in &self.params {
            let mut g = p.f_grad()?;
            if g.defined() {
                let _ = g.f_detach_()?;
                let _ = g.f_zero_()?;
            }
        }
        Ok(())
    }

    pub fn step(&mut self, lr: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as f64;
        let first = self.step == 1;
        let kind = self.kind;
        tch::no_grad(|| {
            for (p, state) in self.params.iter().zip(&mut self.state) {
                let grad = p.f_grad()?;
                if !grad.defined() {
                    continue;
                }
                update(kind, &mut p.shallow_clone(), grad, state, lr, t, first)?;
            }
            Ok(())
        })
    }

    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, slots) in self.state.iter().enumerate() {
            for (s, tensor) in slots.iter().enumerate() {
                out.push((format!("dense.{i}.{s}"), tensor.shallow_clone()));
            }
        }
        out
    }
}

/// One parameter's update in place (under `no_grad`), `t` the 1-based step.
fn update(
    kind: DenseOptimizer,
    p: &mut Tensor,
    grad: Tensor,
    state: &mut [Tensor],
    lr: f64,
    t: f64,
    first: bool,
) -> Result<(), TchError> {
    match kind {
        DenseOptimizer::Adam { beta1, beta2, weight_decay, eps, amsgrad, .. }
        | DenseOptimizer::AdamW { beta1, beta2, weight_decay, eps, amsgrad, .. } => {
            let decoupled = matches!(kind, DenseOptimizer::AdamW { .. });
            let (b1, b2, wd) = (beta1 as f64, beta2 as f64, weight_decay as f64);
            let grad = if wd != 0.0 && !decoupled { grad.f_add(&p.f_mul_scalar(wd)?)? } else { grad };
            if wd != 0.0 && decoupled {
                let _ = p.f_mul_scalar_(1.0 - lr * wd)?;
            }
            let _ = state[0].f_lerp_(&grad, 1.0 - b1)?;
            let _ = state[1].f_mul_scalar_(b2)?;
            let _ = state[1].f_add_(&grad.f_square()?.f_mul_scalar(1.0 - b2)?)?;
            let bc1 = 1.0 - b1.powf(t);
            let bc2_sqrt = (1.0 - b2.powf(t)).sqrt();
            let second = if amsgrad {
                let max = state[2].f_maximum(&state[1])?;
                state[2].f_copy_(&max)?;
                max
            } else {
                state[1].shallow_clone()
            };
            let denom = second.f_sqrt()?.f_div_scalar(bc2_sqrt)?.f_add_scalar(eps as f64)?;
            let _ = p.f_sub_(&state[0].f_div(&denom)?.f_mul_scalar(lr / bc1)?)?;
        }
        DenseOptimizer::Adagrad { weight_decay, eps, .. } => {
            let grad = if weight_decay != 0.0 { grad.f_add(&p.f_mul_scalar(weight_decay as f64)?)? } else { grad };
            let _ = state[0].f_add_(&grad.f_square()?)?;
            let std = state[0].f_sqrt()?.f_add_scalar(eps as f64)?;
            let _ = p.f_sub_(&grad.f_div(&std)?.f_mul_scalar(lr)?)?;
        }
        DenseOptimizer::Sgd { momentum, weight_decay, dampening, nesterov, .. } => {
            let mut grad = if weight_decay != 0.0 { grad.f_add(&p.f_mul_scalar(weight_decay as f64)?)? } else { grad };
            if momentum != 0.0 {
                let m = momentum as f64;
                if first {
                    state[0].f_copy_(&grad)?;
                } else {
                    let _ = state[0].f_mul_scalar_(m)?;
                    let _ = state[0].f_add_(&grad.f_mul_scalar(1.0 - dampening as f64)?)?;
                }
                grad = if nesterov { grad.f_add(&state[0].f_mul_scalar(m)?)? } else { state[0].shallow_clone() };
            }
            let _ = p.f_sub_(&grad.f_mul_scalar(lr)?)?;
        }
    }
    Ok(())
}
