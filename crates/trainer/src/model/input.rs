//! A batch as the model reads it: per feature either an embedding bag over its table or dense values, with each
//! table's touched rows de-duplicated (so only those rows are gathered, differentiated and updated).

use std::collections::BTreeMap;

use plec_data::{EncodedBatch, EncodedSequenceGroup, SequenceValues};
use plec_spec::{Encoding, Feature, ModelSpec, Pooling, SequenceEncoding, SequenceGroup};
use tch::{Device, Kind, Tensor};

use crate::error::{During, Result, TrainError};

/// One feature of a batch before it becomes tensors: the data module's encoding.
pub use plec_data::EncodedFeature;

/// One feature, ready for the model.
pub enum FeatureInput {
    /// `indices` point into `ModelInput::table_rows[table]` (the batch's de-duplicated rows of that table).
    /// `weights` (`[ids]` f32, weighted features only) are the per-id weights of a weighted sum.
    Bag { table: usize, indices: Tensor, offsets: Tensor, pooling: Pooling, weights: Option<Tensor> },
    /// `[batch, width]`.
    Dense(Tensor),
}

/// One sequence group of a batch (semantics section 2b).
pub struct SequenceGroupInput {
    /// One per query feature, like `ModelInput::features`.
    pub query: Vec<FeatureInput>,
    /// `[batch]` int64: each row's number of positions.
    pub lengths: Tensor,
    /// The longest row's length (the padded `T`).
    pub max_length: i64,
    /// One per sequence feature.
    pub sequence: Vec<SequenceInput>,
}

pub enum SequenceInput {
    /// `local` `[batch, T]`: positions in `ModelInput::table_rows[table]`; `mask` `[batch, T, 1]` f32 is 1 where a
    /// position exists and has a row (pads and row-less positions gather a row but are zeroed).
    Rows { table: usize, local: Tensor, mask: Tensor },
    /// `[batch, T, 1]`, zero at the pads.
    Dense(Tensor),
}

/// Model inputs of one batch.
pub struct ModelInput {
    pub num_rows: usize,
    /// One per `spec.features`, in group order.
    pub features: Vec<FeatureInput>,
    /// One per `spec.sequence_groups`.
    pub sequence_groups: Vec<SequenceGroupInput>,
    /// Per table: the sorted distinct table rows the batch touches (int64).
    pub table_rows: Vec<Tensor>,
}

/// Labels and sample weights of one batch, by column name, `[batch]` f32.
#[derive(Default)]
pub struct Targets {
    pub columns: BTreeMap<String, Tensor>,
    /// `[batch]` int64 session ids per `jrc_loss` session feature.
    pub sessions: BTreeMap<String, Tensor>,
}

impl ModelInput {
    /// A whole encoded batch: features and sequence groups.
    pub fn from_batch(spec: &ModelSpec, batch: &EncodedBatch, device: Device) -> Result<Self> {
        Self::build_with_sequences(spec, batch.num_rows, &batch.features, &batch.sequence_groups, device)
    }

    /// Checks `features` against the spec (count, kinds, tables, widths, row ranges, offsets) and builds tensors on
    /// `device`. Errors name the feature and what was expected. For specs without sequence groups.
    pub fn build(spec: &ModelSpec, num_rows: usize, features: &[EncodedFeature], device: Device) -> Result<Self> {
        Self::build_with_sequences(spec, num_rows, features, &[], device)
    }

