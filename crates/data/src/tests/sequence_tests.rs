//! Sequence features (semantics section 2b) through `encode`, `raw_inputs` and `check_raw`. Expected rows are
//! derived by hand: vocab_list rows are `index + 2` (empty 0, unknown 1), boundaries rows count the boundaries
//! `<= x`, and hash rows come from the murmur3_x86_32 values listed in `encode_tests.rs` ("abc" -> 3017643002,
//! "x" -> 1050319643, "hello" -> 613153351, "7" -> 602572328), taken modulo 13 by hand: 10, 9, 5, 7.

use std::collections::BTreeSet;

use super::fixtures::*;
use crate::{
    check_raw, encode, raw_inputs, BadPosition, BatchReader, ColumnBatch, EncodeOptions, EncodedBatch, EncodedFeature,
    EncodedSequence, RawData, RawProblem, ReadOptions, SequenceValues,
};
use plec_spec::testing::{
    build_with_sequences, id, seq_bounds, seq_dense, seq_dict, seq_group, seq_hash, seq_id, seq_vocab, tower, vocab,
    Head,
};
use plec_spec::ModelSpec;

/// Group "clicks" keeps 3 positions and has a query that is also a group feature (`uid`) and one that is not
/// (`shop`); group "views" keeps every position and mixes delimiters.
fn spec() -> ModelSpec {
    build_with_sequences(
        &[id("uid", 10, 4)],
        &[
            seq_group(
                "clicks",
                vec![id("uid", 10, 4), vocab("shop", &["s1", "s2"], 2)],
                vec![
                    seq_id("clicks__item", 20, 4).max_length(3),
                    seq_vocab("clicks__shop", &["s1", "s2"], 2).max_length(3),
                    seq_dense("clicks__price").max_length(3),
                ],
            ),
            seq_group(
                "views",
                vec![],
                vec![
                    seq_bounds("views__price", &[1.0, 5.0], 2).max_length(0),
                    seq_dict("views__brand", &[("nike", 3), ("puma", 1)], 2).max_length(0),
                    seq_hash("views__tag", 13, 2).delimiter(";").max_length(0),
                ],
            ),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary).label("clk")],
    )
}

const HEADER: &str = "uid,shop,clicks__item,clicks__shop,clicks__price,views__price,views__brand,views__tag,clk\n";

fn read(spec: &ModelSpec, dir: &TestDir, rows: &str) -> ColumnBatch {
    let path = dir.write("a.csv", &format!("{HEADER}{rows}"));
    BatchReader::open(vec![path], ReadOptions::for_spec(spec, 100).unwrap()).unwrap().next().unwrap().unwrap()
}

fn table_rows(sequence: &EncodedSequence) -> (Vec<u32>, Vec<i64>) {
    match &sequence.values {
        SequenceValues::Rows { rows, .. } => (sequence.lengths.clone(), rows.clone()),
        other => panic!("not rows: {other:?}"),
    }
}

fn numbers(sequence: &EncodedSequence) -> (Vec<u32>, Vec<f32>) {
    match &sequence.values {
        SequenceValues::Dense(values) => (sequence.lengths.clone(), values.clone()),
        other => panic!("not dense: {other:?}"),
    }
}

fn bag(feature: &EncodedFeature) -> (Vec<i64>, Vec<i64>) {
    match feature {
        EncodedFeature::Ids { indices, offsets, .. } => (indices.clone(), offsets.clone()),
        other => panic!("not ids: {other:?}"),
    }
}

/// Row 0 is over-long for "clicks" (4 positions, 3 kept) and holds empty, unknown and NaN positions; row 1 has
/// every cell empty; row 2 one position each.
const ROWS: &str = "3,s2,1|2|3|4,s1|zz||s2,1.5||-2|9,0.5|5|NaN,nike|adidas|,abc;x;hello,1\n\
    ,,,,,,,,0\n\
    9,zzz,7,s2,3,100,puma,7,1\n";

