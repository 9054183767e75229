//! Why an import failed: each error names the format, the node or field at fault, and
//! what was found instead.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("not valid JSON: line {line}, column {column}: {problem}")]
    Syntax {
        line: usize,
        column: usize,
        problem: String,
    },
    #[error("not valid UTF-8 text (byte {offset} is not part of a UTF-8 character)")]
    NotUtf8 { offset: usize },
    #[error(
        "the JSON is nested {depth} levels deep; tloom reads at most {limit} (a tree about {} nodes deep)",
        limit / 2
    )]
    TooDeep { depth: usize, limit: usize },
    #[error("{what}, not a loom tree{hint}")]
    NotATree { what: String, hint: String },
    #[error(
        "not a loom format tloom knows ({found}); give the format with --from if it is one of: {known}"
    )]
    Unrecognised { found: String, known: String },
    #[error("{format}: {problem}")]
    Invalid {
        format: &'static str,
        problem: String,
    },
    #[error("no note named {name:?} in this vault; its notes are: {available}")]
    NoSuchNote { name: String, available: String },
}

impl ImportError {
    /// A problem with the content of a file of a known format.
    pub fn invalid(format: &'static str, problem: impl Into<String>) -> ImportError {
        ImportError::Invalid {
            format,
            problem: problem.into(),
        }
    }
}
