//! The JSON of `/v1/completions`: request bodies, and response choices with either logprob
//! dialect (legacy arrays, or llama.cpp's chat-style `content` list) normalised to `TokenInfo`.

use super::config::{Dialect, OpenAiConfig};
use super::error::HttpError;
use crate::engine::protocol::{FinishReason, SamplingParams, TokenAlternative, TokenInfo};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// One request's shape beyond the sampling parameters.
#[derive(Debug, Clone, Copy)]
pub struct RequestShape {
    pub n: usize,
    pub seed: u64,
    pub stream: bool,
}

/// How many alternatives to ask for: at least 1 (so the chosen token's own logprob comes
/// back), at most what the server allows; None when the server reports no logprobs.
pub fn logprobs_to_request(cfg: &OpenAiConfig, top_logprobs: usize) -> Option<usize> {
    (cfg.max_logprobs > 0).then(|| top_logprobs.clamp(1, cfg.max_logprobs))
}

/// The body of a completion request, every sampling value explicit.
pub fn completion_body(
    cfg: &OpenAiConfig,
    model: &str,
    prompt: &str,
    params: &SamplingParams,
    shape: RequestShape,
) -> Result<Value, HttpError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("prompt".into(), json!(prompt));
    body.insert("stream".into(), json!(shape.stream));
    body.insert("n".into(), json!(shape.n));
    body.insert("max_tokens".into(), json!(params.max_tokens));
    body.insert("temperature".into(), json!(params.temperature));
    body.insert("top_p".into(), json!(params.top_p));
    body.insert("seed".into(), json!(shape.seed));
    body.insert("stop".into(), json!(params.stop));
    if let Some(k) = logprobs_to_request(cfg, params.top_logprobs) {
        body.insert("logprobs".into(), json!(k));
    }
    match cfg.dialect {
        Dialect::Extended => {
            body.insert("top_k".into(), json!(params.top_k));
            body.insert("min_p".into(), json!(params.min_p));
            body.insert(
                "repetition_penalty".into(),
                json!(params.repetition_penalty),
            );
            body.insert("repeat_penalty".into(), json!(params.repetition_penalty));
            body.insert("repeat_last_n".into(), json!(params.repetition_window));
        }
        Dialect::Openai => refuse_unsendable(params)?,
    }
    for (key, value) in &cfg.extra_body {
        body.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(body))
}

fn refuse_unsendable(params: &SamplingParams) -> Result<(), HttpError> {
    let unsendable = [
        ("top_k", params.top_k != 0, params.top_k.to_string()),
        ("min_p", params.min_p != 0.0, params.min_p.to_string()),
        (
            "repetition_penalty",
            params.repetition_penalty != 1.0,
            params.repetition_penalty.to_string(),
        ),
    ];
    match unsendable.into_iter().find(|(_, set, _)| *set) {
        Some((name, _, value)) => Err(HttpError::Unsupported(format!(
            "{name} = {value} cannot be sent to a server with dialect = \"openai\"; \
             reset it (top_k 0, min_p 0, repetition_penalty 1) or use dialect = \"extended\""
        ))),
        None => Ok(()),
    }
}

/// One entry of `choices` in a response or stream chunk.
#[derive(Debug, Clone, Deserialize)]
pub struct WireChoice {
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub text: String,
    /// Kept raw: an unexpected shape loses the logprobs, never the text.
    #[serde(default)]
    pub logprobs: Value,
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// vLLM: null for end-of-sequence, the stop string, or a stop token id. Absent elsewhere.
    #[serde(default, deserialize_with = "present")]
    pub stop_reason: Option<Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The `choices` of a chunk or response.
pub fn choices_of(json: &Value) -> Result<Vec<WireChoice>, String> {
    match json.get("choices") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(choices) => serde_json::from_value(choices.clone())
            .map_err(|e| format!("unexpected `choices` ({e})")),
    }
}

/// Map a server's finish reason onto tloom's. `asked_stops` says whether stop strings were
/// sent: plain `"stop"` means either end-of-sequence or a stop string, and only vLLM's
/// `stop_reason` tells which, so without it a job with stop strings reads as `Stop`.
pub fn finish_reason(choice: &WireChoice, asked_stops: bool) -> Result<FinishReason, String> {
    let reason = choice.finish_reason.as_deref().unwrap_or_default();
    match reason {
        "length" => Ok(FinishReason::Length),
        "eos" => Ok(FinishReason::Eos),
        "stop" => Ok(match &choice.stop_reason {
            Some(Value::String(_)) => FinishReason::Stop,
            Some(_) => FinishReason::Eos,
            None if asked_stops => FinishReason::Stop,
            None => FinishReason::Eos,
        }),
        other => Err(format!(
            "the server ended the branch with finish_reason {other:?}"
        )),
    }
}

/// A token as the server reported it, before text assembly.
#[derive(Debug, Clone, PartialEq)]
pub struct WireToken {
    pub id: Option<u32>,
    pub token: String,
    pub bytes: Option<Vec<u8>>,
    pub logprob: f32,
    pub top: Vec<TokenAlternative>,
}

/// The tokens in a `logprobs` value, whichever dialect; empty when there are none.
/// Alternatives come sorted most likely first, at most `keep` of them.
pub fn wire_tokens(logprobs: &Value, keep: usize) -> Vec<WireToken> {
    let mut tokens = match logprobs.get("content") {
        Some(Value::Array(content)) => content.iter().filter_map(chat_token).collect(),
        _ => legacy_tokens(logprobs),
    };
    for t in &mut tokens {
        t.top.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
        t.top.truncate(keep);
    }
    tokens
}

