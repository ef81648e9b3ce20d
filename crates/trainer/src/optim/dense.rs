//! Optimizers for dense parameters with PyTorch's semantics (`torch.optim` single-tensor code paths). Banked
//! expert tensors are stepped as a whole, which is the same arithmetic as stepping each expert's slice.

use plec_config::spec::DenseOptimizer;
use tch::Tensor;

pub struct DenseOpt {
    kind: DenseOptimizer,
    params: Vec<Tensor>,
    /// Per parameter: Adam/AdamW `[exp_avg, exp_avg_sq(, max_exp_avg_sq)]`, Adagrad `[sum]`, Sgd `[momentum]`.
    state: Vec<Vec<Tensor>>,
    pub step: u64,
}

impl DenseOpt {
    pub fn new(kind: DenseOptimizer, params: Vec<Tensor>) -> Self {
        let state = params
            .iter()
            .map(|p| {
                let zeros = || p.detach().zeros_like();
                match kind {
                    DenseOptimizer::Adam { amsgrad, .. } | DenseOptimizer::AdamW { amsgrad, .. } => {
                        if amsgrad {
                            vec![zeros(), zeros(), zeros()]
                        } else {
                            vec![zeros(), zeros()]
                        }
                    }
                    DenseOptimizer::Adagrad { initial_accumulator_value, .. } => {
                        vec![p.detach().full_like(initial_accumulator_value as f64)]
                    }
                    DenseOptimizer::Sgd { momentum, .. } => {
                        if momentum != 0.0 {
                            vec![zeros()]
                        } else {
                            vec![]
                        }
                    }
                }
            })
            .collect();
        DenseOpt { kind, params, state, step: 0 }
    }

    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    pub fn zero_grad(&mut self) {
        for p in &self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let t = self.step as f64;
        let first = self.step == 1;
        tch::no_grad(|| {
            for (p, state) in self.params.iter().zip(&mut self.state) {
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let mut p = p.shallow_clone();
                match self.kind {
                    DenseOptimizer::Adam { beta1, beta2, weight_decay, eps, amsgrad, .. }
                    | DenseOptimizer::AdamW { beta1, beta2, weight_decay, eps, amsgrad, .. } => {
                        let decoupled = matches!(self.kind, DenseOptimizer::AdamW { .. });
                        let (b1, b2, wd) = (beta1 as f64, beta2 as f64, weight_decay as f64);
                        let grad = if wd != 0.0 && !decoupled { &grad + &p * wd } else { grad };
                        if wd != 0.0 && decoupled {
                            p *= 1.0 - lr * wd;
                        }
                        let _ = state[0].lerp_(&grad, 1.0 - b1);
                        state[1] *= b2;
                        state[1] += grad.square() * (1.0 - b2);
                        let bc1 = 1.0 - b1.powf(t);
                        let bc2_sqrt = (1.0 - b2.powf(t)).sqrt();
                        let second = if amsgrad {
                            let max = state[2].maximum(&state[1]);
                            state[2].copy_(&max);
                            max
                        } else {
                            state[1].shallow_clone()
                        };
                        let denom = second.sqrt() / bc2_sqrt + eps as f64;
                        p -= &state[0] / denom * (lr / bc1);
                    }
                    DenseOptimizer::Adagrad { weight_decay, eps, .. } => {
                        let grad = if weight_decay != 0.0 { &grad + &p * weight_decay as f64 } else { grad };
                        state[0] += grad.square();
                        let std = state[0].sqrt() + eps as f64;
                        p -= grad / std * lr;
                    }
                    DenseOptimizer::Sgd { momentum, weight_decay, dampening, nesterov, .. } => {
                        let mut grad = if weight_decay != 0.0 { &grad + &p * weight_decay as f64 } else { grad };
                        if momentum != 0.0 {
                            let m = momentum as f64;
                            if first {
                                state[0].copy_(&grad);
                            } else {
                                state[0] *= m;
                                state[0] += &grad * (1.0 - dampening as f64);
                            }
                            grad = if nesterov { grad + &state[0] * m } else { state[0].shallow_clone() };
                        }
                        p -= grad * lr;
                    }
                }
            }
        });
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
