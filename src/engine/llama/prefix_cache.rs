//! KV states of recently prefilled prompts, keyed by their token ids, so that a prompt
//! sharing a prefix with an earlier one (a child node's path, a sibling regenerated) prefills
//! only what is new. Bounded by a byte budget, least recently used first out.
//!
//! A state is a set of immutable tensor handles: storing one is a handle copy, and reusing a
//! shorter prefix of it is a `narrow` view. Edits need no invalidation: edited text has other
//! tokens, which simply match a shorter prefix.

use super::KvState;
use crate::engine::error::Result;

struct Entry {
    tokens: Vec<u32>,
    state: KvState,
    /// Next-token logits after the last token.
    logits: Vec<f32>,
    bytes: usize,
    last_used: u64,
}

/// What a lookup found: a state holding the first `len` tokens, and when the whole prompt
/// matched, the logits after it.
pub struct Hit {
    pub state: KvState,
    pub len: usize,
    pub logits: Option<Vec<f32>>,
}

pub struct PrefixCache {
    entries: Vec<Entry>,
    budget: usize,
    clock: u64,
}

impl PrefixCache {
    pub fn new(budget_bytes: usize) -> PrefixCache {
        PrefixCache {
            entries: Vec::new(),
            budget: budget_bytes,
            clock: 0,
        }
    }

    /// The longest cached prefix of `tokens`.
    pub fn lookup(&mut self, tokens: &[u32]) -> Result<Option<Hit>> {
        let mut best: Option<(usize, usize, bool)> = None;
        for (i, e) in self.entries.iter().enumerate() {
            let common = e
                .tokens
                .iter()
                .zip(tokens)
                .take_while(|(a, b)| a == b)
                .count();
            let exact = common == tokens.len() && common == e.tokens.len();
            // Without stored logits for that position, one token must still be run.
            let usable = if exact {
                common
            } else {
                common.min(tokens.len().saturating_sub(1))
            };
            if usable > 0 && best.is_none_or(|(_, u, x)| (usable, exact) > (u, x)) {
                best = Some((i, usable, exact));
            }
        }
        let Some((i, len, exact)) = best else {
            return Ok(None);
        };
        self.clock += 1;
        let entry = &mut self.entries[i];
        entry.last_used = self.clock;
        let mut state = entry.state.clone();
        state.truncate(len)?;
        Ok(Some(Hit {
            state,
            len,
            logits: exact.then(|| entry.logits.clone()),
        }))
    }

    /// Remembers the state after `tokens` (one sequence) and its next-token logits.
    pub fn insert(&mut self, tokens: Vec<u32>, state: KvState, logits: Vec<f32>) {
        if self.budget == 0 {
            return;
        }
        // An entry that is a prefix of the new one is covered by it.
        self.entries
            .retain(|e| !(e.tokens.len() <= tokens.len() && tokens.starts_with(&e.tokens)));
        self.clock += 1;
        let bytes = state.bytes();
        self.entries.push(Entry {
            tokens,
            state,
            logits,
            bytes,
            last_used: self.clock,
        });
        while self.entries.iter().map(|e| e.bytes).sum::<usize>() > self.budget
            && self.entries.len() > 1
        {
            let oldest = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                self.entries.remove(i);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
