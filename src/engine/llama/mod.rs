//! Our own llama-family forward pass (SmolLM2, Llama 2/3, Mistral): batched decoding of many
//! sequences that share a prefilled prompt, with the weight format chosen per phase.
//!
//! Why not candle's `quantized_llama`: it fails with batch > 1, and its Q4_1 path is a scalar
//! dot product. Here every linear layer keeps a fast quantized copy for decoding (Q4_1 and
//! other formats without a SIMD kernel are requantized to Q8_0) and, when memory allows, an
//! f32 copy for prefill, where a gemm beats any mat-vec. The KV cache holds immutable tensor
//! handles, so a copy of a `KvState` is an independent snapshot.

mod decoder;
mod load;
pub mod prefix_cache;

pub use decoder::LlamaDecoder;

use super::error::{EngineError, Result};
use super::gguf_info::{meta_f32, meta_usize};
use candle_core::quantized::QMatMul;
use candle_core::quantized::gguf_file::Content;
use candle_core::{D, DType, Device, Module, Tensor};
use std::path::Path;

/// Prefill runs in chunks of this many tokens, bounding the attention matrix.
const PREFILL_CHUNK: usize = 512;
/// f32 prefill weights are kept only when they take at most this many bytes.
const MAX_F32_WEIGHT_BYTES: usize = 3 << 30;

#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub hidden: usize,
    pub eps: f64,
    pub rope_theta: f32,
    pub context_length: usize,
}

impl LlamaConfig {
    pub fn from_gguf(path: &Path, ct: &Content) -> Result<LlamaConfig> {
        let need = |key: &str| {
            meta_usize(ct, &format!("llama.{key}")).ok_or_else(|| EngineError::MissingMetadata {
                path: path.to_path_buf(),
                key: format!("llama.{key}"),
            })
        };
        let n_head = need("attention.head_count")?;
        let hidden = need("embedding_length")?;
        let head_dim = meta_usize(ct, "llama.rope.dimension_count").unwrap_or(hidden / n_head);
        if n_head == 0 || head_dim * n_head != hidden {
            return Err(EngineError::BadGguf {
                path: path.to_path_buf(),
                message: format!(
                    "head count {n_head} and rope dimension {head_dim} do not divide the width {hidden}"
                ),
            });
        }
        Ok(LlamaConfig {
            n_layer: need("block_count")?,
            n_head,
            n_kv_head: meta_usize(ct, "llama.attention.head_count_kv").unwrap_or(n_head),
            head_dim,
            hidden,
            eps: meta_f32(ct, "llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f64,
            rope_theta: meta_f32(ct, "llama.rope.freq_base").unwrap_or(10_000.0),
            context_length: meta_usize(ct, "llama.context_length").unwrap_or(4096),
        })
    }
}

/// Which weights a pass uses: f32 for prefill (a gemm), quantized for decoding (a mat-vec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Prefill,
    Decode,
}

#[derive(Debug, Clone)]
struct Linear {
    decode: QMatMul,
    prefill: Option<QMatMul>,
}

impl Linear {
    fn forward(&self, x: &Tensor, phase: Phase) -> Result<Tensor> {
        let w = match (phase, &self.prefill) {
            (Phase::Prefill, Some(f32_weights)) => f32_weights,
            _ => &self.decode,
        };
        Ok(w.forward(x)?)
    }
}

/// Several matrices applied to the same input: stacked into one when possible.
#[derive(Debug, Clone)]
enum Projection {
    Fused { linear: Linear, sizes: Vec<usize> },
    Split(Vec<Linear>),
}

