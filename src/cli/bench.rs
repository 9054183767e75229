//! `tloom bench engine`: prefill, decode, batched decode, time to first token and peak memory
//! of the local engine on one model, as a table or JSON.

use crate::engine::local::{LocalModel, LocalModelSpec};
use crate::engine::protocol::{CancelFlag, EngineEvent, ExpandRequest, JobId, SamplingParams};
use crate::engine::sampling::top_k_indices;
use crate::engine::worker::Backend;
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Instant;

/// What `bench engine` measures; rates are tokens per second, medians of `runs`.
#[derive(Debug, Clone, Serialize)]
pub struct EngineBench {
    pub model: String,
    pub threads: usize,
    pub runs: usize,
    pub load_s: f64,
    pub prompt_tokens: usize,
    pub prefill_tok_s: f64,
    pub decode_tok_s: f64,
    pub batched_decode_tok_s: Vec<(usize, f64)>,
    /// Per batch size, the median over runs of (batched rate / single rate of the same run):
    /// the machine's speed drifts, so a ratio of rates measured seconds apart is steadier
    /// than the ratio of the two medians.
    pub batched_speedup: Vec<(usize, f64)>,
    pub ttft_ms: f64,
    pub peak_rss_mb: f64,
}

/// Options for `bench engine`.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub spec: LocalModelSpec,
    pub prompt_tokens: usize,
    pub decode_tokens: usize,
    pub batches: Vec<usize>,
    pub runs: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            spec: LocalModelSpec::default(),
            prompt_tokens: 512,
            decode_tokens: 64,
            batches: vec![4, 8],
            runs: 3,
        }
    }
}

pub const PARAGRAPH: &str = "The loom weaves many threads at once. Each thread is a story that \
    could have been, and the weaver chooses which to follow, which to cut, and which to tie \
    back into the cloth. In 1804 Joseph Marie Jacquard showed a loom driven by punched cards; \
    two centuries later the cards are prompts and the threads are continuations. ";

pub fn run(opts: &BenchOptions) -> Result<EngineBench> {
    let t0 = Instant::now();
    // Every run prefills the same prompt: the prefix cache would turn prefill into a lookup.
    let spec = LocalModelSpec {
        prefix_cache_mb: Some(0),
        ..opts.spec.clone()
    };
    let mut model = LocalModel::load(&spec, &mut |_, _| {}).context("loading the model")?;
    let load_s = t0.elapsed().as_secs_f64();
    let prompt_ids = prompt_of(&model, opts.prompt_tokens)?;
    let prompt_text = model.tokenizer().decode(&prompt_ids);
    let n = prompt_ids.len();
    let runs = opts.runs.max(1);

    let prefill = median((0..runs).map(|_| -> Result<f64> {
        let t = Instant::now();
        model.decoder_mut().start(&prompt_ids, 1)?;
        Ok(n as f64 / t.elapsed().as_secs_f64())
    }))?;
    // Single and batched decoding alternate run by run, so each run's ratio compares rates
    // measured close together in time.
    let mut singles = Vec::new();
    let mut batched_runs: Vec<Vec<f64>> = vec![Vec::new(); opts.batches.len()];
    for _ in 0..runs {
        singles.push(decode_rate(&mut model, &prompt_ids, 1, opts.decode_tokens)?);
        for (i, &b) in opts.batches.iter().enumerate() {
            batched_runs[i].push(decode_rate(&mut model, &prompt_ids, b, opts.decode_tokens)?);
        }
    }
    let decode = median(singles.iter().map(|&r| Ok(r)))?;
    let mut batched = Vec::new();
    let mut speedup = Vec::new();
    for (&b, rates) in opts.batches.iter().zip(&batched_runs) {
        batched.push((b, median(rates.iter().map(|&r| Ok(r)))?));
        let ratios = rates.iter().zip(&singles).map(|(r, s)| Ok(r / s));
        speedup.push((b, median(ratios)?));
    }
    let ttft = median((0..runs).map(|_| time_to_first_token(&mut model, &prompt_text)))?;
    Ok(EngineBench {
        model: model.info().model_id(),
        threads: model.threads(),
        runs,
        load_s,
        prompt_tokens: n,
        prefill_tok_s: prefill,
        decode_tok_s: decode,
        batched_decode_tok_s: batched,
        batched_speedup: speedup,
        ttft_ms: ttft,
        peak_rss_mb: peak_rss_mb().unwrap_or(f64::NAN),
    })
}

/// Exactly `len` tokens of English-like text (fewer if the context is smaller).
fn prompt_of(model: &LocalModel, len: usize) -> Result<Vec<u32>> {
    let mut text = String::new();
    let mut ids = Vec::new();
    while ids.len() < len {
        text.push_str(PARAGRAPH);
        ids = model.tokenizer().encode(&text)?;
    }
    let limit = len.min(model.describe().context_length / 2);
    ids.truncate(limit);
    Ok(ids)
}

/// Aggregate tokens per second of `batch` greedy sequences decoding `steps` tokens after the
/// prompt.
fn decode_rate(model: &mut LocalModel, prompt: &[u32], batch: usize, steps: usize) -> Result<f64> {
    let decoder = model.decoder_mut();
    let batch = batch.min(decoder.max_batch());
    let first = decoder.start(prompt, batch)?;
    let mut next: Vec<u32> = vec![top_k_indices(&first, 1).first().copied().unwrap_or(0); batch];
    let t = Instant::now();
    for _ in 0..steps {
        let rows = decoder.step(&next)?;
        next = rows
            .iter()
            .map(|r| top_k_indices(r, 1).first().copied().unwrap_or(0))
            .collect();
    }
    Ok((batch * steps) as f64 / t.elapsed().as_secs_f64())
}

/// Milliseconds from an expansion request (text prompt) to its first streamed token.
fn time_to_first_token(model: &mut LocalModel, prompt: &str) -> Result<f64> {
    let cancel = CancelFlag::new();
    let req = ExpandRequest {
        job: JobId(0),
        prompt: prompt.to_string(),
        params: SamplingParams {
            n: 1,
            max_tokens: 1,
            ..SamplingParams::default()
        },
        cancel: cancel.clone(),
    };
    let t = Instant::now();
    let mut first = None;
    model.expand(&req, &mut |e| {
        if matches!(e, EngineEvent::Token { .. }) && first.is_none() {
            first = Some(t.elapsed().as_secs_f64() * 1e3);
        }
    });
    first.context("the expansion produced no token")
}

fn median(values: impl Iterator<Item = Result<f64>>) -> Result<f64> {
    let mut v = values.collect::<Result<Vec<f64>>>()?;
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().context("no measurements")
}

/// Peak resident memory of this process (VmHWM), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

impl EngineBench {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "model {} on {} threads (median of {} runs; load {:.1} s)\n",
            self.model, self.threads, self.runs, self.load_s
        );
        out += &format!(
            "prefill ({} tokens)     {:>8.1} tok/s\n",
            self.prompt_tokens, self.prefill_tok_s
        );
        out += &format!(
            "decode (1 stream)        {:>8.1} tok/s\n",
            self.decode_tok_s
        );
        for ((b, rate), (_, x)) in self.batched_decode_tok_s.iter().zip(&self.batched_speedup) {
            out += &format!(
                "decode (batch of {b:<2})     {rate:>8.1} tok/s aggregate, {x:.2}x the single \
                 stream of the same run\n"
            );
        }
        out += &format!("time to first token      {:>8.1} ms\n", self.ttft_ms);
        out += &format!("peak RSS                 {:>8.1} MB\n", self.peak_rss_mb);
        out
    }
}
