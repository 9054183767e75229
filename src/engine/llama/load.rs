//! Loading weights from GGUF into the kernels' packed formats: Q4_1, Q4_0 and Q4_K matrices
//! stay 4-bit (`U4`; Q4_K's 6-bit sub-block scales times its f16 super-block scale are rounded
//! to f16), Q5_0, Q5_1 and Q5_K stay 5-bit (`U5`, Q5_K's scales likewise), Q6_K stays 6-bit
//! (`I6`, exactly), Q8_0 stays 8-bit (`S8`), float matrices stay float (`F32`) while they fit
//! the memory budget, and every other quantization is requantized to `S8` (with a log line).
//! A stack of matrices takes the narrowest format that holds all of them (Q6_K with another
//! quantization goes to `S8`, a block at a time). Matrices that read the same input
//! (Q/K/V, gate/up) are stacked into one; files that store them fused (phi3) are read as
//! they are.

use super::{Layer, LlamaConfig, LlamaModel, rope_table};
use crate::engine::error::{EngineError, Result};
use crate::engine::kernels::Isa;
use crate::engine::kernels::packed::{
    BLOCK, Format, PackedMatrix, SourceBlock, q4_0_block, q4_1_block, q4_k_block, q5_0_block,
    q5_1_block, q5_k_block, q6_k_block, q8_0_block, quantize_block_s8,
};
use crate::engine::kernels::pool::Pool;
use candle_core::Device;
use candle_core::quantized::GgmlDType;
use candle_core::quantized::gguf_file::Content;
use std::io::{Read, Seek};
use std::path::Path;

/// Float matrices are kept as f32 only while all of them take at most this much.
const MAX_F32_WEIGHT_BYTES: usize = 3 << 30;

/// A matrix as read from the file.
struct Source {
    rows: usize,
    cols: usize,
    data: SourceData,
}

enum SourceData {
    Q4_1(Vec<u8>),
    Q4_0(Vec<u8>),
    Q4K(Vec<u8>),
    Q8_0(Vec<u8>),
    Q5_0(Vec<u8>),
    Q5_1(Vec<u8>),
    Q5K(Vec<u8>),
    /// Kept as `I6`, or requantized to 8 bits a block at a time when stacked with another
    /// format (never held as floats whole).
    Q6K(Vec<u8>),
    /// Stored as floats (F32, F16, BF16).
    Float(Vec<f32>),
    /// Another quantization, dequantized.
    Dequantized(Vec<f32>),
}

impl Source {
    fn native_u4(&self) -> bool {
        matches!(
            self.data,
            SourceData::Q4_1(_) | SourceData::Q4_0(_) | SourceData::Q4K(_)
        )
    }

    /// Whether its blocks are affine with at most 5 bits (packs as `U5`).
    fn native_u5(&self) -> bool {
        self.native_u4()
            || matches!(
                self.data,
                SourceData::Q5_0(_) | SourceData::Q5_1(_) | SourceData::Q5K(_)
            )
    }

    /// Whether it packs as `I6` (`TLOOM_Q6K=s8` requantizes Q6_K to `S8` instead, to compare).
    fn is_q6_k(&self) -> bool {
        static AS_S8: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let as_s8 = *AS_S8.get_or_init(|| std::env::var("TLOOM_Q6K").is_ok_and(|v| v == "s8"));
        matches!(self.data, SourceData::Q6K(_)) && !as_s8
    }

    fn is_float(&self) -> bool {
        matches!(self.data, SourceData::Float(_))
    }

    /// Block `j` of `row` in the form `format` packs.
    fn block(&self, row: usize, j: usize, format: Format) -> SourceBlock {
        let nb = self.cols / BLOCK;
        let at = |size: usize| (row * nb + j) * size;
        let native = match &self.data {
            SourceData::Q4_1(b) => q4_1_block(&b[at(20)..at(20) + 20]),
            SourceData::Q4_0(b) => q4_0_block(&b[at(18)..at(18) + 18]),
            SourceData::Q8_0(b) => q8_0_block(&b[at(34)..at(34) + 34]),
            SourceData::Q5_0(b) => q5_0_block(&b[at(22)..at(22) + 22]),
            SourceData::Q5_1(b) => q5_1_block(&b[at(24)..at(24) + 24]),
            SourceData::Q4K(b) => {
                // 256 weights (eight blocks) in 144 bytes.
                let sb = (row * nb + j) / 8;
                q4_k_block(&b[sb * 144..(sb + 1) * 144], j % 8)
            }
            SourceData::Q5K(b) => {
                let sb = (row * nb + j) / 8;
                q5_k_block(&b[sb * 176..(sb + 1) * 176], j % 8)
            }
            SourceData::Q6K(b) => {
                let sb = (row * nb + j) / 8;
                q6_k_block(&b[sb * 210..(sb + 1) * 210], j % 8)
            }
            SourceData::Float(f) | SourceData::Dequantized(f) => {
                return quantize_block_s8(&f[row * self.cols + j * BLOCK..][..BLOCK]);
            }
        };
        match (format, native) {
            (Format::S8, SourceBlock::Signed8 { .. }) => native,
            (Format::S8, block) => quantize_block_s8(&block.values()),
            (_, block) => block,
        }
    }

