//! The configuration of an OpenAI-compatible server: the body of a
//! `kind = "openai-completions"` table of tloom's TOML config.
//!
//! Secrets never live here: `api_key_env` names an environment variable, and the key read from
//! it is held in [`ApiKey`], whose `Debug` and `Display` print a placeholder.

use super::error::HttpError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Which request fields a server accepts beyond OpenAI's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// vLLM, llama-server, llama-cpp-python and most others: also send `top_k`, `min_p`,
    /// `repetition_penalty` (vLLM's name) and `repeat_penalty`/`repeat_last_n` (llama.cpp's).
    #[default]
    Extended,
    /// OpenAI's hosted API, which rejects unknown fields: only OpenAI's fields are sent, and a
    /// generation asking for top-k, min-p or a repetition penalty fails with a clear error.
    Openai,
}

/// `kind = "openai-completions"`: an OpenAI-compatible server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// e.g. `http://127.0.0.1:8080` or `http://gpu-box:8000/v1`; `/v1` is added when missing.
    pub base_url: String,
    /// The model name sent with each request; absent means the first one `/v1/models` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (sent as a Bearer token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The server honours `n` (vLLM, recent llama-server): N branches in one request.
    /// Otherwise tloom sends N requests with seeds seed+i.
    #[serde(default)]
    pub supports_n: bool,
    /// The server returns logprobs of the prompt with `echo` (needed to score text).
    #[serde(default = "yes")]
    pub supports_echo: bool,
    /// The most alternatives per token the server returns (`logprobs` is capped to this);
    /// 0 means the server reports no logprobs at all.
    #[serde(default = "default_max_logprobs")]
    pub max_logprobs: usize,
    /// At most this many requests in flight for one job.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_s: f64,
    /// How long to wait for the server to start answering (a long prompt on a busy server
    /// takes a while). Streams themselves have no overall limit: cancel them instead.
    #[serde(default = "default_first_byte_timeout")]
    pub first_byte_timeout_s: f64,
    #[serde(default)]
    pub dialect: Dialect,
    /// The context window to assume when the server does not report one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<usize>,
    /// Extra JSON fields merged into every request, e.g. `{ cache_prompt = true }`. Fields
    /// tloom sets itself are refused here; set them through the sampling parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_body: BTreeMap<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}
fn default_max_logprobs() -> usize {
    20
}
fn default_concurrency() -> usize {
    4
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_first_byte_timeout() -> f64 {
    120.0
}

/// Request fields tloom always sets; `extra_body` may not override them.
pub const RESERVED_FIELDS: &[&str] = &[
    "model",
    "prompt",
    "stream",
    "n",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "repeat_penalty",
    "repeat_last_n",
    "seed",
    "stop",
    "logprobs",
    "echo",
];

impl OpenAiConfig {
    /// A config for an ad-hoc server (`tloom generate --base-url URL [--model NAME]`).
    pub fn ad_hoc(base_url: impl Into<String>, model: Option<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model,
            api_key_env: None,
            supports_n: false,
            supports_echo: true,
            max_logprobs: default_max_logprobs(),
            concurrency: default_concurrency(),
            connect_timeout_s: default_connect_timeout(),
            first_byte_timeout_s: default_first_byte_timeout(),
            dialect: Dialect::default(),
            context_length: None,
            extra_body: BTreeMap::new(),
        }
    }

    /// Check the values serde cannot: the URL, the limits, the reserved fields.
    pub fn validate(&self) -> Result<(), HttpError> {
        normalise_base_url(&self.base_url)?;
        if self.concurrency == 0 {
            return Err(HttpError::Config(
                "concurrency = 0 would never send a request; use 1 or more".into(),
            ));
        }
        for (name, value) in [
            ("connect_timeout_s", self.connect_timeout_s),
            ("first_byte_timeout_s", self.first_byte_timeout_s),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(HttpError::Config(format!(
                    "{name} = {value} is not a positive number of seconds"
                )));
            }
        }
        if let Some(key) = self
            .extra_body
            .keys()
            .find(|k| RESERVED_FIELDS.contains(&k.as_str()))
        {
            return Err(HttpError::Config(format!(
                "extra_body.{key} is set by tloom itself; use the sampling parameters instead"
            )));
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_s.max(0.001))
    }

    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.first_byte_timeout_s.max(0.001))
    }

    /// Read the API key from the environment, if one is configured.
    pub fn api_key(&self) -> Result<Option<ApiKey>, HttpError> {
        let Some(var) = &self.api_key_env else {
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(Some(ApiKey(key.trim().to_string()))),
            _ => Err(HttpError::Config(format!(
                "api_key_env names the environment variable {var}, which is not set or empty; \
                 export it before starting tloom"
            ))),
        }
    }
}

/// `base_url` with a `/v1` suffix and no trailing slash, or an error naming the bad value.
pub fn normalise_base_url(raw: &str) -> Result<String, HttpError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {}
        _ => {
            return Err(HttpError::Config(format!(
                "base_url {raw:?} is not an http:// or https:// URL; \
                 write e.g. \"http://127.0.0.1:8080/v1\""
            )));
        }
    }
    if trimmed.ends_with("/v1") {
        Ok(trimmed.to_string())
    } else {
        Ok(format!("{trimmed}/v1"))
    }
}

/// An API key read from the environment. It is only ever written into an HTTP header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The `Authorization` header value.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// `text` with any copy of the key blanked (a server may echo the header back).
    pub(crate) fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "<redacted>")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_get_exactly_one_v1_and_no_trailing_slash() {
        for (raw, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
            ("https://h/api/v1/", "https://h/api/v1"),
            (" http://h:1/v1// ", "http://h:1/v1"),
        ] {
            assert_eq!(normalise_base_url(raw).expect(raw), want);
        }
        for bad in ["127.0.0.1:8080", "ftp://h", "http://", ""] {
            let err = normalise_base_url(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "names the value: {err}");
        }
    }

    #[test]
    fn validation_refuses_reserved_extra_fields_and_zero_concurrency() {
        let mut config = OpenAiConfig::ad_hoc("http://h", None);
        config
            .extra_body
            .insert("temperature".into(), serde_json::json!(0.2));
        let err = config.validate().expect_err("reserved").to_string();
        assert!(err.contains("extra_body.temperature"), "{err}");
        let mut config = OpenAiConfig::ad_hoc("http://h", None);
        config.concurrency = 0;
        assert!(
            config
                .validate()
                .expect_err("zero")
                .to_string()
                .contains("concurrency")
        );
        config.concurrency = 1;
        config.first_byte_timeout_s = -1.0;
        let err = config.validate().expect_err("negative").to_string();
        assert!(err.contains("first_byte_timeout_s"), "{err}");
    }

    #[test]
    fn an_api_key_prints_as_redacted() {
        let key = ApiKey("sk-very-secret".into());
        assert!(!format!("{key:?} {key}").contains("sk-very-secret"));
        assert_eq!(key.redact("echo sk-very-secret!"), "echo <redacted>!");
    }
}
