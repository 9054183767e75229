//! Errors of reading and writing loom files; each names the file and the problem.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line}, column {column}: {problem}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        problem: String,
    },
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
    #[error(
        "{}: not a tloom file ({found}); to bring in a tree from another loom, use `tloom import {}`",
        path.display(), path.display()
    )]
    NotTloom { path: PathBuf, found: String },
    #[error("{}: {message}", path.display())]
    Locked { path: PathBuf, message: String },
    #[error("{}: written by a newer tloom (file format version {version}); this tloom writes version {supported} and will not overwrite it", path.display())]
    TooNew {
        path: PathBuf,
        version: u64,
        supported: u64,
    },
}

impl StoreError {
    /// The sysexits-style exit code for this error: 66 missing, 65 bad data, 74 I/O, 73 locked.
    pub fn exit_code(&self) -> u8 {
        match self {
            StoreError::NotFound { .. } => 66,
            StoreError::Io { .. } => 74,
            StoreError::Syntax { .. }
            | StoreError::Invalid { .. }
            | StoreError::NotTloom { .. } => 65,
            StoreError::Locked { .. } => 75,
            StoreError::TooNew { .. } => 65,
        }
    }

    pub(crate) fn io(
        path: &std::path::Path,
        action: &'static str,
        source: std::io::Error,
    ) -> StoreError {
        if source.kind() == std::io::ErrorKind::NotFound && action == "read" {
            return StoreError::NotFound {
                path: path.to_path_buf(),
            };
        }
        StoreError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}
