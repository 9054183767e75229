//! Choosing and building the backend a generation uses: a named backend from the config,
//! or an ad-hoc OpenAI-compatible server given on the command line; the `[backends.NAME]`
//! tables of the config.

use super::config::Config;
use crate::engine::Loader;
use crate::engine::http::{self, OpenAiConfig};
use crate::engine::local::{self, LocalModelSpec};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One named backend, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BackendConfig {
    /// The local candle engine.
    Candle(CandleConfig),
    /// An OpenAI-compatible `/v1/completions` server (vLLM, llama-server, ...).
    #[serde(rename = "openai-completions")]
    OpenAiCompletions(OpenAiConfig),
}

/// `kind = "candle"`: a model file run in-process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandleConfig {
    /// A `.gguf` file or a model directory; absent means the default model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// A `tokenizer.json`, when the model does not carry its tokenizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
    /// CPU threads; absent means one per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Memory for the KV pages of earlier prompts and branches (MB; 0 turns the prefix cache
    /// off); absent means 512.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_cache_mb: Option<usize>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::http::Dialect;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    struct AppConfig {
        backends: BTreeMap<String, BackendConfig>,
    }

    const EXAMPLE: &str = r#"
        [backends.local]
        kind = "candle"
        threads = 2

        [backends.vllm]
        kind = "openai-completions"
        base_url = "http://gpu-box:8000/v1/"
        model = "Qwen/Qwen3-8B-Base"
        supports_n = true
        api_key_env = "VLLM_KEY"
        extra_body = { cache_prompt = true, priority = 3 }
    "#;

    #[test]
    fn backends_parse_from_toml_with_defaults_filled_in() {
        let config: AppConfig = toml::from_str(EXAMPLE).expect("parses");
        let BackendConfig::Candle(local) = &config.backends["local"] else {
            panic!("local is candle")
        };
        assert_eq!(local.threads, Some(2));
        assert_eq!(local.model, None);
        let BackendConfig::OpenAiCompletions(vllm) = &config.backends["vllm"] else {
            panic!("vllm is a server")
        };
        assert!(vllm.supports_n);
        assert_eq!(vllm.max_logprobs, 20);
        assert_eq!(vllm.concurrency, 4);
        assert_eq!(vllm.dialect, Dialect::Extended);
        assert_eq!(vllm.extra_body["priority"], serde_json::json!(3));
        vllm.validate().expect("valid");
        let again = toml::to_string(&config.backends["vllm"]).expect("serialises");
        let back: BackendConfig = toml::from_str(&again).expect("round trip");
        assert_eq!(back, config.backends["vllm"]);
    }

    #[test]
    fn an_unknown_key_or_kind_is_an_error_naming_it() {
        let typo = "kind = \"openai-completions\"\nbase_url = \"http://x\"\nsupport_n = true\n";
        let err = toml::from_str::<BackendConfig>(typo)
            .expect_err("typo")
            .to_string();
        assert!(err.contains("support_n"), "{err}");
        let err = toml::from_str::<BackendConfig>("kind = \"ollama\"\n")
            .expect_err("kind")
            .to_string();
        assert!(err.contains("ollama"), "{err}");
        let err = toml::from_str::<BackendConfig>("kind = \"candle\"\nmodle = \"x\"\n")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("modle"), "{err}");
    }
}
