//! Edge cases and random rows of sequence features (semantics section 2b), for the golden sets of
//! [`edge_case_batch`](crate::edge_case_batch) and [`random_batch`](crate::random_batch). The features of one
//! group get cells of equal length in every row, as valid input requires; groups that share a sequence column are
//! generated together, so every group they form stays equal in length.

use plec_spec::{ModelSpec, SequenceEncoding, SequenceFeature, Transform};

/// The sequence features of the spec in sets whose lengths must agree: the features of one group, merged with every
/// other group sharing a column with it (each feature once, in order of first appearance).
pub(crate) fn length_sets(spec: &ModelSpec) -> Vec<Vec<&SequenceFeature>> {
    let mut sets: Vec<Vec<&SequenceFeature>> = Vec::new();
    for group in &spec.sequence_groups {
        let mut merged: Vec<&SequenceFeature> = group.sequence.iter().collect();
        // Absorb every earlier set sharing a column, keeping the earlier order first.
        let mut i = 0;
        while i < sets.len() {
            if sets[i].iter().any(|f| merged.iter().any(|g| g.name == f.name)) {
                let mut earlier = sets.remove(i);
                for feature in merged {
                    if !earlier.iter().any(|f| f.name == feature.name) {
                        earlier.push(feature);
                    }
                }
                merged = earlier;
                i = 0;
            } else {
                i += 1;
            }
        }
        sets.push(merged);
    }
    sets
}

/// Positions of a feature: `valid` ones (with a row, ids in range) and `unknown` ones (out of vocabulary, unknown
/// keys, NaN for boundaries: valid input without a row, or row 1 for vocab_list).
struct Positions {
    valid: Vec<String>,
    unknown: Vec<String>,
}

fn positions(feature: &SequenceFeature) -> Positions {
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (valid, unknown) = match &feature.encoding {
        SequenceEncoding::Dense { .. } => (owned(&["0", "-1.5", "2", "1e6", "0.001", "-3e-4"]), Vec::new()),
        SequenceEncoding::Embedding { transform, .. } => match transform {
            Transform::NumBuckets(n) | Transform::FgEncoded(n) => {
                let last = n.saturating_sub(1);
                ([0, last, last / 2, 1.min(last)].iter().map(u64::to_string).collect(), Vec::new())
            }
            Transform::HashBucket(_) => (
                owned(&["0", "123456", "-5", "hello", "430548_1007", "ünïcode", " spaced "]),
                owned(&["__plec_never_seen__", "x"]),
            ),
            Transform::VocabList(vocab) => (vocab.clone(), owned(&["__plec_out_of_vocabulary__", "__plec_oov_2__"])),
            Transform::VocabDict(map) => {
                (map.iter().map(|(k, _)| k.clone()).collect(), owned(&["__plec_unknown_key__", "__plec_unknown_2__"]))
            }
            Transform::Boundaries(b) => {
                let mut values: Vec<String> = b.iter().map(|x| x.to_string()).collect();
                if let (Some(first), Some(last)) = (b.first(), b.last()) {
                    values.extend([first - 1.0, last + 1.0, (first + last) / 2.0].iter().map(|x| x.to_string()));
                }
                values.push("-1e9".into());
                (values, owned(&["NaN"]))
            }
        },
    };
    // A value holding the delimiter would split into other positions.
    let usable = |values: Vec<String>| -> Vec<String> {
        values.into_iter().filter(|v| !v.is_empty() && !v.contains(&feature.delimiter)).collect()
    };
    let valid = usable(valid);
    let unknown = usable(unknown);
    // Ids and dense numbers have no unknown value that is valid input: they repeat valid ones instead.
    let unknown = if unknown.is_empty() { valid.clone() } else { unknown };
    Positions { valid, unknown }
}

/// One row's positions of one feature.
#[derive(Clone, Copy)]
enum Shape {
    /// A missing cell.
    Empty,
    /// `len` valid positions, starting at valid value `start`.
    Valid { len: usize, start: usize },
    /// A valid position, an empty one and a valid one (`1||3`).
    Holes,
    /// `len` positions with an empty text each (only delimiters).
    AllEmpty(usize),
    /// `len` unknown positions.
    Unknown(usize),
}

fn cell(feature: &SequenceFeature, values: &Positions, shape: Shape) -> Option<String> {
    let pick = |list: &[String], i: usize| list.get(i % list.len().max(1)).cloned().unwrap_or_default();
    let parts: Vec<String> = match shape {
        Shape::Empty => return None,
        Shape::Valid { len, start } => (0..len).map(|i| pick(&values.valid, start + i)).collect(),
        Shape::Holes => vec![pick(&values.valid, 0), String::new(), pick(&values.valid, 1)],
        Shape::AllEmpty(len) => vec![String::new(); len],
        Shape::Unknown(len) => (0..len).map(|i| pick(&values.unknown, i)).collect(),
    };
    Some(parts.join(&feature.delimiter))
}

/// Per sequence feature of one length set ([`length_sets`]): its column and edge-case cells, the same number for
/// every feature.
pub(crate) fn group_cases(features: &[&SequenceFeature]) -> Vec<(String, Vec<Option<String>>)> {
    // Groups keep one `max_length` (section 10); 0 keeps all, so "exactly" and "over-long" pick lengths of their own.
    let max_length = features.iter().map(|s| s.max_length).max().unwrap_or(0);
    let exact = if max_length == 0 { 5 } else { max_length };
    let shapes = [
        Shape::Empty,
        Shape::Valid { len: 1, start: 0 },
        Shape::Valid { len: exact, start: 1 },
        // Over-long: the positions past `max_length` must be dropped, the first ones kept.
        Shape::Valid { len: exact + 3, start: 2 },
        Shape::Holes,
        Shape::AllEmpty(2),
        Shape::Unknown(3),
        Shape::Valid { len: 2, start: 3 },
    ];
    features
        .iter()
        .map(|feature| {
            let values = positions(feature);
            (feature.name.clone(), shapes.iter().map(|&shape| cell(feature, &values, shape)).collect())
        })
        .collect()
}

/// Per sequence feature of one length set ([`length_sets`]): `rows` random cells of valid positions, with lengths
/// from 0 to 1.2 times `max_length` (to 10 when it keeps all), some unknown positions among them.
pub(crate) fn random_group(
    features: &[&SequenceFeature],
    rows: usize,
    next: &mut dyn FnMut() -> u64,
) -> Vec<(String, Vec<Option<String>>)> {
    let max_length = features.iter().map(|s| s.max_length).max().unwrap_or(0);
    let longest = if max_length == 0 { 10 } else { max_length + max_length.div_ceil(5) };
    let values: Vec<Positions> = features.iter().map(|f| positions(f)).collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(rows); features.len()];
    for _ in 0..rows {
        let len = (next() % (longest as u64 + 1)) as usize;
        for ((feature, values), column) in features.iter().zip(&values).zip(&mut columns) {
            if len == 0 {
                column.push(None);
                continue;
            }
            let parts: Vec<String> = (0..len)
                .map(|_| {
                    let list = if next().is_multiple_of(8) { &values.unknown } else { &values.valid };
                    list.get((next() % list.len().max(1) as u64) as usize).cloned().unwrap_or_default()
                })
                .collect();
            column.push(Some(parts.join(&feature.delimiter)));
        }
    }
    features.iter().map(|s| s.name.clone()).zip(columns).collect()
}
