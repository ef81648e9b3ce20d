use super::rng::Rng;
use super::taobao::*;
use crate::tests::fixtures::TestDir;
use crate::FileFormat;
use crate::{encode, resolve_inputs, BatchReader, Column, EncodeOptions, EncodedFeature, ReadOptions};

fn int_column<'a>(chunk: &'a super::Chunk, name: &str) -> &'a [Option<i64>] {
    match &chunk.iter().find(|(n, _)| n == name).unwrap().1 {
        Column::Int64(values) => values,
        other => panic!("{other:?}"),
    }
}

#[test]
fn same_seed_same_rows_other_seed_other_rows() {
    let a = TaobaoModel::new(5).chunk(&mut Rng::new(1), 500);
    let b = TaobaoModel::new(5).chunk(&mut Rng::new(1), 500);
    let c = TaobaoModel::new(6).chunk(&mut Rng::new(1), 500);
    assert_eq!(a, b);
    assert_ne!(int_column(&a, "user_id"), int_column(&c, "user_id"));
}

#[test]
fn rates_ranges_and_buy_only_after_click() {
    let model = TaobaoModel::new(11);
    let rows = 60_000;
    let chunk = model.chunk(&mut Rng::new(99), rows);
    let clk = int_column(&chunk, "clk");
    let buy = int_column(&chunk, "buy");
    let clicks = clk.iter().filter(|v| **v == Some(1)).count() as f64;
    let buys = buy.iter().filter(|v| **v == Some(1)).count() as f64;
    // Binomial standard error at 5% of 60k rows is 0.09%: 0.6% is generous and still fails a wrong bias.
    let click_rate = clicks / rows as f64;
    assert!((click_rate - CLICK_RATE).abs() < 0.006, "click rate {click_rate}");
    let buy_given_click = buys / clicks;
    assert!((buy_given_click - BUY_RATE_GIVEN_CLICK).abs() < 0.03, "buy rate given click {buy_given_click}");
    assert!(clk.iter().zip(buy).all(|(c, b)| *b == Some(0) || *c == Some(1)), "a buy without a click");
    for (name, buckets) in [("user_id", USER_ID_BUCKETS), ("adgroup_id", ADGROUP_ID_BUCKETS)]
        .into_iter()
        .chain(USER_PROFILE)
        .chain(AD_FIELDS)
    {
        assert!(int_column(&chunk, name).iter().flatten().all(|&v| v >= 0 && (v as u64) < buckets), "{name}");
    }
    let Column::Float64(prices) = &chunk.iter().find(|(n, _)| n == "price").unwrap().1 else { panic!() };
    let on_boundary = prices.iter().flatten().filter(|p| PRICE_BOUNDARIES.contains(p)).count() as f64;
    assert!(prices.iter().flatten().all(|p| *p > 0.0));
    assert!(on_boundary / rows as f64 > 0.05, "prices on boundaries: {on_boundary}");
    // Skew: the most frequent user appears far more often than 1/num_buckets of the rows.
    let mut users: Vec<i64> = int_column(&chunk, "user_id").iter().flatten().copied().collect();
    users.sort_unstable();
    let top = users.chunk_by(|a, b| a == b).map(<[i64]>::len).max().unwrap();
    assert!(top > 100, "most frequent user seen {top} times");
}

#[test]
fn written_files_fit_the_example_config() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ple_taobao.config");
    let mut spec = plec_config::load_file(config).unwrap().spec;
    // Generated CSV files start with a header line.
    spec.data.with_header = true;
    // The generator's buckets and boundaries are the config's.
    for feature in &spec.features {
        let plec_spec::Encoding::Embedding { transform, .. } = &feature.encoding else { panic!() };
        let expected = match transform {
            plec_spec::Transform::NumBuckets(n) => *n,
            plec_spec::Transform::Boundaries(b) => {
                let ours: Vec<f32> = PRICE_BOUNDARIES.iter().map(|&p| p as f32).collect();
                assert_eq!(b, &ours);
                continue;
            }
            _ => continue,
        };
        let ours = [("user_id", USER_ID_BUCKETS), ("adgroup_id", ADGROUP_ID_BUCKETS)]
            .into_iter()
            .chain(USER_PROFILE)
            .chain(AD_FIELDS)
            .find(|(name, _)| *name == feature.name)
            .map(|(_, n)| n);
        assert_eq!(ours, Some(expected), "{}", feature.name);
    }
    for format in [FileFormat::Parquet, FileFormat::Csv] {
        let dir = TestDir::new("data-taobao");
        let options = TaobaoOptions { rows: 3000, eval_rows: 1000, seed: 3, format };
        let summaries = write_taobao(&options, dir.path()).unwrap();
        assert_eq!(summaries.iter().map(|s| s.rows).collect::<Vec<_>>(), [3000, 1000]);
        let files = resolve_inputs(&dir.join("train.*").display().to_string()).unwrap();
        let mut rows = 0;
        let mut clicks = 0.0;
        for batch in BatchReader::open(files, ReadOptions::for_spec(&spec, 1024).unwrap()).unwrap() {
            let encoded = encode(&spec, &batch.unwrap(), &EncodeOptions::default()).unwrap();
            rows += encoded.num_rows;
            clicks += encoded.labels["clk"].iter().sum::<f32>();
            assert_eq!(encoded.features.len(), 16);
            assert!(matches!(encoded.features[0], EncodedFeature::Ids { .. }));
        }
        assert_eq!(rows, 3000);
        assert_eq!(clicks as u64, summaries[0].clicks);
    }
}

#[test]
fn the_tiny_config_reads_generated_data() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/taobao/ple_tiny.config");
    let loaded = plec_config::load_file(config).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let spec = loaded.spec;
    let full =
        plec_config::load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ple_taobao.config")).unwrap().spec;
    let names = |s: &plec_spec::ModelSpec| s.features.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&spec), names(&full));
    assert_eq!(spec.data.label_fields, full.data.label_fields);
    let dir = TestDir::new("data-taobao-tiny");
    let options = TaobaoOptions { rows: 2000, eval_rows: 0, seed: 4, format: FileFormat::Parquet };
    write_taobao(&options, dir.path()).unwrap();
    let files = vec![dir.join("train.parquet")];
    let mut rows = 0;
    for batch in BatchReader::open(files, ReadOptions::for_spec(&spec, 512).unwrap()).unwrap() {
        let encoded = encode(&spec, &batch.unwrap(), &EncodeOptions::default()).unwrap();
        // Every row has a user id, hashed into 4096 rows.
        match &encoded.features[0] {
            EncodedFeature::Ids { indices, .. } => {
                assert_eq!(indices.len(), encoded.num_rows);
                assert!(indices.iter().all(|&i| (0..4096).contains(&i)));
            }
            other => panic!("{other:?}"),
        }
        rows += encoded.num_rows;
    }
    assert_eq!(rows, 2000);
}
