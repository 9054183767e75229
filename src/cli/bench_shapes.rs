//! Bigger models for the engine benchmarks, with real shapes and random weights in a
//! Q4_K_M-like mix (Q4_K, with Q6_K embeddings and every other layer's value and down
//! projections), written once into the cache and reused: `tloom bench shape-file --shape
//! NAME` prints the path, `--shape NAME` runs a benchmark on it. Random weights make
//! meaningless text but the same work per token as the real model.

use crate::engine::model_store;
use crate::engine::tiny_model::{TinyModel, TinyVocab};
use anyhow::{Context, Result, bail};
use candle_core::quantized::GgmlDType;
use std::path::PathBuf;

/// A model shape to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub name: &'static str,
    pub architecture: &'static str,
    pub hidden: usize,
    pub ffn: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub vocab: usize,
    pub tied: bool,
    pub about: &'static str,
}

pub const SHAPES: [Shape; 2] = [
    Shape {
        name: "llama3-1b",
        architecture: "llama",
        hidden: 2048,
        ffn: 8192,
        layers: 16,
        heads: 32,
        kv_heads: 8,
        head_dim: 64,
        vocab: 128_256,
        tied: true,
        about: "Llama 3.2 1B's shape",
    },
    Shape {
        name: "qwen3-4b",
        architecture: "qwen3",
        hidden: 2560,
        ffn: 9728,
        layers: 36,
        heads: 32,
        kv_heads: 8,
        head_dim: 128,
        vocab: 151_936,
        tied: true,
        about: "Qwen3 4B's shape",
    },
];

/// The shape called `name`.
pub fn shape(name: &str) -> Result<Shape> {
    match SHAPES.iter().find(|s| s.name == name) {
        Some(s) => Ok(*s),
        None => bail!(
            "no benchmark shape `{name}`; the shapes are {}",
            SHAPES.map(|s| s.name).join(", ")
        ),
    }
}

/// The shape's GGUF file, written first when it is not in the cache (a minute or more for
/// the bigger shape), atomically.
pub fn file(shape: &Shape, progress: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    let dir = model_store::cache_dir()?.join("bench");
    let path = dir.join(format!("{}-q4_k_m-random.gguf", shape.name));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    progress(&format!(
        "writing {} ({}) with random weights to {}",
        shape.name,
        shape.about,
        path.display()
    ));
    let model = TinyModel {
        architecture: shape.architecture.into(),
        context_length: 4096,
        seed: 7,
        dtype: GgmlDType::Q4K,
        vocab: TinyVocab::Bpe,
        hidden: shape.hidden,
        ffn: shape.ffn,
        layers: shape.layers,
        heads: shape.heads,
        kv_heads: shape.kv_heads,
        head_dim: Some(shape.head_dim),
        calm: true,
        extra_tokens: shape
            .vocab
            .saturating_sub(crate::engine::tiny_model::vocabulary().len()),
        tied: Some(shape.tied),
        k_quant_mix: true,
        random_blocks: true,
        ..TinyModel::default()
    };
    let partial = dir.join(format!(".{}.partial-{}", shape.name, std::process::id()));
    let written = model
        .write(&partial)
        .with_context(|| format!("writing {}", partial.display()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path)
}
