//! `fg_mode: FG_NONE` reads feature generation's output, as TorchEasyRec's `_parse_fg_encoded_*_feature_impl` do:
//! every sparse feature's value is its table row (the transform becomes `fg_encoded` with the table's rows),
//! multi-values are joined by `fg_encoded_multival_sep`, a missing value takes `fg_encoded_default_value`, and a
//! sequence keeps every position. FG_DAG keeps the config's transforms.

use plec_spec::{Encoding, FgMode, ModelSpec, MultiValue, SequenceEncoding, Transform};

const CONFIG: &str = r#"train_input_path: "train.csv"
eval_input_path: "eval.csv"
model_dir: "model"
train_config {
  sparse_optimizer { adagrad_optimizer { lr: 0.01 } constant_learning_rate {} }
  dense_optimizer { adam_optimizer { lr: 0.001 } constant_learning_rate {} }
}
data_config { batch_size: 8 dataset_type: CsvDataset label_fields: ["clk"] }
feature_configs { id_feature { feature_name: "user" expression: "user:user" num_buckets: 10 embedding_dim: 4 } }
feature_configs { id_feature { feature_name: "pid" expression: "user:pid" hash_bucket_size: 7 embedding_dim: 2 fg_encoded_default_value: "6" } }
feature_configs { id_feature { feature_name: "city" expression: "user:city" vocab_list: ["a", "b", "c"] embedding_dim: 2 } }
feature_configs { id_feature { feature_name: "brand" expression: "item:brand" embedding_dim: 2 vocab_dict { key: "x" value: 4 } } }
feature_configs { id_feature { feature_name: "tags" expression: "item:tags" hash_bucket_size: 11 embedding_dim: 2 value_dim: 0 separator: "|" } }
feature_configs { id_feature { feature_name: "shops" expression: "user:shops" hash_bucket_size: 9 embedding_dim: 2 weighted: true } }
feature_configs { raw_feature { feature_name: "price" expression: "item:price" boundaries: [1.0, 2.0, 3.0] embedding_dim: 2 } }
feature_configs { raw_feature { feature_name: "ctr" expression: "item:ctr" fg_encoded_default_value: "0.25" } }
feature_configs {
  sequence_id_feature {
    feature_name: "words" expression: "user:words" sequence_length: 3 sequence_delim: ";"
    vocab_list: ["shoe", "bag"] embedding_dim: 2
  }
}
model_config {
  feature_groups {
    group_name: "all"
    feature_names: ["user", "pid", "city", "brand", "tags", "shops", "price", "ctr"]
    group_type: DEEP
    sequence_groups { group_name: "searches" feature_names: ["words"] }
    sequence_encoders { pooling_encoder { input: "searches" pooling_type: "sum" } }
  }
  ple {
    extraction_networks {
      network_name: "layer1"
      expert_num_per_task: 1
      share_num: 1
      task_expert_net { hidden_units: [4] }
      share_expert_net { hidden_units: [4] }
    }
    task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } }
  }
}
"#;

fn load(text: &str) -> ModelSpec {
    plec_config::load_str(text, "fg.config").unwrap_or_else(|e| panic!("{e}")).spec
}

