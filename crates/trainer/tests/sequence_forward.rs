//! Sequence groups and their encoders (DIN with BatchNorm, simple attention, pooling) in the model's forward pass
//! vs the independent f64 reference in `common/sequence_reference.rs`, on rows with empty sequences, row-less
//! positions, a truncating `max_seq_length` and a group without a query.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::reference::{self, Sample};
use common::sequence_reference::{encoder_outputs, Position, QueryValue, SeqGroupSample, SeqSample};
use common::{assert_close, named, to_vec, FORWARD_TOL};
use plec_data::{EncodedFeature, EncodedSequence, EncodedSequenceGroup, SequenceValues};
use plec_spec::testing::{
    build_with_sequences, dense, id, layer, mlp, seq_dense, seq_group, seq_hash, seq_id, tower, Head,
};
use plec_spec::{Activation, ModelSpec, Norm, Pooling};
use plec_trainer::model::ModelInput;
use plec_trainer::PleModel;
use tch::Device;

fn spec() -> ModelSpec {
    build_with_sequences(
        &[id("user", 10, 4), dense("score", 1, 0.0)],
        &[
            seq_group(
                "clicks",
                vec![id("item", 30, 4), dense("price", 1, 0.0)],
                vec![seq_id("clicks__item", 30, 4), seq_dense("clicks__price")],
            )
            .din_mlp(mlp(0, &[6, 3], Norm::Batch, Activation::Relu), 0)
            .pooling(Pooling::Mean, 2)
            .simple_attention(0),
            seq_group("views", vec![], vec![seq_hash("views", 7, 3)]).pooling(Pooling::Sum, 0),
        ],
        &[layer("l1", 1, 1, &[5])],
        &[tower("ctr", &[], Head::Binary), tower("cvr", &[3], Head::Binary)],
    )
}

/// (user, score, item, price, clicks as (item row, price), views rows)
type Row = (u64, f64, Option<u64>, f64, Vec<(Option<u64>, f64)>, Vec<Option<u64>>);

fn rows() -> Vec<Row> {
    vec![
        (1, 0.5, Some(3), 1.5, vec![(Some(3), 1.0), (Some(7), -2.0), (None, 0.5)], vec![Some(2)]),
        (4, -1.0, None, 0.0, vec![], vec![]),
        (9, 2.0, Some(29), -0.5, vec![(Some(29), 0.25)], vec![Some(0), Some(6), None, Some(6)]),
        (0, 0.0, Some(0), 3.0, vec![(Some(1), 1.0), (Some(2), 2.0), (Some(3), 3.0), (Some(4), 4.0)], vec![]),
        (5, 1.0, Some(12), 0.0, vec![(None, 0.0), (Some(12), 1.0)], vec![None]),
    ]
}

fn encoded(rows: &[Row]) -> (Vec<EncodedFeature>, Vec<EncodedSequenceGroup>) {
    let bag = |table: usize, ids: Vec<Option<u64>>| {
        let mut indices = Vec::new();
        let mut offsets = vec![0i64];
        for id in ids {
            indices.extend(id.map(|i| i as i64));
            offsets.push(indices.len() as i64);
        }
        EncodedFeature::Ids { table, indices, offsets, pooling: Pooling::Sum, weights: None }
    };
    let dense =
        |values: Vec<f64>| EncodedFeature::Dense { width: 1, values: values.iter().map(|&v| v as f32).collect() };
    let features = vec![bag(0, rows.iter().map(|r| Some(r.0)).collect()), dense(rows.iter().map(|r| r.1).collect())];
    let clicks_lengths: Vec<u32> = rows.iter().map(|r| r.4.len() as u32).collect();
    let views_lengths: Vec<u32> = rows.iter().map(|r| r.5.len() as u32).collect();
    let flat = |f: &dyn Fn(&Row) -> Vec<i64>| rows.iter().flat_map(f).collect::<Vec<i64>>();
    let clicks = EncodedSequenceGroup {
        query: vec![bag(1, rows.iter().map(|r| r.2).collect()), dense(rows.iter().map(|r| r.3).collect())],
        sequence: vec![
            EncodedSequence {
                lengths: clicks_lengths.clone(),
                values: SequenceValues::Rows {
                    table: 2,
                    rows: flat(&|r| r.4.iter().map(|p| p.0.map_or(-1, |i| i as i64)).collect()),
                },
            },
            EncodedSequence {
                lengths: clicks_lengths,
                values: SequenceValues::Dense(rows.iter().flat_map(|r| r.4.iter().map(|p| p.1 as f32)).collect()),
            },
        ],
    };
    let views = EncodedSequenceGroup {
        query: vec![],
        sequence: vec![EncodedSequence {
            lengths: views_lengths,
            values: SequenceValues::Rows {
                table: 3,
                rows: flat(&|r| r.5.iter().map(|p| p.map_or(-1, |i| i as i64)).collect()),
            },
        }],
    };
    (features, vec![clicks, views])
}

