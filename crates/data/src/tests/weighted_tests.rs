//! Weighted id features (`id:weight` pairs): what the trainer and the compiled graph's inputs get, and the
//! errors for malformed pairs. Hash rows as in `encode_tests.rs`: "123" -> 2662625771, "42" -> 3159925814,
//! "abc" -> 3017643002 (murmur3_x86_32, seed 0).

use super::fixtures::*;
use crate::{encode, raw_inputs, BatchReader, ColumnBatch, EncodeOptions, EncodedFeature, RawData, ReadOptions};
use plec_spec::testing::{build, hash, id, tower, Head};
use plec_spec::ModelSpec;

fn spec() -> ModelSpec {
    build(
        &[id("shops", 10, 2).weighted(), hash("brands", 20, 2).weighted().separator("|")],
        &[],
        &[tower("ctr", &[], Head::Binary).label("clk")],
    )
}

fn read(spec: &ModelSpec, path: std::path::PathBuf) -> ColumnBatch {
    let options = ReadOptions::for_spec(spec, 100).unwrap();
    BatchReader::open(vec![path], options).unwrap().next().unwrap().unwrap()
}

fn bag(feature: &EncodedFeature) -> (Vec<i64>, Vec<i64>, Vec<f32>) {
    match feature {
        EncodedFeature::Ids { indices, offsets, weights: Some(weights), .. } => {
            (indices.clone(), offsets.clone(), weights.clone())
        }
        other => panic!("not a weighted bag: {other:?}"),
    }
}

const CSV: &str = "shops,brands,clk\n\
    3:0.5\x1d7:2,123:1|42:-0.25,1\n\
    ,abc:0,0\n\
    9:1e-3\x1d\x1d9:4,,1\n";

#[test]
fn pairs_become_ids_with_their_weights() {
    let spec = spec();
    let dir = TestDir::new("data-weighted-encode");
    let encoded = encode(&spec, &read(&spec, dir.write("a.csv", CSV)), &EncodeOptions::default()).unwrap();
    // A missing cell is an empty bag; an empty value between separators adds nothing; a repeated id keeps both.
    assert_eq!(bag(&encoded.features[0]), (vec![3, 7, 9, 9], vec![0, 2, 2, 4], vec![0.5, 2.0, 1e-3, 4.0]));
    // 2662625771 % 20 = 11, 3159925814 % 20 = 14, 3017643002 % 20 = 2.
    assert_eq!(bag(&encoded.features[1]), (vec![11, 14, 2], vec![0, 2, 3, 3], vec![1.0, -0.25, 0.0]));
}

#[test]
fn the_graph_gets_ids_and_weights_as_two_padded_inputs() {
    let spec = spec();
    let signature = spec.signature();
    assert_eq!(signature.columns(), ["shops", "brands"]);
    let dir = TestDir::new("data-weighted-raw");
    let tensors = raw_inputs(&signature, &read(&spec, dir.write("a.csv", CSV))).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["shops", "shops__weight", "brands", "brands__weight"]);
    assert_eq!(tensors[0].shape, [3, 3]);
    assert_eq!(tensors[0].data, RawData::Int64(vec![3, 7, -1, -1, -1, -1, 9, -1, 9]));
    let RawData::Float(weights) = &tensors[1].data else { panic!("{:?}", tensors[1]) };
    let shown: Vec<Option<f32>> = weights.iter().map(|w| (!w.is_nan()).then_some(*w)).collect();
    assert_eq!(shown, [Some(0.5), Some(2.0), None, None, None, None, Some(1e-3), None, Some(4.0)]);
    assert_eq!(tensors[1].shape, tensors[0].shape);
    let strings = |v: &[&str]| RawData::String(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(tensors[2].data, strings(&["123", "42", "abc", "", "", ""]));
    let RawData::Float(weights) = &tensors[3].data else { panic!("{:?}", tensors[3]) };
    assert_eq!(&weights[..3], [1.0, -0.25, 0.0]);
    assert!(weights[3..].iter().all(|w| w.is_nan()));
}

const BAD_CSV: &str = "shops,brands,clk\n\
    3,123:1,1\n\
    3:x,:2,0\n\
    12:1\x1d3:inf,42:1|7,1\n\
    1:1,1:1,0\n";

#[test]
fn malformed_pairs_are_errors_naming_line_and_column() {
    let spec = spec();
    let dir = TestDir::new("data-weighted-bad");
    let batch = read(&spec, dir.write("bad.csv", BAD_CSV));
    let error = encode(&spec, &batch, &EncodeOptions::default()).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"
    <tmp>/bad.csv: line 2, column "shops": "3" is not an id:weight pair
    <tmp>/bad.csv: line 3, column "shops": the weight "x" of "3:x" is not a number
    <tmp>/bad.csv: line 3, column "brands": ":2" has a weight but no id
    <tmp>/bad.csv: line 4, column "shops": id 12 is outside 0..10 (num_buckets)
    <tmp>/bad.csv: line 4, column "brands": "7" is not an id:weight pair
    "#);
    // The compiled graph's inputs are refused for the same cells (out-of-range ids are the runtime's to check).
    let error = raw_inputs(&spec.signature(), &batch).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"
    <tmp>/bad.csv: line 2, column "shops": "3" is not an id:weight pair
    <tmp>/bad.csv: line 3, column "shops": the weight "x" of "3:x" is not a number
    <tmp>/bad.csv: line 3, column "brands": ":2" has a weight but no id
    <tmp>/bad.csv: line 4, column "shops": the weight of "3:inf" is not finite
    <tmp>/bad.csv: line 4, column "brands": "7" is not an id:weight pair
    "#);
}

#[test]
fn skipping_bad_rows_drops_their_weights_too() {
    let spec = spec();
    let dir = TestDir::new("data-weighted-skip");
    let batch = read(&spec, dir.write("bad.csv", BAD_CSV));
    let encoded = encode(&spec, &batch, &EncodeOptions { skip_bad_rows: true }).unwrap();
    assert_eq!(encoded.num_rows, 1);
    assert_eq!(bag(&encoded.features[0]), (vec![1], vec![0, 1], vec![1.0]));
    assert_eq!(encoded.skipped.len(), 5, "{:?}", encoded.skipped);
}

#[test]
fn a_number_column_cannot_hold_pairs() {
    let spec = spec();
    let dir = TestDir::new("data-weighted-parquet");
    let path = dir.parquet(
        "a.parquet",
        vec![
            ("shops", ints(&[Some(3), None])),
            ("brands", strings(&[Some("1:1"), None])),
            ("clk", ints(&[Some(1), Some(0)])),
        ],
    );
    let error = encode(&spec, &read(&spec, path), &EncodeOptions::default()).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"<tmp>/a.parquet: row 1, column "shops": "3" is not an id:weight pair (a weighted feature reads text)"#);
}