#[test]
fn sequences_encode_position_by_position() {
    let spec = spec();
    let dir = TestDir::new("data-seq-encode");
    let encoded = encode(&spec, &read(&spec, &dir, ROWS), &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(encoded.sequence_groups.len(), 2);
    let clicks = &encoded.sequence_groups[0];
    // Queries as features: uid 3, missing (an empty bag), 9; shop s2 -> 3, missing -> 0, unknown -> 1.
    assert_eq!(bag(&clicks.query[0]), (vec![3, 9], vec![0, 1, 1, 2]));
    assert_eq!(bag(&clicks.query[1]), (vec![3, 0, 1], vec![0, 1, 2, 3]));
    // The first 3 positions of row 0 are kept (1, 2, 3; not 4); row 1 is empty.
    assert_eq!(table_rows(&clicks.sequence[0]), (vec![3, 0, 1], vec![1, 2, 3, 7]));
    // s1 -> 2, unknown -> 1, empty -> 0 (vocab_list); s2 -> 3.
    assert_eq!(table_rows(&clicks.sequence[1]), (vec![3, 0, 1], vec![2, 1, 0, 3]));
    // An empty dense position is the default (0).
    assert_eq!(numbers(&clicks.sequence[2]), (vec![3, 0, 1], vec![1.5, 0.0, -2.0, 3.0]));
    let views = &encoded.sequence_groups[1];
    assert!(views.query.is_empty());
    // Boundaries [1, 5]: 0.5 -> 0, 5 -> 2, NaN -> no row, 100 -> 2.
    assert_eq!(table_rows(&views.sequence[0]), (vec![3, 0, 1], vec![0, 2, -1, 2]));
    // nike -> 3, an unknown key and an empty position -> no row, puma -> 1.
    assert_eq!(table_rows(&views.sequence[1]), (vec![3, 0, 1], vec![3, -1, -1, 1]));
    assert_eq!(table_rows(&views.sequence[2]), (vec![3, 0, 1], vec![10, 9, 5, 7]));
    match &views.sequence[1].values {
        SequenceValues::Rows { table, .. } => assert_eq!(spec.tables[*table].name, "views__brand_emb"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn required_columns_hold_queries_and_sequences_once() {
    let columns = crate::required_columns(&spec());
    let expected = [
        "uid",
        "shop",
        "clicks__item",
        "clicks__shop",
        "clicks__price",
        "views__price",
        "views__brand",
        "views__tag",
        "clk",
    ];
    assert_eq!(columns, expected);
}

/// Row 0: a bad id past `max_length` is not read; the others each hold one bad cell.
const BAD_ROWS: &str = "1,s1,1|2|3|x,s1|s1|s1|s1,1|1|1|1,,,,1\n\
    1,s1,1|x|3,s1|s1|s1,1|1|1,,,,1\n\
    1,s1,1|2|25,s1|s1|s1,1|1|1,,,,1\n\
    1,s1,1|y|z,s1|s1|s1,1|abc|1,a,nike,t,1\n\
    1,s1,1|2,s1,1|2,2,nike,x;y,0\n";

#[test]
fn bad_positions_and_unequal_lengths_are_bad_cells() {
    let spec = spec();
    let dir = TestDir::new("data-seq-bad");
    let batch = read(&spec, &dir, BAD_ROWS);
    let error = encode(&spec, &batch, &EncodeOptions::default()).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"
    <tmp>/a.csv: line 3, column "clicks__item": position 1: "x" is not an integer id
    <tmp>/a.csv: line 4, column "clicks__item": position 2: id 25 is outside 0..20 (num_buckets)
    <tmp>/a.csv: line 5, column "clicks__item": position 1: "y" is not an integer id
    <tmp>/a.csv: line 5, column "clicks__price": position 1: "abc" is not a number
    <tmp>/a.csv: line 5, column "views__price": position 0: "a" is not a number
    <tmp>/a.csv: line 6, column "clicks__shop": length 1, but "clicks__item" has length 2: the sequence features of group "clicks" must have equal lengths
    <tmp>/a.csv: line 6, column "views__tag": length 2, but "views__price" has length 1: the sequence features of group "views" must have equal lengths
    "#);
}

#[test]
fn skipped_rows_leave_the_sequences_of_the_others() {
    let spec = spec();
    let dir = TestDir::new("data-seq-skip");
    let batch = read(&spec, &dir, BAD_ROWS);
    let encoded = encode(&spec, &batch, &EncodeOptions { skip_bad_rows: true }).unwrap();
    assert_eq!(encoded.num_rows, 1);
    let rows: BTreeSet<u64> = encoded.skipped.iter().map(|cell| cell.at.row).collect();
    assert_eq!(rows, BTreeSet::from([1, 2, 3, 4]));
    let clicks = &encoded.sequence_groups[0];
    assert_eq!(bag(&clicks.query[0]), (vec![1], vec![0, 1]));
    // Row 0 is kept: 1|2|3 (the bad "x" past max_length is dropped); s1 -> 2.
    assert_eq!(table_rows(&clicks.sequence[0]), (vec![3], vec![1, 2, 3]));
    assert_eq!(table_rows(&clicks.sequence[1]), (vec![3], vec![2, 2, 2]));
    assert_eq!(numbers(&clicks.sequence[2]), (vec![3], vec![1.0, 1.0, 1.0]));
    assert_eq!(table_rows(&encoded.sequence_groups[1].sequence[0]), (vec![0], vec![]));
}

#[test]
fn drop_rows_cuts_lengths_and_values() {
    let spec = spec();
    let dir = TestDir::new("data-seq-drop");
    let mut encoded: EncodedBatch =
        encode(&spec, &read(&spec, &dir, ROWS), &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    encoded.drop_rows(&BTreeSet::from([0]));
    assert_eq!(encoded.num_rows, 2);
    let clicks = &encoded.sequence_groups[0];
    assert_eq!(bag(&clicks.query[0]), (vec![9], vec![0, 0, 1]));
    assert_eq!(bag(&clicks.query[1]), (vec![0, 1], vec![0, 1, 2]));
    assert_eq!(table_rows(&clicks.sequence[0]), (vec![0, 1], vec![7]));
    assert_eq!(numbers(&clicks.sequence[2]), (vec![0, 1], vec![3.0]));
    assert_eq!(table_rows(&encoded.sequence_groups[1].sequence[2]), (vec![0, 1], vec![7]));
    encoded.drop_rows(&BTreeSet::from([1]));
    assert_eq!(table_rows(&encoded.sequence_groups[0].sequence[1]), (vec![0], vec![]));
}

#[test]
fn a_sequence_column_of_numbers_is_refused() {
    let spec = spec();
    let dir = TestDir::new("data-seq-parquet");
    let text = |v: &str| strings(&[Some(v)]);
    let path = dir.parquet(
        "a.parquet",
        vec![
            ("uid", ints(&[Some(1)])),
            ("shop", text("s1")),
            ("clicks__item", ints(&[Some(4)])),
            ("clicks__shop", text("s1")),
            ("clicks__price", text("1")),
            ("views__price", text("1")),
            ("views__brand", text("nike")),
            ("views__tag", text("x")),
            ("clk", ints(&[Some(1)])),
        ],
    );
    let batch =
        BatchReader::open(vec![path], ReadOptions::for_spec(&spec, 10).unwrap()).unwrap().next().unwrap().unwrap();
    let error = encode(&spec, &batch, &EncodeOptions::default()).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"<tmp>/a.parquet: column "clicks__item" is a sequence feature and must hold strings (positions joined by "|"), found int64"#);
    let error = raw_inputs(&spec.signature(), &batch).unwrap_err();
    insta::assert_snapshot!(dir.scrub(&error.to_string()), @r#"<tmp>/a.parquet: column "clicks__item" is a sequence feature and must hold strings (positions joined by "|"), found int64"#);
}

#[test]
fn raw_sequences_are_the_cell_texts_and_check_raw_reads_their_kept_positions() {
    let spec = spec();
    let signature = spec.signature();
    let names: Vec<&str> = signature.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["uid", "shop", "clicks__item", "clicks__shop", "clicks__price", "views__price", "views__brand", "views__tag"]
    );
    let dir = TestDir::new("data-seq-raw");
    // Row 0: fine ("x" is past max_length); row 1: an id out of range and a float that is not a number; row 2:
    // a non-integer id; hash, vocab and dict positions are text and never wrong.
    let rows = "1,s1,1|2|3|x,s1,1|2,0.5|NaN,??,;;,1\n\
        2,,25||3,,1|b,1|c,,,0\n\
        ,,q,,,,,,0\n";
    let batch = read(&spec, &dir, rows);
    let tensors = raw_inputs(&signature, &batch).unwrap_or_else(|e| panic!("{e}"));
    let texts = |i: usize| match &tensors[i].data {
        RawData::String(texts) => (tensors[i].shape.clone(), texts.clone()),
        other => panic!("{other:?}"),
    };
    let strings = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    assert_eq!(texts(2), (vec![3], strings(&["1|2|3|x", "25||3", "q"])));
    assert_eq!(texts(5), (vec![3], strings(&["0.5|NaN", "1|c", ""])));
    assert_eq!(texts(7), (vec![3], strings(&[";;", "", ""])));
    let position = |row, input: &str, position, reason: &str| {
        RawProblem::Position(BadPosition { row, input: input.into(), position, reason: reason.into() })
    };
    let problems = check_raw(&signature, &tensors);
    assert_eq!(
        problems,
        [
            position(1, "clicks__item", 0, "id 25 is outside 0..20 (num_buckets)"),
            position(1, "clicks__price", 1, "\"b\" is not a number"),
            position(1, "views__price", 1, "\"c\" is not a number"),
            position(2, "clicks__item", 0, "\"q\" is not an integer id"),
        ]
    );
    assert_eq!(
        problems[0].to_string(),
        "row 1: input \"clicks__item\": position 0: id 25 is outside 0..20 (num_buckets)"
    );
}
