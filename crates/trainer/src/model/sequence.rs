//! Sequence groups and their encoders (semantics section 2b): each group's query `[batch, Dq]` and padded
//! sequence `[batch, T, Ds]` from the gathered sequence-table rows, then DIN, simple attention or pooling per
//! encoder, as TorchEasyRec's `tzrec/modules/sequence.py` computes them.

use plec_spec::artifact::names;
use plec_spec::{EncoderKind, ModelSpec, Pooling, MASKED_SCORE};
use tch::{Kind, TchError, Tensor};

use super::embedding::feature_tensor;
use super::input::{ModelInput, SequenceInput};
use super::mlp::{BankInput, MlpBank};
use super::params::ParamFactory;
use crate::error::Result;

enum Encoder {
    /// The attention MLP (a bank of one) and its score Linear (`[1, hidden]`, `[1]`).
    Din {
        mlp: MlpBank,
        weight: Tensor,
        bias: Tensor,
    },
    SimpleAttention,
    Pooling(Pooling),
}

pub struct SequenceEncoders {
    /// With each encoder: its sequence group and `max_seq_length` (0: all positions).
    encoders: Vec<(Encoder, usize, usize)>,
}

/// One sequence group of a batch, embedded.
struct Embedded {
    query: Option<Tensor>,
    /// `[batch, T, Ds]`, zero past each row's length and at row-less positions.
    sequence: Tensor,
    /// `[batch]` int64.
    lengths: Tensor,
}

impl SequenceEncoders {
    pub fn new(factory: &mut ParamFactory, spec: &ModelSpec) -> Result<Self> {
        let mut encoders = Vec::with_capacity(spec.encoders.len());
        for (i, encoder) in spec.encoders.iter().enumerate() {
            let module = match &encoder.kind {
                EncoderKind::Din { mlp } => {
                    let prefix = names::seq_encoder(&spec.group_name, i);
                    let output = names::seq_encoder_output(&spec.group_name, i);
                    Encoder::Din {
                        mlp: MlpBank::new(factory, &[prefix], mlp)?,
                        weight: factory.single(&names::weight(&output))?,
                        bias: factory.single(&names::bias(&output))?,
                    }
                }
                EncoderKind::SimpleAttention => Encoder::SimpleAttention,
                EncoderKind::Pooling { pooling } => Encoder::Pooling(*pooling),
            };
            encoders.push((module, encoder.input, encoder.max_seq_length));
        }
        Ok(SequenceEncoders { encoders })
    }

    pub fn is_empty(&self) -> bool {
        self.encoders.is_empty()
    }

    pub fn trainable(&self, out: &mut Vec<Tensor>) {
        for (encoder, _, _) in &self.encoders {
            if let Encoder::Din { mlp, weight, bias } = encoder {
                mlp.trainable(out);
                out.push(weight.shallow_clone());
                out.push(bias.shallow_clone());
            }
        }
    }

    /// Every encoder's output `[batch, Ds]`, in encoder order; `rows` are the gathered table rows.
    pub fn forward(&self, input: &ModelInput, rows: &[Tensor], train: bool) -> Result<Vec<Tensor>> {
        let embedded = input.sequence_groups.iter().map(|g| embed(g, rows)).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(self.encoders.len());
        for (encoder, group, max_seq_length) in &self.encoders {
            let Some(group) = embedded.get(*group) else {
                return Err(crate::error::TrainError::Input(format!("the batch lacks sequence group {group}")));
            };
            let (sequence, lengths) = truncate(&group.sequence, &group.lengths, *max_seq_length)?;
            out.push(match encoder {
                Encoder::Din { mlp, weight, bias } => {
                    din(group.query.as_ref(), &sequence, &lengths, mlp, weight, bias, train)?
                }
                Encoder::SimpleAttention => {
                    let query = query_of(group.query.as_ref())?;
                    let scores = sequence.f_matmul(&query.f_unsqueeze(2)?)?.f_squeeze_dim(2)?;
                    attend(&scores, &sequence, &lengths)?
                }
                Encoder::Pooling(pooling) => {
                    let sum = sequence.f_sum_dim_intlist(1, false, Kind::Float)?;
                    match pooling {
                        Pooling::Sum => sum,
                        Pooling::Mean => sum.f_div(&lengths.f_clamp_min(1)?.f_to_kind(Kind::Float)?.f_unsqueeze(1)?)?,
                    }
                }
            });
        }
        Ok(out)
    }
}

