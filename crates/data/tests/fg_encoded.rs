//! `fg_mode: FG_NONE` (`tests/configs/fg_encoded.config`): a file of feature generation's output encodes as
//! TorchEasyRec's `_parse_fg_encoded_*_feature_impl` read it. Expected rows are the cells themselves (an id is its
//! row whatever the config's hash, vocabulary or boundaries), derived by hand from those rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_data::{encode, BatchReader, ColumnBatch, EncodeOptions, EncodedFeature, ReadOptions, SequenceValues};
use plec_spec::test_dir::TestDir;
use plec_spec::ModelSpec;

fn spec() -> ModelSpec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs/fg_encoded.config");
    plec_config::load_file(path).unwrap().spec
}

const HEADER: &str = "user_id,item_id,pid,city,brand,cats,moods,shops,price,age,ctr_7d,click_seq__item_id,\
                      click_seq__dwell,query_words,clk,buy\n";

fn read(dir: &TestDir, spec: &ModelSpec, rows: &str) -> ColumnBatch {
    let path: PathBuf = dir.write("rows.csv", &format!("{HEADER}{rows}"));
    let options = ReadOptions::for_spec(spec, 100).unwrap();
    let mut batches: Vec<ColumnBatch> = BatchReader::open(vec![path], options).unwrap().map(Result::unwrap).collect();
    batches.remove(0)
}

/// (indices, offsets, weights) of feature `name`.
fn ids(spec: &ModelSpec, features: &[EncodedFeature], name: &str) -> (Vec<i64>, Vec<i64>, Option<Vec<f32>>) {
    let i = spec.features.iter().position(|f| f.name == name).unwrap();
    match &features[i] {
        EncodedFeature::Ids { indices, offsets, weights, .. } => (indices.clone(), offsets.clone(), weights.clone()),
        other => panic!("{name} is not ids: {other:?}"),
    }
}

#[test]
fn fg_encoded_cells_are_table_rows() {
    let spec = spec();
    let dir = TestDir::new("data-fg-encoded");
    // Row 0: every value present; multi-values and id:weight pairs joined by "\x03"; a click sequence of 5
    // positions (sequence_length 4 bounds feature generation only: all are kept). Row 1: every feature missing.
    let batch = read(
        &dir,
        &spec,
        "3,39,6,4,0,1\x0310,3,2:0.5\x038:2,3,4,0.25,1|2|39|0|5,1.5|2|0|1|3,4;0,1,0\n\
         0,0,,,,,,,0,,,,,,0,1\n",
    );
    let encoded = encode(&spec, &batch, &EncodeOptions::default()).unwrap();
    let f = &encoded.features;
    assert_eq!(ids(&spec, f, "user_id"), (vec![3, 0], vec![0, 1, 2], None));
    assert_eq!(ids(&spec, f, "item_id"), (vec![39, 0], vec![0, 1, 2], None));
    // Missing: fg_encoded_default_value where set (pid 2, moods 1, age 0), else an empty bag (city, brand, cats).
    assert_eq!(ids(&spec, f, "pid"), (vec![6, 2], vec![0, 1, 2], None));
    assert_eq!(ids(&spec, f, "city"), (vec![4], vec![0, 1, 1], None));
    assert_eq!(ids(&spec, f, "brand"), (vec![0], vec![0, 1, 1], None));
    assert_eq!(ids(&spec, f, "cats"), (vec![1, 10], vec![0, 2, 2], None));
    assert_eq!(ids(&spec, f, "moods"), (vec![3, 1], vec![0, 1, 2], None));
    assert_eq!(ids(&spec, f, "shops"), (vec![2, 8], vec![0, 2, 2], Some(vec![0.5, 2.0])));
    assert_eq!(ids(&spec, f, "price"), (vec![3, 0], vec![0, 1, 2], None));
    assert_eq!(ids(&spec, f, "age"), (vec![4, 0], vec![0, 1, 2], None));
    let ctr = spec.features.iter().position(|x| x.name == "ctr_7d").unwrap();
    assert_eq!(f[ctr], EncodedFeature::Dense { width: 1, values: vec![0.25, 0.5] });
    let clicks = &encoded.sequence_groups[0].sequence;
    assert_eq!(clicks[0].lengths, vec![5, 0]);
    assert!(matches!(&clicks[0].values, SequenceValues::Rows { rows, .. } if *rows == vec![1, 2, 39, 0, 5]));
    assert_eq!(clicks[1].values, SequenceValues::Dense(vec![1.5, 2.0, 0.0, 1.0, 3.0]));
    let words = &encoded.sequence_groups[1].sequence[0];
    assert_eq!(words.lengths, vec![2, 0]);
    assert!(matches!(&words.values, SequenceValues::Rows { rows, .. } if *rows == vec![4, 0]));
}

#[test]
fn a_row_outside_the_table_or_a_raw_value_is_refused_with_row_and_column() {
    let spec = spec();
    let dir = TestDir::new("data-fg-encoded-bad");
    // city has 3 words + default + OOV = 5 rows; price's raw value 2.5 is not a row; text to hash is not an id.
    let batch = read(&dir, &spec, "1,2,3,5,0,1,1,1:1,2.5,1,0.5,1,1,0,1,0\n1,paris,3,0,0,1,1,1:1,0,1,0.5,1,1,0,1,0\n");
    let error = encode(&spec, &batch, &EncodeOptions::default()).unwrap_err().to_string();
    // item_id is also the DIN's query, read once per use.
    insta::assert_snapshot!(dir.scrub(&error), @r#"
    <tmp>/rows.csv: line 2, column "city": id 5 is outside 0..5 (fg_encoded)
    <tmp>/rows.csv: line 2, column "price": cannot parse "2.5" as an integer id
    <tmp>/rows.csv: line 3, column "item_id": cannot parse "paris" as an integer id
    <tmp>/rows.csv: line 3, column "item_id": cannot parse "paris" as an integer id
    "#);
}
