use super::fixtures::*;
use crate::{
    check_raw, raw_inputs, BatchReader, ColumnBatch, CsvOptions, OutOfRangeId, RawData, RawProblem, RawTensor,
    ReadOptions,
};
use plec_spec::testing::{bounds, build, dense, hash, id, tower, vocab, Head};
use plec_spec::{ModelSpec, Pooling};

fn raw_spec() -> ModelSpec {
    build(
        &[
            id("uid", 10, 4),
            hash("pid", 20, 4),
            id("tags", 100, 4).multi(Pooling::Sum).separator("|"),
            bounds("price", &[1.0, 2.0], 4),
            dense("dense2", 2, 0.0),
            vocab("cats", &["a"], 4).multi(Pooling::Mean).separator("|"),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary).label("clk")],
    )
}

fn read(spec: &ModelSpec, path: std::path::PathBuf) -> ColumnBatch {
    let options = ReadOptions::for_spec(spec, 100).unwrap();
    BatchReader::open(vec![path], options).unwrap().next().unwrap().unwrap()
}

/// Floats with NaN as `None`, so that tensors compare with `==`.
fn floats_of(tensor: &RawTensor) -> Vec<Option<f32>> {
    match &tensor.data {
        RawData::Float(values) => values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn csv_rows_become_padded_raw_inputs() {
    let spec = raw_spec();
    let dir = TestDir::new("data-raw-csv");
    let path = dir.write(
        "a.csv",
        "uid,pid,tags,price,dense2,cats,clk\n3,p1,1|2|3,1.5,1\x1d2,a|b,1\n,,,,,,0\n12,7,7|,2,3\x1d4,|c,0\n",
    );
    let options = ReadOptions::for_signature(&spec.signature(), 100, CsvOptions::default());
    assert_eq!(options.columns, ["uid", "pid", "tags", "price", "dense2", "cats"]);
    let batch = BatchReader::open(vec![path], options).unwrap().next().unwrap().unwrap();
    let tensors = raw_inputs(&spec.signature(), &batch).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["uid", "pid", "tags", "price", "dense2", "cats"]);
    assert_eq!(tensors[0].shape, [3]);
    assert_eq!(tensors[0].data, RawData::Int64(vec![3, -1, 12]));
    assert_eq!(tensors[1].data, RawData::String(vec!["p1".into(), "".into(), "7".into()]));
    assert_eq!(tensors[2].shape, [3, 3]);
    assert_eq!(tensors[2].data, RawData::Int64(vec![1, 2, 3, -1, -1, -1, 7, -1, -1]));
    assert_eq!(tensors[3].shape, [3]);
    assert_eq!(floats_of(&tensors[3]), [Some(1.5), None, Some(2.0)]);
    assert_eq!(tensors[4].shape, [3, 2]);
    assert_eq!(floats_of(&tensors[4]), [Some(1.0), Some(2.0), None, None, Some(3.0), Some(4.0)]);
    assert_eq!(tensors[5].shape, [3, 2]);
    let cats = ["a", "b", "", "", "", "c"].map(String::from).to_vec();
    assert_eq!(tensors[5].data, RawData::String(cats));
    let problems = check_raw(&spec.signature(), &tensors);
    let expected = OutOfRangeId { row: 2, input: "uid".into(), value: 12, valid_range: [0, 10] };
    assert_eq!(problems, [RawProblem::OutOfRange(expected)]);
    assert_eq!(problems[0].to_string(), "row 2: input \"uid\": id 12 is outside 0..10");
}

#[test]
fn parquet_ints_become_text_for_string_inputs() {
    let spec = raw_spec();
    let dir = TestDir::new("data-raw-parquet");
    let path = dir.parquet(
        "a.parquet",
        vec![
            ("uid", floats(&[Some(3.0), None])),
            ("pid", ints(&[Some(123), None])),
            ("tags", ints(&[Some(5), Some(200)])),
            ("price", ints(&[Some(2), None])),
            ("dense2", strings(&[Some("1\x1d2"), None])),
            ("cats", strings(&[None, Some("a")])),
            ("clk", ints(&[Some(1), Some(0)])),
        ],
    );
    let tensors = raw_inputs(&spec.signature(), &read(&spec, path)).unwrap();
    assert_eq!(tensors[0].data, RawData::Int64(vec![3, -1]));
    assert_eq!(tensors[1].data, RawData::String(vec!["123".into(), "".into()]));
    assert_eq!((tensors[2].shape.clone(), tensors[2].data.clone()), (vec![2, 1], RawData::Int64(vec![5, 200])));
    assert_eq!(floats_of(&tensors[3]), [Some(2.0), None]);
    assert_eq!(tensors[5].shape, [2, 1]);
    let problems = check_raw(&spec.signature(), &tensors);
    let expected = OutOfRangeId { row: 1, input: "tags".into(), value: 200, valid_range: [0, 100] };
    assert_eq!(problems, [RawProblem::OutOfRange(expected)]);
}

#[test]
fn unparsable_cells_are_listed() {
    let spec = raw_spec();
    let dir = TestDir::new("data-raw-bad");
    let path = dir.write("a.csv", "uid,pid,tags,price,dense2,cats,clk\nx,p,1|y,abc,1,a,1\n1,p,1,1,1\x1d2,a,1\n");
    let error = raw_inputs(&spec.signature(), &read(&spec, path)).unwrap_err();
    insta::assert_snapshot!("raw_bad_cells", dir.scrub(&error.to_string()));
}
