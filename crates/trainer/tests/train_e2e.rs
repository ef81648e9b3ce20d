//! Training end to end on generated data: it learns, resumes after a simulated kill to the same weights, and
//! reports bad input and divergence clearly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use plec_spec::test_dir::TestDir;
use plec_trainer::testing::{small_config, write_synthetic_csv};
use plec_trainer::train::{train, TrainOptions};
use tch::Device;

fn options(dir: &Path, text: &str, num_steps: Option<u64>, eval: bool) -> TrainOptions {
    TrainOptions {
        config_text: text.to_string(),
        train_input: dir.join("train.csv").display().to_string(),
        eval_input: eval.then(|| dir.join("eval.csv").display().to_string()),
        model_dir: dir.join("model"),
        num_steps,
        seed: 5,
        threads: Some(1),
        device: Device::Cpu,
        eval_every_steps: None,
        progress: false,
        interrupt: None,
    }
}

fn setup(dir: &Path, extra: &str) -> (plec_spec::ModelSpec, String) {
    std::fs::create_dir_all(dir).expect("dir");
    write_synthetic_csv(&dir.join("train.csv"), 3000, 1, 2).expect("train csv");
    write_synthetic_csv(&dir.join("eval.csv"), 1000, 1, 3).expect("eval csv");
    let text = small_config("train.csv", "eval.csv", "model", extra);
    let spec = plec_config::load_str(&text, "small.config").expect("config").spec;
    (spec, text)
}

fn temp(name: &str) -> TestDir {
    TestDir::new(&format!("trainer-{name}"))
}

/// libtorch's seed and random stream are process-wide and the tests of this file run on parallel threads: each
/// test holds this lock while it trains, so its initialisation and dropout draws do not interleave with another
/// test's (the resume test once saw its two runs start from different weights).
static TORCH_SEED: Mutex<()> = Mutex::new(());

fn seeded() -> MutexGuard<'static, ()> {
    TORCH_SEED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn learns_the_signal_of_generated_data() {
    let _seeded = seeded();
    let dir = temp("learn");
    let (spec, text) = setup(&dir, "num_epochs: 4");
    let report = train(&spec, &options(&dir, &text, None, true)).expect("train");
    // 3000 rows / 128 = 24 batches per epoch (the last one short).
    assert_eq!(report.steps, 4 * 24);
    let eval = report.eval.expect("eval");
    let ctr = eval["auc_ctr"].expect("auc_ctr");
    let cvr = eval["auc_cvr"].expect("auc_cvr");
    assert!(ctr > 0.75 && cvr > 0.75, "AUCs too low: ctr {ctr}, cvr {cvr}");
    let model_dir = dir.join("model");
    for file in ["pipeline.config", "eval_result.txt", "loss_log.txt", "training_curves.png", "ckpt-96/meta.json"] {
        assert!(model_dir.join(file).is_file(), "missing {file}");
    }
    let png = std::fs::read(model_dir.join("training_curves.png")).expect("png");
    assert_eq!(&png[1..4], b"PNG");
    // An epoch run (length unknown in advance) still draws a curve: at least 20 points, up to the last step.
    let steps = logged_steps(&model_dir);
    assert!(steps.len() >= 20, "{} points: {steps:?}", steps.len());
    assert_eq!(steps.last(), Some(&96));
}

/// The steps of `loss_log.txt`, checked to rise, each with a finite loss per task.
fn logged_steps(model_dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(model_dir.join("loss_log.txt")).expect("loss log");
    let steps: Vec<u64> = text
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json line");
            for task in ["ctr", "cvr"] {
                assert!(value["losses"][task].as_f64().is_some_and(f64::is_finite), "{line}");
            }
            value["global_step"].as_u64().expect("step")
        })
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
    steps
}

