//! Expected rows are derived by hand from semantics section 2; hash rows come from an independent Python
//! murmur3_x86_32 (checked against the published vectors that `transform.rs` tests): "430548_1007" ->
//! 397501887, "123" -> 2662625771, "42" -> 3159925814, "abc" -> 3017643002, "x" -> 1050319643,
//! "7" -> 602572328, "hello" -> 0x248bfa47 = 613153351.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::{encode, BatchReader, ColumnBatch, CsvOptions, EncodeOptions, EncodedFeature, ReadOptions};
use plec_spec::testing::{bounds, build, dense as dense_feature, hash, id, tower, vocab, Head};
use plec_spec::{ModelSpec, Pooling};

fn test_spec() -> ModelSpec {
    build(
        &[
            id("uid", 10, 4),
            hash("pid", 20, 4),
            bounds("price", &[1.1, 2.2, 3.6], 4),
            vocab("cat", &["a", "b"], 4),
            id("tags", 100, 4).multi(Pooling::Mean).separator("|"),
            dense_feature("dense", 1, 0.5),
            dense_feature("dense2", 2, 0.0),
            hash("city", 7, 4).default_value("hello"),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary).label("clk")],
    )
}

fn read_one(spec: &ModelSpec, path: std::path::PathBuf) -> ColumnBatch {
    let options = ReadOptions::for_spec(spec, 100).unwrap();
    let mut batches: Vec<ColumnBatch> = BatchReader::open(vec![path], options).unwrap().map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    batches.remove(0)
}

fn ids(feature: &EncodedFeature) -> (Vec<i64>, Vec<i64>) {
    match feature {
        EncodedFeature::Ids { indices, offsets, .. } => (indices.clone(), offsets.clone()),
        other => panic!("not ids: {other:?}"),
    }
}

fn dense(feature: &EncodedFeature) -> Vec<f32> {
    match feature {
        EncodedFeature::Dense { values, .. } => values.clone(),
        other => panic!("not dense: {other:?}"),
    }
}

const CSV: &str = "uid,pid,price,cat,tags,dense,dense2,city,clk\n\
    3,430548_1007,1.1,b,1|2|3,1.5,1\x1d2,x,1\n\
    ,123,2.2,zzz,,,,,0\n\
    9,42,0.5,,7|,2,3\x1d4,7,0\n\
    9,abc,100,a,5,0,0\x1d0,abc,1\n";

#[test]
fn csv_rows_encode_as_the_semantics_say() {
    let spec = test_spec();
    let dir = TestDir::new("data-encode-csv");
    let batch = read_one(&spec, dir.write("a.csv", CSV));
    let encoded = encode(&spec, &batch, &EncodeOptions::default()).unwrap();
    assert_eq!(encoded.num_rows, 4);
    // uid: ids themselves; a missing id is an empty bag.
    assert_eq!(ids(&encoded.features[0]), (vec![3, 9, 9], vec![0, 1, 1, 2, 3]));
    // pid: murmur3 mod 20: 397501887 % 20 = 7, 2662625771 % 20 = 11, 3159925814 % 20 = 14, 3017643002 % 20 = 2.
    assert_eq!(ids(&encoded.features[1]), (vec![7, 11, 14, 2], vec![0, 1, 2, 3, 4]));
    // price: boundaries <= x: 1.1 -> 1 (on a boundary), 2.2 -> 2, 0.5 -> 0, 100 -> 3.
    assert_eq!(ids(&encoded.features[2]), (vec![1, 2, 0, 3], vec![0, 1, 2, 3, 4]));
    // cat: b -> 3, zzz -> 1 (OOV), missing -> 0, a -> 2.
    assert_eq!(ids(&encoded.features[3]), (vec![3, 1, 0, 2], vec![0, 1, 2, 3, 4]));
    // tags: 1|2|3, empty, 7| (an empty part adds nothing), 5.
    assert_eq!(ids(&encoded.features[4]), (vec![1, 2, 3, 7, 5], vec![0, 3, 3, 4, 5]));
    match &encoded.features[4] {
        EncodedFeature::Ids { table, pooling, .. } => assert_eq!((*table, *pooling), (4, Pooling::Mean)),
        other => panic!("{other:?}"),
    }
    assert_eq!(dense(&encoded.features[5]), vec![1.5, 0.5, 2.0, 0.0]);
    assert_eq!(dense(&encoded.features[6]), vec![1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0]);
    // city: x -> 1050319643 % 7 = 2; missing -> default "hello" -> 613153351 % 7 = 6; "7" -> 602572328 % 7 = 1;
    // abc -> 3017643002 % 7 = 3.
    assert_eq!(ids(&encoded.features[7]), (vec![2, 6, 1, 3], vec![0, 1, 2, 3, 4]));
    assert_eq!(encoded.labels, BTreeMap::from([("clk".to_string(), vec![1.0, 0.0, 0.0, 1.0])]));
    assert!(encoded.sample_weights.is_empty() && encoded.skipped.is_empty());
}

