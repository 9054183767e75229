//! Choosing and building the backend a generation uses: a named backend from the config,
//! or an ad-hoc OpenAI-compatible server given on the command line.

use super::config::Config;
use crate::engine::Loader;
use crate::engine::http::{self, BackendConfig};
use crate::engine::local::{self, LocalModelSpec};
use std::path::PathBuf;

/// What the user asked for, on the command line or in the UI.
#[derive(Debug, Clone, Default)]
pub struct BackendChoice {
    /// A backend name from the config (default: the config's `backend`).
    pub name: Option<String>,
    /// An ad-hoc OpenAI-compatible server; wins over `name`.
    pub base_url: Option<String>,
    /// With `base_url`: the server's model name. Otherwise: a local GGUF overriding the
    /// candle backend's model.
    pub model: Option<String>,
    /// A tokenizer.json for a local model.
    pub tokenizer: Option<PathBuf>,
    pub threads: Option<usize>,
}

/// The backend's display name and a loader for the engine worker.
pub fn loader_for(config: &Config, choice: &BackendChoice) -> Result<(String, Loader), String> {
    if let Some(url) = &choice.base_url {
        let loader = http::ad_hoc_loader(url, choice.model.clone()).map_err(|e| e.to_string())?;
        let name = http::normalise_base_url(url).unwrap_or_else(|_| url.clone());
        return Ok((name, loader));
    }
    let name = choice
        .name
        .clone()
        .unwrap_or_else(|| config.backend.clone());
    let backend = config.backends.get(&name).ok_or_else(|| {
        let known: Vec<&str> = config.backends.keys().map(String::as_str).collect();
        format!(
            "no backend named {name:?} in the config (known: {})",
            known.join(", ")
        )
    })?;
    let loader = match backend {
        BackendConfig::Candle(c) => local::loader(LocalModelSpec {
            model: choice
                .model
                .as_ref()
                .map(PathBuf::from)
                .or_else(|| c.model.clone()),
            tokenizer: choice.tokenizer.clone().or_else(|| c.tokenizer.clone()),
            threads: choice.threads.or(c.threads),
            prefix_cache_mb: c.prefix_cache_mb,
            ..LocalModelSpec::default()
        }),
        BackendConfig::OpenAiCompletions(c) => {
            let mut c = c.clone();
            if choice.model.is_some() {
                c.model = choice.model.clone();
            }
            http::loader(name.clone(), c)
        }
    };
    Ok((name, loader))
}
