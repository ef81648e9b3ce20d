//! Reference sequence encoders (semantics section 2b), sample by sample in f64 over named parameters: the
//! encoders' outputs that follow the features in the group input.
#![allow(dead_code)]

use plec_spec::artifact::names;
use plec_spec::{EncoderKind, ModelSpec, Pooling, SequenceEncoding};

use super::reference::{get, linear, mlp, softmax};
use super::Named;

/// One sample's sequence groups: per group, query values (ids or dense values per query feature) and per
/// sequence feature the positions (`Some(row)` / `None` for a row-less position, or a number).
pub struct SeqSample {
    pub groups: Vec<SeqGroupSample>,
}

pub struct SeqGroupSample {
    /// Per query feature: one id (embedded) or the dense values.
    pub query: Vec<QueryValue>,
    /// Per sequence feature: its positions.
    pub sequence: Vec<Vec<Position>>,
}

pub enum QueryValue {
    Id(Option<u64>),
    Dense(Vec<f64>),
}

#[derive(Clone, Copy)]
pub enum Position {
    Row(Option<u64>),
    Number(f64),
}

fn row(p: &Named, spec: &ModelSpec, table: usize, r: Option<u64>) -> Vec<f64> {
    let t = &spec.tables[table];
    match r {
        Some(r) => get(p, &t.param_name())[r as usize * t.dim..(r as usize + 1) * t.dim].to_vec(),
        None => vec![0.0; t.dim],
    }
}

/// Per sample, every encoder's output concatenated (encoder order).
pub fn encoder_outputs(spec: &ModelSpec, p: &Named, samples: &[SeqSample], train: bool) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::new(); samples.len()];
    for (i, encoder) in spec.encoders.iter().enumerate() {
        let group = &spec.sequence_groups[encoder.input];
        let g = encoder.input;
        // Query and padded positions per sample.
        let queries: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| {
                let mut q = Vec::new();
                for (feature, value) in group.query.iter().zip(&s.groups[g].query) {
                    match (&feature.encoding, value) {
                        (plec_spec::Encoding::Embedding { table, .. }, QueryValue::Id(r)) => {
                            q.extend(row(p, spec, *table, *r))
                        }
                        (_, QueryValue::Dense(v)) => q.extend(v),
                        _ => panic!("query kind"),
                    }
                }
                q
            })
            .collect();
        let lengths: Vec<usize> = samples.iter().map(|s| s.groups[g].sequence[0].len()).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let keep = if encoder.max_seq_length == 0 { longest } else { longest.min(encoder.max_seq_length) };
        let width = group.sequence_width;
        let position = |s: &SeqSample, t: usize| -> Vec<f64> {
            if t >= s.groups[g].sequence[0].len() {
                return vec![0.0; width];
            }
            let mut v = Vec::new();
            for (feature, positions) in group.sequence.iter().zip(&s.groups[g].sequence) {
                match (&feature.encoding, positions[t]) {
                    (SequenceEncoding::Embedding { table, .. }, Position::Row(r)) => v.extend(row(p, spec, *table, r)),
                    (SequenceEncoding::Dense { .. }, Position::Number(x)) => v.push(x),
                    _ => panic!("position kind"),
                }
            }
            v
        };
        let seqs: Vec<Vec<Vec<f64>>> = samples.iter().map(|s| (0..keep).map(|t| position(s, t)).collect()).collect();
        let valid: Vec<usize> = lengths.iter().map(|&n| n.min(keep)).collect();
        let attend = |scores: &[f64], seq: &[Vec<f64>], n: usize| -> Vec<f64> {
            let masked: Vec<f64> =
                scores.iter().enumerate().map(|(t, &s)| if t < n { s } else { -2147483647.0 }).collect();
            let w = if masked.is_empty() { vec![] } else { softmax(&masked) };
            (0..width).map(|d| (0..seq.len()).map(|t| w[t] * seq[t][d]).sum()).collect()
        };
        let outputs: Vec<Vec<f64>> = match &encoder.kind {
            EncoderKind::Pooling { pooling } => (0..samples.len())
                .map(|b| {
                    let sum: Vec<f64> = (0..width).map(|d| seqs[b].iter().map(|x| x[d]).sum()).collect();
                    match pooling {
                        Pooling::Sum => sum,
                        Pooling::Mean => sum.iter().map(|v| v / valid[b].max(1) as f64).collect(),
                    }
                })
                .collect(),
            EncoderKind::SimpleAttention => (0..samples.len())
                .map(|b| {
                    let scores: Vec<f64> =
                        seqs[b].iter().map(|x| x.iter().zip(&queries[b]).map(|(a, q)| a * q).sum()).collect();
                    attend(&scores, &seqs[b], valid[b])
                })
                .collect(),
            EncoderKind::Din { mlp: attention } => {
                // Every (sample, position) through the MLP at once: BatchNorm statistics span all of them.
                let mut inputs = Vec::new();
                for b in 0..samples.len() {
                    let mut q = queries[b].clone();
                    q.resize(width, 0.0);
                    for x in &seqs[b] {
                        let mut v = q.clone();
                        v.extend(x);
                        v.extend(q.iter().zip(x).map(|(a, c)| a - c));
                        v.extend(q.iter().zip(x).map(|(a, c)| a * c));
                        inputs.push(v);
                    }
                }
                let hidden = mlp(p, &names::seq_encoder(&spec.group_name, i), attention, &inputs, train);
                let output = names::seq_encoder_output(&spec.group_name, i);
                let scores: Vec<f64> = hidden.iter().map(|h| linear(p, &output, h)[0]).collect();
                (0..samples.len()).map(|b| attend(&scores[b * keep..(b + 1) * keep], &seqs[b], valid[b])).collect()
            }
        };
        for (o, v) in out.iter_mut().zip(outputs) {
            o.extend(v);
        }
    }
    out
}
