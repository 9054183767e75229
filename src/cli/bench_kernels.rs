//! `tloom bench kernels`: the engine's CPU kernels alone, at the shapes of the default model
//! (SmolLM2-135M): quantized matmuls for 1 to 64 rows, and paged attention for one sequence
//! and for branches sharing a prefix. No model file needed; weights are random.

use crate::engine::kernels::Isa;
use crate::engine::kernels::attention::{AttnRow, Heads, KvShape, PAGE, attention};
use crate::engine::kernels::matmul::{Input, Write, matmul};
use crate::engine::kernels::packed::{Format, PackedMatrix, SourceBlock};
use crate::engine::kernels::pool::Pool;
use crate::engine::kernels::quant::QuantRows;
use crate::engine::local::resolve_threads;
use half::f16;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct KernelBench {
    pub isa: String,
    pub threads: usize,
    pub matmuls: Vec<MatmulRate>,
    pub attention: Vec<AttentionRate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatmulRate {
    pub format: String,
    pub rows: usize,
    pub cols: usize,
    pub batch: usize,
    pub us_per_call: f64,
    /// Multiply-adds per second, in billions.
    pub gmacs: f64,
    /// Weight bytes read per second, in GB (once per call).
    pub weight_gb_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttentionRate {
    pub context: usize,
    pub rows: usize,
    pub shared_prefix: usize,
    /// One layer of the default model (9 heads over 3 KV heads of 64).
    pub us_per_layer: f64,
}

fn weights(rows: usize, cols: usize, format: Format) -> PackedMatrix {
    // Arbitrary but fixed weights (a multiplicative hash of the position).
    let value = |row: usize, j: usize, k: usize| {
        ((row * 7919 + j * 104_729 + k * 31).wrapping_mul(2_654_435_761) >> 7) as u32
    };
    PackedMatrix::from_blocks(rows, cols, format, |row, j| match format {
        Format::U4 => SourceBlock::Affine4 {
            d: f16::from_f32(0.01),
            m: f16::from_f32(-0.08),
            q: std::array::from_fn(|k| (value(row, j, k) % 16) as u8),
        },
        Format::U5 => SourceBlock::Affine5 {
            d: f16::from_f32(0.005),
            m: f16::from_f32(-0.08),
            q: std::array::from_fn(|k| (value(row, j, k) % 32) as u8),
        },
        Format::I6 => SourceBlock::Signed6 {
            d: f16::from_f32(0.0001),
            scales: [
                (value(row, j, 0) % 255) as i8,
                (value(row, j, 1) % 255) as i8,
            ],
            q: std::array::from_fn(|k| (value(row, j, k) % 64) as u8),
        },
        _ => SourceBlock::Signed8 {
            d: f16::from_f32(0.001),
            q: std::array::from_fn(|k| (value(row, j, k) % 255) as i8),
        },
    })
}

/// Median seconds of `f` over enough repetitions to take about 0.3 s.
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    f();
    let once = t.elapsed().as_secs_f64().max(1e-7);
    let reps = ((0.3 / once) as usize).clamp(3, 2000);
    let mut v: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the kernel benchmarks on `threads` threads (None: one per physical core).
pub fn run(threads: Option<usize>) -> KernelBench {
    let isa = Isa::detect();
    let pool = Pool::new(resolve_threads(threads));
    let mut matmuls = Vec::new();
    let shapes = [
        (Format::U4, 960, 576),
        (Format::U4, 3072, 576),
        (Format::U4, 576, 1536),
        (Format::U5, 3072, 576),
        (Format::I6, 576, 1536),
        (Format::S8, 49152, 576),
        (Format::I6, 49152, 576),
    ];
    for (format, rows, cols) in shapes {
        let w = weights(rows, cols, format);
        for batch in [1, 4, 8, 64] {
            if rows == 49152 && batch == 64 {
                continue;
            }
            let x: Vec<f32> = (0..batch * cols).map(|i| (i % 17) as f32 - 8.0).collect();
            let mut q = QuantRows::default();
            q.quantize(isa, &x, batch, cols);
            let mut out = vec![0f32; batch * rows];
            let s = time(|| matmul(&pool, isa, &w, Input::Quant(&q), &mut out, Write::Store));
            matmuls.push(MatmulRate {
                format: format!("{format:?}"),
                rows,
                cols,
                batch,
                us_per_call: s * 1e6,
                gmacs: (rows * cols * batch) as f64 / s / 1e9,
                weight_gb_s: w.bytes() as f64 / s / 1e9,
            });
        }
    }
    let shape = KvShape {
        layers: 1,
        kv_heads: 3,
        head_dim: 64,
    };
    let mut rates = Vec::new();
    for (context, rows, shared) in [
        (512, 1, 512),
        (1024, 1, 1024),
        (1024, 4, 976),
        (1024, 8, 976),
    ] {
        let pages = |n: usize, seed: u16| -> Vec<Vec<u16>> {
            (0..n.div_ceil(PAGE))
                .map(|p| {
                    (0..shape.page_len())
                        .map(|i| {
                            f16::from_f32(((i + p + seed as usize) % 13) as f32 * 0.01).to_bits()
                        })
                        .collect()
                })
                .collect()
        };
        let common = pages(shared, 0);
        let own: Vec<Vec<Vec<u16>>> = (0..rows).map(|r| pages(context, r as u16 + 1)).collect();
        let seqs: Vec<Vec<&[u16]>> = own
            .iter()
            .map(|o| {
                (0..context.div_ceil(PAGE))
                    .map(|p| {
                        if p * PAGE + PAGE <= shared {
                            common[p].as_slice()
                        } else {
                            o[p].as_slice()
                        }
                    })
                    .collect()
            })
            .collect();
        let attn_rows: Vec<AttnRow> = seqs
            .iter()
            .map(|s| AttnRow {
                pages: s,
                pos: context - 1,
                first: 0,
            })
            .collect();
        let q: Vec<f32> = (0..rows * 9 * 64).map(|i| (i % 7) as f32 * 0.01).collect();
        let mut out = vec![0f32; rows * 9 * 64];
        let s = time(|| {
            attention(
                &pool,
                isa,
                &shape,
                Heads {
                    layer: 0,
                    n_head: 9,
                },
                &q,
                &attn_rows,
                &mut out,
            )
        });
        rates.push(AttentionRate {
            context,
            rows,
            shared_prefix: shared,
            us_per_layer: s * 1e6,
        });
    }
    KernelBench {
        isa: isa.name().into(),
        threads: pool.threads(),
        matmuls,
        attention: rates,
    }
}

impl KernelBench {
    pub fn to_text(&self) -> String {
        let mut out = format!("kernels: {} on {} threads\n", self.isa, self.threads);
        out += "matmul                 batch   us/call    GMAC/s  weights GB/s\n";
        for m in &self.matmuls {
            out += &format!(
                "{:<3} {:>5} x {:<5}     {:>5} {:>9.1} {:>9.1} {:>13.1}\n",
                m.format, m.rows, m.cols, m.batch, m.us_per_call, m.gmacs, m.weight_gb_s
            );
        }
        out += "attention (one layer)  rows  context  shared   us/layer\n";
        for a in &self.attention {
            out += &format!(
                "                       {:>4} {:>8} {:>7} {:>10.1}\n",
                a.rows, a.context, a.shared_prefix, a.us_per_layer
            );
        }
        out
    }
}
