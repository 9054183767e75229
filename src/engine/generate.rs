//! The expansion loop: N branches of one prompt, sampled token by token from a `Decoder`,
//! streamed as events; stop sequences, EOS, max tokens, cancellation and prompt trimming.

use super::branch::{Branch, Ctx};
use super::decoder::Decoder;
use super::error::{EngineError, Result};
use super::protocol::{
    BranchSummary, EngineEvent, ExpandRequest, FinishReason, SamplingParams, TokenInfo,
};
use super::tokenizer::TextTokenizer;
use serde::Serialize;

/// A prompt as token ids, after trimming it to fit the context window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPrompt {
    pub ids: Vec<u32>,
    pub dropped: usize,
}

/// Tokenizes `prompt` and cuts it from the front (after BOS) so that it and `max_tokens`
/// new tokens fit in `context` tokens.
pub fn prepare_prompt(
    tokenizer: &TextTokenizer,
    prompt: &str,
    context: usize,
    max_tokens: usize,
) -> Result<PreparedPrompt> {
    let budget = context.saturating_sub(max_tokens);
    if budget == 0 {
        return Err(EngineError::InvalidParams(format!(
            "max_tokens {max_tokens} leaves no room for the prompt in the context window of \
             {context} tokens; lower max_tokens"
        )));
    }
    let mut ids = tokenizer.encode_prompt(prompt)?;
    if ids.is_empty() {
        match tokenizer.bos_id() {
            Some(bos) => ids.push(bos),
            None => {
                return Err(EngineError::InvalidParams(
                    "the prompt is empty and the model has no BOS token to start from; \
                     write some text first"
                        .into(),
                ));
            }
        }
    }
    let mut dropped = 0;
    if ids.len() > budget {
        dropped = ids.len() - budget;
        let keep_bos = ids.len() > 1 && Some(ids[0]) == tokenizer.bos_id() && budget > 1;
        let tail = if keep_bos {
            ids.split_off(dropped + 1)
        } else {
            ids.split_off(dropped)
        };
        ids.truncate(usize::from(keep_bos));
        ids.extend(tail);
    }
    Ok(PreparedPrompt { ids, dropped })
}

/// Generates `req.params.n` branches, emitting events; errors become `JobFailed`.
pub fn run_expansion(
    decoder: &mut dyn Decoder,
    tokenizer: &TextTokenizer,
    extra_eos: &[u32],
    req: &ExpandRequest,
    emit: &mut dyn FnMut(EngineEvent),
) {
    if let Err(e) = expand_inner(decoder, tokenizer, extra_eos, req, emit) {
        emit(EngineEvent::JobFailed {
            job: req.job,
            error: e.to_string(),
        });
    }
    emit(EngineEvent::JobFinished { job: req.job });
}

fn expand_inner(
    decoder: &mut dyn Decoder,
    tokenizer: &TextTokenizer,
    extra_eos: &[u32],
    req: &ExpandRequest,
    emit: &mut dyn FnMut(EngineEvent),
) -> Result<()> {
    let p = &req.params;
    validate(p)?;
    let prompt = prepare_prompt(
        tokenizer,
        &req.prompt,
        decoder.context_length(),
        p.max_tokens,
    )?;
    if prompt.dropped > 0 {
        emit(EngineEvent::PromptTrimmed {
            job: req.job,
            dropped_tokens: prompt.dropped,
            kept_tokens: prompt.ids.len(),
        });
    }
    let chunk = decoder.max_batch().max(1);
    let mut started = false;
    let ctx = Ctx {
        tokenizer,
        extra_eos,
        params: p,
        job: req.job,
        prompt: &prompt.ids,
    };
    for first in (0..p.n).step_by(chunk) {
        let indices: Vec<usize> = (first..(first + chunk).min(p.n)).collect();
        let mut branches: Vec<Branch> = indices
            .iter()
            .map(|&i| Branch::new(i, p, tokenizer))
            .collect();
        if req.cancel.is_cancelled() {
            for b in &mut branches {
                b.finish(FinishReason::Cancelled, &ctx, emit);
            }
            continue;
        }
        let first_logits = decoder.start(&prompt.ids, branches.len())?;
        if !started {
            started = true;
            emit(EngineEvent::Started {
                job: req.job,
                prompt_tokens: prompt.ids.len(),
            });
        }
        decode_chunk(decoder, &ctx, &mut branches, first_logits, req, emit)?;
    }
    Ok(())
}

