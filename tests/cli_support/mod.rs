//! Running the `plec` binary from the end-to-end tests that check both its output and its exit status.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plec")).args(args).output().unwrap_or_else(|e| panic!("cannot run plec: {e}"))
}

/// stdout then stderr.
pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Runs plec, which must succeed; returns its output.
pub fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "plec {} failed:\n{}", args.join(" "), text(&output));
    text(&output)
}

/// Runs plec, which must fail; returns its output.
pub fn fails(args: &[&str]) -> String {
    let output = run(args);
    assert!(!output.status.success(), "plec {} should fail:\n{}", args.join(" "), text(&output));
    text(&output)
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}
