//! One OpenAI-compatible server as seen by tloom: a ureq agent, the normalised base URL, the
//! API key, and the requests (JSON GET, and POST with bounded, cancellable retries on 429/503).

use super::config::{ApiKey, OpenAiConfig, normalise_base_url};
use super::error::{HttpError, server_message, shorten};
use crate::engine::protocol::CancelFlag;
use std::time::{Duration, Instant};
use ureq::Agent;
use ureq::http::Response;

/// Retries after a 429/503 before giving up, and the first and largest pauses.
const RETRIES: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A configured server, cheap to clone onto reader threads.
#[derive(Clone)]
pub struct Endpoint {
    agent: Agent,
    /// `http://host:port/v1`, no trailing slash.
    base: String,
    key: Option<ApiKey>,
    pub config: OpenAiConfig,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Validate the config, read the API key, and set up the agent with its timeouts.
    /// No global timeout: a stream may run as long as the user lets it.
    pub fn new(config: OpenAiConfig) -> Result<Endpoint, HttpError> {
        config.validate()?;
        let base = normalise_base_url(&config.base_url)?;
        let key = config.api_key()?;
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout()))
            .timeout_recv_response(Some(config.first_byte_timeout()))
            .max_idle_connections_per_host(config.concurrency.max(1))
            .build()
            .into();
        Ok(Endpoint {
            agent,
            base,
            key,
            config,
        })
    }

    /// `{base}/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// The server root without `/v1` (llama-server's `/props` lives there).
    pub fn root_url(&self, path: &str) -> String {
        let root = self.base.strip_suffix("/v1").unwrap_or(&self.base);
        format!("{root}/{}", path.trim_start_matches('/'))
    }

    /// GET a JSON document; HTTP errors carry the server's message.
    pub fn get_json(&self, url: &str) -> Result<serde_json::Value, HttpError> {
        let mut request = self.agent.get(url);
        if let Some(key) = &self.key {
            request = request.header("authorization", key.bearer());
        }
        let response = request.call().map_err(|e| self.transport_error(url, e))?;
        self.read_json(url, response)
    }

    /// POST a JSON body and return the successful response, unread (for streaming). Retries
    /// 429/503 with exponential backoff (honouring `Retry-After`), stopping on cancel.
    pub fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        cancel: Option<&CancelFlag>,
    ) -> Result<Response<ureq::Body>, HttpError> {
        let url = self.url(path);
        let payload = serde_json::to_vec(body).map_err(|e| HttpError::Protocol {
            url: url.clone(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let mut request = self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "text/event-stream, application/json");
            if let Some(key) = &self.key {
                request = request.header("authorization", key.bearer());
            }
            let response = request
                .send(&payload[..])
                .map_err(|e| self.transport_error(&url, e))?;
            if response.status().is_success() {
                return Ok(response);
            }
            let wait = retry_after(&response).unwrap_or(backoff).min(MAX_BACKOFF);
            let error = self.status_error(&url, response);
            if !error.is_retryable() || attempt == RETRIES {
                return Err(error);
            }
            log::info!("{error}; retrying in {wait:?}");
            sleep_unless_cancelled(wait, cancel)?;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            attempt += 1;
        }
    }

    /// POST and read the whole JSON reply (non-streaming requests).
    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, HttpError> {
        let response = self.post(path, body, None)?;
        let url = self.url(path);
        self.read_json(&url, response)
    }

    fn read_json(
        &self,
        url: &str,
        response: Response<ureq::Body>,
    ) -> Result<serde_json::Value, HttpError> {
        if !response.status().is_success() {
            return Err(self.status_error(url, response));
        }
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| HttpError::Broken(e.to_string()))?;
        super::sse::parse_json(&text).ok_or_else(|| HttpError::Protocol {
            url: url.to_string(),
            detail: format!("expected JSON, got {:?}", shorten(&text, 200)),
        })
    }

    fn status_error(&self, url: &str, response: Response<ureq::Body>) -> HttpError {
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .read_to_string()
            .unwrap_or_else(|e| format!("(the error body could not be read: {e})"));
        let message = server_message(&body);
        let message = match &self.key {
            Some(key) => key.redact(&message),
            None => message,
        };
        HttpError::Status {
            url: url.to_string(),
            status,
            message,
        }
    }

    fn transport_error(&self, url: &str, error: ureq::Error) -> HttpError {
        let cfg = &self.config;
        match error {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => {
                HttpError::Timeout {
                    url: url.to_string(),
                    what: "accept the connection",
                    secs: cfg.connect_timeout_s,
                    setting: "connect_timeout_s",
                }
            }
            ureq::Error::Timeout(_) => HttpError::Timeout {
                url: url.to_string(),
                what: "start answering",
                secs: cfg.first_byte_timeout_s,
                setting: "first_byte_timeout_s",
            },
            ureq::Error::Io(e) => HttpError::Connect {
                url: url.to_string(),
                detail: e.to_string(),
            },
            other => HttpError::Connect {
                url: url.to_string(),
                detail: other.to_string(),
            },
        }
    }
}

fn retry_after(response: &Response<ureq::Body>) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Sleep in short slices so a cancel is noticed promptly.
pub fn sleep_unless_cancelled(
    total: Duration,
    cancel: Option<&CancelFlag>,
) -> Result<(), HttpError> {
    let end = Instant::now() + total;
    loop {
        if cancel.is_some_and(CancelFlag::is_cancelled) {
            return Err(HttpError::Cancelled);
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}