/// A logprob number; JSON null (minus infinity, or Python's NaN) reads as minus infinity.
fn logprob_of(value: Option<&Value>) -> f32 {
    value
        .and_then(Value::as_f64)
        .map_or(f32::NEG_INFINITY, |v| v as f32)
}

fn chat_token(entry: &Value) -> Option<WireToken> {
    let alt = chat_alternative(entry)?;
    let bytes = entry.get("bytes").and_then(|b| {
        b.as_array()?
            .iter()
            .map(|x| x.as_u64().and_then(|x| u8::try_from(x).ok()))
            .collect::<Option<Vec<u8>>>()
    });
    let top = ["top_logprobs", "top_probs"]
        .iter()
        .find_map(|k| entry.get(*k).and_then(Value::as_array))
        .map(|list| list.iter().filter_map(chat_alternative).collect())
        .unwrap_or_default();
    Some(WireToken {
        id: alt.id,
        token: alt.text,
        bytes,
        logprob: alt.logprob,
        top,
    })
}

/// `{id, token, logprob}` or, with llama.cpp's `post_sampling_probs`, `{id, token, prob}`.
fn chat_alternative(entry: &Value) -> Option<TokenAlternative> {
    let text = entry.get("token")?.as_str()?.to_string();
    let id = entry
        .get("id")
        .and_then(Value::as_u64)
        .and_then(|x| u32::try_from(x).ok());
    let logprob = match entry.get("logprob") {
        Some(lp) => logprob_of(Some(lp)),
        None => entry
            .get("prob")
            .and_then(Value::as_f64)
            .map_or(f32::NEG_INFINITY, |p| (p as f32).ln()),
    };
    Some(TokenAlternative { id, text, logprob })
}

fn legacy_tokens(logprobs: &Value) -> Vec<WireToken> {
    let Some(tokens) = logprobs.get("tokens").and_then(Value::as_array) else {
        return Vec::new();
    };
    let lps = logprobs.get("token_logprobs").and_then(Value::as_array);
    let tops = logprobs.get("top_logprobs").and_then(Value::as_array);
    tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let (id, text) = legacy_token_text(token);
            let top = tops
                .and_then(|t| t.get(i))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let (id, text) = legacy_token_text(&Value::String(k.clone()));
                            TokenAlternative {
                                id,
                                text,
                                logprob: logprob_of(Some(v)),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            WireToken {
                id,
                token: text,
                bytes: None,
                logprob: logprob_of(lps.and_then(|l| l.get(i))),
                top,
            }
        })
        .collect()
}

/// vLLM's `return_tokens_as_token_ids` writes tokens as `token_id:123`: keep the id.
fn legacy_token_text(token: &Value) -> (Option<u32>, String) {
    let text = token.as_str().unwrap_or_default();
    match text.strip_prefix("token_id:").map(str::parse::<u32>) {
        Some(Ok(id)) => (Some(id), String::new()),
        _ => (None, text.to_string()),
    }
}

/// Turns reported tokens into `TokenInfo`s whose texts add up exactly to the streamed text,
/// holding back incomplete UTF-8 (llama.cpp reports raw `bytes` of partial characters).
#[derive(Debug, Default)]
pub struct TokenAssembler {
    pending: Vec<u8>,
}

impl TokenAssembler {
    /// The tokens of one chunk whose text delta is `text`.
    pub fn tokens(&mut self, text: &str, wire: Vec<WireToken>) -> Vec<TokenInfo> {
        if wire.is_empty() {
            if text.is_empty() {
                return Vec::new();
            }
            // No logprobs from this server: one token-less piece of text.
            return vec![TokenInfo {
                id: None,
                text: text.to_string(),
                logprob: f32::NAN,
                entropy: None,
                top: Vec::new(),
            }];
        }
        let texts: Vec<String> = wire.iter().map(|t| self.decode(t)).collect();
        let texts = reconcile(text, texts);
        wire.into_iter()
            .zip(texts)
            .map(|(t, text)| TokenInfo {
                id: t.id,
                text,
                logprob: t.logprob,
                entropy: None,
                top: t.top,
            })
            .collect()
    }

    fn decode(&mut self, token: &WireToken) -> String {
        match &token.bytes {
            Some(bytes) => {
                self.pending.extend_from_slice(bytes);
                take_complete_utf8(&mut self.pending)
            }
            None => token.token.clone(),
        }
    }
}

/// The authoritative text is the chunk's; the per-token texts are used only if they add up.
fn reconcile(chunk_text: &str, mut texts: Vec<String>) -> Vec<String> {
    if texts.concat() == chunk_text {
        return texts;
    }
    if let Some(last) = texts.len().checked_sub(1) {
        let head: String = texts[..last].concat();
        match chunk_text.strip_prefix(head.as_str()) {
            Some(rest) => texts[last] = rest.to_string(),
            None => {
                texts.iter_mut().for_each(String::clear);
                texts[0] = chunk_text.to_string();
            }
        }
    }
    texts
}

/// Remove and return the longest valid UTF-8 prefix, keeping an incomplete tail; invalid
/// bytes are replaced rather than kept forever.
fn take_complete_utf8(pending: &mut Vec<u8>) -> String {
    match std::str::from_utf8(pending) {
        Ok(s) => {
            let out = s.to_string();
            pending.clear();
            out
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let out = String::from_utf8_lossy(&pending[..valid]).into_owned();
            pending.drain(..valid);
            out
        }
        Err(_) => {
            let out = String::from_utf8_lossy(pending).into_owned();
            pending.clear();
            out
        }
    }
}
