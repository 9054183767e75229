//! Our own llama-family forward pass (SmolLM2, Llama 2/3, Mistral) on the CPU kernels of
//! `engine::kernels`: batched decoding of many sequences over a paged, shared KV cache, and a
//! prefix cache shaped like the loom's tree.
//!
//! Why not candle's `quantized_llama`: it fails with batch > 1, has no SIMD kernel for
//! Q4_1, and spends much of a decode step between small tensor operations. Here a step is a
//! fixed pipeline of multi-row kernels over weights repacked once at load (`load.rs`), with
//! the element-wise work done in place (`forward.rs`).

mod decoder;
mod forward;
pub mod kv;
mod load;
pub mod prefix_cache;

pub use decoder::LlamaDecoder;

use super::error::{EngineError, Result};
use super::gguf_info::{meta_f32, meta_usize};
use super::kernels::Isa;
use super::kernels::attention::KvShape;
use super::kernels::packed::PackedMatrix;
use super::kernels::pool::Pool;
use candle_core::quantized::gguf_file::Content;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub hidden: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub eps: f32,
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
        let bad = |message: String| EngineError::BadGguf {
            path: path.to_path_buf(),
            message,
        };
        let n_head = need("attention.head_count")?;
        let hidden = need("embedding_length")?;
        let head_dim = meta_usize(ct, "llama.rope.dimension_count").unwrap_or(hidden / n_head);
        if n_head == 0 || head_dim * n_head != hidden || !head_dim.is_multiple_of(2) {
            return Err(bad(format!(
                "head count {n_head} and rope dimension {head_dim} do not divide the width {hidden}"
            )));
        }
        let n_kv_head = meta_usize(ct, "llama.attention.head_count_kv").unwrap_or(n_head);
        if n_kv_head == 0 || n_head % n_kv_head != 0 {
            return Err(bad(format!(
                "{n_head} query heads cannot share {n_kv_head} key/value heads"
            )));
        }
        let vocab = ct
            .tensor_infos
            .get("token_embd.weight")
            .map(|t| t.shape.dims()[0])
            .ok_or_else(|| bad("it has no token_embd.weight tensor".into()))?;
        Ok(LlamaConfig {
            n_layer: need("block_count")?,
            n_head,
            n_kv_head,
            head_dim,
            hidden,
            ffn: need("feed_forward_length")?,
            vocab,
            eps: meta_f32(ct, "llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
            rope_theta: meta_f32(ct, "llama.rope.freq_base").unwrap_or(10_000.0),
            context_length: meta_usize(ct, "llama.context_length").unwrap_or(4096),
        })
    }

    pub fn kv_shape(&self) -> KvShape {
        KvShape {
            layers: self.n_layer,
            kv_heads: self.n_kv_head,
            head_dim: self.head_dim,
        }
    }

    /// Width of the fused query, key and value projection.
    fn qkv_width(&self) -> usize {
        self.hidden + 2 * self.n_kv_head * self.head_dim
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Query, key and value projections, stacked.
    qkv: PackedMatrix,
    wo: PackedMatrix,
    ffn_norm: Vec<f32>,
    /// Gate and up projections of the SwiGLU MLP, stacked (gate rows first).
    gate_up: PackedMatrix,
    down: PackedMatrix,
}

pub struct LlamaModel {
    pub config: LlamaConfig,
    isa: Isa,
    pool: Pool,
    /// The token embeddings (one row per token); also the output matrix when tied.
    embed: PackedMatrix,
    output: Option<PackedMatrix>,
    norm: Vec<f32>,
    layers: Vec<Layer>,
    /// Per position, the cosines and sines of the rotary angles (`head_dim / 2` each).
    rope_cos: Vec<f32>,
    rope_sin: Vec<f32>,
}

impl LlamaModel {
    /// The kernels in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Memory held by the weights.
    pub fn weight_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| l.qkv.bytes() + l.wo.bytes() + l.gate_up.bytes() + l.down.bytes())
            .sum();
        layers + self.embed.bytes() + self.output.as_ref().map_or(0, |o| o.bytes())
    }

    fn output(&self) -> &PackedMatrix {
        self.output.as_ref().unwrap_or(&self.embed)
    }
}

/// Cosine and sine tables for every position below `context`.
fn rope_tables(c: &LlamaConfig, freq_factors: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
    let half = c.head_dim / 2;
    let inv_freq: Vec<f64> = (0..half)
        .map(|i| {
            let f = 1.0 / (c.rope_theta as f64).powf((2 * i) as f64 / c.head_dim as f64);
            f / freq_factors
                .and_then(|ff| ff.get(i))
                .map_or(1.0, |&x| x as f64)
        })
        .collect();
    let mut cos = Vec::with_capacity(c.context_length * half);
    let mut sin = Vec::with_capacity(c.context_length * half);
    for pos in 0..c.context_length {
        for f in &inv_freq {
            let angle = pos as f64 * f;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    (cos, sin)
}
