//! OpenAI-compatible inference servers (vLLM, llama-server, llama-cpp-python, hosted APIs) as
//! engine backends: config, the `/v1/completions` client, SSE streaming and logprob dialects.

mod backend;
mod client;
pub mod config;
pub mod error;
mod expand;
mod score;
pub mod sse;
mod stream;
pub mod wire;

pub use backend::{OpenAiBackend, ServerInfo, ad_hoc_loader, loader, probe};
pub use client::Endpoint;
pub use config::{ApiKey, Dialect, OpenAiConfig, normalise_base_url};
pub use error::HttpError;
pub use score::MAX_EXPLORE_REQUESTS;
