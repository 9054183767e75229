//! `tloom bench loom-session`: a scripted looming session on one model: a root prompt of
//! about 1000 tokens, then rounds of "expand the cursor node into 4 branches of 48 tokens,
//! move into branch 2". `scripts/bench-llamacpp.py --session` runs the same with llama.cpp.

use super::bench::peak_rss_mb;
use crate::engine::local::LocalModel;
use crate::engine::protocol::{CancelFlag, EngineEvent, ExpandRequest, JobId, SamplingParams};
use crate::engine::worker::Backend;
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Instant;

pub const ROOT_TOKENS: usize = 1000;
pub const ROUNDS: usize = 6;
pub const BRANCHES: usize = 4;
pub const BRANCH_TOKENS: usize = 48;
/// "Move into branch 2": the second branch, index 1.
pub const FOLLOWED_BRANCH: usize = 1;

#[derive(Debug, Clone, Serialize)]
pub struct SessionBench {
    pub model: String,
    pub threads: usize,
    pub wall_s: f64,
    pub ttft_ms: Vec<f64>,
    pub decode_tok_s: f64,
    pub peak_rss_mb: f64,
    /// Prompt tokens run through the model, and those reused from the prefix cache.
    pub prefilled_tokens: usize,
    pub cached_tokens: usize,
}

/// The root text: the benchmark paragraph repeated, cut to `ROOT_TOKENS` tokens.
pub fn root_text(model: &LocalModel) -> Result<String> {
    let mut text = String::new();
    let mut ids = Vec::new();
    while ids.len() < ROOT_TOKENS {
        text.push_str(super::bench::PARAGRAPH);
        ids = model.tokenizer().encode(&text)?;
    }
    Ok(model.tokenizer().decode(&ids[..ROOT_TOKENS]))
}

/// Runs the session on a loaded model (load time is not part of it).
pub fn run(model: &mut LocalModel) -> Result<SessionBench> {
    let mut cursor = root_text(model)?;
    let mut ttft = Vec::new();
    let mut decode_s = 0.0;
    let mut generated = 0usize;
    let t0 = Instant::now();
    for round in 0..ROUNDS {
        let req = ExpandRequest {
            job: JobId(round as u64),
            prompt: cursor.clone(),
            params: SamplingParams {
                n: BRANCHES,
                max_tokens: BRANCH_TOKENS,
                temperature: 0.8,
                seed: round as u64 * 100,
                ..SamplingParams::default()
            },
            cancel: CancelFlag::new(),
        };
        let start = Instant::now();
        let mut first: Option<f64> = None;
        let mut texts = vec![String::new(); BRANCHES];
        let mut error = None;
        model.expand(&req, &mut |e| match e {
            EngineEvent::Token { branch, token, .. } => {
                first.get_or_insert(start.elapsed().as_secs_f64());
                generated += 1;
                if let Some(t) = texts.get_mut(branch) {
                    t.push_str(&token.text);
                }
            }
            EngineEvent::JobFailed { error: e, .. } => error = Some(e),
            _ => {}
        });
        if let Some(e) = error {
            anyhow::bail!("round {round} failed: {e}");
        }
        let first = first.context("an expansion produced no token")?;
        ttft.push(first * 1e3);
        decode_s += start.elapsed().as_secs_f64() - first;
        cursor.push_str(&texts[FOLLOWED_BRANCH]);
    }
    Ok(SessionBench {
        model: model.info().model_id(),
        threads: model.threads(),
        wall_s: t0.elapsed().as_secs_f64(),
        ttft_ms: ttft,
        decode_tok_s: generated as f64 / decode_s.max(1e-9),
        peak_rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
        prefilled_tokens: model.decoder_mut().stats().prefilled_tokens,
        cached_tokens: model.decoder_mut().stats().cached_tokens,
    })
}

impl SessionBench {
    pub fn to_text(&self) -> String {
        let ttft: Vec<String> = self.ttft_ms.iter().map(|t| format!("{t:.0}")).collect();
        format!(
            "model {} on {} threads: {ROUNDS} rounds of {BRANCHES} x {BRANCH_TOKENS} tokens \
             from a {ROOT_TOKENS}-token root\nwall                 {:>8.2} s\ntime to first token  \
             {} ms\ndecode (aggregate)   {:>8.1} tok/s\npeak RSS             {:>8.1} MB\n\
             prompt tokens        {} prefilled, {} from the prefix cache\n",
            self.model,
            self.threads,
            self.wall_s,
            ttft.join(", "),
            self.decode_tok_s,
            self.peak_rss_mb,
            self.prefilled_tokens,
            self.cached_tokens
        )
    }
}
