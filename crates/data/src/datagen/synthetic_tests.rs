use super::rng::Rng;
use super::synthetic::*;
use crate::tests::fixtures::TestDir;
use crate::{encode, resolve_inputs, BatchReader, Column, EncodeOptions, EncodedFeature, ReadOptions};

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn task_vectors_have_length_c_and_cosine_p() {
    for p in [0.0, 0.5, 0.9, 1.0] {
        let mut options = SyntheticOptions::new(10, p, 3);
        options.scale = 2.0;
        let tasks = SyntheticTasks::new(&options).unwrap();
        assert_eq!(tasks.w1.len(), 512);
        assert!((dot(&tasks.w1, &tasks.w1) - 4.0).abs() < 1e-9);
        assert!((dot(&tasks.w2, &tasks.w2) - 4.0).abs() < 1e-9);
        assert!((dot(&tasks.w1, &tasks.w2) - 4.0 * p).abs() < 1e-9, "p = {p}");
        assert_eq!((tasks.alpha.len(), tasks.beta.len()), (10, 10));
    }
    let bad = SyntheticOptions::new(10, 1.5, 3);
    insta::assert_snapshot!("synthetic_bad_correlation", SyntheticTasks::new(&bad).unwrap_err().to_string());
}

fn label_correlation(p: f64, rows: usize) -> f64 {
    let mut options = SyntheticOptions::new(rows as u64, p, 17);
    options.dim = 16;
    let tasks = SyntheticTasks::new(&options).unwrap();
    let chunk = tasks.chunk(&mut Rng::new(5), rows);
    let column = |name: &str| match &chunk.iter().find(|(n, _)| n == name).unwrap().1 {
        Column::Float64(v) => v.iter().map(|x| x.unwrap()).collect::<Vec<f64>>(),
        other => panic!("{other:?}"),
    };
    let (y1, y2) = (column("y1"), column("y2"));
    // Pearson computed directly (two passes), independently of the streaming `Pearson`.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (m1, m2) = (mean(&y1), mean(&y2));
    let cov: f64 = y1.iter().zip(&y2).map(|(a, b)| (a - m1) * (b - m2)).sum();
    let v1: f64 = y1.iter().map(|a| (a - m1).powi(2)).sum();
    let v2: f64 = y2.iter().map(|b| (b - m2).powi(2)).sum();
    let direct = cov / (v1 * v2).sqrt();
    let mut streaming = Pearson::default();
    y1.iter().zip(&y2).for_each(|(a, b)| streaming.add(*a, *b));
    assert!((streaming.value() - direct).abs() < 1e-9);
    direct
}

#[test]
fn label_correlation_follows_p() {
    // P = 1: the tasks differ only by noise (sd 0.1 against a label sd of about 2): r near 1.
    // P = 0: w1.x and w2.x are independent Gaussians, so are the labels: r near 0 (sd 1/sqrt(N) = 0.007).
    // In between the sines make r a monotone function of P but not P itself.
    let rows = 20_000;
    let r: Vec<f64> = [0.0, 0.25, 0.5, 0.75, 1.0].iter().map(|&p| label_correlation(p, rows)).collect();
    assert!(r[0].abs() < 0.03, "{r:?}");
    assert!(r[4] > 0.99, "{r:?}");
    assert!(r.windows(2).all(|w| w[0] < w[1]), "not increasing in P: {r:?}");
    for (p, r) in [0.25, 0.5, 0.75].iter().zip(&r[1..4]) {
        assert!((r - p).abs() < 0.25, "P {p}: r {r}");
    }
}

