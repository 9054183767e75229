//! A tiny random-weight model written as a real GGUF file, for tests: a few hundred KB that
//! load, tokenize and generate through exactly the code paths of a real model, in
//! milliseconds. Its vocabulary is byte-level BPE (all 256 bytes, a few merges, ChatML
//! special tokens) with the SmolLM pre-tokenizer.

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

/// The shape and identity of a tiny model.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyModel {
    /// `general.architecture`: "llama", "qwen2" or "qwen3" have weights; any other string
    /// writes a metadata-only file (for the unsupported-architecture error).
    pub architecture: String,
    pub context_length: usize,
    pub eos_token_id: u32,
    pub seed: u64,
    /// Storage type of the matrices (Q4_1 exercises requantization to Q8_0).
    pub dtype: GgmlDType,
}

impl Default for TinyModel {
    fn default() -> Self {
        TinyModel {
            architecture: "llama".into(),
            context_length: 128,
            eos_token_id: 0,
            seed: 42,
            dtype: GgmlDType::Q4_1,
        }
    }
}

const HIDDEN: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const FFN: usize = 128;
const LAYERS: usize = 2;

/// Every token of the tiny vocabulary, in id order.
pub fn vocabulary() -> Vec<String> {
    let mut tokens: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    tokens.extend((0u8..=255).map(|b| byte_char(b).to_string()));
    tokens.extend(MERGES.iter().map(|(a, b)| format!("{a}{b}")));
    tokens
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
    /// Writes the model to `path` as GGUF.
    pub fn write(&self, path: &Path) -> candle_core::Result<()> {
        let tokens = vocabulary();
        let mut rng = StdRng::seed_from_u64(self.seed);
        let arch = self.architecture.as_str();
        let key = |k: &str| format!("{arch}.{k}");
        let meta: Vec<(String, Value)> = vec![
            ("general.architecture".into(), Value::String(arch.into())),
            ("general.name".into(), Value::String("tiny-test".into())),
            (
                key("context_length"),
                Value::U32(self.context_length as u32),
            ),
            (key("embedding_length"), Value::U32(HIDDEN as u32)),
            (key("block_count"), Value::U32(LAYERS as u32)),
            (key("feed_forward_length"), Value::U32(FFN as u32)),
            (key("attention.head_count"), Value::U32(HEADS as u32)),
            (key("attention.head_count_kv"), Value::U32(KV_HEADS as u32)),
            (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
            (key("rope.freq_base"), Value::F32(10_000.0)),
            (
                key("rope.dimension_count"),
                Value::U32((HIDDEN / HEADS) as u32),
            ),
            (
                key("attention.key_length"),
                Value::U32((HIDDEN / HEADS) as u32),
            ),
            (
                key("attention.value_length"),
                Value::U32((HIDDEN / HEADS) as u32),
            ),
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
        ];
        let mut tensors: Vec<(String, QTensor)> = Vec::new();
        if matches!(arch, "llama" | "qwen2" | "qwen3") {
            self.weights(&mut rng, tokens.len(), &mut tensors)?;
        }
        let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let tensor_refs: Vec<(&str, &QTensor)> =
            tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut file = std::fs::File::create(path)?;
        gguf_file::write(&mut file, &meta_refs, &tensor_refs)
    }

    fn weights(
        &self,
        rng: &mut StdRng,
        vocab: usize,
        out: &mut Vec<(String, QTensor)>,
    ) -> candle_core::Result<()> {
        let head_dim = HIDDEN / HEADS;
        let mut matrix = |name: String, rows: usize, cols: usize, scale: f32| {
            let t = random(rng, &[rows, cols], scale)?;
            out.push((name, QTensor::quantize(&t, self.dtype)?));
            candle_core::Result::Ok(())
        };
        matrix("token_embd.weight".into(), vocab, HIDDEN, 1.0)?;
        for l in 0..LAYERS {
            let p = format!("blk.{l}");
            matrix(format!("{p}.attn_q.weight"), HIDDEN, HIDDEN, 0.3)?;
            matrix(
                format!("{p}.attn_k.weight"),
                KV_HEADS * head_dim,
                HIDDEN,
                0.3,
            )?;
            matrix(
                format!("{p}.attn_v.weight"),
                KV_HEADS * head_dim,
                HIDDEN,
                0.3,
            )?;
            matrix(format!("{p}.attn_output.weight"), HIDDEN, HIDDEN, 0.3)?;
            matrix(format!("{p}.ffn_gate.weight"), FFN, HIDDEN, 0.3)?;
            matrix(format!("{p}.ffn_up.weight"), FFN, HIDDEN, 0.3)?;
            matrix(format!("{p}.ffn_down.weight"), HIDDEN, FFN, 0.3)?;
        }
        let mut vector = |name: String, len: usize, base: f32, scale: f32| {
            let t = (random(rng, &[len], scale)? + base as f64)?;
            out.push((name, QTensor::quantize(&t, GgmlDType::F32)?));
            candle_core::Result::Ok(())
        };
        vector("output_norm.weight".into(), HIDDEN, 1.0, 0.1)?;
        for l in 0..LAYERS {
            let p = format!("blk.{l}");
            vector(format!("{p}.attn_norm.weight"), HIDDEN, 1.0, 0.1)?;
            vector(format!("{p}.ffn_norm.weight"), HIDDEN, 1.0, 0.1)?;
            if self.architecture == "qwen2" {
                vector(format!("{p}.attn_q.bias"), HIDDEN, 0.0, 0.1)?;
                vector(format!("{p}.attn_k.bias"), KV_HEADS * head_dim, 0.0, 0.1)?;
                vector(format!("{p}.attn_v.bias"), KV_HEADS * head_dim, 0.0, 0.1)?;
            }
            if self.architecture == "qwen3" {
                vector(format!("{p}.attn_q_norm.weight"), head_dim, 1.0, 0.1)?;
                vector(format!("{p}.attn_k_norm.weight"), head_dim, 1.0, 0.1)?;
            }
        }
        Ok(())
    }
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
