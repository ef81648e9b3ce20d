//! A batch as the model reads it: per feature either an embedding bag over its table or dense values, with each
//! table's touched rows de-duplicated (so only those rows are gathered, differentiated and updated).

use std::collections::BTreeMap;

use plec_config::spec::{Encoding, ModelSpec, Pooling};
use tch::{Device, Kind, Tensor};

use crate::error::{During, Result, TrainError};

/// One feature of a batch before it becomes tensors: the data module's encoding.
pub use plec_data::EncodedFeature as RawFeature;

/// One feature, ready for the model.
pub enum FeatureInput {
    /// `indices` point into `ModelInput::table_rows[table]` (the batch's de-duplicated rows of that table).
    /// `weights` (`[ids]` f32, weighted features only) are the per-id weights of a weighted sum.
    Bag { table: usize, indices: Tensor, offsets: Tensor, pooling: Pooling, weights: Option<Tensor> },
    /// `[batch, width]`.
    Dense(Tensor),
}

/// Model inputs of one batch.
pub struct ModelInput {
    pub num_rows: usize,
    /// One per `spec.features`, in group order.
    pub features: Vec<FeatureInput>,
    /// Per table: the sorted distinct table rows the batch touches (int64).
    pub table_rows: Vec<Tensor>,
}

/// Labels and sample weights of one batch, by column name, `[batch]` f32.
#[derive(Default)]
pub struct Targets {
    pub columns: BTreeMap<String, Tensor>,
}

impl ModelInput {
    /// Checks `features` against the spec (count, kinds, tables, widths, row ranges, offsets) and builds tensors on
    /// `device`. Errors name the feature and what was expected.
    pub fn build(spec: &ModelSpec, num_rows: usize, features: &[RawFeature], device: Device) -> Result<Self> {
        if features.len() != spec.features.len() {
            return Err(TrainError::Input(format!(
                "the batch has {} features, the model reads {}",
                features.len(),
                spec.features.len()
            )));
        }
        // Per table: every row referenced, then sorted and de-duplicated.
        let mut touched: Vec<Vec<i64>> = vec![Vec::new(); spec.tables.len()];
        for (feature, raw) in spec.features.iter().zip(features) {
            match (&feature.encoding, raw) {
                (Encoding::Embedding { table, .. }, RawFeature::Ids { table: t, indices, offsets, weights, .. }) => {
                    if table != t {
                        return Err(TrainError::Input(format!(
                            "feature `{}` reads table {table}, the batch gives table {t}",
                            feature.name
                        )));
                    }
                    match weights {
                        Some(w) if !feature.is_weighted() || w.len() != indices.len() => {
                            return Err(TrainError::Input(format!(
                                "feature `{}`: {} weights for {} ids ({})",
                                feature.name,
                                w.len(),
                                indices.len(),
                                if feature.is_weighted() { "one each expected" } else { "the feature is not weighted" }
                            )));
                        }
                        None if feature.is_weighted() => {
                            return Err(TrainError::Input(format!(
                                "weighted feature `{}` has no weights in the batch",
                                feature.name
                            )));
                        }
                        _ => {}
                    }
                    check_bags(&feature.name, num_rows, indices, offsets, spec.tables[*table].rows)?;
                    touched[*table].extend_from_slice(indices);
                }
                (Encoding::Dense { value_dim, .. }, RawFeature::Dense { width, values }) => {
                    if width != value_dim || values.len() != num_rows * width {
                        return Err(TrainError::Input(format!(
                            "dense feature `{}` expects {value_dim} value(s) per row for {num_rows} rows, the batch \
                             has width {width} and {} values",
                            feature.name,
                            values.len()
                        )));
                    }
                }
                _ => {
                    return Err(TrainError::Input(format!(
                        "feature `{}` has the wrong kind in the batch (ids vs dense values)",
                        feature.name
                    )))
                }
            }
        }
        for rows in &mut touched {
            rows.sort_unstable();
            rows.dedup();
        }
        let tensors = || -> Result<(Vec<FeatureInput>, Vec<Tensor>), tch::TchError> {
            let mut out = Vec::with_capacity(features.len());
            for raw in features {
                out.push(match raw {
                    RawFeature::Ids { table, indices, offsets, pooling, weights } => {
                        let rows = &touched[*table];
                        // Position of each row among the table's distinct rows (present by construction).
                        let local: Vec<i64> =
                            indices.iter().map(|r| rows.binary_search(r).map_or(0, |i| i as i64)).collect();
                        let offsets: Vec<i64> = offsets.iter().take(num_rows).copied().collect();
                        FeatureInput::Bag {
                            table: *table,
                            indices: Tensor::f_from_slice(&local)?.f_to_device(device)?,
                            offsets: Tensor::f_from_slice(&offsets)?.f_to_device(device)?,
                            pooling: *pooling,
                            weights: match weights {
                                Some(w) => Some(Tensor::f_from_slice(w)?.f_to_device(device)?),
                                None => None,
                            },
                        }
                    }
                    RawFeature::Dense { width, values } => FeatureInput::Dense(
                        Tensor::f_from_slice(values)?
                            .f_reshape([num_rows as i64, *width as i64])?
                            .f_to_device(device)?,
                    ),
                });
            }
            let table_rows = touched
                .iter()
                .map(|rows| Tensor::f_from_slice(rows)?.f_to_kind(Kind::Int64)?.f_to_device(device))
                .collect::<Result<_, _>>()?;
            Ok((out, table_rows))
        };
        let (out, table_rows) =
            tensors().during(|| format!("building the input tensors of a batch of {num_rows} rows"))?;
        Ok(ModelInput { num_rows, features: out, table_rows })
    }
}