fn reference_samples(rows: &[Row]) -> (Vec<Sample>, Vec<SeqSample>) {
    let samples = rows
        .iter()
        .map(|r| Sample { ids: vec![vec![r.0], vec![]], weights: vec![vec![], vec![]], dense: vec![vec![], vec![r.1]] })
        .collect();
    let seq = rows
        .iter()
        .map(|r| SeqSample {
            groups: vec![
                SeqGroupSample {
                    query: vec![QueryValue::Id(r.2), QueryValue::Dense(vec![r.3])],
                    sequence: vec![
                        r.4.iter().map(|p| Position::Row(p.0)).collect(),
                        r.4.iter().map(|p| Position::Number(p.1)).collect(),
                    ],
                },
                SeqGroupSample { query: vec![], sequence: vec![r.5.iter().map(|&p| Position::Row(p)).collect()] },
            ],
        })
        .collect();
    (samples, seq)
}

fn check(rows: &[Row], train: bool) {
    let spec = spec();
    tch::manual_seed(11);
    let model = PleModel::new(&spec, Device::Cpu).expect("model");
    let params = named(&model);
    let (samples, seq) = reference_samples(rows);
    let extra = encoder_outputs(&spec, &params, &seq, train);
    let inputs: Vec<Vec<f64>> = samples
        .iter()
        .zip(extra)
        .map(|(s, e)| {
            let mut x = reference::group_input(&spec, &params, s);
            x.extend(e);
            x
        })
        .collect();
    assert_eq!(inputs[0].len(), spec.input_width);
    let expected = reference::forward_from(&spec, &params, inputs, train);
    let (features, sequences) = encoded(rows);
    let input = ModelInput::build_with_sequences(&spec, rows.len(), &features, &sequences, Device::Cpu).expect("input");
    let forward = model.forward(&input, train).expect("forward");
    let outputs = model.outputs(&forward.logits).expect("outputs");
    for (name, want) in &expected {
        let flat: Vec<f64> = want.iter().flatten().copied().collect();
        assert_close(&to_vec(&outputs[name]), &flat, FORWARD_TOL, name);
    }
}

#[test]
fn encoders_match_the_reference_in_eval() {
    check(&rows(), false);
}

/// In training the DIN MLP's BatchNorm takes its statistics over every (row, position), pads included.
#[test]
fn din_batchnorm_spans_all_positions_in_training() {
    check(&rows(), true);
}

/// A batch where every sequence is empty: T = 0, every encoder gives a zero vector.
#[test]
fn a_batch_of_empty_sequences() {
    let empty: Vec<Row> = rows().into_iter().map(|r| (r.0, r.1, r.2, r.3, vec![], vec![])).collect();
    check(&empty, false);
}

/// Sequences of one group with different lengths in a row are refused.
#[test]
fn unequal_lengths_in_a_group_are_refused() {
    let spec = spec();
    let (features, mut sequences) = encoded(&rows());
    sequences[0].sequence[1].lengths[0] += 1;
    let Err(err) = ModelInput::build_with_sequences(&spec, 5, &features, &sequences, Device::Cpu) else {
        panic!("accepted");
    };
    assert!(err.to_string().contains("clicks__price"), "{err}");
}
