//! Everything that makes text: the local candle model, HTTP backends, sampling and the worker
//! thread. The engine knows nothing of the loom tree or the UI; it speaks `protocol`.

pub mod branch;
pub mod chat;
pub mod decoder;
pub mod error;
pub mod explore;
pub mod generate;
pub mod gguf_check;
pub mod gguf_info;
pub mod http;
pub mod kernels;
pub mod llama;
pub mod local;
pub mod model_store;
pub mod protocol;
pub mod sampling;
pub mod spm;
pub mod stream_decode;
pub mod tiny_model;
pub mod tokenizer;
pub mod worker;

pub use error::{EngineError, SUPPORTED_ARCHITECTURES};
pub use protocol::*;
pub use worker::{Backend, EngineHandle, EventSink, ExploreShape, Loader};
