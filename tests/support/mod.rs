//! Helpers shared by integration tests: locating the shared fixtures and the default model.
#![allow(dead_code)]

pub mod app;
pub mod imported;
pub mod predict;
pub mod sample;
pub mod tmux;

use std::path::{Path, PathBuf};

/// True when running under CI, where every optional input must be present.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The shared fixtures directory (`../shared/fixtures` beside the repository).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

/// A fixture by its path under `../shared/fixtures`. Under CI a missing fixture fails the
/// test; elsewhere (a fresh clone without the shared folder) the test says it was skipped
/// and the caller returns early.
pub fn fixture(relative: &str) -> Option<PathBuf> {
    let path = fixtures_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    if in_ci() {
        panic!(
            "fixture {} is missing; CI must have ../shared/fixtures",
            path.display()
        );
    }
    eprintln!(
        "skipped: fixture {} not present (it lives in ../shared/fixtures beside the repository)",
        path.display()
    );
    None
}

/// The default model where `tloom model fetch` puts it. Under CI a missing model fails
/// the test; elsewhere the test says it was skipped.
pub fn default_model() -> Option<PathBuf> {
    if let Some(p) = tloom::engine::model_store::installed_default_model() {
        return Some(p);
    }
    if in_ci() {
        panic!("the default model is missing; CI fetches it with `tloom model fetch` first");
    }
    eprintln!("skipped: default model not fetched; run `tloom model fetch`");
    None
}
