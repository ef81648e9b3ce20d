//! The golden-set generators on sequence features: every edge case and random row is valid input for both
//! paths, and the edge cases hold every shape of sequence section 2b names.

use crate::{check_raw, edge_case_batch, encode, random_batch, raw_inputs, EncodeOptions, SequenceValues};
use plec_spec::testing::{
    build_with_sequences, catalog, id, seq_bounds, seq_dense, seq_dict, seq_group, seq_hash, seq_id, seq_vocab, tower,
    vocab, Head,
};
use plec_spec::ModelSpec;

/// Every kind of sequence feature; "b" keeps every position and uses another delimiter.
fn specs() -> Vec<ModelSpec> {
    let every_kind = build_with_sequences(
        &[id("uid", 10, 4)],
        &[
            seq_group(
                "a",
                vec![id("uid", 10, 4), vocab("shop", &["s1", "s2"], 2)],
                vec![
                    seq_id("a__item", 20, 4).max_length(4),
                    seq_vocab("a__shop", &["s1", "s2"], 2).max_length(4),
                    seq_dense("a__price").max_length(4),
                ],
            ),
            seq_group(
                "b",
                vec![],
                vec![
                    seq_bounds("b__price", &[1.0, 5.0], 2).max_length(0).delimiter(";"),
                    seq_dict("b__brand", &[("nike", 3), ("puma", 1)], 2).max_length(0).delimiter(";"),
                    seq_hash("b__tag", 13, 2).max_length(0).delimiter(";"),
                ],
            ),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary)],
    );
    // `c__item` is in both groups: every row must give it, `c__shop` and `d__tag` one length.
    let shared = build_with_sequences(
        &[id("uid", 10, 4)],
        &[
            seq_group(
                "c",
                vec![id("uid", 10, 4)],
                vec![seq_id("c__item", 20, 4).max_length(4), seq_vocab("c__shop", &["s1", "s2"], 2).max_length(4)],
            ),
            seq_group(
                "d",
                vec![id("uid", 10, 4)],
                vec![seq_hash("d__tag", 13, 2).max_length(4), seq_id("c__item", 20, 4).max_length(4)],
            ),
        ],
        &[],
        &[tower("ctr", &[], Head::Binary)],
    );
    let sequences = catalog().into_iter().find(|(name, _)| *name == "sequences").map(|(_, spec)| spec);
    vec![every_kind, sequences.expect("the catalog has a sequences spec"), shared]
}

#[test]
fn groups_sharing_a_sequence_column_get_one_length_per_row() {
    let spec = &specs()[2];
    for batch in [edge_case_batch(spec, 3), random_batch(spec, 300, 11)] {
        let lengths = |name: &str| -> Vec<usize> {
            let column = batch.column(name).unwrap_or_else(|e| panic!("{e}"));
            (0..batch.num_rows).map(|i| column.cell(i).text().map_or(0, |t| t.split('|').count())).collect()
        };
        let items = lengths("c__item");
        assert_eq!(lengths("c__shop"), items);
        assert_eq!(lengths("d__tag"), items);
        assert!(items.iter().any(|&n| n > 1), "{items:?}");
    }
}

#[test]
fn edge_cases_and_random_rows_of_sequences_are_valid_input() {
    for spec in specs() {
        for batch in [edge_case_batch(&spec, 3), random_batch(&spec, 300, 7)] {
            let encoded = encode(&spec, &batch, &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(encoded.num_rows, batch.num_rows, "no row may be rejected");
            let raw = raw_inputs(&spec.signature(), &batch).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(check_raw(&spec.signature(), &raw), []);
        }
    }
}

#[test]
fn edge_cases_hold_every_sequence_shape() {
    let spec = &specs()[0];
    let batch = edge_case_batch(spec, 1);
    let cells = |name: &str| -> Vec<Option<String>> {
        let column = batch.column(name).unwrap_or_else(|e| panic!("{e}"));
        (0..batch.num_rows).map(|i| column.cell(i).text().map(|t| t.into_owned())).collect()
    };
    let counts = |name: &str, delimiter: &str| -> Vec<usize> {
        cells(name).iter().map(|c| c.as_ref().map_or(0, |t| t.split(delimiter).count())).collect()
    };
    let items = counts("a__item", "|");
    // Empty, one position, exactly max_length (4), over-long.
    for length in [0, 1, 4] {
        assert!(items.contains(&length), "no sequence of {length} in {items:?}");
    }
    assert!(items.iter().any(|&n| n > 4), "no over-long sequence in {items:?}");
    assert!(cells("a__item").iter().flatten().any(|t| t.contains("||")), "no empty position");
    // The features of a group have equal lengths in every row.
    assert_eq!(counts("a__shop", "|"), items);
    assert_eq!(counts("a__price", "|"), items);
    assert_eq!(counts("b__brand", ";"), counts("b__price", ";"));
    let all = |name: &str| cells(name).into_iter().flatten().collect::<Vec<_>>().join("|");
    assert!(all("a__shop").contains("__plec_out_of_vocabulary__"));
    assert!(all("b__brand").contains("__plec_unknown_key__"));
    assert!(all("b__price").contains("NaN"));
    // The over-long row keeps its first 4 positions only.
    let encoded = encode(spec, &batch, &EncodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let lengths = &encoded.sequence_groups[0].sequence[0].lengths;
    assert_eq!(lengths.iter().copied().max(), Some(4));
    let unknown_keys = match &encoded.sequence_groups[1].sequence[1].values {
        SequenceValues::Rows { rows, .. } => rows.iter().filter(|&&r| r == -1).count(),
        other => panic!("{other:?}"),
    };
    assert!(unknown_keys >= 3, "unknown keys and empty positions have no row");
}
