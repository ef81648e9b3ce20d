use std::collections::BTreeMap;
use std::sync::Arc;

use super::fixtures::{floats, ints, strings, ParquetFile, TestDir};
use crate::{BatchReader, Column, ColumnBatch, CsvOptions, DataError, ReadOptions, StringColumn};

fn read_all(files: Vec<std::path::PathBuf>, options: ReadOptions) -> Result<Vec<ColumnBatch>, DataError> {
    BatchReader::open(files, options)?.collect()
}

fn options(batch_size: usize, columns: &[&str], csv: CsvOptions) -> ReadOptions {
    ReadOptions { batch_size, columns: columns.iter().map(|c| c.to_string()).collect(), csv }
}

fn text(values: &[Option<&str>]) -> Column {
    Column::Utf8(values.iter().copied().collect::<StringColumn>())
}

#[test]
fn csv_with_header_in_batches_with_positions() {
    let dir = TestDir::new("data-csv-header");
    let path = dir.write("a.csv", "id,price,label,unused\n1,2.5,0,x\n,3,1,y\n7,\"4\",1,z\n");
    let batches = read_all(vec![path.clone()], options(2, &["label", "id"], CsvOptions::default())).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!((batches[0].first_row, batches[0].num_rows), (0, 2));
    assert_eq!((batches[1].first_row, batches[1].num_rows), (2, 1));
    assert_eq!(batches[0].lines, Some(vec![2, 3]));
    assert_eq!(batches[1].lines, Some(vec![4]));
    let expected: BTreeMap<String, Column> =
        [("id".to_string(), text(&[Some("1"), None])), ("label".to_string(), text(&[Some("0"), Some("1")]))].into();
    assert_eq!(batches[0].columns, expected);
    assert_eq!(batches[1].columns["id"], text(&[Some("7")]));
    assert_eq!(batches[1].row_ref(0).to_string(), format!("{}: line 4", path.display()));
}

#[test]
fn csv_without_header_uses_input_fields_and_delimiter() {
    let dir = TestDir::new("data-csv-noheader");
    // A quoted field holding a newline: line numbers follow the file, not the row count.
    let path = dir.write("a.tsv", "1\t\"a\nb\"\t0\n2\tc\t1\n");
    let csv =
        CsvOptions { with_header: false, delimiter: b'\t', input_fields: vec!["id".into(), "s".into(), "y".into()] };
    let batches = read_all(vec![path], options(10, &["s", "y"], csv)).unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].columns["s"], text(&[Some("a\nb"), Some("c")]));
    assert_eq!(batches[0].columns["y"], text(&[Some("0"), Some("1")]));
    assert_eq!(batches[0].lines, Some(vec![1, 3]));
}

#[test]
fn batches_do_not_span_files() {
    let dir = TestDir::new("data-csv-files");
    let a = dir.write("a.csv", "x\n1\n2\n3\n");
    let b = dir.write("b.csv", "x\n4\n");
    let batches = read_all(vec![a.clone(), b.clone()], options(2, &["x"], CsvOptions::default())).unwrap();
    let shape: Vec<(std::path::PathBuf, u64, usize)> =
        batches.iter().map(|b| (b.source.clone(), b.first_row, b.num_rows)).collect();
    assert_eq!(shape, [(a.clone(), 0, 2), (a, 2, 1), (b, 0, 1)]);
}

