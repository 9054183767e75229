//! Errors of the HTTP backends, worded for the status bar: what failed, where, what to do.
//!
//! Messages never contain the API key: it only ever travels in a request header.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("backend config: {0}")]
    Config(String),
    #[error("cannot reach the server at {url}: {detail}; is it running, and is base_url right?")]
    Connect { url: String, detail: String },
    #[error(
        "the server at {url} did not {what} within {secs} s; raise {setting} if it is just slow"
    )]
    Timeout {
        url: String,
        what: &'static str,
        secs: f64,
        setting: &'static str,
    },
    #[error("the server at {url} answered HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("the server reported an error: {0}")]
    Server(String),
    #[error("the connection to the server broke: {0}")]
    Broken(String),
    #[error("the server at {url} sent a reply tloom cannot read: {detail}")]
    Protocol { url: String, detail: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("cancelled")]
    Cancelled,
}

impl HttpError {
    /// 429 and 503 mean "busy, try again": worth a bounded retry.
    pub fn is_retryable(&self) -> bool {
        matches!(self, HttpError::Status { status, .. } if *status == 429 || *status == 503)
    }
}

/// The human part of a server's error body: `{"error":{"message":..}}`, `{"error":".."}`,
/// `{"message":..}`, FastAPI's `{"detail":..}`, or the raw text (shortened).
pub fn server_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| message_of(&v));
    let message = from_json.unwrap_or_else(|| body.trim().to_string());
    if message.is_empty() {
        return "(no error message in the reply)".into();
    }
    shorten(&message, 400)
}

/// The message inside a JSON error value, if it has one.
pub fn message_of(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => {
            for key in ["error", "message", "detail", "msg"] {
                if let Some(inner) = map.get(key)
                    && let Some(found) = message_of(inner)
                {
                    return Some(found);
                }
            }
            None
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(message_of).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

/// At most `max` characters, marking the cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}
