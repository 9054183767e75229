//! candle's stock quantized models (qwen2, qwen3, phi3, gemma3) behind the `Decoder`
//! interface, one sequence at a time: each branch prefills the prompt again.
//!
//! These modules keep their KV cache inside the model and differ in whether a clone is an
//! independent copy (candle-nn's `KvCache` in phi3 shares its buffer; qwen2's weights are not
//! `Clone` at all), so instead of cloning mid-sequence we reset: `clear_kv_cache` where the
//! module has it, else a clone of the never-run model, whose cache is still unallocated.

use super::decoder::Decoder;
use super::error::{EngineError, Result};
use super::gguf_info::meta_usize;
use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::models::{
    quantized_gemma3, quantized_phi3, quantized_qwen2, quantized_qwen3,
};
use std::fs::File;

enum Model {
    Qwen2(Box<quantized_qwen2::ModelWeights>),
    Qwen3(Box<quantized_qwen3::ModelWeights>),
    Phi3 {
        fresh: Box<quantized_phi3::ModelWeights>,
        live: Box<quantized_phi3::ModelWeights>,
    },
    Gemma3 {
        fresh: Box<quantized_gemma3::ModelWeights>,
        live: Box<quantized_gemma3::ModelWeights>,
    },
}

pub struct StockDecoder {
    model: Model,
    context_length: usize,
    pos: usize,
}

impl StockDecoder {
    /// Loads `architecture` with candle's module; `ct` is the file's parsed header.
    pub fn load(architecture: &str, ct: Content, file: &mut File) -> Result<StockDecoder> {
        let dev = Device::Cpu;
        let context_length =
            meta_usize(&ct, &format!("{architecture}.context_length")).unwrap_or(4096);
        let model = match architecture {
            "qwen2" => Model::Qwen2(Box::new(quantized_qwen2::ModelWeights::from_gguf(
                ct, file, &dev,
            )?)),
            "qwen3" => Model::Qwen3(Box::new(quantized_qwen3::ModelWeights::from_gguf(
                ct, file, &dev,
            )?)),
            "phi3" => {
                let m = Box::new(quantized_phi3::ModelWeights::from_gguf(
                    false, ct, file, &dev,
                )?);
                Model::Phi3 {
                    fresh: m.clone(),
                    live: m,
                }
            }
            "gemma3" | "gemma2" | "gemma" => {
                let m = Box::new(quantized_gemma3::ModelWeights::from_gguf(ct, file, &dev)?);
                Model::Gemma3 {
                    fresh: m.clone(),
                    live: m,
                }
            }
            other => {
                return Err(EngineError::UnsupportedArchitecture {
                    architecture: other.to_string(),
                });
            }
        };
        Ok(StockDecoder {
            model,
            context_length,
            pos: 0,
        })
    }

    fn reset(&mut self) {
        match &mut self.model {
            Model::Qwen2(m) => m.clear_kv_cache(),
            Model::Qwen3(m) => m.clear_kv_cache(),
            Model::Phi3 { fresh, live } => **live = (**fresh).clone(),
            Model::Gemma3 { fresh, live } => **live = (**fresh).clone(),
        }
        self.pos = 0;
    }

    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        let input = Tensor::new(tokens, &Device::Cpu)?.unsqueeze(0)?;
        let pos = self.pos;
        let logits = match &mut self.model {
            Model::Qwen2(m) => m.forward(&input, pos)?,
            Model::Qwen3(m) => m.forward(&input, pos)?,
            Model::Phi3 { live, .. } => live.forward(&input, pos)?,
            Model::Gemma3 { live, .. } => live.forward(&input, pos)?,
        };
        self.pos += tokens.len();
        Ok(logits.flatten_all()?.to_vec1::<f32>()?)
    }
}

impl Decoder for StockDecoder {
    fn context_length(&self) -> usize {
        self.context_length
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn start(&mut self, prompt: &[u32], n: usize) -> Result<Vec<f32>> {
        if n != 1 {
            return Err(EngineError::InvalidParams(format!(
                "this architecture decodes one sequence at a time, asked for {n}"
            )));
        }
        self.reset();
        self.forward(prompt)
    }

    fn step(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        tokens.iter().map(|&t| self.forward(&[t])).collect()
    }

    fn select(&mut self, rows: &[usize]) -> Result<()> {
        if rows.len() <= 1 && rows.iter().all(|&r| r == 0) {
            return Ok(());
        }
        Err(EngineError::InvalidParams(
            "this architecture cannot fork sequences".into(),
        ))
    }

    fn score(&mut self, tokens: &[u32], visit: &mut dyn FnMut(usize, &[f32])) -> Result<()> {
        // The stock modules return only the last position's logits: feed one token at a time.
        self.reset();
        for (i, &t) in tokens.iter().enumerate() {
            let logits = self.forward(&[t])?;
            visit(i, &logits);
        }
        Ok(())
    }
}
