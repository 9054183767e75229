//! Loading llama weights from GGUF: a quantized copy of each matrix for decoding (formats
//! without a SIMD kernel in candle are requantized to Q8_0) and, when it fits the memory
//! budget, an f32 copy for prefill.

use super::{
    Layer, Linear, LlamaConfig, LlamaModel, MAX_F32_WEIGHT_BYTES, Projection, rope_tables,
};
use crate::engine::error::Result;
use candle_core::Device;
use candle_core::Tensor;
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use std::io::{Read, Seek};
use std::path::Path;

/// Whether candle has a SIMD dot product for this format (else we requantize to Q8_0).
fn fast_for_decode(dtype: GgmlDType) -> bool {
    !matches!(
        dtype,
        GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q8_1
    )
}

struct WeightReader<'a, R> {
    ct: &'a Content,
    reader: &'a mut R,
    keep_f32: bool,
}

impl<R: Read + Seek> WeightReader<'_, R> {
    fn qtensor(&mut self, name: &str) -> Result<QTensor> {
        Ok(self.ct.tensor(self.reader, name, &Device::Cpu)?)
    }

    fn vector(&mut self, name: &str) -> Result<Tensor> {
        Ok(self.qtensor(name)?.dequantize(&Device::Cpu)?)
    }

    fn linear_from(&self, q: QTensor) -> Result<Linear> {
        let prefill = if self.keep_f32 {
            Some(QMatMul::Tensor(q.dequantize(&Device::Cpu)?))
        } else {
            None
        };
        let q = if !fast_for_decode(q.dtype())
            && q.shape().dims().last().is_some_and(|k| k % 32 == 0)
        {
            let f = match &prefill {
                Some(QMatMul::Tensor(t)) => t.clone(),
                _ => q.dequantize(&Device::Cpu)?,
            };
            QTensor::quantize(&f, GgmlDType::Q8_0)?
        } else {
            q
        };
        Ok(Linear {
            decode: QMatMul::from_qtensor(q)?,
            prefill,
        })
    }

    fn linear(&mut self, name: &str) -> Result<Linear> {
        let q = self.qtensor(name)?;
        self.linear_from(q)
    }

    /// Matrices sharing one input, stacked into one matrix when that is lossless (Q8_0, f32,
    /// f16, or formats we requantize to Q8_0 anyway): one matmul instead of several.
    fn projection(&mut self, names: &[String]) -> Result<Projection> {
        let qs = names
            .iter()
            .map(|n| self.qtensor(n))
            .collect::<Result<Vec<_>>>()?;
        let dtype = qs[0].dtype();
        let k = qs[0].shape().dims().last().copied().unwrap_or(0);
        let target = if !fast_for_decode(dtype) && k % 32 == 0 {
            Some(GgmlDType::Q8_0)
        } else if matches!(dtype, GgmlDType::Q8_0 | GgmlDType::F32 | GgmlDType::F16) {
            Some(dtype)
        } else {
            None
        };
        let stackable = qs
            .iter()
            .all(|q| q.dtype() == dtype && q.shape().dims().last() == Some(&k));
        let Some(target) = target.filter(|_| stackable) else {
            let linears = qs
                .into_iter()
                .map(|q| self.linear_from(q))
                .collect::<Result<Vec<_>>>()?;
            return Ok(Projection::Split(linears));
        };
        let sizes = qs
            .iter()
            .map(|q| q.shape().dims().first().copied().unwrap_or(0))
            .collect();
        let parts = qs
            .iter()
            .map(|q| q.dequantize(&Device::Cpu))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let stacked = Tensor::cat(&parts, 0)?;
        let decode = QMatMul::from_qtensor(QTensor::quantize(&stacked, target)?)?;
        let prefill = self.keep_f32.then(|| QMatMul::Tensor(stacked));
        Ok(Projection::Fused {
            linear: Linear { decode, prefill },
            sizes,
        })
    }
}

impl LlamaModel {
    /// Loads the weights; `progress` sees the fraction of layers done.
    pub fn load<R: Read + Seek>(
        path: &Path,
        ct: &Content,
        reader: &mut R,
        progress: &mut dyn FnMut(f32),
    ) -> Result<LlamaModel> {
        let config = LlamaConfig::from_gguf(path, ct)?;
        let f32_bytes: usize = ct
            .tensor_infos
            .values()
            .map(|t| t.shape.elem_count() * 4)
            .sum();
        let mut w = WeightReader {
            ct,
            reader,
            keep_f32: f32_bytes <= MAX_F32_WEIGHT_BYTES,
        };
        let embed_q = w.qtensor("token_embd.weight")?;
        let embed = embed_q.dequantize(&Device::Cpu)?;
        let output = if ct.tensor_infos.contains_key("output.weight") {
            w.linear("output.weight")?
        } else {
            // Tied embeddings: the f32 table already exists, share it for prefill.
            let mut out = Linear {
                prefill: None,
                ..w.linear_from(embed_q)?
            };
            if w.keep_f32 {
                out.prefill = Some(QMatMul::Tensor(embed.clone()));
            }
            out
        };
        let norm = w.vector("output_norm.weight")?;
        let mut layers = Vec::with_capacity(config.n_layer);
        for i in 0..config.n_layer {
            let p = format!("blk.{i}");
            layers.push(Layer {
                attn_norm: w.vector(&format!("{p}.attn_norm.weight"))?,
                qkv: w.projection(&[
                    format!("{p}.attn_q.weight"),
                    format!("{p}.attn_k.weight"),
                    format!("{p}.attn_v.weight"),
                ])?,
                wo: w.linear(&format!("{p}.attn_output.weight"))?,
                ffn_norm: w.vector(&format!("{p}.ffn_norm.weight"))?,
                gate_up: w
                    .projection(&[format!("{p}.ffn_gate.weight"), format!("{p}.ffn_up.weight")])?,
                down: w.linear(&format!("{p}.ffn_down.weight"))?,
            });
            progress((i + 1) as f32 / config.n_layer as f32);
        }
        let freq_factors = if ct.tensor_infos.contains_key("rope_freqs.weight") {
            Some(w.vector("rope_freqs.weight")?.to_vec1::<f32>()?)
        } else {
            None
        };
        let (cos, sin) = rope_tables(&config, freq_factors.as_deref())?;
        Ok(LlamaModel {
            config,
            embed,
            layers,
            norm,
            output,
            cos,
            sin,
        })
    }
}
