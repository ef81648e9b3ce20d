//! TorchEasyRec's own benchmark PLE configs (`tzrec/benchmark/configs/`, copied unchanged into
//! `tests/configs/torcheasyrec/`): what `plec check` makes of them.

use plec_spec::{EncoderKind, Encoding, FgMode, Loss, ModelKind, Pooling, Transform};

fn path(name: &str) -> String {
    format!("{}/../../tests/configs/torcheasyrec/{name}.config", env!("CARGO_MANIFEST_DIR"))
}

/// `taobao/ple.config` has no `expression` anywhere: with fg_mode FG_NONE (its default) TorchEasyRec reads each
/// feature from the column named by `feature_name`, and so does plec.
#[test]
fn taobao_ple_loads_as_written() {
    let loaded = plec_config::load_file(path("taobao_ple")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &loaded.spec;
    assert_eq!(spec.data.fg_mode, FgMode::None);
    assert_eq!(spec.features.len(), 16);
    assert!(spec
        .features
        .iter()
        .all(|f| matches!(&f.encoding, Encoding::Embedding { transform: Transform::NumBuckets(_), .. })));
    // Worked out by hand from the config: input 16 x 16 = 256; layer 1 has 5 experts of [1024, 512, 256]
    // (919,296 each), two task gates over 3 (771 each) and a shared gate over 5 (1,285); layer 2 has 5 experts of
    // [256, 128, 64] (106,944 each) and two task gates (771 each); each tower [256, 128, 64] on 64 plus its output
    // Linear is 57,857.
    let by_hand = 5 * 919_296 + 2 * 771 + 1_285 + 5 * 106_944 + 2 * 771 + 2 * 57_857;
    assert_eq!(spec.dense_param_count(), by_hand);
    assert_eq!(spec.input_width, 256);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// `taobao_ccp/ple.config` reads its nine `weighted: true` id features (hash buckets, default value_dim, default
/// pooling) as bags of `id:weight` pairs with a weighted sum.
#[test]
fn taobao_ccp_loads_with_its_weighted_ids() {
    let loaded = plec_config::load_file(path("taobao_ccp_ple")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &loaded.spec;
    assert_eq!(spec.data.fg_mode, FgMode::Dag);
    let weighted: Vec<&str> = spec.features.iter().filter(|f| f.is_weighted()).map(|f| f.name.as_str()).collect();
    assert_eq!(
        weighted,
        [
            "user_shop",
            "user_brand",
            "user_intent",
            "user_cate",
            "item_user_intentid",
            "cross_user_shop_item_shopid",
            "cross_user_brand_item_brandid",
            "cross_user_intent_item_user_intentid",
            "cross_user_cate_item_cateid",
        ]
    );
    for feature in spec.features.iter().filter(|f| f.is_weighted()) {
        let Encoding::Embedding { transform: Transform::HashBucket(_), multi: Some(multi), .. } = &feature.encoding
        else {
            panic!("{} is not a hashed bag: {:?}", feature.name, feature.encoding);
        };
        assert_eq!((multi.separator.as_str(), multi.pooling), ("\u{1d}", Pooling::Sum), "{}", feature.name);
    }
    // By hand from the config: 14 id features of dims 16 x 4 + 8 x 9 + 12 (= 148), 4 raw scores, and the
    // weighted ones 16 x 4 + 12 x 5 (= 124).
    assert_eq!(spec.input_width, 148 + 4 + 124);
    // Each weighted feature adds its weights input right after its ids.
    let signature = spec.signature();
    let shop = signature.inputs.iter().position(|i| i.name == "user_shop").expect("user_shop input");
    assert_eq!(signature.inputs[shop + 1].name, "user_shop__weight");
    assert_eq!(signature.inputs[shop + 1].weight_of.as_deref(), Some("user_shop"));
    assert_eq!(signature.inputs.len(), spec.features.len() + 9);
    assert_eq!(signature.columns().len(), spec.features.len());
}

/// `taobao/ple_has_sequence.config`: a `sequence_feature` of three sub-features read by a DIN encoder whose
/// `input` is left out (TorchEasyRec fills in the only sequence group).
#[test]
fn the_sequence_config_loads_with_its_din_encoder() {
    let loaded = plec_config::load_file(path("taobao_ple_has_sequence")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &loaded.spec;
    assert_eq!(spec.sequence_groups.len(), 1);
    let group = &spec.sequence_groups[0];
    assert_eq!(group.name, "click_50_seq");
    let query: Vec<&str> = group.query.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(query, ["adgroup_id", "cate_id", "brand"]);
    let sequence: Vec<&str> = group.sequence.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(sequence, ["click_50_seq__adgroup_id", "click_50_seq__cate_id", "click_50_seq__brand"]);
    // fg_mode FG_NONE: every position is kept, as TorchEasyRec's FG-encoded parser keeps it (sequence_length: 100
    // bounds feature generation only).
    assert!(group.sequence.iter().all(|f| f.delimiter == "|" && f.max_length == 0));
    assert_eq!((group.query_width, group.sequence_width), (48, 48));
    assert_eq!(spec.encoders.len(), 1);
    let EncoderKind::Din { mlp } = &spec.encoders[0].kind else { panic!("{:?}", spec.encoders[0].kind) };
    let units: Vec<usize> = mlp.layers.iter().map(|l| l.units).collect();
    assert_eq!((mlp.input_width, units), (4 * 48, vec![32, 8]));
    // The 16 features (16 x 16) then the DIN output (48), as TorchEasyRec's EmbeddingGroup concatenates them.
    assert_eq!(spec.encoders[0].offset, 256);
    assert_eq!(spec.input_width, 256 + 48);
    // Queries and sequences live in tzrec's sequence embedding collection: `adgroup_id_emb` twice, once per
    // collection, and the sub-features' own `click_50_seq__<name>_emb`.
    let names: Vec<String> =
        spec.params().iter().map(|p| p.name.clone()).filter(|n| n.contains("adgroup_id")).collect();
    assert_eq!(
        names,
        [
            "embedding.adgroup_id_emb.weight",
            "sequence_embedding.adgroup_id_emb.weight",
            "sequence_embedding.click_50_seq__adgroup_id_emb.weight",
        ]
    );
    // The DIN MLP 192 -> 32 -> 8 and its score Linear 8 -> 1 on top of the plain config's dense parameters.
    let plain = plec_config::load_file(path("taobao_ple")).unwrap_or_else(|e| panic!("{e}")).spec;
    let din = 192 * 32 + 32 + 32 * 8 + 8 + 8 + 1;
    let wider_first_layer = 48 * (5 * 1024 + 2 * 3 + 5);
    assert_eq!(spec.dense_param_count(), plain.dense_param_count() + din + wider_first_layer);
    let columns = spec.signature().columns();
    assert_eq!(columns.len(), 16 + 3);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// Weighted ids that plec cannot compute as TorchEasyRec does are refused, naming the field.
#[test]
fn weighted_ids_refuse_mean_pooling_and_default_values() {
    let text = std::fs::read_to_string(path("taobao_ccp_ple")).expect("read config");
    let broken = text.replacen(
        "weighted: true\n\t\texpression: \"user:user_shop\"",
        "weighted: true\n\t\texpression: \"user:user_shop\"\n pooling: \"mean\" default_value: \"7:1\"",
        1,
    );
    assert_ne!(broken, text, "the edit applies");
    let err = plec_config::load_str(&broken, "ccp.config").map(|_| ()).unwrap_err().to_string();
    insta::assert_snapshot!(err, @r"
    invalid config (2 errors):
      feature_configs[18].id_feature.pooling: a weighted id_feature pools by sum only (TorchEasyRec's EmbeddingBag takes per-sample weights only with sum)
      feature_configs[18].id_feature.default_value: not supported yet: default_value on a weighted id_feature (a missing value is an empty bag)
    ");
}

/// `examples/mmoe_taobao.config`: three experts [512, 256, 128] on the 256-wide group, a gate per task over them,
/// towers [256, 128, 64] on the experts' 128.
#[test]
fn mmoe_taobao_parameters_and_flops_by_hand() {
    let loaded = plec_config::load_file(path("examples_mmoe_taobao")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &loaded.spec;
    assert_eq!(spec.kind, ModelKind::Mmoe);
    // Expert: 256*512+512 + 512*256+256 + 256*128+128 = 295,808; gate 256*3+3 = 771; tower 128*256+256 +
    // 256*128+128 + 128*64+64 = 74,176 plus its head 65.
    assert_eq!(spec.dense_param_count(), 3 * 295_808 + 2 * 771 + 2 * (74_176 + 65));
    // Weights only, two FLOPs each: experts 294,912, gates 768, towers 73,728 + 64.
    assert_eq!(spec.flops_per_sample(), 2 * (3 * 294_912 + 2 * 768 + 2 * (73_728 + 64)));
    let names: Vec<String> = spec.params().iter().map(|p| p.name.clone()).filter(|n| n.starts_with("mmoe.")).collect();
    assert_eq!(names.len(), 3 * 6 + 2 * 2);
    assert!(names.contains(&"mmoe.expert_2.fc_2.weight".to_string()), "{names:?}");
    assert!(names.contains(&"mmoe.gate_cvr.bias".to_string()), "{names:?}");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// `examples/dbmtl_taobao.config`: bottom MLP [512], no MMoE, task MLPs [256, 128, 64], and `cvr`'s relation MLP
/// [64] reading its own 64 then `ctr`'s 64.
#[test]
fn dbmtl_taobao_parameters_and_flops_by_hand() {
    let loaded = plec_config::load_file(path("examples_dbmtl_taobao")).unwrap_or_else(|e| panic!("{e}"));
    let spec = &loaded.spec;
    assert_eq!(spec.kind, ModelKind::Dbmtl);
    assert!(spec.layers.is_empty());
    let relation = spec.towers[1].relation.as_ref().expect("cvr's relation");
    assert_eq!((relation.towers.clone(), relation.mlp.input_width), (vec![0], 128));
    // Bottom 256*512+512; each task MLP 512*256+256 + 256*128+128 + 128*64+64 = 172,480; relation 128*64+64;
    // heads 65 each.
    assert_eq!(spec.dense_param_count(), 131_584 + 2 * 172_480 + 8_256 + 2 * 65);
    assert_eq!(spec.flops_per_sample(), 2 * (131_072 + 2 * 172_032 + 8_192 + 2 * 64));
}

/// The other benchmark and example MMoE/DBMTL configs load as written, the two `jrc_loss` ones included.
#[test]
fn every_mmoe_and_dbmtl_config_loads_or_names_what_plec_lacks() {
    for name in [
        "taobao_mmoe",
        "taobao_mmoe_has_sequence",
        "taobao_dbmtl",
        "taobao_dbmtl_has_sequence",
        "taobao_ccp_mmoe",
        "taobao_ccp_dbmtl",
        "examples_dbmtl_taobao_seq",
        "taobao_dbmtl_jrc",
        "examples_dbmtl_taobao_jrc",
    ] {
        let loaded = plec_config::load_file(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!loaded.spec.kind.is_ple(), "{name}");
    }
}

/// The jrc configs' towers: 2 classes, `jrc_loss` with its session feature and the default alpha.
#[test]
fn jrc_loss_reads_its_session_feature_and_alpha() {
    let loaded = plec_config::load_file(path("taobao_dbmtl_jrc")).unwrap_or_else(|e| panic!("{e}"));
    for tower in &loaded.spec.towers {
        assert_eq!(tower.num_class, 2, "{}", tower.name);
        assert_eq!(tower.losses, [Loss::Jrc { alpha: 0.5, session_feature: "user_id".into() }], "{}", tower.name);
    }
}

/// `jrc_loss` on a one-class tower, and sessions from a feature the model does not read, are refused with the
/// field path and what was expected.
#[test]
fn jrc_loss_needs_two_classes_and_an_id_feature_of_the_model() {
    let text = std::fs::read_to_string(path("taobao_dbmtl_jrc")).expect("read config");
    let broken = text.replacen("num_class: 2", "num_class: 1", 1).replacen(
        "session_name: \"user_id\"",
        "session_name: \"session\" alpha: 0.3",
        1,
    );
    assert_ne!(broken, text, "the edit applies");
    let err = plec_config::load_str(&broken, "jrc.config").map(|_| ()).unwrap_err().to_string();
    insta::assert_snapshot!(err);
    // No session feature at all (the reader's required field), and, separately, an alpha that is not a number.
    let load_err = |edited: String| {
        assert_ne!(edited, text, "the edit applies");
        plec_config::load_str(&edited, "jrc.config").map(|_| ()).unwrap_err().to_string()
    };
    let err = load_err(text.replacen(
        "jrc_loss {\n                    session_name: \"user_id\"\n                }",
        "jrc_loss {}",
        1,
    ));
    assert!(
        err.contains("task_towers[0].losses[0].jrc_loss.session_name: missing field `session_name` of JRCLoss"),
        "{err}"
    );
    let err = load_err(text.replacen("session_name: \"user_id\"", "session_name: \"user_id\" alpha: nan", 1));
    assert!(err.contains("task_towers[0].losses[0].jrc_loss.alpha: alpha NaN is not a finite number"), "{err}");
}

/// A DBMTL `mask_net` and a relation to a later tower are refused with the field and the reason.
#[test]
fn dbmtl_mask_net_and_forward_relations_are_refused() {
    let text = std::fs::read_to_string(path("examples_dbmtl_taobao")).expect("read config");
    let broken = text
        .replacen("bottom_mlp {", "mask_net { n_mask_blocks: 2 mask_block { hidden_dim: 8 } }\n bottom_mlp {", 1)
        .replacen("relation_tower_names: \"ctr\"", "relation_tower_names: \"cvr\"", 1);
    assert_ne!(broken, text, "the edit applies");
    let err = plec_config::load_str(&broken, "dbmtl.config").map(|_| ()).unwrap_err().to_string();
    insta::assert_snapshot!(err);
}

/// A DBMTL tower without `label_name` is refused when read (TorchEasyRec's schema leaves it optional, its loss
/// does not).
#[test]
fn a_dbmtl_tower_needs_its_label_name() {
    let text = std::fs::read_to_string(path("examples_dbmtl_taobao")).expect("read config");
    let broken = text.replacen("label_name: \"buy\"", "", 1);
    assert_ne!(broken, text, "the edit applies");
    let err = plec_config::load_str(&broken, "dbmtl.config").map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("model_config.dbmtl.task_towers[1].label_name"), "{err}");
}
