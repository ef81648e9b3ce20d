//! Embedding tables and the group input (section 1): each feature's pooled embedding or dense values,
//! concatenated in feature order.

use plec_spec::{ModelSpec, Pooling};
use tch::Tensor;

use super::input::{FeatureInput, ModelInput};
use super::params::ParamFactory;
use crate::error::Result;

pub struct Embeddings {
    /// `[rows, dim]` per table, in `spec.tables` order. Not autograd leaves (see `GatheredRows`).
    pub tables: Vec<Tensor>,
}

/// The rows of each table a batch touched, gathered into small tensors; in training they are autograd leaves whose
/// gradients the sparse optimizer applies to just those rows.
pub struct GatheredRows {
    pub rows: Vec<Tensor>,
}

impl Embeddings {
    pub fn new(factory: &mut ParamFactory, spec: &ModelSpec) -> Result<Self> {
        let tables = spec.tables.iter().map(|t| factory.single(&t.param_name())).collect::<Result<_>>()?;
        Ok(Embeddings { tables })
    }

    /// The group input `[batch, input_width]` and the gathered rows it was computed from.
    pub fn forward(&self, input: &ModelInput, train: bool) -> Result<(Tensor, GatheredRows)> {
        let rows: Vec<Tensor> = self
            .tables
            .iter()
            .zip(&input.table_rows)
            .map(|(table, ids)| {
                let gathered = table.f_index_select(0, ids)?;
                if train {
                    gathered.f_set_requires_grad(true)
                } else {
                    Ok(gathered)
                }
            })
            .collect::<Result<_, _>>()?;
        let parts: Vec<Tensor> = input
            .features
            .iter()
            .map(|feature| feature_tensor(&rows, feature))
            .collect::<Result<_, tch::TchError>>()?;
        Ok((Tensor::f_cat(&parts, 1)?, GatheredRows { rows }))
    }
}

/// One feature's piece of the group input: its pooled embedding (from the gathered `rows`) or its dense values.
pub fn feature_tensor(rows: &[Tensor], feature: &FeatureInput) -> Result<Tensor, tch::TchError> {
    match feature {
        FeatureInput::Bag { table, indices, offsets, pooling, weights } => {
            let mode = match pooling {
                Pooling::Sum => 0,
                Pooling::Mean => 1,
            };
            // Weights multiply each id's embedding before the sum (validation allows them with sum only, the one
            // mode EmbeddingBag takes them in).
            let (pooled, _, _, _) =
                Tensor::f_embedding_bag(&rows[*table], indices, offsets, false, mode, false, weights.as_ref(), false)?;
            Ok(pooled)
        }
        FeatureInput::Dense(values) => Ok(values.shallow_clone()),
    }
}
