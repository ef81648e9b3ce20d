//! Rows that exercise every corner of the feature transforms, for golden sets: missing values, out-of-vocabulary
//! strings, values exactly on bucket boundaries, empty and over-long multi-value lists, the smallest and largest
//! ids, and for sequence features ([`edge_sequences`](super::edge_sequences)) empty, single, exactly full,
//! over-long, holed and unknown sequences. Every cell is valid input (nothing the trainer would reject), so trainer and compiled graph must agree on
//! all of them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::column::{Column, ColumnBatch, StringColumn};
use super::edge_sequences::{group_cases, length_sets, random_group};
use super::encoded::DENSE_SEPARATOR;
use super::reader::{feature_column, required_columns};
use plec_spec::splitmix::{self, SplitMix64};
use plec_spec::{Encoding, Feature, ModelSpec, Transform};

/// Text cells (`None` = missing) covering `feature`'s edge cases.
fn feature_cases(feature: &Feature) -> Vec<Option<String>> {
    match &feature.encoding {
        Encoding::Dense { value_dim, .. } => {
            let row = |values: &[&str]| -> Option<String> {
                Some((0..*value_dim).map(|i| values[i % values.len()]).collect::<Vec<_>>().join(DENSE_SEPARATOR))
            };
            vec![row(&["0"]), row(&["-1.5", "2"]), row(&["1e6"]), None, row(&["0.001", "-3e-4"])]
        }
        Encoding::Embedding { transform, multi, .. } => {
            let values = transform_cases(transform);
            match multi {
                None => values,
                Some(multi) => {
                    let mut present: Vec<String> = values.iter().flatten().cloned().collect();
                    if multi.weighted {
                        // Zero, negative, tiny and large weights, cycling over the values.
                        const WEIGHTS: [&str; 6] = ["1", "0.5", "-2", "0", "3.25", "1e-3"];
                        for (i, value) in present.iter_mut().enumerate() {
                            *value = format!("{value}:{}", WEIGHTS[i % WEIGHTS.len()]);
                        }
                    }
                    let join = |items: &[String]| Some(items.join(&multi.separator));
                    let mut out = vec![None, join(&present[..1.min(present.len())])];
                    // Over-long: every value, twice.
                    let long: Vec<String> = present.iter().chain(present.iter()).cloned().collect();
                    out.push(join(&long));
                    out.extend(present.windows(2).map(join));
                    // An empty value between two (skipped), and a cell of separators only (no value: missing).
                    if let [first, second, ..] = present.as_slice() {
                        out.push(join(&[first.clone(), String::new(), second.clone()]));
                    }
                    out.push(Some(multi.separator.repeat(2)));
                    out
                }
            }
        }
    }
}

fn transform_cases(transform: &Transform) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None];
    match transform {
        Transform::NumBuckets(n) | Transform::FgEncoded(n) => {
            let last = n.saturating_sub(1);
            out.extend([0, last, last / 2, 1.min(last)].iter().map(|v| Some(v.to_string())));
        }
        Transform::HashBucket(_) => {
            out.extend(
                ["0", "123456", "-5", "hello", "430548_1007", "ünïcode", " spaced "]
                    .iter()
                    .map(|s| Some(s.to_string())),
            );
        }
        Transform::VocabList(vocab) => {
            out.extend(vocab.iter().map(|v| Some(v.clone())));
            out.push(Some("__plec_out_of_vocabulary__".into()));
        }
        Transform::VocabDict(map) => {
            out.extend(map.iter().map(|(k, _)| Some(k.clone())));
            out.push(Some("__plec_unknown_key__".into()));
        }
        Transform::Boundaries(b) => {
            out.extend(b.iter().map(|x| Some(x.to_string())));
            if let (Some(first), Some(last)) = (b.first(), b.last()) {
                out.push(Some((first - 1.0).to_string()));
                out.push(Some((last + 1.0).to_string()));
                out.push(Some(((first + last) / 2.0).to_string()));
            }
            out.push(Some("-1e9".into()));
        }
    }
    out
}

/// A batch of at least `min_rows` rows where feature `f` cycles through its edge cases (row `i` gets case
/// `i % cases`), labels alternate 0/1, sample weights are 1 and grouping keys alternate between two groups. The
/// sequence features of a group cycle through their cases together, so their lengths agree in every row.
pub fn edge_case_batch(spec: &ModelSpec, min_rows: usize) -> ColumnBatch {
    let mut per_feature: Vec<(String, Vec<Option<String>>)> =
        plain_features(spec).iter().map(|f| (feature_column(f).to_string(), feature_cases(f))).collect();
    per_feature.extend(length_sets(spec).iter().flat_map(|set| group_cases(set)));
    let rows = per_feature.iter().map(|(_, cases)| cases.len()).max().unwrap_or(1).max(min_rows);
    let mut columns = BTreeMap::new();
    for name in required_columns(spec) {
        let mut column = StringColumn::with_capacity(rows, rows * 8);
        match per_feature.iter().find(|(column_name, _)| *column_name == name) {
            Some((_, cases)) => (0..rows).for_each(|i| column.push(cases[i % cases.len()].as_deref())),
            None => {
                let is_weight = spec.data.sample_weight_fields.contains(&name)
                    || spec
                        .towers
                        .iter()
                        .any(|t| t.weighting.as_ref().and_then(|w| w.sample_weight.as_ref()) == Some(&name));
                let is_label = spec.data.label_fields.contains(&name) || spec.towers.iter().any(|t| t.label == name);
                for i in 0..rows {
                    let text = if is_weight {
                        "1".to_string()
                    } else if is_label {
                        (i % 2).to_string()
                    } else {
                        format!("group{}", i % 2)
                    };
                    column.push(Some(&text));
                }
            }
        }
        columns.insert(name, Column::Utf8(column));
    }
    ColumnBatch { source: PathBuf::from("<edge cases>"), first_row: 0, num_rows: rows, columns, lines: None }
}