#[test]
fn parquet_types_follow_the_same_semantics_as_text() {
    let spec = build(
        &[
            id("uid", 10, 4),
            hash("pid", 20, 4),
            bounds("price", &[1.1, 2.2, 3.6], 4),
            id("uid_f", 10, 4),
            dense_feature("dense", 1, 0.5),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary).label("clk")],
    );
    let dir = TestDir::new("data-encode-parquet");
    let path = dir.parquet(
        "a.parquet",
        vec![
            ("uid", ints(&[Some(3), None, Some(9)])),
            // Integers hash as their decimal text: 123 -> 11, 42 -> 14 (as the CSV test's "123" and "42").
            ("pid", ints(&[Some(123), Some(42), None])),
            ("price", floats(&[Some(1.1), Some(2.2), Some(3.5999)])),
            ("uid_f", floats(&[Some(3.0), None, Some(0.0)])),
            ("dense", ints(&[Some(2), None, Some(-1)])),
            ("clk", ints(&[Some(1), Some(0), Some(1)])),
        ],
    );
    let encoded = encode(&spec, &read_one(&spec, path), &EncodeOptions::default()).unwrap();
    assert_eq!(ids(&encoded.features[0]), (vec![3, 9], vec![0, 1, 1, 2]));
    assert_eq!(ids(&encoded.features[1]), (vec![11, 14], vec![0, 1, 2, 2]));
    assert_eq!(ids(&encoded.features[2]), (vec![1, 2, 2], vec![0, 1, 2, 3]));
    assert_eq!(ids(&encoded.features[3]), (vec![3, 0], vec![0, 1, 1, 2]));
    assert_eq!(dense(&encoded.features[4]), vec![2.0, 0.5, -1.0]);
    assert_eq!(encoded.labels["clk"], vec![1.0, 0.0, 1.0]);
}

const BAD_CSV: &str = "uid,pid,price,cat,tags,dense,dense2,city,clk\n\
    11,a,1,a,1,1,1\x1d1,c,1\n\
    1,a,1,a,1,1,1\x1d1,c,1\n\
    x,a,abc,a,1|abc,1,1,c,\n\
    2,a,1,a,1,1,1\x1d1,c,2\n\
    3,a,1,a,1,1,1\x1d1,c,0\n";

#[test]
fn bad_cells_fail_the_batch_naming_line_and_column() {
    let spec = test_spec();
    let dir = TestDir::new("data-encode-bad");
    let batch = read_one(&spec, dir.write("bad.csv", BAD_CSV));
    let error = encode(&spec, &batch, &EncodeOptions::default()).unwrap_err();
    insta::assert_snapshot!("encode_bad_cells", dir.scrub(&error.to_string()));
}

#[test]
fn skip_bad_rows_drops_them_and_reports_every_bad_cell() {
    let spec = test_spec();
    let dir = TestDir::new("data-encode-skip");
    let batch = read_one(&spec, dir.write("bad.csv", BAD_CSV));
    let encoded = encode(&spec, &batch, &EncodeOptions { skip_bad_rows: true }).unwrap();
    // Kept: data rows 2 and 5 (uid 1 and 3).
    assert_eq!(encoded.num_rows, 2);
    assert_eq!(ids(&encoded.features[0]), (vec![1, 3], vec![0, 1, 2]));
    assert_eq!(ids(&encoded.features[4]), (vec![1, 1], vec![0, 1, 2]));
    assert_eq!(dense(&encoded.features[6]), vec![1.0, 1.0, 1.0, 1.0]);
    assert_eq!(encoded.labels["clk"], vec![1.0, 0.0]);
    let report: Vec<(Option<u64>, String)> =
        encoded.skipped.iter().map(|cell| (cell.at.line, cell.column.clone())).collect();
    let expected = [
        (Some(2), "uid"),
        (Some(4), "uid"),
        (Some(4), "price"),
        (Some(4), "tags"),
        (Some(4), "dense2"),
        (Some(4), "clk"),
        (Some(5), "clk"),
    ];
    assert_eq!(report, expected.map(|(line, column)| (line, column.to_string())));
}

#[test]
fn missing_column_is_an_error_even_when_skipping() {
    let spec = test_spec();
    let dir = TestDir::new("data-encode-missing");
    let csv = CsvOptions::default();
    let options = ReadOptions { batch_size: 10, columns: vec!["uid".into()], csv };
    let path = dir.write("a.csv", "uid\n1\n");
    let batch = BatchReader::open(vec![path], options).unwrap().next().unwrap().unwrap();
    let error = encode(&spec, &batch, &EncodeOptions { skip_bad_rows: true }).unwrap_err();
    insta::assert_snapshot!("encode_missing_column", dir.scrub(&error.to_string()));
}
