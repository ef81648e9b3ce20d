//! Finding and loading the ONNX Runtime shared library (ort's `load-dynamic`): nothing is linked at build time, so
//! the library is located at run time, once per process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::{Result, RuntimeError};

/// The library file plec is pinned to (PyPI `onnxruntime==1.31.1` ships it as `onnxruntime/capi/<this>`).
pub const LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
/// Environment variable naming the library file explicitly (ort's own convention).
pub const PATH_VARIABLE: &str = "ORT_DYLIB_PATH";
/// Where `scripts/setup` puts the library, relative to the project root.
const PROJECT_LIBRARY_DIR: &str = ".native/lib";

/// Candidate library paths in the order they are tried. `ORT_DYLIB_PATH`, when set, is the only candidate: a user
/// who names a file means that file.
pub fn candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os(PATH_VARIABLE).filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut candidates = Vec::new();
    if let Some(exe_dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        candidates.push(exe_dir.join(LIBRARY_FILE));
        // target/{debug,release}/, target/*/deps/, target/*/examples/ sit below the project root.
        for ancestor in exe_dir.ancestors() {
            candidates.push(ancestor.join(PROJECT_LIBRARY_DIR).join(LIBRARY_FILE));
        }
    }
    let build_time = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(PROJECT_LIBRARY_DIR).join(LIBRARY_FILE);
    candidates.push(build_time);
    let mut seen = std::collections::BTreeSet::new();
    candidates.retain(|p| seen.insert(p.clone()));
    candidates
}

/// The first candidate that exists, or an error listing every place looked at.
pub fn locate() -> Result<PathBuf> {
    let looked_at = candidates();
    looked_at.iter().find(|p| p.is_file()).cloned().ok_or_else(|| RuntimeError::LibraryNotFound {
        file: LIBRARY_FILE.to_string(),
        looked_at,
        from_variable: std::env::var_os(PATH_VARIABLE).is_some_and(|p| !p.is_empty()),
    })
}

struct Loaded {
    path: PathBuf,
    environment: Environment,
}

static LOADED: OnceLock<std::result::Result<Loaded, RuntimeError>> = OnceLock::new();

/// The process's ONNX Runtime environment, loading the library on first use. A failure is remembered: ort cannot
/// load a second library into the same process anyway.
pub fn environment() -> Result<&'static Environment> {
    match LOADED.get_or_init(load) {
        Ok(loaded) => Ok(&loaded.environment),
        Err(error) => Err(clone_error(error)),
    }
}

/// Path of the loaded library (after [`environment`] succeeded).
pub fn loaded_path() -> Option<&'static Path> {
    LOADED.get().and_then(|l| l.as_ref().ok()).map(|l| l.path.as_path())
}

fn load() -> std::result::Result<Loaded, RuntimeError> {
    let path = locate()?;
    let builder =
        ort::init_from(&path).map_err(|e| RuntimeError::LibraryLoad { path: path.clone(), message: e.to_string() })?;
    let environment = builder
        .with_name("plec")
        .with_telemetry(false)
        .build()
        .map_err(|e| RuntimeError::LibraryLoad { path: path.clone(), message: e.to_string() })?;
    Ok(Loaded { path, environment })
}

fn clone_error(error: &RuntimeError) -> RuntimeError {
    match error {
        RuntimeError::LibraryNotFound { file, looked_at, from_variable } => RuntimeError::LibraryNotFound {
            file: file.clone(),
            looked_at: looked_at.clone(),
            from_variable: *from_variable,
        },
        RuntimeError::LibraryLoad { path, message } => {
            RuntimeError::LibraryLoad { path: path.clone(), message: message.clone() }
        }
        other => RuntimeError::LibraryLoad { path: PathBuf::new(), message: other.to_string() },
    }
}