fn error(text: &str) -> String {
    match plec_config::load_str(text, "fg.config") {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// (transform, multi, default_value) of feature `name`.
fn embedding(spec: &ModelSpec, name: &str) -> (Transform, Option<MultiValue>, Option<String>) {
    let feature = spec.features.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no feature {name}"));
    match &feature.encoding {
        Encoding::Embedding { transform, multi, default_value, .. } => {
            (transform.clone(), multi.clone(), default_value.clone())
        }
        Encoding::Dense { .. } => panic!("{name} is dense"),
    }
}

#[test]
fn fg_none_reads_rows_of_the_tables_the_transforms_would_index() {
    let spec = load(CONFIG);
    assert_eq!(spec.data.fg_mode, FgMode::None);
    // Table sizes from the config by hand: num_buckets 10; hash 7; 3 words + default + OOV; max key row 4 + 1;
    // 3 boundaries + 1.
    assert_eq!(embedding(&spec, "user").0, Transform::NumBuckets(10));
    assert_eq!(embedding(&spec, "pid"), (Transform::FgEncoded(7), None, Some("6".to_string())));
    assert_eq!(embedding(&spec, "city"), (Transform::FgEncoded(5), None, None));
    assert_eq!(embedding(&spec, "brand").0, Transform::FgEncoded(5));
    assert_eq!(embedding(&spec, "price"), (Transform::FgEncoded(4), None, None));
    // Multi-values and weighted pairs are joined by fg_encoded_multival_sep ("\x03"), not `separator`.
    let tags = embedding(&spec, "tags");
    assert_eq!((tags.0, tags.1.map(|m| m.separator)), (Transform::FgEncoded(11), Some("\x03".to_string())));
    let shops = embedding(&spec, "shops").1.expect("weighted is multi-valued");
    assert!(shops.weighted);
    assert_eq!(shops.separator, "\x03");
    let ctr = spec.features.iter().find(|f| f.name == "ctr").expect("ctr");
    assert_eq!(ctr.encoding, Encoding::Dense { value_dim: 1, default_value: 0.25 });
    // A sequence keeps every position and reads rows too.
    let words = &spec.sequence_groups[0].sequence[0];
    assert_eq!(words.max_length, 0);
    assert!(matches!(words.encoding, SequenceEncoding::Embedding { transform: Transform::FgEncoded(4), .. }));
    // Each table keeps the size TorchEasyRec gives it.
    let rows: Vec<(&str, u64)> = spec.tables.iter().map(|t| (t.name.as_str(), t.rows)).collect();
    assert!(rows.contains(&("city_emb", 5)) && rows.contains(&("price_emb", 4)), "{rows:?}");
}

#[test]
fn fg_dag_keeps_the_transforms_and_a_custom_separator_is_read() {
    let dag = load(&CONFIG.replacen("label_fields", "fg_mode: FG_DAG label_fields", 1));
    assert_eq!(embedding(&dag, "pid").0, Transform::HashBucket(7));
    assert_eq!(embedding(&dag, "tags").1.map(|m| m.separator), Some("|".to_string()));
    assert_eq!(dag.sequence_groups[0].sequence[0].max_length, 3);
    let custom = load(&CONFIG.replacen("label_fields", "fg_encoded_multival_sep: \",\" label_fields", 1));
    assert_eq!(embedding(&custom, "tags").1.map(|m| m.separator), Some(",".to_string()));
}

#[test]
fn fg_encoded_default_values_are_checked_against_the_table() {
    let out_of_range = error(&CONFIG.replacen("fg_encoded_default_value: \"6\"", "fg_encoded_default_value: \"7\"", 1));
    insta::assert_snapshot!(out_of_range, @r"
    invalid config (1 error):
      feature_configs[1].id_feature.fg_encoded_default_value: row 7 is outside the table's 0..7
    ");
    let several =
        error(&CONFIG.replacen("fg_encoded_default_value: \"6\"", "fg_encoded_default_value: \"1\\0032\"", 1));
    insta::assert_snapshot!(several, @r"
    invalid config (1 error):
      feature_configs[1].id_feature.fg_encoded_default_value: not supported yet: a default of several values (joined by fg_encoded_multival_sep); give one value
    ");
    let on_sequence =
        error(&CONFIG.replacen("sequence_delim: \";\"", "sequence_delim: \";\" fg_encoded_default_value: \"1\"", 1));
    insta::assert_snapshot!(on_sequence, @r"
    invalid config (1 error):
      feature_configs[8].sequence_id_feature.fg_encoded_default_value: not supported yet: fg_encoded_default_value on a sequence feature
    ");
}

#[test]
fn check_warns_where_fg_none_ignores_default_value_or_tzrec_lacks_a_schedule() {
    let text = CONFIG.replacen("num_buckets: 10", "num_buckets: 10 default_value: \"3\"", 1).replacen(
        " constant_learning_rate {}",
        "",
        1,
    );
    let loaded = plec_config::load_str(&text, "fg.config").unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(warnings.join("\n"), @r"
    train_config.sparse_optimizer: no learning-rate schedule: plec trains at a constant rate, but TorchEasyRec's create_scheduler fails on this config; add `constant_learning_rate {}`
    feature_configs[0].id_feature.default_value: has no effect under fg_mode FG_NONE: TorchEasyRec (and plec) fill a missing value from fg_encoded_default_value
    ");
    let summary = plec_config::summary::Summary::new(&loaded).to_string();
    assert!(summary.contains("input values: FG-encoded values"), "{summary}");
    assert!(summary.contains("fg-encoded row < 7"), "{summary}");
}
