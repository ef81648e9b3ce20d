//! Row-sparse optimizers for embedding tables: each step reads and writes only the rows the batch touched (their
//! gradients are those of the gathered rows, already summed over duplicate ids), never the whole table.
//! Semantics follow fbgemm's TBE optimizers (eps 1e-8).

use plec_spec::SparseOptimizer;
use tch::{Kind, TchError, Tensor};

use crate::error::{alloc_err, Result};

const EPS: f64 = 1e-8;

pub struct SparseOpt {
    kind: SparseOptimizer,
    /// Per table: Adagrad `[acc]` `[rows, dim]`; RowwiseAdagrad `[acc]` `[rows]`; Adam `[m, v]`; Sgd none.
    state: Vec<Vec<Tensor>>,
    /// Steps taken (Adam's bias correction uses this global step).
    pub step: u64,
}

impl SparseOpt {
    /// Allocates the optimizer state of each table (`names[t]` names table `t` in errors): as large as the table
    /// for Adagrad (twice for Adam), one value per row for RowwiseAdagrad.
    pub fn new(kind: SparseOptimizer, tables: &[Tensor], names: &[String]) -> Result<Self> {
        let state = tables
            .iter()
            .enumerate()
            .map(|(t, table)| {
                let rows = table.size().first().copied().unwrap_or(0);
                let (shape, slots, fill) = match kind {
                    SparseOptimizer::Sgd { .. } => (table.size(), 0, 0.0),
                    SparseOptimizer::Adagrad { initial_accumulator_value, .. } => {
                        (table.size(), 1, initial_accumulator_value as f64)
                    }
                    SparseOptimizer::RowwiseAdagrad { .. } => (vec![rows], 1, 0.0),
                    SparseOptimizer::Adam { .. } => (table.size(), 2, 0.0),
                };
                let options = (Kind::Float, table.device());
                (0..slots)
                    .map(|_| Tensor::f_full(shape.as_slice(), fill, options))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        let name = names.get(t).map_or_else(|| format!("{t}"), |n| format!("`{n}`"));
                        alloc_err(
                            format!("the sparse optimizer state of embedding table {name}"),
                            &shape,
                            table.device(),
                            e,
                        )
                    })
            })
            .collect::<Result<_>>()?;
        Ok(SparseOpt { kind, state, step: 0 })
    }

    /// Applies `grads[t]` (`[n, dim]`, for the distinct rows `ids[t]` whose values before the step were
    /// `values[t]`) to each table at learning rate `lr`.
    pub fn step(
        &mut self,
        tables: &[Tensor],
        ids: &[Tensor],
        values: &[Tensor],
        grads: &[Option<Tensor>],
        lr: f64,
    ) -> Result<()> {
        self.step += 1;
        let t = self.step as f64;
        let kind = self.kind;
        tch::no_grad(|| {
            for (((table, state), (ids, w)), grad) in
                tables.iter().zip(&mut self.state).zip(ids.iter().zip(values)).zip(grads)
            {
                let Some(g) = grad else { continue };
                if ids.numel() == 0 {
                    continue;
                }
                let updated = updated_rows(kind, state, ids, &w.f_detach()?, g, lr, t)?;
                let _ = table.shallow_clone().f_index_copy_(0, ids, &updated)?;
            }
            Ok(())
        })
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

/// The new values of the rows `ids` (values `w`, gradients `g`), updating their optimizer state; `t` the 1-based
/// step.
fn updated_rows(
    kind: SparseOptimizer,
    state: &mut [Tensor],
    ids: &Tensor,
    w: &Tensor,
    g: &Tensor,
    lr: f64,
    t: f64,
) -> Result<Tensor, TchError> {
    match kind {
        SparseOptimizer::Sgd { .. } => w.f_sub(&g.f_mul_scalar(lr)?),
        SparseOptimizer::Adagrad { .. } => {
            let acc = state[0].f_index_select(0, ids)?.f_add(&g.f_square()?)?;
            let _ = state[0].f_index_copy_(0, ids, &acc)?;
            w.f_sub(&g.f_mul_scalar(lr)?.f_div(&acc.f_sqrt()?.f_add_scalar(EPS)?)?)
        }
        SparseOptimizer::RowwiseAdagrad { weight_decay, .. } => {
            // fbgemm's L2 weight-decay mode: the decay joins the gradient before the row mean.
            let g =
                if weight_decay != 0.0 { g.f_add(&w.f_mul_scalar(weight_decay as f64)?)? } else { g.shallow_clone() };
            let acc = state[0].f_index_select(0, ids)?.f_add(&g.f_square()?.f_mean_dim(1, false, None)?)?;
            let _ = state[0].f_index_copy_(0, ids, &acc)?;
            let scale = acc.f_sqrt()?.f_add_scalar(EPS)?.f_reciprocal()?.f_mul_scalar(lr)?.f_unsqueeze(1)?;
            w.f_sub(&g.f_mul(&scale)?)
        }
        SparseOptimizer::Adam { beta1, beta2, weight_decay, .. } => {
            let (b1, b2) = (beta1 as f64, beta2 as f64);
            let m = state[0].f_index_select(0, ids)?.f_mul_scalar(b1)?.f_add(&g.f_mul_scalar(1.0 - b1)?)?;
            let v = state[1].f_index_select(0, ids)?.f_mul_scalar(b2)?.f_add(&g.f_square()?.f_mul_scalar(1.0 - b2)?)?;
            let _ = state[0].f_index_copy_(0, ids, &m)?;
            let _ = state[1].f_index_copy_(0, ids, &v)?;
            let m_hat = m.f_div_scalar(1.0 - b1.powf(t))?;
            let v_hat = v.f_div_scalar(1.0 - b2.powf(t))?;
            // Decoupled weight decay, as fbgemm's Adam.
            let direction =
                m_hat.f_div(&v_hat.f_sqrt()?.f_add_scalar(EPS)?)?.f_add(&w.f_mul_scalar(weight_decay as f64)?)?;
            w.f_sub(&direction.f_mul_scalar(lr)?)
        }
    }
}
