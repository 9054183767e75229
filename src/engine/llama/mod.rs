//! Our own transformer forward pass for every supported family (llama, qwen2, qwen3, gemma3,
//! phi3: `family.rs`) on the CPU kernels of `engine::kernels`: batched decoding of many
//! sequences over a paged, shared KV cache, and a prefix cache shaped like the loom's tree.
//!
//! Why not candle's `quantized_llama`: it fails with batch > 1, has no SIMD kernel for
//! Q4_1, and spends much of a decode step between small tensor operations. Here a step is a
//! fixed pipeline of multi-row kernels over weights repacked once at load (`load.rs`), with
//! the element-wise work done in place (`forward.rs`).

mod decoder;
pub mod family;
mod forward;
pub mod kv;
mod load;
pub mod prefix_cache;

pub use decoder::LlamaDecoder;
pub use family::{FAMILIES, Family, SUPPORTED_ARCHITECTURES};

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
    pub family: &'static Family,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Dimensions of each head that rotary embeddings turn (the first ones).
    pub rope_dim: usize,
    pub hidden: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub eps: f32,
    pub rope_theta: f32,
    /// Positions are divided by this before rotating (linear rope scaling; 1 for none).
    pub rope_scale: f32,
    /// What queries are multiplied by before attention.
    pub attn_scale: f32,
    /// Windowed layers see the last this many positions (None: every layer sees all).
    pub sliding_window: Option<usize>,
    pub context_length: usize,
}

impl LlamaConfig {
    pub fn from_gguf(path: &Path, ct: &Content) -> Result<LlamaConfig> {
        let architecture =
            super::gguf_info::meta_str(ct, "general.architecture").ok_or_else(|| {
                EngineError::MissingMetadata {
                    path: path.to_path_buf(),
                    key: "general.architecture".into(),
                }
            })?;
        let family =
            family::family(architecture).ok_or_else(|| EngineError::UnsupportedArchitecture {
                architecture: architecture.to_string(),
            })?;
        let key = |k: &str| format!("{architecture}.{k}");
        let need = |k: &str| {
            meta_usize(ct, &key(k)).ok_or_else(|| EngineError::MissingMetadata {
                path: path.to_path_buf(),
                key: key(k),
            })
        };
        let bad = |message: String| EngineError::BadGguf {
            path: path.to_path_buf(),
            message,
        };
        let n_head = need("attention.head_count")?;
        let hidden = need("embedding_length")?;
        if n_head == 0 || hidden == 0 {
            return Err(bad(format!(
                "{n_head} attention heads over a width of {hidden}"
            )));
        }
        let head_dim = meta_usize(ct, &key("attention.key_length")).unwrap_or(hidden / n_head);
        let value_dim = meta_usize(ct, &key("attention.value_length")).unwrap_or(head_dim);
        let rope_dim = meta_usize(ct, &key("rope.dimension_count")).unwrap_or(head_dim);
        if head_dim == 0
            || head_dim > 512
            || value_dim != head_dim
            || rope_dim == 0
            || rope_dim > head_dim
            || !rope_dim.is_multiple_of(2)
        {
            return Err(bad(format!(
                "heads of {head_dim} dimensions with values of {value_dim} and {rope_dim} \
                 rotated are not supported (keys and values of one size up to 512, an even rotated part)"
            )));
        }
        let n_kv_head = meta_usize(ct, &key("attention.head_count_kv")).unwrap_or(n_head);
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
        let n_layer = need("block_count")?;
        let linear_scale = match super::gguf_info::meta_str(ct, &key("rope.scaling.type")) {
            Some("linear") => meta_f32(ct, &key("rope.scaling.factor")).unwrap_or(1.0),
            _ => 1.0,
        };
        let scale_dim = if family.scale_by_width_at_layers.contains(&n_layer) {
            hidden / n_head
        } else {
            head_dim
        };
        let sliding_window = match family.window_layers {
            family::WindowLayers::None => None,
            _ => meta_usize(ct, &key("attention.sliding_window")).filter(|&w| w > 0),
        };
        Ok(LlamaConfig {
            family,
            n_layer,
            n_head,
            n_kv_head,
            head_dim,
            rope_dim,
            hidden,
            ffn: need("feed_forward_length")?,
            vocab,
            eps: meta_f32(ct, &key("attention.layer_norm_rms_epsilon")).unwrap_or(1e-5),
            rope_theta: meta_f32(ct, &key("rope.freq_base")).unwrap_or(10_000.0),
            rope_scale: if linear_scale > 0.0 {
                linear_scale
            } else {
                1.0
            },
            attn_scale: 1.0 / (scale_dim as f32).sqrt(),
            sliding_window,
            context_length: meta_usize(ct, &key("context_length")).unwrap_or(4096),
        })
    }

