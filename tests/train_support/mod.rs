//! What the `plec train` CLI tests share: running the binary, and a fresh folder with generated CSV data.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub use plec_spec::test_dir::TestDir;
use plec_trainer::testing::write_synthetic_csv;

pub fn plec(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plec")).args(args).current_dir(dir).output().expect("run plec")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A new test folder `plec-<suite>-<name>-*` holding `train.csv` (2000 rows) and `eval.csv` (`eval_rows` rows).
pub fn workdir(suite: &str, name: &str, eval_rows: usize) -> TestDir {
    let dir = TestDir::new(&format!("{suite}-{name}"));
    write_synthetic_csv(&dir.join("train.csv"), 2000, 1, 2).expect("train csv");
    write_synthetic_csv(&dir.join("eval.csv"), eval_rows, 1, 3).expect("eval csv");
    dir
}