/// `rows` rows of valid random values for every feature (ids in range, vocabulary words and unknown words,
/// prices across the boundaries, lists of 0 to 4 values, sequences of 0 to 1.2 times their `max_length`
/// positions), deterministic per `seed`; labels and weights as in
/// [`edge_case_batch`]. For differential tests beyond the edge cases.
pub fn random_batch(spec: &ModelSpec, rows: usize, seed: u64) -> ColumnBatch {
    // SplitMix64: small, and stable across releases (unlike a crate's RNG).
    let mut rng = SplitMix64::new(seed ^ splitmix::GAMMA);
    let mut next = move || rng.next_u64();
    let mut batch = edge_case_batch(spec, rows);
    batch.num_rows = rows;
    batch.source = PathBuf::from("<random rows>");
    for feature in plain_features(spec) {
        let mut column = StringColumn::with_capacity(rows, rows * 8);
        for _ in 0..rows {
            let one = |next: &mut dyn FnMut() -> u64| -> String {
                match &feature.encoding {
                    Encoding::Dense { value_dim, .. } => (0..*value_dim)
                        .map(|_| format!("{:.4}", (next() % 20_000) as f64 / 1000.0 - 10.0))
                        .collect::<Vec<_>>()
                        .join(DENSE_SEPARATOR),
                    Encoding::Embedding { transform, .. } => match transform {
                        Transform::NumBuckets(n) | Transform::FgEncoded(n) => (next() % (*n).max(1)).to_string(),
                        Transform::HashBucket(_) => format!("v{}", next() % 1000),
                        Transform::VocabList(v) => {
                            v.get((next() % (v.len() as u64 + 1)) as usize).cloned().unwrap_or_else(|| "unknown".into())
                        }
                        Transform::VocabDict(m) => m
                            .get((next() % (m.len() as u64 + 1)) as usize)
                            .map(|(k, _)| k.clone())
                            .unwrap_or_else(|| "unknown".into()),
                        Transform::Boundaries(b) => {
                            let hi = b.last().copied().unwrap_or(1.0) * 1.2 + 1.0;
                            format!("{:.3}", (next() % 1_000_000) as f32 / 1_000_000.0 * hi)
                        }
                    },
                }
            };
            let cell = match &feature.encoding {
                Encoding::Embedding { multi: Some(multi), .. } => {
                    let count = next() % 5;
                    let value = |next: &mut dyn FnMut() -> u64| -> String {
                        let id = one(next);
                        if multi.weighted {
                            // Weights in [-2, 2) in steps of 1/1000.
                            format!("{id}:{}", (next() % 4000) as f64 / 1000.0 - 2.0)
                        } else {
                            id
                        }
                    };
                    let values: Vec<String> = (0..count).map(|_| value(&mut next)).collect();
                    (!values.is_empty()).then(|| values.join(&multi.separator))
                }
                _ if next() % 10 == 0 => None,
                _ => Some(one(&mut next)),
            };
            column.push(cell.as_deref());
        }
        batch.columns.insert(feature_column(feature).to_string(), Column::Utf8(column));
    }
    for set in length_sets(spec) {
        for (name, cells) in random_group(&set, rows, &mut next) {
            batch.columns.insert(name, Column::Utf8(cells.iter().map(Option::as_deref).collect()));
        }
    }
    batch
}

/// The group's features, then the sequence groups' query features not among them (one column each, as in
/// `required_columns`).
fn plain_features(spec: &ModelSpec) -> Vec<&Feature> {
    let mut features: Vec<&Feature> = spec.features.iter().collect();
    for query in spec.sequence_groups.iter().flat_map(|g| &g.query) {
        if !features.iter().any(|f| f.name == query.name) {
            features.push(query);
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, raw_inputs, EncodeOptions};

    fn spec() -> ModelSpec {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs/all_feature_kinds.config");
        plec_config::load_file(path).unwrap_or_else(|e| panic!("{e}")).spec
    }

    #[test]
    fn edge_cases_are_valid_input_for_both_paths() {
        let spec = spec();
        let batch = edge_case_batch(&spec, 3);
        assert!(batch.num_rows >= 8, "every boundary of `price` and the OOV cases need rows");
        let encoded = encode(&spec, &batch, &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(encoded.num_rows, batch.num_rows, "no row may be rejected");
        let raw = raw_inputs(&spec.signature(), &batch).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(raw.len(), spec.signature().inputs.len());
    }

    #[test]
    fn boundaries_are_hit_exactly_and_multi_values_include_empty_and_long() {
        let spec = spec();
        let batch = edge_case_batch(&spec, 1);
        let cells = |name: &str| -> Vec<Option<String>> {
            let column = batch.column(name).unwrap_or_else(|e| panic!("{e}"));
            (0..batch.num_rows).map(|i| column.cell(i).text().map(|t| t.into_owned())).collect()
        };
        let price = cells("price");
        for boundary in ["1", "2.5", "10"] {
            assert!(price.contains(&Some(boundary.to_string())), "{boundary} missing from {price:?}");
        }
        let tags = cells("tags");
        assert!(tags.contains(&None));
        let longest = tags.iter().flatten().map(|t| t.split('|').count()).max().unwrap_or(0);
        assert!(longest >= 8, "over-long list expected, got {longest} values");
        assert!(cells("city").contains(&Some("__plec_out_of_vocabulary__".into())));
    }
}
