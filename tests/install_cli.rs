//! plec's binaries find libtorch wherever they are: the absolute rpath to this checkout's `.native/` (build.rs) is
//! in the binary, and a copy of it outside `target/` (as `cargo install` or `CARGO_TARGET_DIR` leave it) starts.

use std::path::Path;
use std::process::Command;

const PLEC: &str = env!("CARGO_BIN_EXE_plec");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn runpath(binary: &str) -> Vec<String> {
    let output = Command::new("readelf").args(["-d", binary]).output().unwrap_or_else(|e| panic!("readelf: {e}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("(RUNPATH)") || l.contains("(RPATH)"))
        .unwrap_or_else(|| panic!("no RUNPATH in {binary}:\n{text}"));
    let inside = line.split('[').nth(1).and_then(|rest| rest.strip_suffix(']')).unwrap_or_default();
    inside.split(':').map(str::to_string).collect()
}

#[test]
fn the_binary_carries_the_absolute_libtorch_path_of_its_checkout() {
    let expected = Path::new(ROOT).join(".native/libtorch/torch/lib");
    let entries = runpath(PLEC);
    assert!(
        entries.iter().any(|e| Path::new(e) == expected),
        "{} not among the RUNPATH entries {entries:?}",
        expected.display()
    );
}

#[test]
fn a_copy_outside_the_target_folder_starts() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-copy/bin/deeper");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.join("plec");
    std::fs::copy(PLEC, &copy).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(&copy)
        .args(["check", &format!("{ROOT}/examples/ple_taobao.config")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", copy.display()));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    assert!(text.contains("dense parameters: 6,811,509"), "{text}");
}
