//! Scoring a text (`echo` + `logprobs`) and exploring next-token trees (repeated one-token
//! requests) on a server. Both are plain JSON requests, no streaming.

use super::client::Endpoint;
use super::error::HttpError;
use super::wire::{self, TokenAssembler, WireToken};
use crate::engine::protocol::{ExploredToken, TokenAlternative, TokenInfo};
use serde_json::{Value, json};

/// Explore never sends more requests than this, whatever the shape asks for.
pub const MAX_EXPLORE_REQUESTS: usize = 256;

/// How many alternatives a scored token carries.
const SCORE_TOP: usize = 5;

/// Every token of `text` with its logprob, via `echo: true`. The first token has no context
/// unless the server adds BOS; a position the server leaves unscored has logprob NaN.
pub fn score(endpoint: &Endpoint, model: &str, text: &str) -> Result<Vec<TokenInfo>, HttpError> {
    let Some(k) = wire::logprobs_to_request(&endpoint.config, SCORE_TOP) else {
        return Err(cannot_score(
            endpoint,
            "max_logprobs = 0 says it reports no logprobs",
        ));
    };
    if !endpoint.config.supports_echo {
        return Err(cannot_score(
            endpoint,
            "supports_echo = false in its config",
        ));
    }
    // max_tokens 1, not 0: llama-cpp-python reads 0 as "no limit". The generated token is
    // cut off below.
    let body = json!({
        "model": model, "prompt": text, "echo": true, "logprobs": k, "max_tokens": 1,
        "temperature": 0.0, "n": 1, "stream": false, "seed": 0,
    });
    let reply = endpoint
        .post_json("completions", &body)
        .map_err(|e| refused(endpoint, e))?;
    let choices = wire::choices_of(&reply).map_err(|e| cannot_score(endpoint, &e))?;
    let Some(choice) = choices.first() else {
        return Err(cannot_score(endpoint, "its reply had no choices"));
    };
    let wire = wire::wire_tokens(&choice.logprobs, SCORE_TOP);
    if wire.is_empty() {
        return Err(cannot_score(
            endpoint,
            "its reply had no logprobs for the echoed text",
        ));
    }
    let raw_logprobs = choice
        .logprobs
        .get("token_logprobs")
        .and_then(Value::as_array);
    Ok(prompt_tokens(text, wire, raw_logprobs))
}

/// Keep the tokens that make up `text` (dropping any generated one), with their own texts.
fn prompt_tokens(text: &str, wire: Vec<WireToken>, raw: Option<&Vec<Value>>) -> Vec<TokenInfo> {
    let mut assembler = TokenAssembler::default();
    let mut covered = 0;
    let mut out = Vec::new();
    for (i, token) in wire.into_iter().enumerate() {
        if covered >= text.len() {
            break;
        }
        let unscored = raw.and_then(|r| r.get(i)).is_some_and(Value::is_null);
        let text = token.token.clone();
        let Some(mut info) = assembler.tokens(&text, vec![token]).pop() else {
            continue;
        };
        if unscored {
            info.logprob = f32::NAN;
        }
        covered += info.text.len();
        out.push(info);
    }
    out
}

fn refused(endpoint: &Endpoint, error: HttpError) -> HttpError {
    match error {
        HttpError::Status {
            status, message, ..
        } if (400..500).contains(&status) => {
            cannot_score(endpoint, &format!("it answered HTTP {status}: {message}"))
        }
        other => other,
    }
}

fn cannot_score(endpoint: &Endpoint, why: &str) -> HttpError {
    HttpError::Unsupported(format!(
        "the server at {} cannot score text ({why}); scoring needs echo with logprobs \
         (vLLM, llama-cpp-python) or the local engine",
        endpoint.url("completions")
    ))
}

/// The most likely next-token tree below `prompt`, one request per expanded node.
pub fn explore(
    endpoint: &Endpoint,
    model: &str,
    prompt: &str,
    depth: usize,
    width: usize,
    cutoff: f32,
) -> Result<Vec<ExploredToken>, HttpError> {
    if endpoint.config.max_logprobs == 0 {
        return Err(HttpError::Unsupported(format!(
            "the server at {} reports no logprobs (max_logprobs = 0), so it cannot explore",
            endpoint.url("completions")
        )));
    }
    let mut budget = MAX_EXPLORE_REQUESTS;
    let width = width.min(endpoint.config.max_logprobs);
    expand_node(
        endpoint,
        model,
        prompt,
        depth,
        width,
        cutoff,
        1.0,
        &mut budget,
    )
}

#[allow(clippy::too_many_arguments)]
fn expand_node(
    endpoint: &Endpoint,
    model: &str,
    prompt: &str,
    depth: usize,
    width: usize,
    cutoff: f32,
    path_prob: f32,
    budget: &mut usize,
) -> Result<Vec<ExploredToken>, HttpError> {
    if depth == 0 || width == 0 || *budget == 0 {
        return Ok(Vec::new());
    }
    *budget -= 1;
    let alternatives = next_token_alternatives(endpoint, model, prompt, width)?;
    let mut out = Vec::new();
    for token in alternatives {
        let prob = path_prob * token.logprob.exp();
        if prob < cutoff {
            continue;
        }
        let child_prompt = format!("{prompt}{}", token.text);
        let children = expand_node(
            endpoint,
            model,
            &child_prompt,
            depth - 1,
            width,
            cutoff,
            prob,
            budget,
        )?;
        out.push(ExploredToken {
            token,
            path_prob: prob,
            children,
        });
    }
    Ok(out)
}

fn next_token_alternatives(
    endpoint: &Endpoint,
    model: &str,
    prompt: &str,
    width: usize,
) -> Result<Vec<TokenAlternative>, HttpError> {
    let mut body = json!({
        "model": model, "prompt": prompt, "max_tokens": 1, "logprobs": width,
        "temperature": 0.0, "top_p": 1.0, "n": 1, "stream": false, "seed": 0,
    });
    if let Some(map) = body.as_object_mut() {
        for (key, value) in &endpoint.config.extra_body {
            map.insert(key.clone(), value.clone());
        }
    }
    let reply = endpoint.post_json("completions", &body)?;
    let choices = wire::choices_of(&reply).map_err(|detail| HttpError::Protocol {
        url: endpoint.url("completions"),
        detail,
    })?;
    let first = choices
        .first()
        .and_then(|c| wire::wire_tokens(&c.logprobs, width).into_iter().next());
    match first {
        Some(token) => Ok(token.top),
        None => Ok(Vec::new()), // end of text: nothing follows
    }
}
