//! One branch of an expansion: sampling its next token, holding back text that may start a
//! stop sequence, cutting at a stop, and summarising it when it finishes.

use super::protocol::{
    BranchSummary, EngineEvent, FinishReason, JobId, SamplingParams, TokenAlternative, TokenInfo,
};
use super::sampling::{Choice, Sampler};
use super::tokenizer::{StreamDecoder, TextTokenizer};
use std::collections::VecDeque;

/// What a branch needs to know about its expansion.
pub(crate) struct Ctx<'a> {
    pub tokenizer: &'a TextTokenizer,
    pub extra_eos: &'a [u32],
    pub params: &'a SamplingParams,
    pub job: JobId,
    pub prompt: &'a [u32],
}

/// One branch being generated.
pub(crate) struct Branch {
    index: usize,
    seed: u64,
    sampler: Sampler,
    generated: Vec<u32>,
    stream: StreamDecoder,
    /// All text generated so far, including text held back in `pending`.
    text: String,
    /// Bytes of `text` already sent in `Token` events.
    released: usize,
    /// Tokens whose text might still turn out to be the start of a stop sequence.
    pending: VecDeque<TokenInfo>,
    emitted: usize,
    sum_logprob: f64,
    sum_entropy: f64,
    finished: bool,
}

impl Branch {
    pub(crate) fn new(index: usize, p: &SamplingParams, _tok: &TextTokenizer) -> Branch {
        let seed = p.seed.wrapping_add(index as u64);
        Branch {
            index,
            seed,
            sampler: Sampler::new(p, seed),
            generated: Vec::new(),
            stream: StreamDecoder::new(),
            text: String::new(),
            released: 0,
            pending: VecDeque::new(),
            emitted: 0,
            sum_logprob: 0.0,
            sum_entropy: 0.0,
            finished: false,
        }
    }

    /// Samples the next token from `logits`; returns it when the branch goes on.
    pub(crate) fn advance(
        &mut self,
        logits: &[f32],
        ctx: &Ctx,
        emit: &mut dyn FnMut(EngineEvent),
    ) -> Option<u32> {
        let p = ctx.params;
        if self.generated.len() >= p.max_tokens {
            self.finish(FinishReason::Length, ctx, emit);
            return None;
        }
        let window = self.history_window(ctx.prompt, p.repetition_window);
        let choice = self.sampler.choose(logits, &window);
        if ctx.tokenizer.is_eos(choice.token) || ctx.extra_eos.contains(&choice.token) {
            self.finish(FinishReason::Eos, ctx, emit);
            return None;
        }
        let token = choice.token;
        self.generated.push(token);
        let piece = self.stream.push(ctx.tokenizer.token_bytes(token));
        self.text.push_str(&piece);
        self.pending
            .push_back(token_info(&choice, piece, ctx.tokenizer));
        if let Some(cut) = find_stop(&self.text, self.released, &p.stop) {
            self.release_cut(cut, ctx.job, emit);
            self.finish(FinishReason::Stop, ctx, emit);
            return None;
        }
        let safe = self.text.len() - held_suffix(&self.text[self.released..], &p.stop);
        self.release_upto(safe, ctx.job, emit);
        if self.generated.len() >= p.max_tokens {
            self.finish(FinishReason::Length, ctx, emit);
            return None;
        }
        Some(token)
    }

    fn history_window(&self, prompt: &[u32], window: usize) -> Vec<u32> {
        let from_gen = self.generated.len().min(window);
        let from_prompt = (window - from_gen).min(prompt.len());
        let mut w = prompt[prompt.len() - from_prompt..].to_vec();
        w.extend_from_slice(&self.generated[self.generated.len() - from_gen..]);
        w
    }

    fn emit_token(&mut self, token: TokenInfo, job: JobId, emit: &mut dyn FnMut(EngineEvent)) {
        self.released += token.text.len();
        self.emitted += 1;
        self.sum_logprob += token.logprob as f64;
        self.sum_entropy += token.entropy.unwrap_or(0.0) as f64;
        emit(EngineEvent::Token {
            job,
            branch: self.index,
            token,
        });
    }

    fn release_upto(&mut self, upto: usize, job: JobId, emit: &mut dyn FnMut(EngineEvent)) {
        while let Some(front) = self.pending.front() {
            if self.released + front.text.len() > upto {
                break;
            }
            if let Some(token) = self.pending.pop_front() {
                self.emit_token(token, job, emit);
            }
        }
    }

    /// Releases the pending tokens up to byte `cut` of the text (a stop sequence starts
    /// there), shortening the token that crosses it and dropping the ones after it.
    fn release_cut(&mut self, cut: usize, job: JobId, emit: &mut dyn FnMut(EngineEvent)) {
        while let Some(mut token) = self.pending.pop_front() {
            if self.released >= cut {
                break;
            }
            if self.released + token.text.len() > cut {
                token.text.truncate(cut - self.released);
            }
            self.emit_token(token, job, emit);
        }
        self.pending.clear();
        self.text.truncate(cut);
    }

    pub(crate) fn finish(
        &mut self,
        reason: FinishReason,
        ctx: &Ctx,
        emit: &mut dyn FnMut(EngineEvent),
    ) {
        if self.finished {
            return;
        }
        self.finished = true;
        if reason != FinishReason::Stop {
            let rest = self.stream.finish();
            if let Some(last) = self.pending.back_mut() {
                last.text.push_str(&rest);
            }
            self.release_upto(usize::MAX, ctx.job, emit);
        }
        let mean = |sum: f64| (self.emitted > 0).then(|| (sum / self.emitted as f64) as f32);
        emit(EngineEvent::BranchFinished {
            job: ctx.job,
            branch: self.index,
            summary: BranchSummary {
                reason,
                tokens: self.emitted,
                mean_logprob: mean(self.sum_logprob),
                mean_entropy: mean(self.sum_entropy),
                seed: self.seed,
                error: None,
            },
        });
    }
}

fn token_info(choice: &Choice, text: String, tokenizer: &TextTokenizer) -> TokenInfo {
    TokenInfo {
        id: Some(choice.token),
        text,
        logprob: choice.logprob,
        entropy: Some(choice.distribution.entropy),
        top: alternatives(&choice.distribution.top, tokenizer),
    }
}

pub fn alternatives(top: &[(u32, f32)], tokenizer: &TextTokenizer) -> Vec<TokenAlternative> {
    top.iter()
        .map(|&(id, logprob)| TokenAlternative {
            id: Some(id),
            text: tokenizer.token_text(id),
            logprob,
        })
        .collect()
}

/// The byte offset of the first stop sequence in `text[from..]`, if any.
fn find_stop(text: &str, from: usize, stops: &[String]) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text[from..].find(s.as_str()).map(|i| from + i))
        .min()
}

/// The length of the longest end of `text` that could begin a stop sequence.
fn held_suffix(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .flat_map(|s| {
            (1..s.len())
                .filter(move |&l| s.is_char_boundary(l))
                .map(move |l| &s[..l])
        })
        .filter(|prefix| text.ends_with(prefix))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_suffix_finds_the_longest_partial_stop() {
        let stops = vec!["\n\n".to_string(), "END".to_string()];
        assert_eq!(held_suffix("abc\n", &stops), 1);
        assert_eq!(held_suffix("abc EN", &stops), 2);
        assert_eq!(held_suffix("abc", &stops), 0);
        assert_eq!(find_stop("ab\n\ncd", 0, &stops), Some(2));
        assert_eq!(find_stop("ab\n\ncd", 3, &stops), None);
    }
}
