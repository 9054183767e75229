//! The engine's error type: every failure of loading, tokenizing or generating, as a value.
//!
//! Messages name the bad value and say what to do about it, because they reach the user
//! verbatim (in `LoadFailed`, `JobFailed` or on the command line).

use std::path::PathBuf;

/// The architectures the local backend runs, as spelled in `general.architecture`.
pub use super::llama::family::SUPPORTED_ARCHITECTURES;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable GGUF model file: {message}")]
    BadGguf { path: PathBuf, message: String },
    #[error(
        "the GGUF file {path} lacks the metadata key `{key}`; the file may be truncated or made by an unusual converter"
    )]
    MissingMetadata { path: PathBuf, key: String },
    #[error(
        "model architecture `{architecture}` is not supported by the local backend (supported: {}); \
         run the model with llama-server or vLLM and use an OpenAI-compatible HTTP backend instead",
        SUPPORTED_ARCHITECTURES.join(", ")
    )]
    UnsupportedArchitecture { architecture: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model computation failed: {0}")]
    Compute(#[from] candle_core::Error),
    #[error("invalid sampling parameters: {0}")]
    InvalidParams(String),
    #[error("fetching the default model failed: {0}")]
    Fetch(String),
    #[error("chat template: {0}")]
    ChatTemplate(String),
}

impl EngineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
