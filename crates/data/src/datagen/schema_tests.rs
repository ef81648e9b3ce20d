use super::schema::*;
use crate::tests::fixtures::TestDir;
use crate::FileFormat;
use crate::{encode, BatchReader, EncodeOptions, EncodedFeature, ReadOptions};
use plec_spec::testing::catalog;

fn spec(name: &str) -> plec_spec::ModelSpec {
    catalog().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).expect("catalog spec")
}

/// Every generated cell is valid input for the spec it was generated from: the whole file encodes.
#[test]
fn every_row_encodes_and_binary_labels_are_near_a_fifth_positive() {
    for name in ["weighted_ids", "all_features_two_layers", "sequences"] {
        let spec = spec(name);
        let dir = TestDir::new(&format!("schema-{name}"));
        let options = SchemaOptions { rows: 3000, eval_rows: 500, seed: 4, format: FileFormat::Csv };
        let summaries = write_schema(&spec, &options, dir.path()).unwrap();
        assert_eq!(summaries.iter().map(|s| s.rows).collect::<Vec<_>>(), [3000, 500]);
        for (label, positives) in &summaries[0].positives {
            let rate = *positives as f64 / 3000.0;
            assert!((0.08..0.35).contains(&rate), "{name}: {label} is positive in {rate:.3} of rows");
        }
        let mut read = ReadOptions::for_spec(&spec, 1000).unwrap();
        read.csv.with_header = true;
        let mut weights_seen = 0;
        for batch in BatchReader::open(vec![summaries[0].path.clone()], read).unwrap() {
            let encoded = encode(&spec, &batch.unwrap(), &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            for feature in &encoded.features {
                if let EncodedFeature::Ids { weights: Some(w), .. } = feature {
                    assert!(w.iter().all(|w| (0.1..=2.0).contains(w)), "{w:?}");
                    weights_seen += w.len();
                }
            }
        }
        assert_eq!(weights_seen > 0, name == "weighted_ids", "{name}: {weights_seen} weights");
    }
}

#[test]
fn the_seed_decides_the_rows() {
    let spec = spec("weighted_ids");
    let dir = TestDir::new("schema-seed");
    let write = |seed, sub: &str| {
        let options = SchemaOptions { rows: 200, eval_rows: 0, seed, format: FileFormat::Csv };
        let out = dir.path().join(sub);
        write_schema(&spec, &options, &out).unwrap();
        std::fs::read_to_string(out.join("train.csv")).unwrap()
    };
    assert_eq!(write(1, "a"), write(1, "b"));
    assert_ne!(write(1, "a"), write(2, "c"));
}

/// Sequences spread over 0..=1.2 * max_length positions, and positive rows more often hold their query's item.
#[test]
fn sequences_are_spread_and_carry_the_signal() {
    let spec = spec("sequences");
    let dir = TestDir::new("schema-sequences");
    let options = SchemaOptions { rows: 4000, eval_rows: 0, seed: 9, format: FileFormat::Csv };
    let summaries = write_schema(&spec, &options, dir.path()).unwrap();
    let mut read = ReadOptions::for_spec(&spec, 4000).unwrap();
    read.csv.with_header = true;
    let batch = BatchReader::open(vec![summaries[0].path.clone()], read).unwrap().next().unwrap().unwrap();
    let text = |column: &str, row: usize| -> String {
        let column = batch.column(column).unwrap();
        column.cell(row).text().map(|t| t.into_owned()).unwrap_or_default()
    };
    let max_length = spec.sequence_groups[0].sequence[0].max_length;
    // (rows, rows holding the query's item among the first max_length positions) per ctr label.
    let mut counts = [(0u32, 0u32); 2];
    let mut lengths = std::collections::BTreeSet::new();
    for row in 0..batch.num_rows {
        let items = text("clicks__item_id", row);
        let positions: Vec<&str> = if items.is_empty() { vec![] } else { items.split('|').collect() };
        lengths.insert(positions.len());
        let query = text("item_id", row);
        let related = positions.iter().take(max_length).any(|p| *p == query);
        let label = (text("label_ctr", row) == "1") as usize;
        counts[label].0 += 1;
        counts[label].1 += related as u32;
    }
    assert_eq!(lengths.first(), Some(&0));
    assert_eq!(lengths.last(), Some(&(max_length + max_length.div_ceil(5))), "{lengths:?}");
    let rate = |(rows, related): (u32, u32)| related as f64 / rows.max(1) as f64;
    let (negative, positive) = (rate(counts[0]), rate(counts[1]));
    assert!(positive > negative + 0.15, "related in {positive:.3} of positives, {negative:.3} of negatives");
}
