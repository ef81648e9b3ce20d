//! Bad sequence configs: each refusal names the field path and says what was expected (snapshotted), edited
//! from the valid `tests/configs/sequences.config`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn config() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs/sequences.config");
    std::fs::read_to_string(path).expect("read sequences.config")
}

/// The error for the config with each `(from, to)` edit applied once.
fn error_for(edits: &[(&str, &str)]) -> String {
    let mut text = config();
    for (from, to) in edits {
        assert!(text.contains(from), "test bug: `{from}` not in the config");
        text = text.replacen(from, to, 1);
    }
    match plec_config::load_str(&text, "sequences.config") {
        Ok(_) => panic!("expected an error after {edits:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_config_is_valid() {
    let loaded = plec_config::load_str(&config(), "sequences.config").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.spec.encoders.len(), 3);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn encoder_inputs() {
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "input_names_no_group",
            vec![(r#"simple_attention { input: "clicks""#, r#"simple_attention { input: "clickz""#)],
        ),
        ("input_left_out_with_two_groups", vec![(r#"pooling_encoder { input: "searches" "#, "pooling_encoder { ")]),
        (
            "group_without_encoder",
            vec![(r#"sequence_encoders { pooling_encoder { input: "searches" pooling_type: "mean" } }"#, "")],
        ),
        (
            "unsupported_encoder",
            vec![(
                r#"simple_attention { input: "clicks" max_seq_length: 5 }"#,
                r#"self_attention_encoder { input: "clicks" }"#,
            )],
        ),
        ("bad_pooling_type", vec![(r#"pooling_type: "mean""#, r#"pooling_type: "max""#)]),
    ];
    for (name, edits) in cases {
        insta::assert_snapshot!(format!("encoder_inputs_{name}"), error_for(&edits));
    }
}

#[test]
fn widths_and_features() {
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        // The query (item_id 4 + cate 3 + price 1 + user_id 4) outgrows the sequence (8): DIN and simple attention.
        (
            "query_wider_than_sequence",
            vec![(
                r#"feature_names: ["item_id", "cate", "price", "click_seq"#,
                r#"feature_names: ["item_id", "cate", "price", "user_id", "click_seq"#,
            )],
        ),
        (
            "sequence_in_the_deep_group",
            vec![(
                r#"feature_names: ["user_id", "item_id", "cate", "price"]"#,
                r#"feature_names: ["user_id", "item_id", "cate", "price", "query_words"]"#,
            )],
        ),
        ("group_without_sequence", vec![(r#"feature_names: ["query_words"]"#, r#"feature_names: ["user_id"]"#)]),
        (
            "multi_valued_positions",
            vec![(
                r#"vocab_list: ["shoe", "bag", "hat", "coat"]"#,
                r#"vocab_list: ["shoe", "bag", "hat", "coat"] value_dim: 0"#,
            )],
        ),
        (
            "default_value_on_sequence_ids",
            vec![(
                r#"vocab_list: ["shoe", "bag", "hat", "coat"]"#,
                r#"vocab_list: ["shoe", "bag", "hat", "coat"] default_value: "bag""#,
            )],
        ),
        ("unknown_sequence_feature", vec![(r#""click_seq__dwell"]"#, r#""click_seq__dwel"]"#)]),
        ("empty_delimiter", vec![(r#"sequence_delim: ";""#, r#"sequence_delim: """#)]),
        ("unknown_field", vec![(r#"sequence_length: 6"#, r#"sequence_length: 6 sequence_fields: ["x"]"#)]),
    ];
    for (name, edits) in cases {
        insta::assert_snapshot!(format!("widths_and_features_{name}"), error_for(&edits));
    }
}