#[test]
fn a_short_run_logs_a_curve_of_at_least_twenty_points() {
    let _seeded = seeded();
    let dir = temp("curve");
    // 60 steps with log_step_count_steps 5: every 5th step alone would be 12 points.
    let (spec, text) = setup(&dir, "");
    assert_eq!(spec.train.log_step_count_steps, 5);
    train(&spec, &options(&dir, &text, Some(60), false)).expect("train");
    let steps = logged_steps(&dir.join("model"));
    assert!(steps.len() >= 20, "{} points: {steps:?}", steps.len());
    assert!(steps.iter().filter(|s| *s % 5 == 0).count() == 12, "every log_step_count_steps step: {steps:?}");
    assert_eq!(steps.last(), Some(&60));
}

#[test]
fn resume_after_a_kill_reaches_the_same_weights() {
    let _seeded = seeded();
    let extra = "save_checkpoints_steps: 10";
    let straight = temp("straight");
    let (spec, text) = setup(&straight, extra);
    train(&spec, &options(&straight, &text, Some(30), false)).expect("straight run");

    let resumed = temp("resumed");
    setup(&resumed, extra);
    train(&spec, &options(&resumed, &text, Some(23), false)).expect("first part");
    // The kill: the run died after step 23, before writing a checkpoint for it; a half-written one was left.
    let model_dir = resumed.join("model");
    std::fs::remove_dir_all(model_dir.join("ckpt-23")).expect("remove last checkpoint");
    std::fs::create_dir_all(model_dir.join(".ckpt-23.tmp-1")).expect("stale temp");
    let report = train(&spec, &options(&resumed, &text, Some(30), false)).expect("resumed run");
    assert_eq!(report.resumed_from, Some(20));
    assert_eq!(report.steps, 30);

    let read = |dir: &Path| {
        plec_trainer::checkpoint::read_tensors(&dir.join("model/ckpt-30/model.safetensors")).expect("weights")
    };
    let (a, b) = (read(&straight), read(&resumed));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, ta) in &a {
        let diff = (ta - &b[name]).abs().max().double_value(&[]);
        assert!(diff <= 1e-6, "{name} differs by {diff} after resume");
    }
}

#[test]
fn keeps_at_most_keep_checkpoint_max() {
    let _seeded = seeded();
    let dir = temp("keep");
    let (spec, text) = setup(&dir, "save_checkpoints_steps: 5\n  keep_checkpoint_max: 2");
    train(&spec, &options(&dir, &text, Some(17), false)).expect("train");
    let steps: Vec<u64> = plec_spec::artifact::checkpoint::list_checkpoints(&dir.join("model"))
        .expect("list")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(steps, vec![15, 17]);
}

#[test]
fn a_bad_row_stops_training_naming_file_and_row() {
    let _seeded = seeded();
    let dir = temp("badrow");
    let (spec, text) = setup(&dir, "num_epochs: 1");
    let mut csv = std::fs::read_to_string(dir.join("train.csv")).expect("csv");
    csv.push_str("12,999,a,1.0,1,0\n");
    std::fs::write(dir.join("train.csv"), csv).expect("write");
    let err = train(&spec, &options(&dir, &text, None, false)).expect_err("an error");
    let message = err.to_string();
    assert!(message.contains("train.csv") && message.contains("item_id") && message.contains("999"), "{message}");
}

#[test]
fn a_diverging_loss_names_the_step_and_task() {
    let _seeded = seeded();
    let dir = temp("nan");
    let (mut spec, text) = setup(&dir, "num_epochs: 1");
    // A learning rate this large blows the dense weights up to inf within a few steps.
    spec.train.dense_optimizer =
        plec_spec::DenseOptimizer::Sgd { lr: 1e30, momentum: 0.0, weight_decay: 0.0, dampening: 0.0, nesterov: false };
    let err = train(&spec, &options(&dir, &text, Some(50), false)).expect_err("an error");
    let message = err.to_string();
    assert!(message.starts_with("training diverged at step ") && message.contains("loss of task `"), "{message}");
}