#[test]
fn deterministic_files_that_the_configs_read() {
    let dir = TestDir::new("data-synthetic");
    let mut options = SyntheticOptions::new(300, 0.5, 9);
    options.eval_rows = 50;
    let summary = write_synthetic(&options, dir.path()).unwrap();
    assert_eq!(summary.files.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [300, 50]);
    let first = std::fs::read(dir.join("train.parquet")).unwrap();
    let again = write_synthetic(&options, dir.path()).unwrap();
    assert_eq!(std::fs::read(dir.join("train.parquet")).unwrap(), first);
    assert_eq!(again.label_correlation, summary.label_correlation);
    for (name, text) in synthetic_configs(512, &SyntheticShape::default()) {
        let spec = plec_config::load_str(&text, name).unwrap().spec;
        let files = resolve_inputs(&dir.join("eval.parquet").display().to_string()).unwrap();
        let batch =
            BatchReader::open(files, ReadOptions::for_spec(&spec, 64).unwrap()).unwrap().next().unwrap().unwrap();
        let encoded = encode(&spec, &batch, &EncodeOptions::default()).unwrap();
        assert_eq!(encoded.features.len(), 512);
        assert!(matches!(&encoded.features[0], EncodedFeature::Dense { width: 1, values } if values.len() == 50));
        assert_eq!(encoded.labels.keys().collect::<Vec<_>>(), ["y1", "y2"]);
    }
}

#[test]
fn committed_example_configs_are_the_generated_ones() {
    for (name, text) in synthetic_configs(512, &SyntheticShape::default()) {
        let path = format!("{}/../../examples/synthetic/{name}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == text, "{path} differs from synthetic_configs(512): run `plec datagen synthetic --write-configs examples/synthetic`");
    }
}

fn csv_rows(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().skip(1).map(str::to_string).collect()
}

#[test]
fn validation_rows_continue_the_test_rows_stream() {
    // Written once as 60 evaluation rows, and once as 25 test rows followed by 35 validation rows: the split must
    // cut the same stream, so validation never repeats a test row and asking for it leaves the test rows unchanged.
    let (whole, split) = (TestDir::new("data-synthetic-whole"), TestDir::new("data-synthetic-split"));
    let mut options = SyntheticOptions::new(40, 0.9, 4);
    options.dim = 3;
    options.format = crate::FileFormat::Csv;
    options.eval_rows = 60;
    write_synthetic(&options, whole.path()).unwrap();
    options.eval_rows = 25;
    options.validation_rows = 35;
    let summary = write_synthetic(&options, split.path()).unwrap();
    assert_eq!(
        summary.files.iter().map(|(p, n)| (p.file_name().unwrap().to_owned(), *n)).collect::<Vec<_>>(),
        [("train.csv".into(), 40), ("eval.csv".into(), 25), ("validation.csv".into(), 35)]
    );
    let stream = csv_rows(&whole.join("eval.csv"));
    assert_eq!(stream.len(), 60);
    assert_eq!(csv_rows(&split.join("eval.csv")), stream[..25]);
    assert_eq!(csv_rows(&split.join("validation.csv")), stream[25..]);
    assert_eq!(csv_rows(&split.join("train.csv")), csv_rows(&whole.join("train.csv")));
}

#[test]
fn model_shape_sets_every_models_experts_and_towers() {
    use plec_spec::Norm;
    let shape = SyntheticShape { expert_hidden: vec![12, 6], tower_hidden: vec![32], tower_norm: Norm::Batch };
    let configs = synthetic_model_configs(4, &shape);
    assert_eq!(configs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["single_task1", "single_task2", "mmoe", "ple"]);
    for (name, text) in &configs {
        let spec = plec_config::load_str(text, name).unwrap_or_else(|e| panic!("{name}: {e}")).spec;
        for tower in &spec.towers {
            let mlp = tower.mlp.as_ref().unwrap();
            let layers: Vec<(usize, Norm)> = mlp.layers.iter().map(|l| (l.units, l.norm)).collect();
            assert_eq!(layers, [(32, Norm::Batch)], "{name} {}", tower.name);
        }
        for layer in &spec.layers {
            for mlp in [&layer.task_expert, &layer.shared_expert] {
                let layers: Vec<(usize, Norm)> = mlp.layers.iter().map(|l| (l.units, l.norm)).collect();
                assert_eq!(layers, [(12, Norm::None), (6, Norm::None)], "{name} {}", layer.name);
            }
        }
    }
    let layer_norm = SyntheticShape { tower_norm: Norm::Layer, ..SyntheticShape::default() };
    let (_, text) = &synthetic_model_configs(4, &layer_norm)[3];
    let spec = plec_config::load_str(text, "ple").unwrap().spec;
    assert!(spec.towers.iter().all(|t| t.mlp.as_ref().unwrap().layers[0].norm == Norm::Layer));
}