    pub fn kv_shape(&self) -> KvShape {
        KvShape {
            layers: self.n_layer,
            kv_heads: self.n_kv_head,
            head_dim: self.head_dim,
        }
    }

    /// Width of all query heads together.
    fn q_width(&self) -> usize {
        self.n_head * self.head_dim
    }

    /// Width of the fused query, key and value projection.
    fn qkv_width(&self) -> usize {
        self.q_width() + 2 * self.n_kv_head * self.head_dim
    }

    /// The window layer `l` attends within, if any.
    pub fn window(&self, l: usize) -> Option<usize> {
        self.sliding_window.filter(|_| self.family.windowed(l))
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Query, key and value projections, stacked.
    qkv: PackedMatrix,
    /// Their biases, stacked likewise (qwen2).
    qkv_bias: Option<Vec<f32>>,
    /// RMS norms of each query and key head before rotation (qwen3, gemma3).
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    wo: PackedMatrix,
    /// RMS norm of the attention's output before it joins the residual (gemma3).
    post_attn_norm: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    /// Gate and up projections of the gated MLP, stacked (gate rows first).
    gate_up: PackedMatrix,
    down: PackedMatrix,
    /// RMS norm of the MLP's output before it joins the residual (gemma3).
    post_ffn_norm: Option<Vec<f32>>,
    /// Which rotary table this layer uses (windowed layers may have their own base).
    rope: usize,
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
    /// Rotary tables: the model's, and for windowed layers with their own base a second.
    ropes: Vec<RopeTable>,
}

/// Per position, the cosines and sines of the rotary angles (`rope_dim / 2` each), kept for
/// the first `TABLE_POSITIONS` positions; later ones are computed when needed (a 32k-context
/// model with two rope bases would otherwise hold 67 MB of tables).
struct RopeTable {
    inv_freq: Vec<f64>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

/// Positions whose rotary angles are tabled.
const TABLE_POSITIONS: usize = 8192;

impl RopeTable {
    /// The cosines and sines for `pos`, from the table or computed into `cos`/`sin`.
    fn angles<'a>(
        &'a self,
        pos: usize,
        cos: &'a mut [f32; 256],
        sin: &'a mut [f32; 256],
    ) -> (&'a [f32], &'a [f32]) {
        let half = self.inv_freq.len();
        if (pos + 1) * half <= self.cos.len() {
            return (
                &self.cos[pos * half..(pos + 1) * half],
                &self.sin[pos * half..(pos + 1) * half],
            );
        }
        for (i, f) in self.inv_freq.iter().enumerate() {
            let angle = pos as f64 * f;
            cos[i] = angle.cos() as f32;
            sin[i] = angle.sin() as f32;
        }
        (&cos[..half], &sin[..half])
    }
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

/// The rotary table for rope base `theta` and positions divided by `scale`.
fn rope_table(c: &LlamaConfig, theta: f32, scale: f32, freq_factors: Option<&[f32]>) -> RopeTable {
    let half = c.rope_dim / 2;
    let inv_freq: Vec<f64> = (0..half)
        .map(|i| {
            let f = 1.0 / (theta as f64).powf((2 * i) as f64 / c.rope_dim as f64);
            f / freq_factors
                .and_then(|ff| ff.get(i))
                .map_or(1.0, |&x| x as f64)
                / scale as f64
        })
        .collect();
    let positions = c.context_length.min(TABLE_POSITIONS);
    let mut cos = Vec::with_capacity(positions * half);
    let mut sin = Vec::with_capacity(positions * half);
    for pos in 0..positions {
        for f in &inv_freq {
            let angle = pos as f64 * f;
            cos.push(angle.cos() as f32);
            sin.push(angle.sin() as f32);
        }
    }
    RopeTable { inv_freq, cos, sin }
}
