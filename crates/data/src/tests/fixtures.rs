//! Hand-built specs and temporary files for the data tests (independent of the config parser).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;

use plec_config::spec::*;

/// A temporary folder removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("plec-data-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn parquet(&self, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
        let path = self.0.join(name);
        write_parquet(&path, columns);
        path
    }

    /// Replaces this folder in messages with `<tmp>`, so snapshots do not depend on where it is.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.0.display().to_string(), "<tmp>")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

pub fn ints(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(arrow_array::Int64Array::from(values.to_vec()))
}

pub fn floats(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(arrow_array::Float64Array::from(values.to_vec()))
}

pub fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(arrow_array::StringArray::from(values.to_vec()))
}

pub fn id_feature(name: &str, table: usize, transform: Transform) -> Feature {
    Feature {
        name: name.into(),
        encoding: Encoding::Embedding { table, transform, multi: None, default_value: None },
        width: 4,
        offset: 0,
    }
}

pub fn multi_feature(name: &str, table: usize, transform: Transform, separator: &str, pooling: Pooling) -> Feature {
    Feature {
        name: name.into(),
        encoding: Encoding::Embedding {
            table,
            transform,
            multi: Some(MultiValue { separator: separator.into(), pooling }),
            default_value: None,
        },
        width: 4,
        offset: 0,
    }
}

pub fn with_default(mut feature: Feature, value: &str) -> Feature {
    if let Encoding::Embedding { default_value, .. } = &mut feature.encoding {
        *default_value = Some(value.into());
    }
    feature
}

pub fn dense_feature(name: &str, value_dim: usize, default_value: f32) -> Feature {
    Feature { name: name.into(), encoding: Encoding::Dense { value_dim, default_value }, width: value_dim, offset: 0 }
}

pub fn binary_tower(name: &str, label: &str) -> Tower {
    Tower {
        name: name.into(),
        label: label.into(),
        input_width: 8,
        mlp: None,
        num_class: 1,
        losses: vec![Loss::BinaryCrossEntropy { label_smoothing: 0.0 }],
        metrics: vec![Metric::Auc { thresholds: 200 }],
        weighting: None,
        outputs: vec![],
    }
}

/// A spec with `features` (tables numbered as given), `towers` and CSV settings; the model part is minimal.
pub fn spec(features: Vec<Feature>, towers: Vec<Tower>) -> ModelSpec {
    let label_fields = towers.iter().map(|t| t.label.clone()).collect();
    ModelSpec {
        group_name: "all".into(),
        features,
        tables: vec![],
        input_width: 8,
        layers: vec![],
        towers,
        data: DataSettings {
            dataset: DatasetKind::Csv,
            batch_size: 4,
            eval_batch_size: 4,
            label_fields,
            sample_weight_fields: vec![],
            input_fields: vec![],
            delimiter: ",".into(),
            with_header: true,
            shuffle: false,
            shuffle_buffer_size: 0,
            drop_remainder: false,
        },
        train: TrainSettings {
            sparse_optimizer: SparseOptimizer::Sgd { lr: 0.1 },
            sparse_lr: LrSchedule::Constant,
            dense_optimizer: DenseOptimizer::Sgd {
                lr: 0.1,
                momentum: 0.0,
                weight_decay: 0.0,
                dampening: 0.0,
                nesterov: false,
            },
            dense_lr: LrSchedule::Constant,
            num_steps: None,
            num_epochs: Some(1),
            save_checkpoints_steps: 1000,
            log_step_count_steps: 100,
            keep_checkpoint_max: 0,
            fine_tune_checkpoint: None,
            grad_clipping: None,
        },
        paths: Paths { train_input: String::new(), eval_input: String::new(), model_dir: String::new() },
    }
}
