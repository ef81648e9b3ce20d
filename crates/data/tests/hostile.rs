//! Hostile data files: a multi-value cell of a million values, a sequence of a million positions, a CSV record
//! longer than the limit and a Parquet page that claims a huge size are refused with a clear error and bounded
//! memory; CSV and Parquet reading (through encoding and the raw model inputs) is fuzzed from generated files
//! (plec_spec::fuzz: deterministic cases, a counting allocator that refuses to pass a bound).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use plec_data::datagen::{ChunkWriter, FileFormat};
use plec_data::{check_raw, encode, random_batch, raw_inputs, BatchReader, DataError, EncodeOptions, ReadOptions};
use plec_spec::fuzz::{self, CountingAllocator, Target};
use plec_spec::test_dir::TestDir;
use plec_spec::{Encoding, ModelSpec};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn spec(config: &str) -> ModelSpec {
    plec_config::load_file(repo().join("tests/configs").join(config)).unwrap().spec
}

/// `rows` random rows of `spec` written as `format` to `dir/name`.
fn write_rows(dir: &Path, name: &str, spec: &ModelSpec, rows: usize, seed: u64, format: FileFormat) -> PathBuf {
    let path = dir.join(format!("{name}.{}", format.extension()));
    let batch = random_batch(spec, rows, seed);
    let chunk: Vec<_> = batch.columns.iter().map(|(n, c)| (n.clone(), c.clone())).collect();
    let mut writer = ChunkWriter::create(&path, format).unwrap();
    writer.write(&chunk).unwrap();
    writer.finish().unwrap();
    path
}

/// Reads every batch of `path` as training (encode) and serving (raw inputs, their checks) would.
fn read_all(path: &Path, spec: &ModelSpec, batch_size: usize) -> Result<usize, DataError> {
    let reader = BatchReader::open(vec![path.to_path_buf()], ReadOptions::for_spec(spec, batch_size)?)?;
    let signature = spec.signature();
    let mut rows = 0;
    for batch in reader {
        let batch = batch?;
        rows += batch.num_rows;
        encode(spec, &batch, &EncodeOptions { skip_bad_rows: true })?;
        let inputs = raw_inputs(&signature, &batch)?;
        check_raw(&signature, &inputs);
    }
    Ok(rows)
}

const BOUND: usize = 64 << 20;

/// The first multi-value id feature of `spec` and its separator.
fn multi_feature(spec: &ModelSpec) -> (String, String) {
    spec.features
        .iter()
        .find_map(|f| match &f.encoding {
            Encoding::Embedding { multi: Some(multi), .. } if !multi.weighted => {
                Some((f.name.clone(), multi.separator.clone()))
            }
            _ => None,
        })
        .expect("a multi-value feature")
}

/// The CSV text of `rows` random rows with `column`'s cell of row 0 replaced by `cell`.
fn csv_with_cell(dir: &Path, spec: &ModelSpec, column: &str, cell: &str) -> PathBuf {
    let path = write_rows(dir, "rows", spec, 200, 7, FileFormat::Csv);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let index = header.iter().position(|h| *h == column).unwrap();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    cells[index] = cell.to_string();
    lines[1] = cells.join(",");
    let hostile = dir.join("hostile.csv");
    std::fs::write(&hostile, lines.join("\n") + "\n").unwrap();
    hostile
}

#[test]
fn a_multi_value_cell_of_a_million_values_is_a_bad_cell_with_bounded_memory() {
    let spec = spec("all_feature_kinds.config");
    let (feature, separator) = multi_feature(&spec);
    let dir = TestDir::new("million-values");
    let cell = vec!["7"; 1_000_000].join(&separator);
    let path = csv_with_cell(dir.path(), &spec, &feature, &cell);
    let (result, peak) = fuzz::with_bound("million values", 0, BOUND, || read_all(&path, &spec, 128));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("1000000 values, more than the limit of 65536"), "{error}");
    assert!(error.contains("hostile.csv") && error.contains(&feature), "{error}");
    assert!(peak < BOUND, "{peak} bytes");
}

#[test]
fn a_sequence_of_a_million_positions_is_a_bad_cell_with_bounded_memory() {
    let spec = spec("sequences.config");
    let group = &spec.sequence_groups[0];
    let sequence = &group.sequence[0];
    let dir = TestDir::new("million-positions");
    let cell = vec!["3"; 1_000_000].join(&sequence.delimiter);
    let path = csv_with_cell(dir.path(), &spec, &sequence.name, &cell);
    let (result, peak) = fuzz::with_bound("million positions", 0, BOUND, || read_all(&path, &spec, 128));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("1000000 positions, more than the limit of 65536"), "{error}");
    assert!(peak < BOUND, "{peak} bytes");
}

