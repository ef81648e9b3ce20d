//! The one temporary folder of every plec test (cargo feature `testing`): unique per call, across test threads and
//! processes alike, and removed with its contents when dropped, unless the test is failing: then it is kept (and
//! named on stderr) for a look. Built on `tempfile` (already in the tree through insta and proptest) rather than a
//! hand-rolled name scheme.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A fresh folder `<system temp>/plec-<name>-<random>`, removed on drop (kept when dropped by a panic); derefs to
/// its [`Path`].
#[derive(Debug)]
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    /// `name` only makes a leftover folder recognisable; uniqueness comes from the random suffix. Panics when the
    /// folder cannot be created (a test cannot go on without it).
    pub fn new(name: &str) -> TestDir {
        match tempfile::Builder::new().prefix(&format!("plec-{name}-")).tempdir() {
            Ok(dir) => TestDir(dir),
            Err(error) => panic!("cannot create a temporary folder for {name}: {error}"),
        }
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` to `name` in this folder and returns the file's path. Panics on failure, as [`TestDir::new`].
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        if let Err(error) = std::fs::write(&path, text) {
            panic!("cannot write {}: {error}", path.display());
        }
        path
    }

    /// Replaces this folder in messages with `<tmp>`, so snapshots do not depend on where it is.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.path().display().to_string(), "<tmp>")
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.disable_cleanup(true);
            eprintln!("test failed: its folder {} is kept", self.path().display());
        }
    }
}

impl Deref for TestDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_distinct_and_removed_on_drop() {
        let (a, b) = (TestDir::new("same"), TestDir::new("same"));
        assert_ne!(a.path(), b.path());
        let file = a.write("x.txt", "x");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
        assert_eq!(a.scrub(&file.display().to_string()), "<tmp>/x.txt");
        let path = a.to_path_buf();
        drop(a);
        assert!(!path.exists());
    }
}
