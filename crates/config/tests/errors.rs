//! Error output for bad configs: each names file:line:col or a field path, and says what was expected.

const BASE: &str = r#"train_input_path: "train.csv"
eval_input_path: "eval.csv"
model_dir: "model"
train_config {
  sparse_optimizer { adagrad_optimizer { lr: 0.01 } }
  dense_optimizer { adam_optimizer { lr: 0.001 } }
}
data_config { batch_size: 8 dataset_type: CsvDataset label_fields: ["clk", "buy"] }
feature_configs { id_feature { feature_name: "user" expression: "user:user" num_buckets: 10 embedding_dim: 4 } }
feature_configs { raw_feature { feature_name: "price" expression: "item:price" boundaries: [1.0, 2.0] embedding_dim: 4 } }
model_config {
  feature_groups { group_name: "all" feature_names: ["user", "price"] group_type: DEEP }
  ple {
    extraction_networks {
      network_name: "layer1"
      expert_num_per_task: 1
      share_num: 1
      task_expert_net { hidden_units: [8, 4] }
      share_expert_net { hidden_units: [8, 4] }
    }
    task_towers { tower_name: "ctr" label_name: "clk" losses { binary_cross_entropy {} } metrics { auc {} } }
    task_towers { tower_name: "cvr" label_name: "buy" losses { binary_cross_entropy {} } }
  }
}
"#;

/// The error `plec check` would print for BASE with `from` replaced by `to`.
fn error_for(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test bug: `{from}` not in BASE");
    let text = BASE.replacen(from, to, 1);
    match plec_config::load_str(&text, "bad.config") {
        Ok(_) => panic!("expected an error after replacing `{from}` with `{to}`"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn base_is_valid() {
    let loaded = plec_config::load_str(BASE, "base.config").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.spec.towers.len(), 2);
}

#[test]
fn bad_config_errors() {
    let cases: &[(&str, &str, &str)] = &[
        ("typo_in_field", "feature_name: \"price\"", "feature_nme: \"price\""),
        ("wrong_type", "embedding_dim: 4 } }\nfeature_configs { raw", "embedding_dim: \"four\" } }\nfeature_configs { raw"),
        ("list_missing_comma", "[8, 4] }\n      share", "[8 4] }\n      share"),
        ("list_unclosed", "boundaries: [1.0, 2.0]", "boundaries: [1.0, 2.0"),
        ("list_on_singular", "num_buckets: 10", "num_buckets: [10]"),
        ("negative_unsigned", "num_buckets: 10", "num_buckets: -10"),
        ("missing_required", "network_name: \"layer1\"\n", ""),
        ("unknown_enum", "group_type: DEEP", "group_type: DEPE"),
        ("mismatched_widths", "share_expert_net { hidden_units: [8, 4] }", "share_expert_net { hidden_units: [8, 6] }"),
        ("unsupported_feature_option", "num_buckets: 10 embedding_dim: 4", "num_buckets: 10 embedding_dim: 4 zch { zch_size: 100 }"),
        (
            "unsupported_feature_kind",
            "feature_configs { raw_feature",
            "feature_configs { combo_feature { feature_name: \"price\" expression: [\"a\", \"b\"] hash_bucket_size: 5 } }\nfeature_configs { raw_feature { feature_name: \"unused_price\" expression: \"x\" } }\n#",
        ),
        ("sequence_group", "group_type: DEEP", "group_type: SEQUENCE"),
        ("other_model_kind", "ple {", "dc2vr {"),
        ("unknown_group_feature", "feature_names: [\"user\", \"price\"]", "feature_names: [\"user\", \"prcie\"]"),
        ("empty_group", "feature_names: [\"user\", \"price\"]", "feature_names: []"),
        ("label_not_in_label_fields", "label_name: \"buy\"", "label_name: \"purchase\""),
        ("indicator_not_a_label", "label_name: \"buy\"", "label_name: \"buy\" task_space_indicator_label: \"click\""),
        ("loss_num_class_mismatch", "tower_name: \"cvr\"", "tower_name: \"cvr\" num_class: 3"),
        ("softmax_needs_classes", "label_name: \"buy\" losses { binary_cross_entropy {} }", "label_name: \"buy\" losses { softmax_cross_entropy {} }"),
        ("duplicate_feature", "feature_name: \"price\"", "feature_name: \"user\""),
        ("bn_and_ln", "task_expert_net { hidden_units: [8, 4] }", "task_expert_net { hidden_units: [8, 4] use_bn: true use_ln: true }"),
        ("unknown_activation", "task_expert_net { hidden_units: [8, 4] }", "task_expert_net { hidden_units: [8, 4] activation: \"nn.Mish\" }"),
        ("boundaries_not_increasing", "boundaries: [1.0, 2.0]", "boundaries: [2.0, 1.0]"),
        ("two_transforms", "num_buckets: 10", "num_buckets: 10 hash_bucket_size: 5"),
        ("reserved_tower_name", "tower_name: \"cvr\"", "tower_name: \"shared\""),
        ("duplicate_singular_field", "batch_size: 8", "batch_size: 8 batch_size: 16"),
        ("unsupported_optimizer", "adam_optimizer { lr: 0.001 }", "rmsprop_optimizer { lr: 0.001 }"),
        ("several_errors_at_once", "label_name: \"clk\"", "label_name: \"click\" num_class: 0"),
    ];
    for (name, from, to) in cases {
        insta::assert_snapshot!(*name, error_for(from, to));
    }
}

/// Under fg_mode FG_DAG the expression names the input column: it must be there, well formed, and (in plec) name
/// the feature's own column. Under FG_NONE it is not needed at all.
#[test]
fn expressions_under_fg_modes() {
    let dag = BASE.replacen("batch_size: 8", "batch_size: 8 fg_mode: FG_DAG", 1);
    let error = |from: &str, to: &str| -> String {
        assert!(dag.contains(from), "test bug: `{from}` not in BASE");
        match plec_config::load_str(&dag.replacen(from, to, 1), "bad.config") {
            Ok(_) => panic!("expected an error after replacing `{from}` with `{to}`"),
            Err(e) => e.to_string(),
        }
    };
    assert!(plec_config::load_str(&dag, "dag.config").is_ok());
    insta::assert_snapshot!(error("expression: \"user:user\" ", ""), @r"
    invalid config (1 error):
      feature_configs[0].id_feature.expression: missing field `expression`: under fg_mode FG_DAG it names the input `user` reads (e.g. `user:user`)
    ");
    insta::assert_snapshot!(error("expression: \"item:price\"", "expression: \"item:item_price\""), @r"
    invalid config (1 error):
      feature_configs[1].raw_feature.expression: not supported yet: `price` reads the input `item_price` (expression `item:item_price`); plec reads each feature from the input named like the feature
    ");
    insta::assert_snapshot!(error("expression: \"user:user\"", "expression: \"person:user\""), @r"
    invalid config (1 error):
      feature_configs[0].id_feature.expression: expected `side:name` with side one of user, item, context, feature, const, found `person:user`
    ");
    // FG_NONE (the default): no expression needed, and the check prints which column rule is in force.
    let none = BASE.replacen("expression: \"user:user\" ", "", 1).replacen("expression: \"item:price\" ", "", 1);
    let loaded = plec_config::load_str(&none, "none.config").unwrap_or_else(|e| panic!("{e}"));
    let summary = plec_config::summary::Summary::new(&loaded).to_string();
    assert!(summary.contains("input columns (fg_mode FG_NONE): named by each feature's feature_name"), "{summary}");
}
