use super::*;
use crate::proto::tzrec::{DataConfig, DatasetType, EasyRecConfig, IdFeature, RawFeature};

fn parse_ok<M: MessageFull>(text: &str) -> M {
    match parse::<M>(text, "t.config") {
        Ok(m) => m,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn parse_err<M: MessageFull + std::fmt::Debug>(text: &str) -> String {
    match parse::<M>(text, "t.config") {
        Ok(m) => panic!("expected an error, parsed {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn example_config_parses_unchanged() {
    let text = include_str!("../../../../examples/ple_taobao.config");
    let config: EasyRecConfig = parse_ok(text);
    assert_eq!(config.feature_configs.len(), 16);
    let price = config.feature_configs[14].raw_feature();
    assert_eq!(price.feature_name(), "price");
    assert_eq!(price.boundaries.len(), 98);
    assert_eq!(price.boundaries[0], 1.1f32);
    assert_eq!(price.boundaries[97], 8720.0);
    let ple = config.model_config.ple();
    assert_eq!(ple.extraction_networks.len(), 3);
    assert_eq!(ple.extraction_networks[0].task_expert_net.hidden_units, vec![1024, 512, 256]);
    assert_eq!(ple.task_towers[1].metrics[0].auc().thresholds(), 1000);
    assert_eq!(config.data_config.dataset_type(), DatasetType::OdpsDataset);
    assert_eq!(config.data_config.label_fields, vec!["clk", "buy"]);
}

#[test]
fn lexical_forms() {
    let f: RawFeature = parse_ok(
        r#"feature_name: 'a' "b" # comment
           expression: "\x1d\t\101\u00e9" , boundaries: [-1.5, 2e3, +3, .5, inf, -inf, 1.5f] ; boundaries: 7
           value_dim: 0x10"#,
    );
    assert_eq!(f.feature_name(), "ab");
    assert_eq!(f.expression(), "\u{1d}\tA\u{e9}");
    assert_eq!(f.boundaries, vec![-1.5, 2000.0, 3.0, 0.5, f32::INFINITY, f32::NEG_INFINITY, 1.5, 7.0]);
    assert_eq!(f.value_dim(), 16);
}

#[test]
fn messages_with_angle_brackets_lists_and_maps() {
    let config: EasyRecConfig = parse_ok(
        r#"train_input_path: "a" eval_input_path: "b" model_dir: "c"
           feature_configs < id_feature: { feature_name: "x" expression: "u:x" embedding_dim: 4
              vocab_dict { key: "a" value: 3 } vocab_dict: [{key: "b", value: 5}] } >
           feature_configs: [ { raw_feature { feature_name: "p" expression: "i:p" } } ]"#,
    );
    assert_eq!(config.feature_configs.len(), 2);
    let id: &IdFeature = config.feature_configs[0].id_feature();
    assert_eq!(id.vocab_dict.get("a"), Some(&3));
    assert_eq!(id.vocab_dict.get("b"), Some(&5));
    assert_eq!(config.feature_configs[1].raw_feature().feature_name(), "p");
}

#[test]
fn enums_by_name_and_number() {
    let d: DataConfig = parse_ok("dataset_type: CsvDataset");
    assert_eq!(d.dataset_type(), DatasetType::CsvDataset);
    let d: DataConfig = parse_ok("dataset_type: 2");
    assert_eq!(d.dataset_type(), DatasetType::ParquetDataset);
}

#[test]
fn oneof_member_replaces_sibling_with_warning() {
    let (f, warnings) = parse_with_warnings::<crate::proto::tzrec::FeatureConfig>(
        r#"id_feature { feature_name: "a" expression: "e" embedding_dim: 4 }
           raw_feature { feature_name: "b" expression: "e" }"#,
        "t.config",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.has_raw_feature() && !f.has_id_feature());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].to_string().starts_with("t.config:2:12: `raw_feature` replaces `id_feature`"));
}

#[test]
fn errors_name_position_type_and_field() {
    insta::assert_snapshot!(parse_err::<RawFeature>("feature_nme: \"x\""), @"t.config:1:1: unknown field `feature_nme` in RawFeature; did you mean `feature_name`?");
    insta::assert_snapshot!(parse_err::<RawFeature>("feature_name: \"x\"\n  value_dim: -1"), @"t.config:2:14: expected an unsigned 32-bit integer for field `value_dim` of RawFeature, found `-1`");
    insta::assert_snapshot!(parse_err::<RawFeature>("boundaries: [1, 2,]"), @"t.config:1:19: expected a number for field `boundaries` of RawFeature, found `]`");
    insta::assert_snapshot!(parse_err::<RawFeature>("boundaries: [1 2]"), @"t.config:1:16: expected `,` or `]` in the list of `boundaries`, found `2`");
    insta::assert_snapshot!(parse_err::<RawFeature>("boundaries: [1, 2"), @"t.config:1:18: expected `,` or `]` in the list of `boundaries`, found end of file");
    insta::assert_snapshot!(parse_err::<RawFeature>("feature_name: [\"a\"]"), @"t.config:1:15: field `feature_name` of RawFeature is not repeated: a list is not allowed here");
    insta::assert_snapshot!(parse_err::<RawFeature>("feature_name: \"a\" feature_name: \"b\""), @"t.config:1:19: field `feature_name` of RawFeature is set twice (first at line 1); it is not repeated");
    insta::assert_snapshot!(parse_err::<DataConfig>("dataset_type: CsvDataSet"), @"t.config:1:15: unknown value `CsvDataSet` for enum DatasetType (field `dataset_type` of DataConfig); did you mean `CsvDataset`?; expected one of: OdpsDataset, ParquetDataset, CsvDataset, OdpsDatasetV1, KafkaDataset");
    insta::assert_snapshot!(parse_err::<RawFeature>("feature_name: \"abc"), @"t.config:1:15: unterminated string literal");
    insta::assert_snapshot!(parse_err::<RawFeature>("expression: \"\\q\""), @r#"t.config:1:14: invalid escape sequence: `\q`"#);
    insta::assert_snapshot!(parse_err::<EasyRecConfig>("model_config { dc2vr { } }"), @"t.config:1:16: this config describes a `dc2vr` model; plec compiles `ple`, `mmoe` and `dbmtl` models");
    insta::assert_snapshot!(parse_err::<EasyRecConfig>("data_config { batch_size: 3 "), @"t.config:1:29: end of file inside DataConfig `data_config`: missing `}`");
    insta::assert_snapshot!(parse_err::<DataConfig>("with_header: yes"), @"t.config:1:14: expected `true` or `false` for field `with_header` of DataConfig, found `yes`");
    insta::assert_snapshot!(parse_err::<DataConfig>("batch_size: 99999999999"), @"t.config:1:13: expected an unsigned 32-bit integer for field `batch_size` of DataConfig, found `99999999999`");
}

/// Only the fields plec needs are demanded (not the schema's `required` marks, which TorchEasyRec's own parser
/// does not enforce either): here no `expression`, `embedding_dim`, `eval_input_path`, `expert_num_per_task` or
/// `task_expert_net` is asked for.
#[test]
fn missing_required_fields_are_all_reported_with_paths() {
    let err = parse::<EasyRecConfig>(
        r#"train_input_path: "a" model_dir: "m"
           feature_configs { id_feature { num_buckets: 3 } }
           model_config { ple { extraction_networks { share_num: 1 } task_towers { } } }"#,
        "t.config",
    )
    .err()
    .map(|e| e.to_string());
    insta::assert_snapshot!(err.unwrap_or_default(), @r"
    invalid config (4 errors):
      feature_configs[0].id_feature.feature_name: missing field `feature_name` of IdFeature: it names the feature's input column, its default table and its place in groups
      model_config.ple.extraction_networks[0].network_name: missing field `network_name` of ExtractionNetwork: plec names the layer's parameters after it (`ple.<network_name>.*`)
      model_config.ple.task_towers[0].tower_name: missing field `tower_name` of TaskTower: it names the task's outputs (`probs_<tower_name>`) and parameters
      model_config.ple.task_towers[0].label_name: missing field `label_name` of TaskTower: it names the label column the task trains on
    ");
}

/// docs/config.md lists every field plec demands, so a user can find the rule without reading the code.
#[test]
fn every_required_field_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md")).expect("docs");
    for (message, field, _) in super::required::REQUIRED {
        let named = docs.contains(&format!("`{message}.{field}`"));
        assert!(named, "docs/config.md does not name `{message}.{field}`");
    }
}
