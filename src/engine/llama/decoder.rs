//! The `Decoder` for our llama forward: one prefill shared by all branches (resumed from the
//! prefix cache when an earlier prompt shares its start), whose KV cache is then copied to a
//! batch that decodes in lockstep.

use super::prefix_cache::PrefixCache;
use super::{KvState, LlamaModel, Phase, logits_rows};
use crate::engine::decoder::{Decoder, DecoderStats};
use crate::engine::error::Result;
use candle_core::Tensor;

pub struct LlamaDecoder {
    model: LlamaModel,
    state: KvState,
    cache: PrefixCache,
    stats: DecoderStats,
}

impl LlamaDecoder {
    /// A decoder whose prefix cache may hold `cache_bytes` of KV state (0 disables it).
    pub fn new(model: LlamaModel, cache_bytes: usize) -> LlamaDecoder {
        LlamaDecoder {
            model,
            state: KvState::default(),
            cache: PrefixCache::new(cache_bytes),
            stats: DecoderStats::default(),
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
        let (mut state, done, logits) = match self.cache.lookup(prompt)? {
            Some(hit) => {
                self.stats.cached_tokens += hit.len;
                (hit.state, hit.len, hit.logits)
            }
            None => (KvState::single(), 0, None),
        };
        let logits = match logits {
            Some(logits) => logits,
            None => {
                let rest = &prompt[done..];
                self.stats.prefilled_tokens += rest.len();
                let last = self.model.prefill(rest, &mut state, &mut |_, _| Ok(()))?;
                logits_rows(&self.model.logits(&last)?)?
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            }
        };
        self.cache
            .insert(prompt.to_vec(), state.clone(), logits.clone());
        state.select(&vec![0; n.max(1)])?;
        self.state = state;
        Ok(logits)
    }

    fn step(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let hidden = self.model.forward(tokens, &mut self.state, Phase::Decode)?;
        let (b, _, h) = hidden.dims3()?;
        logits_rows(&self.model.logits(&hidden.reshape((b, h))?)?)
    }

    fn select(&mut self, rows: &[usize]) -> Result<()> {
        self.state.select(rows)
    }

    fn score(&mut self, tokens: &[u32], visit: &mut dyn FnMut(usize, &[f32])) -> Result<()> {
        self.state = KvState::single();
        let model = &self.model;
        model.prefill(tokens, &mut self.state, &mut |start, hidden: &Tensor| {
            for (i, row) in logits_rows(&model.logits(hidden)?)?.iter().enumerate() {
                visit(start + i, row);
            }
            Ok(())
        })?;
        Ok(())
    }

    fn stats(&self) -> DecoderStats {
        self.stats
    }
}
