//! `predict`: one output row per input row, in order; bad rows fail the run or go to the bad-rows file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use plec_data::CsvOptions;
use plec_runtime::predict::{predict, PredictError, PredictOptions, PredictSummary};

/// Columns: the five inputs (`vec` joined by \x1d, `tags` by `|`) and an id to keep.
const HEADER: &str = "row_id,user_id,tags,city,price,vec";

struct Row {
    user_id: i64,
    tags: Vec<i64>,
    city: &'static str,
    price: f32,
    vec: [f32; 2],
}

fn rows() -> Vec<Row> {
    let cities = ["a", "", "hangzhou", "beijing", "x,y"];
    (0..11)
        .map(|i| Row {
            user_id: if i == 4 { -1 } else { (i * 9) % 100 },
            tags: (0..(i % 3)).map(|k| i * 10 + k).collect(),
            city: cities[i as usize % cities.len()],
            price: i as f32 * 0.25 - 1.0,
            vec: [i as f32 * 0.5, 1.0 - i as f32 * 0.125],
        })
        .collect()
}

fn csv_line(id: usize, row: &Row) -> String {
    let user = if row.user_id < 0 { String::new() } else { row.user_id.to_string() };
    let tags: Vec<String> = row.tags.iter().map(i64::to_string).collect();
    let city = if row.city.contains(',') { format!("\"{}\"", row.city) } else { row.city.to_string() };
    format!("r{id},{user},{},{city},{},{}\x1d{}", tags.join("|"), row.price, row.vec[0], row.vec[1])
}

fn write_csv(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    path
}

fn options(inputs: Vec<PathBuf>, output: PathBuf, batch_size: usize) -> PredictOptions {
    PredictOptions {
        inputs,
        output,
        batch_size,
        keep_columns: vec!["row_id".into()],
        bad_rows: None,
        csv: CsvOptions::default(),
        gates: false,
        interrupt: None,
    }
}

fn run(options: &PredictOptions) -> Result<PredictSummary, PredictError> {
    predict(&load_test_model(), options, &mut |_| {})
}

fn expected(row: &Row) -> f64 {
    expected_logit(row.user_id, &row.tags, row.city, row.price, row.vec)
}

#[test]
fn csv_rows_come_out_in_order_across_files_and_batches() {
    let dir = temp_dir("predict_order");
    let rows = rows();
    let lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    let first = write_csv(&dir, "part-0.csv", &lines[..7]);
    let second = write_csv(&dir, "part-1.csv", &lines[7..]);
    let output = dir.join("scores.csv");
    let summary = run(&options(vec![first, second], output.clone(), 3)).unwrap();
    assert_eq!((summary.rows, summary.bad_rows, summary.files), (11, 0, 2));

    let text = std::fs::read_to_string(&output).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("row_id,logits_ctr,probs_ctr,probs_cls_0,probs_cls_1,probs_cls_2"));
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), rows.len());
    for (i, (line, row)) in body.iter().zip(&rows).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], format!("r{i}"));
        let logit: f64 = fields[1].parse().unwrap();
        assert!((logit - expected(row)).abs() < TOLERANCE, "row {i}: {logit} vs {}", expected(row));
        let sigmoid = 1.0 / (1.0 + (-expected(row)).exp());
        assert!((fields[2].parse::<f64>().unwrap() - sigmoid).abs() < TOLERANCE, "row {i}");
    }
    assert!(!dir.join("scores.csv.partial").exists());
}

#[test]
fn bad_rows_stop_the_run_naming_file_line_and_column() {
    let dir = temp_dir("predict_bad");
    let rows = rows();
    let mut lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    lines[2] = lines[2].replacen(",18,", ",abc,", 1);
    lines[5] = lines[5].replacen(",45,", ",450,", 1);
    let input = write_csv(&dir, "in.csv", &lines);
    let output = dir.join("scores.csv");
    let error = run(&options(vec![input.clone()], output.clone(), 100)).unwrap_err();
    let message = error.to_string().replace(input.to_str().unwrap(), "in.csv");
    insta::assert_snapshot!(message, @r#"
    2 bad rows (nothing was written):
      in.csv: line 4, column "user_id": cannot parse "abc" as an integer id
      in.csv: line 7, column "user_id": value 450 is outside the valid ids [0, 100) (missing is -1)
    use --bad-rows FILE to write bad rows there and score the others
    "#);
    assert!(!output.exists());
    assert!(!dir.join("scores.csv.partial").exists());
}

#[test]
fn with_a_bad_rows_file_bad_rows_are_listed_counted_and_left_empty() {
    let dir = temp_dir("predict_bad_file");
    let rows = rows();
    let mut lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    lines[2] = lines[2].replacen(",18,", ",abc,", 1);
    lines[5] = lines[5].replacen(",45,", ",450,", 1);
    lines[9] = lines[9].replace('\x1d', "\x1d1\x1d");
    let input = write_csv(&dir, "in.csv", &lines);
    let output = dir.join("scores.csv");
    let bad_rows = dir.join("bad.csv");
    let mut opts = options(vec![input.clone()], output.clone(), 4);
    opts.bad_rows = Some(bad_rows.clone());
    let summary = run(&opts).unwrap();
    assert_eq!((summary.rows, summary.bad_rows), (11, 3));

    let listed = std::fs::read_to_string(&bad_rows).unwrap().replace(input.to_str().unwrap(), "in.csv");
    insta::assert_snapshot!(listed, @r#"
    output_row,file,data_row,line,column,reason
    2,in.csv,3,4,user_id,"cannot parse ""abc"" as an integer id"
    5,in.csv,6,7,user_id,"value 450 is outside the valid ids [0, 100) (missing is -1)"
    9,in.csv,10,11,vec,"expected 2 values joined by \x1d, found 3"
    "#);

    let text = std::fs::read_to_string(&output).unwrap();
    let body: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(body.len(), 11, "one output row per input row");
    for (i, line) in body.iter().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], format!("r{i}"));
        if [2, 5, 9].contains(&i) {
            assert_eq!(&fields[1..], ["", "", "", "", ""], "row {i} is bad: empty predictions");
        } else {
            let logit: f64 = fields[1].parse().unwrap();
            assert!((logit - expected(&rows[i])).abs() < TOLERANCE, "row {i}");
        }
    }
}

