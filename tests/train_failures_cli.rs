//! `plec train` failing or stopped: a table too large to allocate is an error naming it (no abort), and SIGINT
//! stops after a complete step with a checkpoint a rerun resumes from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod train_support;

use plec_trainer::testing::small_config;
use train_support::{plec, text, TestDir};

fn workdir(name: &str) -> TestDir {
    train_support::workdir("train-failures", name, 300)
}

#[test]
fn a_table_too_large_to_allocate_is_an_error_naming_it() {
    let dir = workdir("alloc");
    // 10^13 rows x 8 floats = 291 TiB: more than any machine's memory and a 47-bit address space.
    let config = small_config("train.csv", "eval.csv", "model", "num_steps: 2")
        .replace("hash_bucket_size: 10 ", "hash_bucket_size: 10000000000000 ");
    std::fs::write(dir.join("huge.config"), config).expect("config");
    let out = plec(&["train", "--config", "huge.config", "--threads", "1"], &dir);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "an error exit, not an abort: {stderr}");
    assert!(
        stderr.contains(
            "error: cannot allocate parameter `embedding.pid_emb.weight` of shape [10000000000000, 8] (291.0 TiB as \
             float32) on cpu: "
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Exception raised from"), "no C++ backtrace: {stderr}");
}

/// Waits for `path` while `child` runs; a safety limit keeps a broken build from hanging the suite.
fn wait_for(path: &Path, child: &mut std::process::Child, log: &Path) {
    let limit = Instant::now() + Duration::from_secs(600);
    while !path.exists() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "plec train ended ({status}) before {}: {}",
                path.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_stops_training_at_a_complete_checkpoint_that_a_rerun_resumes() {
    let dir = workdir("sigint");
    let extra = "num_steps: 100000000\n  save_checkpoints_steps: 20";
    std::fs::write(dir.join("long.config"), small_config("train.csv", "eval.csv", "model", extra)).expect("config");
    let log = dir.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_plec"))
        .args(["train", "--config", "long.config", "--threads", "1"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn plec");
    wait_for(&dir.join("model/ckpt-20/meta.json"), &mut child, &log);
    // SAFETY: kill(2) on the child's own pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = child.wait().expect("wait");
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert_eq!(status.code(), Some(130), "{stderr}");

    let model_dir = dir.join("model");
    let latest =
        plec_spec::artifact::checkpoint::latest_checkpoint(&model_dir).expect("model dir").expect("a checkpoint");
    let step: u64 = latest
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("ckpt-"))
        .expect("name")
        .parse()
        .expect("step");
    assert!(step >= 20, "{}", latest.display());
    let line = format!(
        "error: interrupted at step {step}: last complete checkpoint is model/ckpt-{step}; rerun the same command to resume"
    );
    assert!(stderr.contains(&line), "{stderr}");
    let leftovers: Vec<String> = std::fs::read_dir(&model_dir)
        .expect("model dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary checkpoint folders left: {leftovers:?}");
    let spec = plec_config::load_file(dir.join("long.config")).expect("config").spec;
    plec_trainer::checkpoint::load_model(&spec, &latest, plec_trainer::train::parse_device("cpu").expect("cpu"))
        .unwrap_or_else(|e| panic!("the last checkpoint does not load: {e}"));

    let more = (step + 2).to_string();
    let out = plec(&["train", "--config", "long.config", "--threads", "1", "--num-steps", &more], &dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("resumed from step {step}\n")), "{stdout}");
    assert!(stdout.contains(&format!("trained {more} steps")), "{stdout}");
}