impl Projection {
    fn forward(&self, x: &Tensor, phase: Phase) -> Result<Vec<Tensor>> {
        match self {
            Projection::Fused { linear, sizes } => {
                let y = linear.forward(x, phase)?;
                let mut offset = 0;
                let mut parts = Vec::with_capacity(sizes.len());
                for &n in sizes {
                    parts.push(y.narrow(D::Minus1, offset, n)?);
                    offset += n;
                }
                Ok(parts)
            }
            Projection::Split(linears) => linears.iter().map(|l| l.forward(x, phase)).collect(),
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attn_norm: Tensor,
    /// Query, key and value projections.
    qkv: Projection,
    wo: Linear,
    ffn_norm: Tensor,
    /// Gate and up projections of the SwiGLU MLP.
    gate_up: Projection,
    down: Linear,
}

/// The KV cache of a batch of sequences that all have `len` tokens.
#[derive(Debug, Clone, Default)]
pub struct KvState {
    /// Per layer: keys and values, each (batch, kv_heads, len, head_dim).
    layers: Vec<(Tensor, Tensor)>,
    pub len: usize,
    pub batch: usize,
}

impl KvState {
    /// An empty state for one sequence.
    pub fn single() -> KvState {
        KvState {
            batch: 1,
            ..KvState::default()
        }
    }

    /// Keeps only the first `len` tokens (views, no copy).
    pub fn truncate(&mut self, len: usize) -> Result<()> {
        if len < self.len {
            for (k, v) in &mut self.layers {
                *k = k.narrow(2, 0, len)?;
                *v = v.narrow(2, 0, len)?;
            }
            self.len = len;
        }
        Ok(())
    }

    /// Approximate bytes held by the cache.
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * 4)
            .sum()
    }