    pub fn build_with_sequences(
        spec: &ModelSpec,
        num_rows: usize,
        features: &[EncodedFeature],
        sequences: &[EncodedSequenceGroup],
        device: Device,
    ) -> Result<Self> {
        if features.len() != spec.features.len() || sequences.len() != spec.sequence_groups.len() {
            return Err(TrainError::Input(format!(
                "the batch has {} features and {} sequence groups, the model reads {} and {}",
                features.len(),
                sequences.len(),
                spec.features.len(),
                spec.sequence_groups.len()
            )));
        }
        // Per table: every row referenced, then sorted and de-duplicated.
        let mut touched: Vec<Vec<i64>> = vec![Vec::new(); spec.tables.len()];
        check_features(spec, num_rows, &spec.features, features, &mut touched)?;
        for (group, encoded) in spec.sequence_groups.iter().zip(sequences) {
            check_features(spec, num_rows, &group.query, &encoded.query, &mut touched)?;
            check_sequences(spec, num_rows, group, encoded, &mut touched)?;
        }
        for rows in &mut touched {
            rows.sort_unstable();
            rows.dedup();
        }
        let tensors = || -> Result<BatchTensors, tch::TchError> {
            let out = feature_tensors(features, &touched, num_rows, device)?;
            let mut groups = Vec::with_capacity(sequences.len());
            for encoded in sequences {
                groups.push(sequence_group_tensors(encoded, &touched, num_rows, device)?);
            }
            let table_rows = touched
                .iter()
                .map(|rows| Tensor::f_from_slice(rows)?.f_to_kind(Kind::Int64)?.f_to_device(device))
                .collect::<Result<_, _>>()?;
            Ok((out, groups, table_rows))
        };
        let (out, sequence_groups, table_rows) =
            tensors().during(|| format!("building the input tensors of a batch of {num_rows} rows"))?;
        Ok(ModelInput { num_rows, features: out, sequence_groups, table_rows })
    }
}

/// Features, sequence groups and each table's touched rows.
type BatchTensors = (Vec<FeatureInput>, Vec<SequenceGroupInput>, Vec<Tensor>);

