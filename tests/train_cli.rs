//! `plec train` and `plec evaluate` end to end through the binary, on small generated CSV data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod train_support;

use plec_trainer::testing::small_config;
use train_support::{plec, text, TestDir};

fn workdir(name: &str) -> TestDir {
    train_support::workdir("train-cli", name, 600)
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).expect("json line")).collect()
}

#[test]
fn train_then_evaluate_writes_matching_eval_results() {
    let dir = workdir("roundtrip");
    std::fs::write(dir.join("small.config"), small_config("train.csv", "eval.csv", "model", "num_epochs: 2"))
        .expect("config");
    let out = plec(&["train", "--config", "small.config", "--threads", "1", "--seed", "3"], &dir);
    assert!(out.status.success(), "train failed: {}", text(&out.stderr));
    let trained = json_lines(&text(&out.stdout));
    assert_eq!(trained.len(), 1, "{}", text(&out.stdout));
    // 2000 rows / 128 -> 16 batches per epoch.
    assert_eq!(trained[0]["global_step"], 32);
    assert!(trained[0]["auc_ctr"].as_f64().expect("auc_ctr") > 0.7);
    assert_eq!(
        std::fs::read_to_string(dir.join("model/pipeline.config")).expect("copied config"),
        std::fs::read_to_string(dir.join("small.config")).expect("config")
    );

    let out = plec(&["evaluate", "--config", "small.config", "--checkpoint", "model/ckpt-32"], &dir);
    assert!(out.status.success(), "evaluate failed: {}", text(&out.stderr));
    let evaluated = json_lines(&text(&out.stdout));
    assert_eq!(evaluated, trained, "the same checkpoint on the same data gives the same metrics");
    let file = json_lines(&std::fs::read_to_string(dir.join("model/eval_result.txt")).expect("eval_result.txt"));
    assert_eq!(file, vec![trained[0].clone(), trained[0].clone()]);
}

#[test]
fn an_odps_config_trains_on_local_files_given_on_the_command_line() {
    let dir = workdir("odps");
    let config = small_config("odps://project/tables/train", "odps://project/tables/eval", "model", "num_steps: 3")
        .replace("dataset_type: CsvDataset\n  with_header: true", "dataset_type: OdpsDataset");
    std::fs::write(dir.join("odps.config"), config).expect("config");
    let out = plec(&["train", "--config", "odps.config", "--threads", "1"], &dir);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("train_input_path \"odps://project/tables/train\" is not a local path: pass --train-input"),
        "{}",
        text(&out.stderr)
    );
    let out = plec(
        &[
            "train",
            "--config",
            "odps.config",
            "--train-input",
            "train.csv",
            "--eval-input",
            "eval.csv",
            "--threads",
            "1",
        ],
        &dir,
    );
    assert!(out.status.success(), "train failed: {}", text(&out.stderr));
    assert_eq!(json_lines(&text(&out.stdout))[0]["global_step"], 3);
}

#[test]
fn device_cuda_without_a_gpu_fails_clearly() {
    let dir = workdir("cuda");
    std::fs::write(dir.join("small.config"), small_config("train.csv", "eval.csv", "model", "num_steps: 2"))
        .expect("config");
    let out = plec(&["train", "--config", "small.config", "--device", "cuda", "--threads", "1"], &dir);
    if plec_trainer::device::cuda_available() {
        assert!(out.status.success(), "{}", text(&out.stderr));
    } else {
        assert!(!out.status.success());
        assert_eq!(
            text(&out.stderr).trim(),
            "error: --device cuda: libtorch sees no CUDA device on this machine (no GPU, no driver, or a CPU-only \
             libtorch); use --device cpu"
        );
    }
    let out = plec(&["train", "--config", "small.config", "--device", "tpu"], &dir);
    assert_eq!(
        text(&out.stderr).trim(),
        "error: unknown device `tpu`: expected cpu, cuda, cuda:N, tensorrt or tensorrt:N"
    );
    // One grammar for every command: a device name the runtime takes is understood, and refused with the reason.
    let out = plec(&["train", "--config", "small.config", "--device", "tensorrt:0"], &dir);
    assert_eq!(
        text(&out.stderr).trim(),
        "error: --device tensorrt:0: TensorRT runs compiled models (plec predict / bench); training runs on cpu or cuda"
    );
}

#[test]
fn shuffle_trains_on_a_seeded_row_order() {
    let dir = workdir("shuffle");
    let config = |model_dir: &str, shuffle: bool| {
        let text = small_config("train.csv", "eval.csv", model_dir, "num_steps: 2");
        let settings = "batch_size: 128\n  shuffle: true\n  shuffle_buffer_size: 4\n";
        if shuffle {
            text.replace("batch_size: 128\n", settings)
        } else {
            text
        }
    };
    let run = |name: &str, shuffle: bool| {
        std::fs::write(dir.join(format!("{name}.config")), config(name, shuffle)).expect("config");
        let out = plec(&["train", "--config", &format!("{name}.config"), "--threads", "1", "--seed", "3"], &dir);
        assert!(out.status.success(), "train failed: {}", text(&out.stderr));
        let losses: Vec<String> =
            text(&out.stdout).lines().filter(|l| l.starts_with("loss_")).map(String::from).collect();
        assert_eq!(losses.len(), 2, "{}", text(&out.stdout));
        (losses, text(&out.stderr))
    };
    let (shuffled, stderr) = run("shuffled", true);
    assert!(stderr.contains("shuffling rows through a buffer of 4 batches"), "{stderr}");
    assert!(!stderr.contains("not applied"), "{stderr}");
    let (again, _) = run("again", true);
    assert_eq!(shuffled, again, "the same seed trains on the same batches");
    let (in_order, stderr) = run("in_order", false);
    assert!(!stderr.contains("shuffling"), "{stderr}");
    assert_ne!(shuffled, in_order, "shuffled batches differ from the file's first two batches");
}