    fn floats(&self) -> Option<&[f32]> {
        match &self.data {
            SourceData::Float(f) | SourceData::Dequantized(f) => Some(f),
            _ => None,
        }
    }
}

struct WeightReader<'a, R> {
    path: &'a Path,
    ct: &'a Content,
    reader: &'a mut R,
    keep_f32: bool,
}

impl<R: Read + Seek> WeightReader<'_, R> {
    /// The tensor `name`, or an error naming it when the file lacks it.
    fn tensor(&mut self, name: &str) -> Result<candle_core::quantized::QTensor> {
        if !self.has(name) {
            return Err(EngineError::BadGguf {
                path: self.path.to_path_buf(),
                message: format!("it has no tensor {name}, which its architecture needs"),
            });
        }
        self.ct
            .tensor(self.reader, name, &Device::Cpu)
            .map_err(|e| EngineError::BadGguf {
                path: self.path.to_path_buf(),
                message: format!("cannot read tensor {name}: {e}"),
            })
    }

    fn source(&mut self, name: &str) -> Result<Source> {
        let q = self.tensor(name)?;
        let dims = q.shape().dims().to_vec();
        let (rows, cols) = match dims.as_slice() {
            [r, c] => (*r, *c),
            [c] => (1, *c),
            _ => {
                return Err(EngineError::BadGguf {
                    path: self.path.to_path_buf(),
                    message: format!("tensor {name} has shape {dims:?}, not a matrix"),
                });
            }
        };
        let data = match q.dtype() {
            GgmlDType::Q4_1 => SourceData::Q4_1(q.data()?.into_owned()),
            GgmlDType::Q4_0 => SourceData::Q4_0(q.data()?.into_owned()),
            GgmlDType::Q8_0 => SourceData::Q8_0(q.data()?.into_owned()),
            GgmlDType::Q5_0 => SourceData::Q5_0(q.data()?.into_owned()),
            GgmlDType::Q5_1 => SourceData::Q5_1(q.data()?.into_owned()),
            GgmlDType::Q4K => SourceData::Q4K(q.data()?.into_owned()),
            GgmlDType::Q5K => SourceData::Q5K(q.data()?.into_owned()),
            GgmlDType::Q6K => SourceData::Q6K(q.data()?.into_owned()),
            dtype => {
                if !matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) {
                    log::info!("{name}: {dtype:?} weights are requantized to 8 bits");
                }
                let f = q
                    .dequantize(&Device::Cpu)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                if matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16) {
                    SourceData::Float(f)
                } else {
                    SourceData::Dequantized(f)
                }
            }
        };
        Ok(Source { rows, cols, data })
    }

    fn has(&self, name: &str) -> bool {
        self.ct.tensor_infos.contains_key(name)
    }

    /// The per-layer vector `blk.{layer}.{suffix}`, if the file's first layer has one (then
    /// every layer must: a file missing it in one layer is broken, not another model).
    fn optional_vector(&mut self, layer: usize, suffix: &str) -> Result<Option<Vec<f32>>> {
        if self.has(&format!("blk.0.{suffix}")) {
            self.vector(&format!("blk.{layer}.{suffix}")).map(Some)
        } else {
            Ok(None)
        }
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>> {
        let q = self.tensor(name)?;
        Ok(q.dequantize(&Device::Cpu)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    }

    fn matrix(&mut self, name: &str) -> Result<PackedMatrix> {
        let s = self.source(name)?;
        Ok(self.pack(&[s]))
    }

    /// Packs matrices with one input as one, rows stacked in order.
    fn stacked(&mut self, names: &[String]) -> Result<PackedMatrix> {
        let sources = names
            .iter()
            .map(|n| self.source(n))
            .collect::<Result<Vec<_>>>()?;
        if sources.iter().any(|s| s.cols != sources[0].cols) {
            return Err(EngineError::BadGguf {
                path: self.path.to_path_buf(),
                message: format!("{names:?} do not share one input width"),
            });
        }
        Ok(self.pack(&sources))
    }

    fn pack(&self, sources: &[Source]) -> PackedMatrix {
        let cols = sources[0].cols;
        let rows: usize = sources.iter().map(|s| s.rows).sum();
        let all_float = sources.iter().all(Source::is_float);
        if !cols.is_multiple_of(BLOCK) || (all_float && self.keep_f32) {
            let mut w = Vec::with_capacity(rows * cols);
            for s in sources {
                match s.floats() {
                    Some(f) => w.extend_from_slice(f),
                    None => w.extend((0..s.rows).flat_map(|r| dequantized_row(s, r))),
                }
            }
            return PackedMatrix::from_f32(rows, cols, &w);
        }
        let format = if sources.iter().all(Source::native_u4) {
            Format::U4
        } else if sources.iter().all(Source::native_u5) {
            Format::U5
        } else if sources.iter().all(Source::is_q6_k) {
            Format::I6
        } else {
            if sources.iter().any(|s| matches!(s.data, SourceData::Q6K(_))) {
                log::info!("Q6_K weights stacked with another format are requantized to 8 bits");
            }
            Format::S8
        };
        // Row `row` of the stack: which source, and which of its rows.
        let locate = |mut row: usize| {
            for s in sources {
                if row < s.rows {
                    return (s, row);
                }
                row -= s.rows;
            }
            (&sources[0], 0)
        };
        PackedMatrix::from_blocks(rows, cols, format, |row, j| {
            let (s, r) = locate(row);
            s.block(r, j, format)
        })
    }
}

/// A quantized source row as floats (only for odd widths, which quantizations never have).
fn dequantized_row(s: &Source, row: usize) -> Vec<f32> {
    let mut out = vec![0f32; s.cols];
    let packed =
        PackedMatrix::from_blocks(1, s.cols, Format::S8, |_, j| s.block(row, j, Format::S8));
    packed.row_f32(0, &mut out);
    out
}

impl LlamaModel {
    /// Loads the weights for `threads` compute threads; `progress` sees the fraction done.
    pub fn load<R: Read + Seek>(
        path: &Path,
        ct: &Content,
        reader: &mut R,
        threads: usize,
        progress: &mut dyn FnMut(f32),
    ) -> Result<LlamaModel> {
        let config = LlamaConfig::from_gguf(path, ct)?;
        check_length(path, ct, reader)?;
        let f32_bytes: usize = ct
            .tensor_infos
            .values()
            .map(|t| t.shape.elem_count() * 4)
            .fold(0, usize::saturating_add);
        let mut w = WeightReader {
            path,
            ct,
            reader,
            keep_f32: f32_bytes <= MAX_F32_WEIGHT_BYTES,
        };
        let embed = w.matrix("token_embd.weight")?;
        let output = if ct.tensor_infos.contains_key("output.weight") {
            Some(w.matrix("output.weight")?)
        } else {
            None
        };
        let norm = w.vector("output_norm.weight")?;
        let mut layers = Vec::with_capacity(config.n_layer);
        let window_base = config.family.window_rope_base;
        for i in 0..config.n_layer {
            let p = format!("blk.{i}");
            let qkv_names = [
                format!("{p}.attn_q.weight"),
                format!("{p}.attn_k.weight"),
                format!("{p}.attn_v.weight"),
            ];
            let fused_qkv = format!("{p}.attn_qkv.weight");
            let qkv = if w.has(&fused_qkv) {
                w.matrix(&fused_qkv)?
            } else {
                w.stacked(&qkv_names)?
            };
            let bias_names = [
                format!("{p}.attn_q.bias"),
                format!("{p}.attn_k.bias"),
                format!("{p}.attn_v.bias"),
            ];
            let qkv_bias = if w.has("blk.0.attn_qkv.bias") {
                Some(w.vector(&format!("{p}.attn_qkv.bias"))?)
            } else if ["q", "k", "v"]
                .iter()
                .any(|x| w.has(&format!("blk.0.attn_{x}.bias")))
            {
                let mut bias = Vec::with_capacity(config.qkv_width());
                for n in &bias_names {
                    bias.extend(w.vector(n)?);
                }
                Some(bias)
            } else {
                None
            };
            // The MLP's gate and up projections, or one fused matrix holding both (phi3).
            let gate = format!("{p}.ffn_gate.weight");
            let up = format!("{p}.ffn_up.weight");
            let gate_up = if w.has(&gate) {
                w.stacked(&[gate, up])?
            } else {
                w.matrix(&up)?
            };
            let windowed = config.window(i).is_some();
            layers.push(Layer {
                attn_norm: w.vector(&format!("{p}.attn_norm.weight"))?,
                qkv,
                qkv_bias,
                q_norm: w.optional_vector(i, "attn_q_norm.weight")?,
                k_norm: w.optional_vector(i, "attn_k_norm.weight")?,
                wo: w.matrix(&format!("{p}.attn_output.weight"))?,
                post_attn_norm: w.optional_vector(i, "post_attention_norm.weight")?,
                ffn_norm: w.vector(&format!("{p}.ffn_norm.weight"))?,
                gate_up,
                down: w.matrix(&format!("{p}.ffn_down.weight"))?,
                post_ffn_norm: w.optional_vector(i, "post_ffw_norm.weight")?,
                rope: usize::from(windowed && window_base.is_some()),
            });
            progress((i + 1) as f32 / config.n_layer as f32);
        }
        check_shapes(path, &config, &layers, &embed, output.as_ref())?;
        let freq_factors = if w.has("rope_freqs.weight") {
            Some(w.vector("rope_freqs.weight")?)
        } else {
            None
        };
        let mut ropes = vec![rope_table(
            &config,
            config.rope_theta,
            config.rope_scale,
            freq_factors.as_deref(),
        )];
        if let Some(base) = window_base
            && layers.iter().any(|l| l.rope == 1)
        {
            ropes.push(rope_table(&config, base, 1.0, None));
        }
        Ok(LlamaModel {
            config,
            isa: Isa::detect(),
            pool: Pool::new(threads),
            embed,
            output,
            norm,
            layers,
            ropes,
        })
    }
}

/// Every tensor must lie inside the file: a download cut short is named as such, before any
/// weight is read.
fn check_length<R: Seek>(path: &Path, ct: &Content, reader: &mut R) -> Result<()> {
    let len = reader
        .seek(std::io::SeekFrom::End(0))
        .map_err(|e| EngineError::io(path, e))?;
    let needed = ct
        .tensor_infos
        .values()
        .map(|t| {
            let bytes = t.shape.elem_count() / t.ggml_dtype.block_size() * t.ggml_dtype.type_size();
            ct.tensor_data_offset
                .saturating_add(t.offset)
                .saturating_add(bytes as u64)
        })
        .max()
        .unwrap_or(0);
    if needed > len {
        return Err(EngineError::BadGguf {
            path: path.to_path_buf(),
            message: format!(
                "it is truncated: its tensors need {needed} bytes and it has {len}; fetch or \
                 copy it again"
            ),
        });
    }
    Ok(())
}

/// The matrices must have the shapes the metadata promises, or the kernels would read out of
/// bounds.
fn check_shapes(
    path: &Path,
    c: &LlamaConfig,
    layers: &[Layer],
    embed: &PackedMatrix,
    output: Option<&PackedMatrix>,
) -> Result<()> {
    let kvw = c.n_kv_head * c.head_dim;
    let qw = c.q_width();
    let mut problems = Vec::new();
    let out = output.unwrap_or(embed);
    if embed.cols != c.hidden || (out.rows, out.cols) != (c.vocab, c.hidden) {
        problems.push(format!(
            "token_embd is {}x{} and the output {}x{}, expected {}x{}",
            embed.rows, embed.cols, out.rows, out.cols, c.vocab, c.hidden
        ));
    }
    for (i, l) in layers.iter().enumerate() {
        let want = [
            ("qkv", &l.qkv, qw + 2 * kvw, c.hidden),
            ("attn_output", &l.wo, c.hidden, qw),
            ("ffn_gate+up", &l.gate_up, 2 * c.ffn, c.hidden),
            ("ffn_down", &l.down, c.hidden, c.ffn),
        ];
        for (name, m, rows, cols) in want {
            if (m.rows, m.cols) != (rows, cols) {
                problems.push(format!(
                    "block {i} {name} is {}x{}, expected {rows}x{cols}",
                    m.rows, m.cols
                ));
            }
        }
        let vectors = [
            ("attn_norm", Some(&l.attn_norm), c.hidden),
            ("ffn_norm", Some(&l.ffn_norm), c.hidden),
            ("post_attention_norm", l.post_attn_norm.as_ref(), c.hidden),
            ("post_ffw_norm", l.post_ffn_norm.as_ref(), c.hidden),
            ("attn_q_norm", l.q_norm.as_ref(), c.head_dim),
            ("attn_k_norm", l.k_norm.as_ref(), c.head_dim),
            ("qkv bias", l.qkv_bias.as_ref(), qw + 2 * kvw),
        ];
        for (name, v, len) in vectors {
            if let Some(v) = v
                && v.len() != len
            {
                problems.push(format!(
                    "block {i} {name} has {} values, expected {len}",
                    v.len()
                ));
            }
        }
    }
    match problems.first() {
        None => Ok(()),
        Some(p) => Err(EngineError::BadGguf {
            path: path.to_path_buf(),
            message: format!("weights do not match the metadata: {p}"),
        }),
    }
}