fn query_of(query: Option<&Tensor>) -> Result<&Tensor> {
    query.ok_or_else(|| crate::error::TrainError::Input("an attention encoder's sequence group has no query".into()))
}

/// The group's query (features side by side) and its sequence (features side by side at each position).
fn embed(group: &super::input::SequenceGroupInput, rows: &[Tensor]) -> Result<Embedded, TchError> {
    let query = if group.query.is_empty() {
        None
    } else {
        let parts = group.query.iter().map(|f| feature_tensor(rows, f)).collect::<Result<Vec<_>, _>>()?;
        Some(Tensor::f_cat(&parts, 1)?)
    };
    let mut parts = Vec::with_capacity(group.sequence.len());
    for feature in &group.sequence {
        parts.push(match feature {
            SequenceInput::Rows { table, local, mask } => {
                let table_rows = &rows[*table];
                let (batch, longest) = local.size2()?;
                if table_rows.size()[0] == 0 {
                    // No position of the batch has a row in this table: nothing to gather.
                    Tensor::f_zeros([batch, longest, table_rows.size()[1]], (Kind::Float, table_rows.device()))?
                } else {
                    table_rows
                        .f_index_select(0, &local.f_reshape([-1])?)?
                        .f_reshape([batch, longest, -1])?
                        .f_mul(mask)?
                }
            }
            SequenceInput::Dense(values) => values.shallow_clone(),
        });
    }
    Ok(Embedded { query, sequence: Tensor::f_cat(&parts, 2)?, lengths: group.lengths.shallow_clone() })
}

/// The first `max_seq_length` positions (all when 0) and the lengths clamped to them.
fn truncate(sequence: &Tensor, lengths: &Tensor, max_seq_length: usize) -> Result<(Tensor, Tensor), TchError> {
    let longest = sequence.size()[1];
    if max_seq_length == 0 || max_seq_length as i64 >= longest {
        return Ok((sequence.shallow_clone(), lengths.f_clamp_max(longest)?));
    }
    let keep = max_seq_length as i64;
    Ok((sequence.f_narrow(1, 0, keep)?, lengths.f_clamp_max(keep)?))
}

/// Masked softmax of `scores` `[batch, T]` over the valid positions, then the weighted sum of `sequence`.
fn attend(scores: &Tensor, sequence: &Tensor, lengths: &Tensor) -> Result<Tensor, TchError> {
    let longest = sequence.size()[1];
    let positions = Tensor::f_arange(longest, (Kind::Int64, sequence.device()))?.f_unsqueeze(0)?;
    let valid = positions.f_lt_tensor(&lengths.f_unsqueeze(1)?)?;
    let masked = Tensor::f_full_like(scores, MASKED_SCORE as f64)?;
    let weights = scores.f_where_self(&valid, &masked)?.f_softmax(-1, Kind::Float)?;
    weights.f_unsqueeze(1)?.f_matmul(sequence)?.f_squeeze_dim(1)
}

/// DIN target attention: the zero-padded query against every position through the attention MLP and its score
/// Linear. BatchNorm in the MLP sees all `batch x T` positions, pads included, as tzrec's 3-D BatchNorm does.
fn din(
    query: Option<&Tensor>,
    sequence: &Tensor,
    lengths: &Tensor,
    mlp: &MlpBank,
    weight: &Tensor,
    bias: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let query = query_of(query)?;
    let (batch, longest, width) = sequence.size3()?;
    if longest == 0 {
        // Every row is empty: the weighted sum over no positions is a zero vector.
        return Ok(Tensor::f_zeros([batch, width], (Kind::Float, sequence.device()))?);
    }
    let pad = width - query.size()[1];
    let query = if pad > 0 { query.f_constant_pad_nd([0, pad])? } else { query.shallow_clone() };
    let queries = query.f_unsqueeze(1)?.f_expand([batch, longest, width], false)?;
    let input = Tensor::f_cat(&[&queries, sequence, &queries.f_sub(sequence)?, &queries.f_mul(sequence)?], -1)?
        .f_reshape([batch * longest, 4 * width])?;
    let hidden = mlp.forward(&BankInput { groups: vec![(&input, 1)] }, train)?.f_select(0, 0)?;
    let scores = bias.f_unsqueeze(0)?.f_addmm(&hidden, &weight.f_transpose(0, 1)?)?.f_reshape([batch, longest])?;
    Ok(attend(&scores, sequence, lengths)?)
}
