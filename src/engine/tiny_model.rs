//! A tiny random-weight model written as a real GGUF file, for tests: a few hundred KB that
//! load, tokenize and generate through exactly the code paths of a real model, in
//! milliseconds. Every supported architecture can be written, with the tensors that family
//! has (QKV biases, Q/K norms, post-norms, fused matrices), in any storage type, and with
//! either a byte-level BPE vocabulary (all 256 bytes, a few merges, ChatML special tokens, the
//! SmolLM pre-tokenizer) or a SentencePiece one (Gemma's special tokens, byte fallback).

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// Special tokens, ids 0..3 as in SmolLM2.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
/// Merged tokens after the 256 byte tokens (GPT-2 byte-level spelling: 'Ġ' is a space).
const MERGES: [(&str, &str); 6] = [
    ("Ġ", "t"),
    ("h", "e"),
    ("Ġt", "he"),
    ("i", "n"),
    ("Ġ", "a"),
    ("o", "n"),
];
/// The SentencePiece vocabulary's control tokens, ids 0..6 (`<eos>` is 1, `<bos>` 2).
pub const SPM_CONTROL: [&str; 6] = [
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
];
/// Its normal pieces after the 256 byte tokens, highest score first.
const SPM_PIECES: [&str; 16] = [
    "\u{2581}",
    "e",
    "t",
    "h",
    "a",
    "o",
    "n",
    "i",
    "\u{2581}t",
    "he",
    "\u{2581}the",
    "in",
    "\u{2581}a",
    "on",
    "er",
    "\u{2581}th",
];

/// Which tokenizer the tiny model's metadata holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TinyVocab {
    /// Byte-level BPE (`gpt2`, pre-tokenizer `smollm`), no BOS.
    Bpe,
    /// SentencePiece (`llama`), BOS first, no space prefix (as Gemma).
    SentencePiece,
}

/// The shape and identity of a tiny model.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyModel {
    /// `general.architecture`: every supported one has weights; any other string writes a
    /// metadata-only file (for the unsupported-architecture error).
    pub architecture: String,
    pub context_length: usize,
    pub eos_token_id: u32,
    pub seed: u64,
    /// Storage type of the matrices (Q4_1 exercises requantization to Q8_0). K-quants need
    /// `hidden` and `ffn` to be multiples of 256.
    pub dtype: GgmlDType,
    pub vocab: TinyVocab,
    pub hidden: usize,
    pub ffn: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    /// Per head; `hidden / heads` when None.
    pub head_dim: Option<usize>,
    /// `{arch}.attention.sliding_window`, for the families that use one.
    pub sliding_window: Option<usize>,
    /// Scale weights as trained models have them (each matrix by `1/sqrt(input width)`, so
    /// activations stay near unit size and logits spread over a few nats) instead of the
    /// historical fixed 0.3, whose sharp logits amplify any rounding (for parity tests).
    pub calm: bool,
    /// Plain tokens added after the vocabulary (`<x0>`, `<x1>`, ...), for the output layer
    /// of a real model's size.
    pub extra_tokens: usize,
    /// Whether the output reuses the embeddings (None: as the family's small models do).
    pub tied: Option<bool>,
    /// Store the embeddings, the output and the value and down projections of every other
    /// layer in Q6_K and the rest in `dtype`, as llama.cpp's Q4_K_M files do.
    pub k_quant_mix: bool,
    /// Fill K-quant matrices with random blocks (random quants and sub-block scales under a
    /// super-block scale that keeps values near the `calm` size) instead of quantizing
    /// random floats: seconds instead of minutes for billions of weights, for benchmarks.
    pub random_blocks: bool,
}

impl Default for TinyModel {
    fn default() -> Self {
        TinyModel {
            architecture: "llama".into(),
            context_length: 128,
            eos_token_id: 0,
            seed: 42,
            dtype: GgmlDType::Q4_1,
            vocab: TinyVocab::Bpe,
            hidden: 64,
            ffn: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: None,
            sliding_window: None,
            calm: false,
            extra_tokens: 0,
            tied: None,
            k_quant_mix: false,
            random_blocks: false,
        }
    }
}