/// Checks encoded `features` against their spec and adds the table rows they read to `touched`.
fn check_features(
    spec: &ModelSpec,
    num_rows: usize,
    specs: &[Feature],
    features: &[EncodedFeature],
    touched: &mut [Vec<i64>],
) -> Result<()> {
    if specs.len() != features.len() {
        return Err(TrainError::Input(format!("{} encoded features for {} in the spec", features.len(), specs.len())));
    }
    {
        for (feature, raw) in specs.iter().zip(features) {
            match (&feature.encoding, raw) {
                (
                    Encoding::Embedding { table, .. },
                    EncodedFeature::Ids { table: t, indices, offsets, weights, .. },
                ) => {
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
                (Encoding::Dense { value_dim, .. }, EncodedFeature::Dense { width, values }) => {
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
    }
    Ok(())
}

/// Checks a sequence group's encoded sequences (lengths, kinds, table rows) and adds their rows to `touched`.
fn check_sequences(
    spec: &ModelSpec,
    num_rows: usize,
    group: &SequenceGroup,
    encoded: &EncodedSequenceGroup,
    touched: &mut [Vec<i64>],
) -> Result<()> {
    if encoded.sequence.len() != group.sequence.len() {
        return Err(TrainError::Input(format!(
            "sequence group `{}`: {} encoded sequences for {} in the spec",
            group.name,
            encoded.sequence.len(),
            group.sequence.len()
        )));
    }
    let first_lengths = encoded.sequence.first().map(|s| &s.lengths);
    for (feature, seq) in group.sequence.iter().zip(&encoded.sequence) {
        let name = &feature.name;
        if seq.lengths.len() != num_rows || Some(&seq.lengths) != first_lengths {
            return Err(TrainError::Input(format!(
                "sequence `{name}`: {} lengths for {num_rows} rows, or lengths unlike the group's first sequence",
                seq.lengths.len()
            )));
        }
        let total: usize = seq.lengths.iter().map(|&l| l as usize).sum();
        match (&feature.encoding, &seq.values) {
            (SequenceEncoding::Embedding { table, .. }, SequenceValues::Rows { table: t, rows }) => {
                let limit = spec.tables[*table].rows;
                if t != table || rows.len() != total {
                    return Err(TrainError::Input(format!(
                        "sequence `{name}`: table {t} and {} rows, expected table {table} and {total}",
                        rows.len()
                    )));
                }
                if let Some(bad) = rows.iter().find(|&&r| r < -1 || (r >= 0 && r as u64 >= limit)) {
                    return Err(TrainError::Input(format!("sequence `{name}`: table row {bad} is outside 0..{limit}")));
                }
                touched[*table].extend(rows.iter().filter(|&&r| r >= 0));
            }
            (SequenceEncoding::Dense { .. }, SequenceValues::Dense(values)) if values.len() == total => {}
            _ => {
                return Err(TrainError::Input(format!(
                    "sequence `{name}` has the wrong kind or count of values in the batch"
                )))
            }
        }
    }
    Ok(())
}

/// Pads each row's positions to the longest row: `[batch, T]` values (pads `pad`) and a `[batch, T, 1]` f32 mask.
fn pad_positions<T: Copy>(
    lengths: &[u32],
    values: &[T],
    pad: T,
    present: impl Fn(T) -> bool,
) -> (Vec<T>, Vec<f32>, i64) {
    let longest = lengths.iter().copied().max().unwrap_or(0) as usize;
    let mut padded = vec![pad; lengths.len() * longest];
    let mut mask = vec![0f32; lengths.len() * longest];
    let mut start = 0;
    for (r, &length) in lengths.iter().enumerate() {
        for t in 0..length as usize {
            let v = values[start + t];
            if present(v) {
                padded[r * longest + t] = v;
                mask[r * longest + t] = 1.0;
            }
        }
        start += length as usize;
    }
    (padded, mask, longest as i64)
}

fn sequence_group_tensors(
    encoded: &EncodedSequenceGroup,
    touched: &[Vec<i64>],
    num_rows: usize,
    device: Device,
) -> Result<SequenceGroupInput, tch::TchError> {
    let query = feature_tensors(&encoded.query, touched, num_rows, device)?;
    let lengths: Vec<i64> =
        encoded.sequence.first().map(|s| s.lengths.iter().map(|&l| l as i64).collect()).unwrap_or_default();
    let mut max_length = 0;
    let mut sequence = Vec::with_capacity(encoded.sequence.len());
    for seq in &encoded.sequence {
        let rows = num_rows as i64;
        sequence.push(match &seq.values {
            SequenceValues::Rows { table, rows: ids } => {
                let table_rows = &touched[*table];
                // Row-less positions (-1) and pads gather local row 0 and are masked out.
                let local: Vec<i64> = ids
                    .iter()
                    .map(|&r| if r < 0 { -1 } else { table_rows.binary_search(&r).map_or(0, |i| i as i64) })
                    .collect();
                let (padded, mask, longest) = pad_positions(&seq.lengths, &local, 0, |r| r >= 0);
                max_length = longest;
                SequenceInput::Rows {
                    table: *table,
                    local: Tensor::f_from_slice(&padded)?.f_reshape([rows, longest])?.f_to_device(device)?,
                    mask: Tensor::f_from_slice(&mask)?.f_reshape([rows, longest, 1])?.f_to_device(device)?,
                }
            }
            SequenceValues::Dense(values) => {
                let (padded, _, longest) = pad_positions(&seq.lengths, values, 0.0, |_| true);
                max_length = longest;
                SequenceInput::Dense(Tensor::f_from_slice(&padded)?.f_reshape([rows, longest, 1])?.f_to_device(device)?)
            }
        });
    }
    let lengths = Tensor::f_from_slice(&lengths)?.f_to_device(device)?;
    Ok(SequenceGroupInput { query, lengths, max_length, sequence })
}

fn feature_tensors(
    features: &[EncodedFeature],
    touched: &[Vec<i64>],
    num_rows: usize,
    device: Device,
) -> Result<Vec<FeatureInput>, tch::TchError> {
    let mut out = Vec::with_capacity(features.len());
    for raw in features {
        out.push(match raw {
            EncodedFeature::Ids { table, indices, offsets, pooling, weights } => {
                let rows = &touched[*table];
                // Position of each row among the table's distinct rows (present by construction).
                let local: Vec<i64> = indices.iter().map(|r| rows.binary_search(r).map_or(0, |i| i as i64)).collect();
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
            EncodedFeature::Dense { width, values } => FeatureInput::Dense(
                Tensor::f_from_slice(values)?.f_reshape([num_rows as i64, *width as i64])?.f_to_device(device)?,
            ),
        });
    }
    Ok(out)
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
        let columns = batch_tensors(num_rows, columns, "column", device)?;
        Ok(Targets { columns, sessions: BTreeMap::new() })
    }

    /// Adds each feature's `[batch]` session ids; each must have `num_rows` values.
    pub fn with_sessions(
        mut self,
        num_rows: usize,
        sessions: &BTreeMap<String, Vec<i64>>,
        device: Device,
    ) -> Result<Self> {
        self.sessions.extend(batch_tensors(num_rows, sessions, "session feature", device)?);
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.columns.get(name).ok_or_else(|| TrainError::Input(format!("the batch has no column `{name}`")))
    }

    /// The session ids `jrc_loss` reads from `feature`.
    pub fn session(&self, feature: &str) -> Result<&Tensor> {
        self.sessions
            .get(feature)
            .ok_or_else(|| TrainError::Input(format!("the batch has no session ids of feature `{feature}`")))
    }
}

impl ModelInput {
    /// The same batch on another device.
    pub fn to_device(&self, device: Device) -> Result<ModelInput> {
        let features = self.features.iter().map(|f| f.to_device(device)).collect::<Result<_, tch::TchError>>();
        let table_rows = self.table_rows.iter().map(|t| t.f_to_device(device)).collect::<Result<_, _>>();
        let during = || format!("copying a batch of {} rows to {device:?}", self.num_rows);
        let sequence_groups = self
            .sequence_groups
            .iter()
            .map(|g| g.to_device(device))
            .collect::<Result<_, tch::TchError>>()
            .during(during)?;
        Ok(ModelInput {
            num_rows: self.num_rows,
            sequence_groups,
            features: features.during(during)?,
            table_rows: table_rows.during(during)?,
        })
    }
}

impl FeatureInput {
    fn to_device(&self, device: Device) -> Result<FeatureInput, tch::TchError> {
        Ok(match self {
            FeatureInput::Bag { table, indices, offsets, pooling, weights } => FeatureInput::Bag {
                table: *table,
                indices: indices.f_to_device(device)?,
                offsets: offsets.f_to_device(device)?,
                pooling: *pooling,
                weights: weights.as_ref().map(|w| w.f_to_device(device)).transpose()?,
            },
            FeatureInput::Dense(t) => FeatureInput::Dense(t.f_to_device(device)?),
        })
    }
}

impl SequenceGroupInput {
    fn to_device(&self, device: Device) -> Result<SequenceGroupInput, tch::TchError> {
        Ok(SequenceGroupInput {
            query: self.query.iter().map(|f| f.to_device(device)).collect::<Result<_, _>>()?,
            lengths: self.lengths.f_to_device(device)?,
            max_length: self.max_length,
            sequence: self
                .sequence
                .iter()
                .map(|s| {
                    Ok(match s {
                        SequenceInput::Rows { table, local, mask } => SequenceInput::Rows {
                            table: *table,
                            local: local.f_to_device(device)?,
                            mask: mask.f_to_device(device)?,
                        },
                        SequenceInput::Dense(t) => SequenceInput::Dense(t.f_to_device(device)?),
                    })
                })
                .collect::<Result<_, tch::TchError>>()?,
        })
    }
}

/// One `[batch]` tensor per named column (`what` names the kind in errors); each must have `num_rows` values.
fn batch_tensors<T: tch::kind::Element>(
    num_rows: usize,
    columns: &BTreeMap<String, Vec<T>>,
    what: &str,
    device: Device,
) -> Result<BTreeMap<String, Tensor>> {
    let mut out = BTreeMap::new();
    for (name, values) in columns {
        if values.len() != num_rows {
            return Err(TrainError::Input(format!("{what} `{name}` has {} values for {num_rows} rows", values.len())));
        }
        let tensor = Tensor::f_from_slice(values)
            .and_then(|t| t.f_to_device(device))
            .during(|| format!("building the {what} `{name}` tensor of a batch of {num_rows} rows"))?;
        out.insert(name.clone(), tensor);
    }
    Ok(out)
}

impl Targets {
    pub fn to_device(&self, device: Device) -> Result<Targets> {
        let copy = |map: &BTreeMap<String, Tensor>| {
            map.iter()
                .map(|(k, v)| Ok((k.clone(), v.f_to_device(device)?)))
                .collect::<Result<BTreeMap<_, _>, tch::TchError>>()
                .during(|| format!("copying the labels of a batch to {device:?}"))
        };
        Ok(Targets { columns: copy(&self.columns)?, sessions: copy(&self.sessions)? })
    }
}
