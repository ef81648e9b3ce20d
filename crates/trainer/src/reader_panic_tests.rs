//! A panic in the data reader thread fails training and evaluation with an error naming the thread and the panic,
//! instead of ending them as if the data had run out (the panic comes from `data::injected`, a test-only seam).

use std::path::Path;

use plec_spec::test_dir::TestDir;

use crate::data::{self, injected};
use crate::testing::{small_config, write_synthetic_csv};
use crate::train::{train, TrainOptions};

fn setup(name: &str) -> (TestDir, plec_spec::ModelSpec, String) {
    let dir = TestDir::new(&format!("reader-panic-{name}"));
    write_synthetic_csv(&dir.join("train.csv"), 600, 1, 2).expect("train csv");
    write_synthetic_csv(&dir.join("eval.csv"), 300, 1, 3).expect("eval csv");
    let text = small_config("train.csv", "eval.csv", "model", "");
    let spec = plec_config::load_str(&text, "small.config").expect("config").spec;
    (dir, spec, text)
}

fn options(dir: &Path, text: &str) -> TrainOptions {
    TrainOptions {
        config_text: text.to_string(),
        train_input: dir.join("train.csv").display().to_string(),
        eval_input: None,
        model_dir: dir.join("model"),
        num_steps: Some(20),
        seed: 1,
        threads: Some(1),
        device: tch::Device::Cpu,
        eval_every_steps: None,
        progress: false,
        interrupt: None,
    }
}

fn assert_names_the_panic(message: &str) {
    assert!(
        message.contains("the data reader thread panicked")
            && message.contains(data::READER_THREAD)
            && message.contains("injected reader panic"),
        "{message}"
    );
}

#[test]
fn a_reader_panic_fails_training_and_writes_no_checkpoint() {
    let (dir, spec, text) = setup("train");
    injected::panic_on(&dir.join("train.csv"));
    let error = train(&spec, &options(&dir, &text)).expect_err("a panicked reader must fail training");
    assert_names_the_panic(&error.to_string());
    let latest = plec_spec::artifact::checkpoint::latest_checkpoint(&dir.join("model")).expect("model dir");
    assert_eq!(latest, None, "no checkpoint may present the cut-short run as complete");
}

#[test]
fn a_reader_panic_fails_evaluation() {
    let (dir, spec, _) = setup("evaluate");
    let model = crate::PleModel::new(&spec, tch::Device::Cpu).expect("model");
    injected::panic_on(&dir.join("eval.csv"));
    let error = crate::evaluate::evaluate_files(&model, vec![dir.join("eval.csv")], 128)
        .expect_err("a panicked reader must fail evaluation");
    assert_names_the_panic(&error.to_string());
}