/// Every token of the tiny byte-level vocabulary, in id order.
pub fn vocabulary() -> Vec<String> {
    let mut tokens: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    tokens.extend((0u8..=255).map(|b| byte_char(b).to_string()));
    tokens.extend(MERGES.iter().map(|(a, b)| format!("{a}{b}")));
    tokens
}

/// The tiny SentencePiece vocabulary: pieces, scores and token types, in id order.
pub fn sentencepiece_vocabulary() -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let mut pieces: Vec<String> = SPM_CONTROL.iter().map(|s| s.to_string()).collect();
    let mut types = vec![3; SPM_CONTROL.len()];
    types[3] = 2;
    pieces.extend((0u8..=255).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    pieces.extend(SPM_PIECES.iter().map(|s| s.to_string()));
    types.extend([1; SPM_PIECES.len()]);
    pieces.push("\n\n".into());
    types.push(4);
    let scores = (0..pieces.len())
        .map(|i| if types[i] == 1 { -(i as f32) } else { 0.0 })
        .collect();
    (pieces, scores, types)
}

/// GPT-2's printable stand-in for a byte.
fn byte_char(b: u8) -> char {
    let direct = |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
    if direct(b as u32) {
        return b as char;
    }
    let offset = (0u32..256)
        .filter(|x| !direct(*x))
        .position(|x| x == b as u32)
        .unwrap_or(0);
    char::from_u32(256 + offset as u32).unwrap_or('?')
}

