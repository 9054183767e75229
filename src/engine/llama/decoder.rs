//! The `Decoder` for our llama forward: a prompt resumes from the longest prefix in the
//! prefix cache and prefills the rest in chunks; its branches start as forks of it (sharing
//! its pages) and decode in lockstep; every sequence that ends goes back into the cache, so
//! expanding one of its continuations later prefills nothing it already ran.

use super::LlamaModel;
use super::forward::{Buffers, Want};
use super::kv::Sequence;
use super::prefix_cache::PrefixCache;
use crate::engine::decoder::{Decoder, DecoderStats};
use crate::engine::error::Result;

/// Prompt tokens per prefill pass.
const PREFILL_CHUNK: usize = 256;
/// Rows of logits computed at once while scoring.
const SCORE_LOGIT_ROWS: usize = 32;

/// What `prefill` calls per chunk: the decoder, the chunk's first row, its hidden states.
type ChunkVisit<'a> = dyn FnMut(&mut LlamaDecoder, usize, &[f32]) -> Result<()> + 'a;

pub struct LlamaDecoder {
    model: LlamaModel,
    live: Vec<Sequence>,
    cache: PrefixCache,
    buffers: Buffers,
    stats: DecoderStats,
}

impl LlamaDecoder {
    /// A decoder whose prefix cache may hold `cache_bytes` of KV pages (0 disables it).
    pub fn new(model: LlamaModel, cache_bytes: usize) -> LlamaDecoder {
        LlamaDecoder {
            model,
            live: Vec::new(),
            cache: PrefixCache::new(cache_bytes),
            buffers: Buffers::default(),
            stats: DecoderStats::default(),
        }
    }

    pub fn model(&self) -> &LlamaModel {
        &self.model
    }

    /// Runs `tokens` after `seq` in chunks; `visit(first_row, hidden)` sees each chunk's
    /// wanted hidden states. Returns the last row's hidden state.
    fn prefill(
        &mut self,
        seq: &mut Sequence,
        tokens: &[u32],
        want: Want,
        visit: &mut ChunkVisit,
    ) -> Result<Vec<f32>> {
        let hidden = self.model.config.hidden;
        let mut last = Vec::new();
        for (i, chunk) in tokens.chunks(PREFILL_CHUNK).enumerate() {
            let h = self
                .model
                .forward(&mut [&mut *seq], &[chunk], want, &mut self.buffers)?;
            visit(self, i * PREFILL_CHUNK, &h)?;
            last = h[h.len() - hidden..].to_vec();
        }
        Ok(last)
    }

    /// Gives the live sequences to the prefix cache.
    fn retire_live(&mut self) {
        for seq in std::mem::take(&mut self.live) {
            self.cache.insert(&seq);
        }
    }
}

impl Decoder for LlamaDecoder {
    fn context_length(&self) -> usize {
        self.model.config.context_length
    }

    fn max_batch(&self) -> usize {
        usize::MAX
    }

    fn start(&mut self, prompt: &[u32], n: usize) -> Result<Vec<f32>> {
        self.retire_live();
        let hit = self.cache.lookup(prompt);
        let mut seq = hit.sequence;
        self.stats.cached_tokens += seq.len();
        let logits = match hit.logits {
            Some(logits) => logits,
            None => {
                let rest = &prompt[seq.len()..];
                self.stats.prefilled_tokens += rest.len();
                let last = self.prefill(&mut seq, rest, Want::Last, &mut |_, _, _| Ok(()))?;
                self.model.logits(&last, &mut self.buffers).to_vec()
            }
        };
        self.cache.insert(&seq);
        self.cache.insert_logits(prompt, logits.clone());
        self.live = vec![seq; n.max(1)];
        Ok(logits)
    }

    fn step(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let singles: Vec<[u32; 1]> = tokens.iter().map(|&t| [t]).collect();
        let inputs: Vec<&[u32]> = singles.iter().map(|t| t.as_slice()).collect();
        let mut seqs: Vec<&mut Sequence> = self.live.iter_mut().collect();
        let hidden = self
            .model
            .forward(&mut seqs, &inputs, Want::Last, &mut self.buffers)?;
        let logits = self.model.logits(&hidden, &mut self.buffers);
        Ok(logits
            .chunks_exact(self.model.config.vocab)
            .map(<[f32]>::to_vec)
            .collect())
    }

    fn select(&mut self, rows: &[usize]) -> Result<()> {
        let next: Vec<Sequence> = rows.iter().map(|&r| self.live[r].clone()).collect();
        for (i, seq) in self.live.iter().enumerate() {
            if !rows.contains(&i) {
                self.cache.insert(seq);
            }
        }
        self.live = next;
        Ok(())
    }

    fn score(&mut self, tokens: &[u32], visit: &mut dyn FnMut(usize, &[f32])) -> Result<()> {
        self.retire_live();
        let mut seq = Sequence::default();
        let hidden = self.model.config.hidden;
        let vocab = self.model.config.vocab;
        self.prefill(&mut seq, tokens, Want::All, &mut |dec, start, h| {
            for (i, rows) in h.chunks(SCORE_LOGIT_ROWS * hidden).enumerate() {
                let logits = dec.model.logits(rows, &mut dec.buffers);
                for (j, row) in logits.chunks_exact(vocab).enumerate() {
                    visit(start + i * SCORE_LOGIT_ROWS + j, row);
                }
            }
            Ok(())
        })?;
        self.cache.insert(&seq);
        Ok(())
    }

    fn stats(&self) -> DecoderStats {
        self.stats
    }
}