fn validate(p: &SamplingParams) -> Result<()> {
    if p.n == 0 {
        return Err(EngineError::InvalidParams("n must be at least 1".into()));
    }
    if !(p.temperature.is_finite() && p.temperature >= 0.0) {
        return Err(EngineError::InvalidParams(format!(
            "temperature {} must be 0 (greedy) or positive",
            p.temperature
        )));
    }
    if !(p.top_p > 0.0 && p.top_p <= 1.0) {
        return Err(EngineError::InvalidParams(format!(
            "top_p {} must be in (0, 1]",
            p.top_p
        )));
    }
    if !(0.0..=1.0).contains(&p.min_p) {
        return Err(EngineError::InvalidParams(format!(
            "min_p {} must be in [0, 1]",
            p.min_p
        )));
    }
    if !(p.repetition_penalty.is_finite() && p.repetition_penalty > 0.0) {
        return Err(EngineError::InvalidParams(format!(
            "repetition_penalty {} must be positive",
            p.repetition_penalty
        )));
    }
    Ok(())
}

fn decode_chunk(
    decoder: &mut dyn Decoder,
    ctx: &Ctx,
    branches: &mut [Branch],
    first_logits: Vec<f32>,
    req: &ExpandRequest,
    emit: &mut dyn FnMut(EngineEvent),
) -> Result<()> {
    let mut live: Vec<usize> = (0..branches.len()).collect();
    let mut rows: Vec<Vec<f32>> = vec![first_logits; branches.len()];
    loop {
        if req.cancel.is_cancelled() {
            for &b in &live {
                branches[b].finish(FinishReason::Cancelled, ctx, emit);
            }
            return Ok(());
        }
        let mut next_tokens = Vec::new();
        let mut keep_rows = Vec::new();
        let mut still_live = Vec::new();
        for (row, &b) in live.iter().enumerate() {
            let branch = &mut branches[b];
            let logits = rows.get(row).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(token) = branch.advance(logits, ctx, emit) {
                next_tokens.push(token);
                keep_rows.push(row);
                still_live.push(b);
            }
        }
        if still_live.is_empty() {
            return Ok(());
        }
        if keep_rows.len() != live.len() {
            decoder.select(&keep_rows)?;
        }
        live = still_live;
        rows = decoder.step(&next_tokens)?;
    }
}

/// The result of an expansion, gathered from its events (for headless use).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Generation {
    pub prompt_tokens: usize,
    pub dropped_tokens: usize,
    pub branches: Vec<GeneratedBranch>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct GeneratedBranch {
    pub text: String,
    pub tokens: Vec<TokenInfo>,
    pub summary: Option<BranchSummary>,
}

impl Generation {
    pub fn new(n: usize) -> Generation {
        Generation {
            branches: vec![GeneratedBranch::default(); n],
            ..Generation::default()
        }
    }

    /// Folds one event of the expansion into the result.
    pub fn apply(&mut self, event: &EngineEvent) {
        match event {
            EngineEvent::PromptTrimmed { dropped_tokens, .. } => {
                self.dropped_tokens = *dropped_tokens
            }
            EngineEvent::Started { prompt_tokens, .. } => self.prompt_tokens = *prompt_tokens,
            EngineEvent::Token { branch, token, .. } => {
                if let Some(b) = self.branches.get_mut(*branch) {
                    b.text.push_str(&token.text);
                    b.tokens.push(token.clone());
                }
            }
            EngineEvent::BranchFinished {
                branch, summary, ..
            } => {
                if let Some(b) = self.branches.get_mut(*branch) {
                    b.summary = Some(summary.clone());
                }
            }
            EngineEvent::JobFailed { error, .. } => self.error = Some(error.clone()),
            _ => {}
        }
    }
}