#[test]
fn gzip_csv_is_read() {
    use std::io::Write;
    let dir = TestDir::new("data-csv-gz");
    let path = dir.join("a.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    encoder.write_all(b"x,y\n1,2\n3,4\n").unwrap();
    encoder.finish().unwrap();
    let batches = read_all(vec![path], options(8, &["y"], CsvOptions::default())).unwrap();
    assert_eq!(batches[0].columns["y"], text(&[Some("2"), Some("4")]));
}

#[test]
fn parquet_columns_keep_their_types() {
    let dir = TestDir::new("data-parquet");
    let path = dir.parquet(
        "a.parquet",
        vec![
            ("id", ints(&[Some(3), None, Some(5)])),
            ("price", floats(&[Some(1.5), Some(2.0), None])),
            ("pid", strings(&[Some("430548_1007"), None, Some("")])),
            ("small", Arc::new(arrow_array::Int32Array::from(vec![Some(-1), Some(2), None]))),
            ("f32", Arc::new(arrow_array::Float32Array::from(vec![0.5f32, 1.0, 2.0]))),
        ],
    );
    let columns = ["pid", "id", "price", "small", "f32"];
    let batches = read_all(vec![path.clone()], options(2, &columns, CsvOptions::default())).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!((batches[1].first_row, batches[1].num_rows, batches[1].lines.clone()), (2, 1, None));
    assert_eq!(batches[0].columns["id"], Column::Int64(vec![Some(3), None]));
    assert_eq!(batches[1].columns["id"], Column::Int64(vec![Some(5)]));
    assert_eq!(batches[0].columns["price"], Column::Float64(vec![Some(1.5), Some(2.0)]));
    assert_eq!(batches[0].columns["pid"], text(&[Some("430548_1007"), None]));
    assert_eq!(batches[1].columns["pid"], text(&[Some("")]));
    assert_eq!(batches[0].columns["small"], Column::Int64(vec![Some(-1), Some(2)]));
    assert_eq!(batches[1].columns["f32"], Column::Float64(vec![Some(2.0)]));
    assert_eq!(batches[0].columns.len(), 5);
    assert_eq!(batches[1].row_ref(0).to_string(), format!("{}: row 3", path.display()));
}

#[test]
fn parquet_dictionary_strings_are_utf8() {
    let dir = TestDir::new("data-parquet-dict");
    let dictionary: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        vec![Some("a"), None, Some("b"), Some("a")].into_iter().collect();
    let path = dir.parquet("d.parquet", vec![("s", Arc::new(dictionary))]);
    let batches = read_all(vec![path], options(10, &["s"], CsvOptions::default())).unwrap();
    assert_eq!(batches[0].columns["s"], text(&[Some("a"), None, Some("b"), Some("a")]));
}

#[test]
fn errors_name_file_row_and_column() {
    let dir = TestDir::new("data-reader-errors");
    let good = dir.write("good.csv", "a,b\n1,2\n");
    let short_row = dir.write("short.csv", "a,b\n1,2\n3\n");
    let not_parquet = dir.write("bad.parquet", "this is not parquet");
    let parquet = dir.parquet("p.parquet", vec![("a", ints(&[Some(1)]))]);
    let list =
        arrow_array::ListArray::from_iter_primitive::<arrow_array::types::Int64Type, _, _>(vec![Some(vec![Some(1)])]);
    let lists = dir.parquet("list.parquet", vec![("a", Arc::new(list))]);
    let missing_file = dir.join("missing.csv");
    let empty = dir.write("empty.csv", "");
    let no_header = CsvOptions { with_header: false, delimiter: b',', input_fields: vec![] };
    let cases: Vec<(Vec<std::path::PathBuf>, ReadOptions)> = vec![
        (vec![good.clone()], options(4, &["a", "c"], CsvOptions::default())),
        (vec![short_row], options(4, &["a"], CsvOptions::default())),
        (vec![good.clone(), missing_file], options(4, &["a"], CsvOptions::default())),
        (vec![not_parquet], options(4, &["a"], CsvOptions::default())),
        (vec![parquet], options(4, &["a", "zz"], CsvOptions::default())),
        (vec![lists], options(4, &["a"], CsvOptions::default())),
        (vec![good.clone()], options(4, &["a"], no_header)),
        (vec![good], options(0, &["a"], CsvOptions::default())),
        (vec![empty], options(4, &["a"], CsvOptions::default())),
    ];
    let messages: Vec<String> = cases
        .into_iter()
        .map(|(files, options)| dir.scrub(&read_all(files, options).unwrap_err().to_string()))
        .collect();
    insta::assert_snapshot!("reader_errors", messages.join("\n"));
}

#[test]
fn multi_byte_delimiter_is_a_settings_error() {
    let mut data = plec_spec::testing::settings(vec![]).0;
    data.delimiter = ", ".into();
    let error = CsvOptions::from_settings(&data).unwrap_err();
    insta::assert_snapshot!("delimiter_error", error.to_string());
}

#[test]
fn a_files_format_sets_the_dataset_kind_and_the_csv_header_rule() {
    use crate::FileFormat;
    use plec_spec::{DataSettings, DatasetKind};
    let settings = |dataset: DatasetKind, with_header: bool, input_fields: &[&str]| -> DataSettings {
        let mut data = plec_spec::testing::settings(vec![]).0;
        data.dataset = dataset;
        data.with_header = with_header;
        data.input_fields = input_fields.iter().map(|f| f.to_string()).collect();
        data
    };
    let applied = |format: FileFormat, mut data: DataSettings| {
        format.apply_to(&mut data);
        (data.dataset, data.with_header)
    };
    // CSV in place of a Parquet (or ODPS) config: no input_fields to name the columns, so a header names them.
    assert_eq!(applied(FileFormat::Csv, settings(DatasetKind::Odps, false, &[])), (DatasetKind::Csv, true));
    // ... unless the config names its columns, or is a CSV config already (its own with_header stands).
    assert_eq!(applied(FileFormat::Csv, settings(DatasetKind::Parquet, false, &["a"])), (DatasetKind::Csv, false));
    assert_eq!(applied(FileFormat::Csv, settings(DatasetKind::Csv, false, &[])), (DatasetKind::Csv, false));
    assert_eq!(applied(FileFormat::Parquet, settings(DatasetKind::Csv, false, &[])), (DatasetKind::Parquet, false));
}