#[test]
fn parquet_output_has_typed_columns_and_nulls_for_bad_rows() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float32Type;
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = temp_dir("predict_parquet");
    let rows = rows();
    let mut lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    lines[1] = lines[1].replacen(",9,", ",999,", 1);
    let input = write_csv(&dir, "in.csv", &lines);
    let output = dir.join("scores.parquet");
    let mut opts = options(vec![input], output.clone(), 5);
    opts.bad_rows = Some(dir.join("bad.csv"));
    run(&opts).unwrap();

    let file = std::fs::File::open(&output).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["row_id", "logits_ctr", "probs_ctr", "probs_cls_0", "probs_cls_1", "probs_cls_2"]);
    let mut logits = Vec::new();
    let mut ids = Vec::new();
    for batch in &batches {
        let column = batch.column(1).as_primitive::<Float32Type>();
        logits.extend((0..column.len()).map(|i| column.is_valid(i).then(|| column.value(i))));
        let id = batch.column(0).as_string::<i32>();
        ids.extend((0..id.len()).map(|i| id.value(i).to_string()));
    }
    assert_eq!(ids, (0..11).map(|i| format!("r{i}")).collect::<Vec<_>>());
    assert_eq!(logits[1], None, "the bad row is null");
    for (i, row) in rows.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!((logits[i].unwrap() as f64 - expected(row)).abs() < TOLERANCE, "row {i}");
    }
}

#[test]
fn the_output_format_comes_from_the_extension() {
    let dir = temp_dir("predict_format");
    let input = write_csv(&dir, "in.csv", &[csv_line(0, &rows()[0])]);
    let error = run(&options(vec![input], dir.join("scores.txt"), 5)).unwrap_err();
    let message = error.to_string().replace(dir.to_str().unwrap(), "<dir>");
    insta::assert_snapshot!(message, @"output <dir>/scores.txt: name it .csv or .parquet (that picks the format)");
}

/// File names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_run_failing_after_written_batches_leaves_no_output_and_a_good_one_only_the_output() {
    let dir = temp_dir("predict_late_failure");
    let rows = rows();
    let mut lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    let input = write_csv(&dir, "good.csv", &lines);
    let output = dir.join("scores.csv");
    run(&options(vec![input.clone()], output.clone(), 3)).unwrap();
    assert_eq!(listing(&dir), ["good.csv", "scores.csv"]);
    std::fs::remove_file(&output).unwrap();

    // Row 9 is bad: batches of 3 rows put it in the fourth batch, after three were written.
    lines[9] = lines[9].replacen(",81,", ",abc,", 1);
    let bad_input = write_csv(&dir, "bad.csv", &lines);
    let error = run(&options(vec![bad_input], output.clone(), 3)).unwrap_err();
    assert!(error.to_string().contains("line 11, column \"user_id\""), "{error}");
    assert_eq!(listing(&dir), ["bad.csv", "good.csv"]);
}

#[test]
fn an_interrupted_run_removes_its_partial_output_and_bad_rows_files() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let dir = temp_dir("predict_interrupt");
    let rows = rows();
    let mut lines: Vec<String> = rows.iter().enumerate().map(|(i, r)| csv_line(i, r)).collect();
    lines[1] = lines[1].replacen(",9,", ",999,", 1);
    let input = write_csv(&dir, "in.csv", &lines);
    let output = dir.join("scores.csv");
    let flag = Arc::new(AtomicBool::new(false));
    let mut opts = options(vec![input], output.clone(), 3);
    opts.bad_rows = Some(dir.join("bad_rows.csv"));
    opts.interrupt = Some(Arc::clone(&flag));
    // The signal arrives while the first batch is being scored.
    let mut report = |_: plec_runtime::predict::Progress| flag.store(true, Ordering::SeqCst);
    let error = predict(&load_test_model(), &opts, &mut report).unwrap_err();
    let message = error.to_string().replace(dir.to_str().unwrap(), "<dir>");
    assert_eq!(message, "interrupted after 3 rows: nothing was written to <dir>/scores.csv");
    assert_eq!(listing(&dir), ["in.csv"]);
}