#[test]
fn padding_a_batch_to_one_long_list_is_refused() {
    // 60000 values in one row (under the cell limit) and a few in the others: padding 200 rows to 60000 would make
    // 12 million elements from about 60 thousand.
    let spec = spec("all_feature_kinds.config");
    let (feature, separator) = multi_feature(&spec);
    let dir = TestDir::new("long-list");
    let path = csv_with_cell(dir.path(), &spec, &feature, &vec!["7"; 60_000].join(&separator));
    let reader = BatchReader::open(vec![path], ReadOptions::for_spec(&spec, 200).unwrap()).unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    let (result, peak) = fuzz::with_bound("long list", 0, BOUND, || raw_inputs(&spec.signature(), &batch));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("padding the batch's 200 rows to them"), "{error}");
    assert!(peak < BOUND, "{peak} bytes");
}

#[test]
fn a_csv_record_past_the_limit_is_refused_while_it_is_read() {
    // A gzip file of a few hundred KiB whose one record decompresses to 80 MiB.
    use std::io::Write;
    let spec = spec("all_feature_kinds.config");
    let dir = TestDir::new("long-record");
    let path = dir.join("long.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::best());
    let columns = plec_data::required_columns(&spec);
    writeln!(gz, "{}", columns.join(",")).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..80 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap();
    let (result, peak) = fuzz::with_bound("long record", 0, 3 * (64 << 20), || read_all(&path, &spec, 16));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("longer than 67108864 bytes") && error.contains("long.csv.gz"), "{error}");
    assert!(peak < 3 * (64 << 20), "{peak} bytes");
}

#[test]
fn a_parquet_page_claiming_a_huge_size_is_refused_before_allocating() {
    let spec = spec("all_feature_kinds.config");
    let dir = TestDir::new("huge-page");
    let path = write_rows(dir.path(), "rows", &spec, 200, 3, FileFormat::Parquet);
    let mut bytes = std::fs::read(&path).unwrap();
    // A column chunk's first page header starts with its type (field 1, 0x15 ..), then the uncompressed and
    // compressed sizes as zigzag varints: rewrite the first header to claim 2^31 - 1 bytes uncompressed.
    let file = std::fs::File::open(&path).unwrap();
    let meta = parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&file).unwrap();
    let chunk = meta.row_group(0).column(0);
    let at = chunk.dictionary_page_offset().unwrap_or(chunk.data_page_offset()) as usize;
    let varint_end = |bytes: &[u8], mut i: usize| {
        while bytes[i] & 0x80 != 0 {
            i += 1;
        }
        i + 1
    };
    assert_eq!(bytes[at], 0x15, "a page header's first field");
    let after_type = varint_end(&bytes, at + 1);
    assert_eq!(bytes[after_type], 0x15);
    let after_uncompressed = varint_end(&bytes, after_type + 1);
    assert_eq!(bytes[after_uncompressed], 0x15);
    let after_compressed = varint_end(&bytes, after_uncompressed + 1);
    let huge = [0xfe, 0xff, 0xff, 0xff, 0x0f]; // zigzag(2^31 - 1)
    let compressed = bytes[after_uncompressed + 1..after_compressed].to_vec();
    let header = [&[0x15][..], &huge, &[0x15], &compressed].concat();
    bytes.splice(after_type..after_compressed, header);
    let hostile = dir.join("hostile.parquet");
    std::fs::write(&hostile, &bytes).unwrap();
    let (result, peak) = fuzz::with_bound("huge page", 0, BOUND, || read_all(&hostile, &spec, 64));
    let error = result.unwrap_err().to_string();
    assert!(error.contains("hostile.parquet") && error.contains("claims 2147483647 bytes uncompressed"), "{error}");
    assert!(peak < BOUND, "{peak} bytes");
}

fn fuzz_format(name: &'static str, format: FileFormat, cases: u64) {
    let dir = TestDir::new("fuzz-data");
    for config in ["all_feature_kinds.config", "sequences.config"] {
        let spec = spec(config);
        let seeds: Vec<Vec<u8>> = (0..3)
            .map(|seed| std::fs::read(write_rows(dir.path(), "seed", &spec, 40, seed, format)).unwrap())
            .collect();
        let path = dir.join(format!("case.{}", format.extension()));
        let bound = |len: usize| (32 << 20) + 256 * len;
        let target = Target { name, seeds, cases, bound: &bound };
        fuzz::run(&target, |bytes| {
            std::fs::write(&path, bytes).unwrap();
            read_all(&path, &spec, 16).map(|_| ())
        });
    }
}

#[test]
fn fuzz_csv() {
    fuzz_format("csv", FileFormat::Csv, 200);
}

#[test]
fn fuzz_parquet() {
    fuzz_format("parquet", FileFormat::Parquet, 200);
}