impl TinyModel {
    fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden / self.heads)
    }

    /// Writes the model to `path` as GGUF.
    pub fn write(&self, path: &Path) -> candle_core::Result<()> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let arch = self.architecture.as_str();
        let key = |k: &str| format!("{arch}.{k}");
        let head_dim = self.head_dim() as u32;
        let mut meta: Vec<(String, Value)> = vec![
            ("general.architecture".into(), Value::String(arch.into())),
            ("general.name".into(), Value::String("tiny-test".into())),
            (
                key("context_length"),
                Value::U32(self.context_length as u32),
            ),
            (key("embedding_length"), Value::U32(self.hidden as u32)),
            (key("block_count"), Value::U32(self.layers as u32)),
            (key("feed_forward_length"), Value::U32(self.ffn as u32)),
            (key("attention.head_count"), Value::U32(self.heads as u32)),
            (
                key("attention.head_count_kv"),
                Value::U32(self.kv_heads as u32),
            ),
            (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
            (key("rope.freq_base"), Value::F32(10_000.0)),
            (key("rope.dimension_count"), Value::U32(head_dim)),
            (key("attention.key_length"), Value::U32(head_dim)),
            (key("attention.value_length"), Value::U32(head_dim)),
        ];
        if let Some(w) = self.sliding_window {
            meta.push((key("attention.sliding_window"), Value::U32(w as u32)));
        } else if arch == "gemma3" {
            // llama.cpp and candle need the key; a window as long as the context is none.
            meta.push((
                key("attention.sliding_window"),
                Value::U32(self.context_length as u32),
            ));
        }
        let n_tokens = match self.vocab {
            TinyVocab::Bpe => self.bpe_metadata(&mut meta),
            TinyVocab::SentencePiece => self.spm_metadata(&mut meta),
        };
        let mut tensors: Vec<(String, QTensor)> = Vec::new();
        if crate::engine::SUPPORTED_ARCHITECTURES.contains(&arch) {
            self.weights(&mut rng, n_tokens, &mut tensors)?;
        }
        let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = std::fs::File::create(path)?;
        gguf_file::write(&mut file, &meta_refs, &tensor_refs)
    }

    /// The byte-level BPE vocabulary's metadata; returns its size.
    fn bpe_metadata(&self, meta: &mut Vec<(String, Value)>) -> usize {
        let mut tokens = vocabulary();
        tokens.extend((0..self.extra_tokens).map(|i| format!("<x{i}>")));
        meta.extend([
            ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
            ("tokenizer.ggml.pre".into(), Value::String("smollm".into())),
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect()),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Value::Array(
                    (0..tokens.len())
                        .map(|i| Value::I32(if i < SPECIAL_TOKENS.len() { 3 } else { 1 }))
                        .collect(),
                ),
            ),
            (
                "tokenizer.ggml.merges".into(),
                Value::Array(
                    MERGES
                        .iter()
                        .map(|(a, b)| Value::String(format!("{a} {b}")))
                        .collect(),
                ),
            ),
            ("tokenizer.ggml.bos_token_id".into(), Value::U32(1)),
            (
                "tokenizer.ggml.eos_token_id".into(),
                Value::U32(self.eos_token_id),
            ),
            ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
            (
                "tokenizer.chat_template".into(),
                Value::String(CHATML.into()),
            ),
        ]);
        tokens.len()
    }

    /// The SentencePiece vocabulary's metadata; returns its size.
    fn spm_metadata(&self, meta: &mut Vec<(String, Value)>) -> usize {
        let (mut pieces, mut scores, mut types) = sentencepiece_vocabulary();
        for i in 0..self.extra_tokens {
            pieces.push(format!("<x{i}>"));
            scores.push(-1e6);
            types.push(1);
        }
        meta.extend([
            ("tokenizer.ggml.model".into(), Value::String("llama".into())),
            ("tokenizer.ggml.pre".into(), Value::String("default".into())),
            (
                "tokenizer.ggml.tokens".into(),
                Value::Array(pieces.iter().map(|t| Value::String(t.clone())).collect()),
            ),
            (
                "tokenizer.ggml.scores".into(),
                Value::Array(scores.iter().map(|&s| Value::F32(s)).collect()),
            ),
            (
                "tokenizer.ggml.token_type".into(),
                Value::Array(types.iter().map(|&t| Value::I32(t)).collect()),
            ),
            ("tokenizer.ggml.bos_token_id".into(), Value::U32(2)),
            (
                "tokenizer.ggml.eos_token_id".into(),
                Value::U32(self.eos_token_id),
            ),
            ("tokenizer.ggml.unknown_token_id".into(), Value::U32(3)),
            ("tokenizer.ggml.padding_token_id".into(), Value::U32(0)),
            ("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)),
            ("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)),
            ("tokenizer.ggml.add_space_prefix".into(), Value::Bool(false)),
        ]);
        pieces.len()
    }

    fn weights(
        &self,
        rng: &mut StdRng,
        vocab: usize,
        out: &mut Vec<(String, QTensor)>,
    ) -> candle_core::Result<()> {
        let arch = self.architecture.as_str();
        let (hidden, ffn, hd) = (self.hidden, self.ffn, self.head_dim());
        let (qw, kvw) = (self.heads * hd, self.kv_heads * hd);
        let calm = self.calm;
        let mix = self.k_quant_mix;
        let random_blocks = self.random_blocks;
        let mut matrix = |name: String, rows: usize, cols: usize, scale: f32| {
            let six_bits = mix
                && (name.starts_with("token_embd")
                    || name.starts_with("output")
                    || ((name.contains("attn_v") || name.contains("ffn_down"))
                        && layer_of(&name).is_some_and(|l| l % 2 == 0)));
            let dtype = if six_bits { GgmlDType::Q6K } else { self.dtype };
            let scale = if calm {
                // Embeddings and the output: logits of a few nats either way.
                let gain = if name.starts_with("token_embd") || name.starts_with("output") {
                    3.0
                } else {
                    1.0
                };
                gain / (cols as f32).sqrt()
            } else {
                scale
            };
            if random_blocks && let Some(q) = random_k_blocks(rng, dtype, rows, cols, scale)? {
                out.push((name, q));
                return Ok(());
            }
            let t = random(rng, &[rows, cols], scale)?;
            out.push((name, QTensor::quantize(&t, dtype)?));
            candle_core::Result::Ok(())
        };
        matrix("token_embd.weight".into(), vocab, hidden, 1.0)?;
        // Tied output for llama (as SmolLM2) and gemma3 (as every Gemma); the others have one.
        if !self.tied.unwrap_or(matches!(arch, "llama" | "gemma3")) {
            matrix("output.weight".into(), vocab, hidden, 0.3)?;
        }
        for l in 0..self.layers {
            let p = format!("blk.{l}");
            if arch == "phi3" {
                matrix(format!("{p}.attn_qkv.weight"), qw + 2 * kvw, hidden, 0.3)?;
            } else {
                matrix(format!("{p}.attn_q.weight"), qw, hidden, 0.3)?;
                matrix(format!("{p}.attn_k.weight"), kvw, hidden, 0.3)?;
                matrix(format!("{p}.attn_v.weight"), kvw, hidden, 0.3)?;
            }
            matrix(format!("{p}.attn_output.weight"), hidden, qw, 0.3)?;
            if arch == "phi3" {
                matrix(format!("{p}.ffn_up.weight"), 2 * ffn, hidden, 0.3)?;
            } else {
                matrix(format!("{p}.ffn_gate.weight"), ffn, hidden, 0.3)?;
                matrix(format!("{p}.ffn_up.weight"), ffn, hidden, 0.3)?;
            }
            matrix(format!("{p}.ffn_down.weight"), hidden, ffn, 0.3)?;
        }
        let mut vector = |name: String, len: usize, base: f32, scale: f32| {
            let t = (random(rng, &[len], scale)? + base as f64)?;
            out.push((name, QTensor::quantize(&t, GgmlDType::F32)?));
            candle_core::Result::Ok(())
        };
        vector("output_norm.weight".into(), hidden, 1.0, 0.1)?;
        for l in 0..self.layers {
            let p = format!("blk.{l}");
            vector(format!("{p}.attn_norm.weight"), hidden, 1.0, 0.1)?;
            vector(format!("{p}.ffn_norm.weight"), hidden, 1.0, 0.1)?;
            if arch == "qwen2" {
                vector(format!("{p}.attn_q.bias"), qw, 0.0, 0.1)?;
                vector(format!("{p}.attn_k.bias"), kvw, 0.0, 0.1)?;
                vector(format!("{p}.attn_v.bias"), kvw, 0.0, 0.1)?;
            }
            if matches!(arch, "qwen3" | "gemma3") {
                vector(format!("{p}.attn_q_norm.weight"), hd, 1.0, 0.1)?;
                vector(format!("{p}.attn_k_norm.weight"), hd, 1.0, 0.1)?;
            }
            if arch == "gemma3" {
                vector(format!("{p}.post_attention_norm.weight"), hidden, 1.0, 0.1)?;
                vector(format!("{p}.post_ffw_norm.weight"), hidden, 1.0, 0.1)?;
            }
        }
        Ok(())
    }
}

/// A `rows x cols` Q4_K or Q6_K matrix of random blocks whose values stay within about
/// `scale` (None for other types).
fn random_k_blocks(
    rng: &mut StdRng,
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    scale: f32,
) -> candle_core::Result<Option<QTensor>> {
    let (block_bytes, f16_at) = match dtype {
        // d, dmin first; the 6-bit scales and minimums and the nibbles are random.
        GgmlDType::Q4K => (144, [0usize, 2].as_slice()),
        // Quants, 2-bit highs, 8-bit scales; d last.
        GgmlDType::Q6K => (210, [208usize].as_slice()),
        _ => return Ok(None),
    };
    let blocks = rows * cols / 256;
    let mut raw = vec![0u8; blocks * block_bytes];
    rng.fill(raw.as_mut_slice());
    // Random scales and quants reach about 63 x 15 (Q4_K) or 127 x 32 (Q6_K) super-block
    // units; a super-block scale of `scale / 300` keeps a typical value near `scale`.
    let d = half::f16::from_f32(scale / 300.0).to_bits().to_le_bytes();
    for block in raw.chunks_exact_mut(block_bytes) {
        for &at in f16_at {
            block[at..at + 2].copy_from_slice(&d);
        }
    }
    candle_core::quantized::ggml_file::qtensor_from_ggml(
        dtype,
        &raw,
        vec![rows, cols],
        &Device::Cpu,
    )
    .map(Some)
}

/// The layer of a `blk.N.*` tensor name.
fn layer_of(name: &str) -> Option<usize> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

fn random(rng: &mut StdRng, shape: &[usize], scale: f32) -> candle_core::Result<Tensor> {
    let n: usize = shape.iter().product();
    // Box-Muller normal samples.
    let data: Vec<f32> = (0..n)
        .map(|_| {
            let u1: f32 = rng.random::<f32>().max(1e-7);
            let u2: f32 = rng.random::<f32>();
            scale * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect();
    Tensor::from_vec(data, shape, &Device::Cpu)
}

const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
