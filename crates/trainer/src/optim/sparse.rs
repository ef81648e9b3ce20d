//! Row-sparse optimizers for embedding tables: each step reads and writes only the rows the batch touched (their
//! gradients are those of the gathered rows, already summed over duplicate ids), never the whole table.
//! Semantics follow fbgemm's TBE optimizers (eps 1e-8).

use plec_config::spec::SparseOptimizer;
use tch::{Kind, Tensor};

const EPS: f64 = 1e-8;

pub struct SparseOpt {
    kind: SparseOptimizer,
    /// Per table: Adagrad `[acc]` `[rows, dim]`; RowwiseAdagrad `[acc]` `[rows]`; Adam `[m, v]`; Sgd none.
    state: Vec<Vec<Tensor>>,
    /// Steps taken (Adam's bias correction uses this global step).
    pub step: u64,
}

impl SparseOpt {
    pub fn new(kind: SparseOptimizer, tables: &[Tensor]) -> Self {
        let state = tables
            .iter()
            .map(|table| match kind {
                SparseOptimizer::Sgd { .. } => vec![],
                SparseOptimizer::Adagrad { initial_accumulator_value, .. } => {
                    vec![table.full_like(initial_accumulator_value as f64)]
                }
                SparseOptimizer::RowwiseAdagrad { .. } => {
                    vec![Tensor::zeros([table.size()[0]], (Kind::Float, table.device()))]
                }
                SparseOptimizer::Adam { .. } => vec![table.zeros_like(), table.zeros_like()],
            })
            .collect();
        SparseOpt { kind, state, step: 0 }
    }

    /// Applies `grads[t]` (`[n, dim]`, for the distinct rows `ids[t]` whose values before the step were
    /// `values[t]`) to each table at learning rate `lr`.
    pub fn step(&mut self, tables: &[Tensor], ids: &[Tensor], values: &[Tensor], grads: &[Option<Tensor>], lr: f64) {
        self.step += 1;
        let t = self.step as f64;
        tch::no_grad(|| {
            for (((table, state), (ids, w)), grad) in
                tables.iter().zip(&mut self.state).zip(ids.iter().zip(values)).zip(grads)
            {
                let Some(g) = grad else { continue };
                if ids.numel() == 0 {
                    continue;
                }
                let w = w.detach();
                let updated = match self.kind {
                    SparseOptimizer::Sgd { .. } => w - g * lr,
                    SparseOptimizer::Adagrad { .. } => {
                        let acc = state[0].index_select(0, ids) + g.square();
                        let _ = state[0].index_copy_(0, ids, &acc);
                        w - g * lr / (acc.sqrt() + EPS)
                    }
                    SparseOptimizer::RowwiseAdagrad { weight_decay, .. } => {
                        // fbgemm's L2 weight-decay mode: the decay joins the gradient before the row mean.
                        let g = if weight_decay != 0.0 { g + &w * weight_decay as f64 } else { g.shallow_clone() };
                        let acc = state[0].index_select(0, ids) + g.square().mean_dim(1, false, None);
                        let _ = state[0].index_copy_(0, ids, &acc);
                        &w - g * (lr / (acc.sqrt() + EPS)).unsqueeze(1)
                    }
                    SparseOptimizer::Adam { beta1, beta2, weight_decay, .. } => {
                        let (b1, b2) = (beta1 as f64, beta2 as f64);
                        let m = state[0].index_select(0, ids) * b1 + g * (1.0 - b1);
                        let v = state[1].index_select(0, ids) * b2 + g.square() * (1.0 - b2);
                        let _ = state[0].index_copy_(0, ids, &m);
                        let _ = state[1].index_copy_(0, ids, &v);
                        let m_hat = m / (1.0 - b1.powf(t));
                        let v_hat = v / (1.0 - b2.powf(t));
                        // Decoupled weight decay, as fbgemm's Adam.
                        &w - (m_hat / (v_hat.sqrt() + EPS) + &w * weight_decay as f64) * lr
                    }
                };
                let _ = table.shallow_clone().index_copy_(0, ids, &updated);
            }
        });
    }

    /// Optimizer state as named tensors (`sparse.<table index>.<slot>`), for checkpoints.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (t, slots) in self.state.iter().enumerate() {
            for (s, tensor) in slots.iter().enumerate() {
                out.push((format!("sparse.{t}.{s}"), tensor.shallow_clone()));
            }
        }
        out
    }
}
