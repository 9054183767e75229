//! The interface between the generation loop and a model: prefill a prompt for N sequences,
//! step them together, drop or fork sequences, score a text. Implemented by our batched
//! forward pass (`llama`), for every supported family.

use super::error::Result;

pub trait Decoder: Send {
    /// The context window in tokens.
    fn context_length(&self) -> usize;

    /// How many sequences can decode together; 1 for models without batching, in which
    /// case branches run one after another.
    fn max_batch(&self) -> usize;

    /// Forgets any previous state, prefills `prompt` once, and makes `n` live sequences that
    /// share it. Returns the logits after the last prompt token (the same for all `n`).
    fn start(&mut self, prompt: &[u32], n: usize) -> Result<Vec<f32>>;

    /// Appends `tokens[i]` to live sequence `i` (one token each) and returns each
    /// sequence's next-token logits.
    fn step(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>>;

    /// Makes the live sequences `rows` (indices into the current ones; repeats fork a
    /// sequence). Only needed when `max_batch() > 1`.
    fn select(&mut self, rows: &[usize]) -> Result<()>;

    /// Runs `tokens` from an empty state and shows `visit` the logits predicting position
    /// `i + 1` after position `i`, for every `i` (the state is left undefined).
    fn score(&mut self, tokens: &[u32], visit: &mut dyn FnMut(usize, &[f32])) -> Result<()>;

    /// Counters since loading.
    fn stats(&self) -> DecoderStats {
        DecoderStats::default()
    }
}

/// How much prompt work a decoder did and avoided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Prompt tokens run through the model.
    pub prefilled_tokens: usize,
    /// Prompt tokens whose KV state came from the prefix cache.
    pub cached_tokens: usize,
}