fn check_bags(name: &str, num_rows: usize, indices: &[i64], offsets: &[i64], rows: u64) -> Result<()> {
    if offsets.len() != num_rows && offsets.len() != num_rows + 1 {
        return Err(TrainError::Input(format!("feature `{name}`: {} bag offsets for {num_rows} rows", offsets.len())));
    }
    let mut previous = 0;
    for (row, &o) in offsets.iter().enumerate() {
        if o < previous || o > indices.len() as i64 || (row == 0 && o != 0) {
            return Err(TrainError::Input(format!(
                "feature `{name}`: bag offsets must start at 0 and not decrease (row {row} has offset {o})"
            )));
        }
        previous = o;
    }
    if offsets.len() == num_rows + 1 && offsets[num_rows] != indices.len() as i64 {
        return Err(TrainError::Input(format!("feature `{name}`: the last offset is not the number of ids")));
    }
    if let Some(bad) = indices.iter().position(|&r| r < 0 || r as u64 >= rows) {
        let row = offsets.partition_point(|&o| o <= bad as i64).saturating_sub(1);
        return Err(TrainError::Input(format!(
            "feature `{name}`, row {row}: table row {} is outside 0..{rows}",
            indices[bad]
        )));
    }
    Ok(())
}

impl Targets {
    /// Label / weight columns as `[batch]` tensors; each must have `num_rows` values.
    pub fn build(num_rows: usize, columns: &BTreeMap<String, Vec<f32>>, device: Device) -> Result<Self> {
        let mut out = BTreeMap::new();
        for (name, values) in columns {
            if values.len() != num_rows {
                return Err(TrainError::Input(format!(
                    "column `{name}` has {} values for {num_rows} rows",
                    values.len()
                )));
            }
            let tensor = Tensor::f_from_slice(values)
                .and_then(|t| t.f_to_device(device))
                .during(|| format!("building the `{name}` tensor of a batch of {num_rows} rows"))?;
            out.insert(name.clone(), tensor);
        }
        Ok(Targets { columns: out })
    }

    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.columns.get(name).ok_or_else(|| TrainError::Input(format!("the batch has no column `{name}`")))
    }
}

impl ModelInput {
    /// The same batch on another device.
    pub fn to_device(&self, device: Device) -> Result<ModelInput> {
        let features = self
            .features
            .iter()
            .map(|f| {
                Ok(match f {
                    FeatureInput::Bag { table, indices, offsets, pooling, weights } => FeatureInput::Bag {
                        table: *table,
                        indices: indices.f_to_device(device)?,
                        offsets: offsets.f_to_device(device)?,
                        pooling: *pooling,
                        weights: weights.as_ref().map(|w| w.f_to_device(device)).transpose()?,
                    },
                    FeatureInput::Dense(t) => FeatureInput::Dense(t.f_to_device(device)?),
                })
            })
            .collect::<Result<_, tch::TchError>>();
        let table_rows = self.table_rows.iter().map(|t| t.f_to_device(device)).collect::<Result<_, _>>();
        let during = || format!("copying a batch of {} rows to {device:?}", self.num_rows);
        Ok(ModelInput {
            num_rows: self.num_rows,
            features: features.during(during)?,
            table_rows: table_rows.during(during)?,
        })
    }
}

impl Targets {
    pub fn to_device(&self, device: Device) -> Result<Targets> {
        let columns = self
            .columns
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.f_to_device(device)?)))
            .collect::<Result<_, tch::TchError>>()
            .during(|| format!("copying the labels of a batch to {device:?}"))?;
        Ok(Targets { columns })
    }
}
