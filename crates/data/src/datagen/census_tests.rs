use std::sync::OnceLock;

use super::census::*;
use crate::tests::fixtures::TestDir;
use crate::{encode, BatchReader, Column, EncodeOptions, ReadOptions};

const CENSUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/census-income.test.gz");

fn census() -> &'static Census {
    static CENSUS_DATA: OnceLock<Census> = OnceLock::new();
    CENSUS_DATA.get_or_init(|| read_census(std::path::Path::new(CENSUS)).expect("data/census-income.test.gz"))
}

fn ones(chunk: &super::Chunk, name: &str) -> (usize, usize) {
    match &chunk.iter().find(|(n, _)| n == name).unwrap().1 {
        Column::Int64(v) => (v.iter().filter(|x| **x == Some(1)).count(), v.len()),
        other => panic!("{other:?}"),
    }
}

/// The committed file is the UCI file the data README describes, byte for byte.
#[test]
fn the_committed_file_has_the_published_digest() {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(CENSUS).expect("data/census-income.test.gz");
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, "5ac4cacd3ca9f1ecb10de1a0a41e4ac68fdc419e3fec190f5c0c6cc03b2ea659");
}

#[test]
fn splits_and_label_rates_match_the_data_readme() {
    let census = census();
    let rows: Vec<usize> = census.splits.iter().map(|s| ones(s, "income").1).collect();
    // data/README.md: 99,762 rows, 59,858 in train (i % 5 in {0, 1, 2}); 19,952 each in the others.
    assert_eq!(rows, [59_858, 19_952, 19_952]);
    let total = |label: &str| census.splits.iter().map(|s| ones(s, label).0).sum::<usize>() as f64 / 99_762.0;
    // README: 6.20% income positive, 43.25% never married (rounded to 0.01%).
    assert!((total("income") - 0.0620).abs() < 0.00005, "{}", total("income"));
    assert!((total("never_married") - 0.4325).abs() < 0.00005, "{}", total("never_married"));
    // Row 0 of the file (train row 0): age 38, "?" in mig_chg_msa is missing, weight 1032.38.
    let train = &census.splits[0];
    let column = |name: &str| &train.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(column("age").cell(0), crate::Cell::Float(38.0));
    assert_eq!(column("mig_chg_msa").cell(0), crate::Cell::Missing);
    assert_eq!(column("instance_weight").cell(0), crate::Cell::Float(1032.38));
    assert_eq!(column("citizenship").cell(0), crate::Cell::Text("Foreign born- Not a citizen of U S"));
}

#[test]
fn configs_read_the_written_splits() {
    let dir = TestDir::new("data-census");
    let summary = write_census(census(), dir.path()).unwrap();
    assert_eq!(summary.iter().map(|(_, [rows, _, _])| *rows).collect::<Vec<_>>(), [59_858, 19_952, 19_952]);
    for (name, text) in census_configs(census()) {
        let spec = plec_config::load_str(&text, name).unwrap().spec;
        // 42 fields - education, marital_stat, instance_weight and the label = 38 inputs.
        assert_eq!(spec.features.len(), 38, "{name}");
        let inputs: Vec<&str> = spec.features.iter().map(|f| f.name.as_str()).collect();
        assert!(!inputs.contains(&"education") && !inputs.contains(&"marital_stat"));
        let files = vec![dir.join("validation.parquet")];
        let mut rows = 0;
        for batch in BatchReader::open(files, ReadOptions::for_spec(&spec, 8192).unwrap()).unwrap() {
            rows += encode(&spec, &batch.unwrap(), &EncodeOptions::default()).unwrap().num_rows;
        }
        assert_eq!(rows, 19_952, "{name}");
    }
}

#[test]
fn committed_example_configs_are_the_generated_ones() {
    for (name, text) in census_configs(census()) {
        let path = format!("{}/../../examples/census/{name}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == text, "{path} differs: run `plec datagen census --write-configs examples/census ...`");
    }
}

#[test]
fn bad_lines_are_errors_naming_the_line_and_column() {
    let dir = TestDir::new("data-census-bad");
    let good: Vec<String> = (0..41)
        .map(|j| if CONTINUOUS.contains(&FIELDS[j]) || FIELDS[j] == "instance_weight" { "1" } else { "x" }.to_string())
        .collect();
    let line = |fields: &[String], label: &str| format!("{}, {label}\n", fields.join(", "));
    let mut bad_number = good.clone();
    bad_number[0] = "old".into();
    let cases = [
        format!("{}{}", line(&good, "- 50000."), line(&good[..40], "- 50000.")),
        line(&good, "maybe"),
        line(&bad_number, "50000+."),
        String::new(),
    ];
    let messages: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.write(&format!("c{i}.data"), text);
            dir.scrub(&read_census(&path).err().map(|e| e.to_string()).unwrap_or_default())
        })
        .collect();
    insta::assert_snapshot!("census_bad_lines", messages.join("\n"));
}