    /// Keeps the sequences `rows` (repeats fork a sequence).
    pub fn select(&mut self, rows: &[usize]) -> Result<()> {
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let idx = Tensor::new(idx.as_slice(), &Device::Cpu)?;
        for (k, v) in &mut self.layers {
            *k = k.index_select(&idx, 0)?;
            *v = v.index_select(&idx, 0)?;
        }
        self.batch = rows.len();
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct LlamaModel {
    pub config: LlamaConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
}

impl LlamaModel {
    /// Runs `tokens` (batch rows of `tokens.len() / state.batch` tokens each, row-major)
    /// through the model after the state's tokens; returns the final hidden states
    /// (batch, seq, hidden) and extends the state.
    pub fn forward(&self, tokens: &[u32], state: &mut KvState, phase: Phase) -> Result<Tensor> {
        let b = state.batch.max(1);
        let s = tokens.len() / b;
        if s == 0 || s * b != tokens.len() {
            return Err(EngineError::InvalidParams(format!(
                "{} tokens do not split into {b} equal rows",
                tokens.len()
            )));
        }
        let pos = state.len;
        if pos + s > self.config.context_length {
            return Err(EngineError::InvalidParams(format!(
                "{} tokens exceed the context window of {}",
                pos + s,
                self.config.context_length
            )));
        }
        let ids = Tensor::new(tokens, &Device::Cpu)?;
        let mut x = self
            .embed
            .index_select(&ids, 0)?
            .reshape((b, s, self.config.hidden))?;
        let mask = if s > 1 {
            Some(causal_mask(s, pos)?)
        } else {
            None
        };
        let cos = self.cos.narrow(0, pos, s)?;
        let sin = self.sin.narrow(0, pos, s)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let cache = state.layers.get(i).cloned();
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, self.config.eps as f32)?;
            let (attn, k, v) =
                self.attention(layer, &h, cache, (&cos, &sin), mask.as_ref(), phase)?;
            if i < state.layers.len() {
                state.layers[i] = (k, v);
            } else {
                state.layers.push((k, v));
            }
            x = (x + attn)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, self.config.eps as f32)?;
            let [gate, up] = two(layer.gate_up.forward(&h, phase)?)?;
            let mlp = layer
                .down
                .forward(&(candle_nn::ops::silu(&gate)? * up)?, phase)?;
            x = (x + mlp)?;
        }
        state.len += s;
        state.batch = b;
        Ok(candle_nn::ops::rms_norm(
            &x,
            &self.norm,
            self.config.eps as f32,
        )?)
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &Layer,
        h: &Tensor,
        cache: Option<(Tensor, Tensor)>,
        (cos, sin): (&Tensor, &Tensor),
        mask: Option<&Tensor>,
        phase: Phase,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let c = &self.config;
        let (b, s, _) = h.dims3()?;
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            Ok(t.reshape((b, s, n, c.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let [q, k, v] = three(layer.qkv.forward(h, phase)?)?;
        let q = heads(q, c.n_head)?;
        let k = heads(k, c.n_kv_head)?;
        let v = heads(v, c.n_kv_head)?;
        let q = candle_nn::rotary_emb::rope_i(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope_i(&k, cos, sin)?;
        let (k, v) = match cache {
            Some((k0, v0)) => (Tensor::cat(&[&k0, &k], 2)?, Tensor::cat(&[&v0, &v], 2)?),
            None => (k, v),
        };
        let t = k.dim(2)?;
        // Grouped-query attention without copying K/V per head: the query heads that share a
        // KV head are stacked as extra rows of one matmul.
        let group = c.n_head / c.n_kv_head;
        let qg = q.reshape((b, c.n_kv_head, group * s, c.head_dim))?;
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        let mut att = (qg.matmul(&k.t()?)? * scale)?;
        if let Some(mask) = mask {
            att = att
                .reshape((b, c.n_head, s, t))?
                .broadcast_add(mask)?
                .reshape((b, c.n_kv_head, group * s, t))?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let y = att
            .matmul(&v)?
            .reshape((b, c.n_head, s, c.head_dim))?
            .transpose(1, 2)?
            .reshape((b, s, c.hidden))?;
        Ok((layer.wo.forward(&y, phase)?, k, v))
    }

    /// Next-token logits (rows, vocab) for hidden states (rows, hidden).
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        let rows = hidden.dim(0)?;
        // Many rows (scoring): the f32 gemm; one row per sequence: the quantized mat-vec.
        let phase = if rows >= 16 {
            Phase::Prefill
        } else {
            Phase::Decode
        };
        self.output.forward(&hidden.contiguous()?, phase)
    }

    /// Prefills `tokens` for one sequence in chunks, calling `visit` with each chunk's final
    /// hidden states (seq, hidden) when given; returns the last position's hidden state.
    pub fn prefill(
        &self,
        tokens: &[u32],
        state: &mut KvState,
        visit: &mut dyn FnMut(usize, &Tensor) -> Result<()>,
    ) -> Result<Tensor> {
        let mut last = None;
        for (i, chunk) in tokens.chunks(PREFILL_CHUNK).enumerate() {
            let h = self.forward(chunk, state, Phase::Prefill)?.squeeze(0)?;
            visit(i * PREFILL_CHUNK, &h)?;
            last = Some(h.narrow(0, chunk.len() - 1, 1)?);
        }
        last.ok_or_else(|| EngineError::InvalidParams("the prompt has no tokens".into()))
    }
}

fn two(parts: Vec<Tensor>) -> Result<[Tensor; 2]> {
    parts.try_into().map_err(|p: Vec<Tensor>| {
        EngineError::InvalidParams(format!("expected 2 projections, got {}", p.len()))
    })
}

fn three(parts: Vec<Tensor>) -> Result<[Tensor; 3]> {
    parts.try_into().map_err(|p: Vec<Tensor>| {
        EngineError::InvalidParams(format!("expected 3 projections, got {}", p.len()))
    })
}

fn rope_tables(c: &LlamaConfig, freq_factors: Option<&[f32]>) -> Result<(Tensor, Tensor)> {
    let half = c.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            let f = 1.0 / c.rope_theta.powf((2 * i) as f32 / c.head_dim as f32);
            f / freq_factors
                .and_then(|ff| ff.get(i))
                .copied()
                .unwrap_or(1.0)
        })
        .collect();
    let inv_freq = Tensor::new(inv_freq.as_slice(), &Device::Cpu)?.reshape((1, half))?;
    let positions = Tensor::arange(0u32, c.context_length as u32, &Device::Cpu)?
        .to_dtype(DType::F32)?
        .reshape((c.context_length, 1))?;
    let angles = positions.broadcast_mul(&inv_freq)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// Additive mask (s, pos + s): query i (at position pos + i) sees keys 0..=pos + i.
fn causal_mask(s: usize, pos: usize) -> Result<Tensor> {
    let t = pos + s;
    let mask: Vec<f32> = (0..s)
        .flat_map(|i| (0..t).map(move |j| if j <= pos + i { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Ok(Tensor::from_vec(mask, (s, t), &Device::Cpu)?)
}

/// Rows of a (rows, vocab) logits tensor as vectors.
pub fn logits_rows(logits: &Tensor) -> Result<Vec<Vec<f32>>> {
    let logits = logits.to_dtype(DType::F32)?;
    let rows = logits.dim(0)?;
    Ok(logits
        .reshape((rows, logits.dim(D::Minus1)?))?
        .to_vec2::<f32>()?)
}
