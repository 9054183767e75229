//! The CPU kernels against plain f64 arithmetic, and against themselves: the SIMD and portable
//! builds, one row or a batch, one thread or several must give the same bits, because the
//! engine promises that a batched branch equals the same branch generated alone.

use half::f16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tloom::engine::kernels::Isa;
use tloom::engine::kernels::attention::{AttnRow, Heads, KvShape, PAGE, SPAN, attention};
use tloom::engine::kernels::matmul::{Input, Write, matmul};
use tloom::engine::kernels::packed::{BLOCK, Format, PackedMatrix, SourceBlock};
use tloom::engine::kernels::pool::Pool;
use tloom::engine::kernels::quant::QuantRows;

const ROWS: usize = 37;
const COLS: usize = 96;
const BATCH: usize = 11;

fn isas() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    if Isa::avx2_available() {
        v.push(Isa::Avx2);
        if Isa::avx512_vnni_available() {
            v.push(Isa::Avx512Vnni);
        } else {
            println!("no AVX-512 VNNI on this CPU: its kernels are not checked");
        }
    } else {
        println!("no AVX2 on this CPU: only the portable kernels are checked");
    }
    v
}

fn random_matrix(format: Format, rng: &mut StdRng) -> (PackedMatrix, Vec<f64>) {
    if format == Format::F32 {
        let w: Vec<f32> = (0..ROWS * COLS)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let dense = w.iter().map(|&v| v as f64).collect();
        return (PackedMatrix::from_f32(ROWS, COLS, &w), dense);
    }
    let nb = COLS / BLOCK;
    let blocks: Vec<SourceBlock> = (0..ROWS * nb)
        .map(|_| match format {
            Format::U4 => SourceBlock::Affine4 {
                d: f16::from_f32(rng.random_range(0.001..0.1)),
                m: f16::from_f32(rng.random_range(-0.5..0.5)),
                q: std::array::from_fn(|_| rng.random_range(0..16)),
            },
            // Every value of the top of the range, where 16-bit sums would overflow if the
            // kernel widened them as late as `U4`'s.
            Format::U5 => SourceBlock::Affine5 {
                d: f16::from_f32(rng.random_range(0.001..0.1)),
                m: f16::from_f32(rng.random_range(-0.5..0.5)),
                q: std::array::from_fn(|_| {
                    if rng.random_range(0..4) == 0 {
                        31
                    } else {
                        rng.random_range(0..32)
                    }
                }),
            },
            // Q6_K's scales span -128..=127, and a quarter of the weights sit at -32, the
            // largest magnitude.
            Format::I6 => SourceBlock::Signed6 {
                d: f16::from_f32(rng.random_range(0.00001..0.001)),
                scales: std::array::from_fn(|_| rng.random_range(-128..=127) as i8),
                q: std::array::from_fn(|_| {
                    if rng.random_range(0..4) == 0 {
                        0
                    } else {
                        rng.random_range(0..64)
                    }
                }),
            },
            _ => SourceBlock::Signed8 {
                d: f16::from_f32(rng.random_range(0.0001..0.01)),
                // -128 is legal in a file and must not overflow the kernel.
                q: std::array::from_fn(|_| rng.random_range(-128..=127) as i8),
            },
        })
        .collect();
    let mut dense = vec![0f64; ROWS * COLS];
    for row in 0..ROWS {
        for j in 0..nb {
            for k in 0..BLOCK {
                dense[row * COLS + j * BLOCK + k] = match blocks[row * nb + j] {
                    SourceBlock::Affine4 { d, m, q } | SourceBlock::Affine5 { d, m, q } => {
                        d.to_f64() * q[k] as f64 + m.to_f64()
                    }
                    SourceBlock::Signed6 { d, scales, q } => {
                        d.to_f64() * scales[k / 16] as f64 * (q[k] as f64 - 32.0)
                    }
                    SourceBlock::Signed8 { d, q } => d.to_f64() * q[k] as f64,
                };
            }
        }
    }
    let packed = PackedMatrix::from_blocks(ROWS, COLS, format, |row, j| blocks[row * nb + j]);
    (packed, dense)
}

fn activations(rng: &mut StdRng) -> Vec<f32> {
    (0..BATCH * COLS)
        .map(|i| {
            let v: f32 = rng.random_range(-2.0..2.0);
            // Activations of real models have a few large channels.
            if i % 37 == 5 { v * 8.0 } else { v }
        })
        .collect()
}

fn run(isa: Isa, threads: usize, w: &PackedMatrix, x: &[f32], rows: usize) -> Vec<f32> {
    let pool = Pool::new(threads);
    let mut out = vec![0f32; rows * ROWS];
    let mut q = QuantRows::default();
    let input = if w.format == Format::F32 {
        Input::Float {
            x,
            rows,
            cols: COLS,
        }
    } else {
        q.quantize(isa, x, rows, COLS);
        Input::Quant(&q)
    };
    matmul(&pool, isa, w, input, &mut out, Write::Store);
    out
}

#[test]
fn matmuls_give_the_same_bits_for_any_kernel_batch_or_thread_count_and_match_f64() {
    let mut rng = StdRng::seed_from_u64(7);
    for format in [Format::U4, Format::U5, Format::I6, Format::S8, Format::F32] {
        let (w, dense) = random_matrix(format, &mut rng);
        // Rows as stored, against the blocks they came from.
        let mut row = vec![0f32; COLS];
        for n in 0..ROWS {
            w.row_f32(n, &mut row);
            for (k, &v) in row.iter().enumerate() {
                let want = dense[n * COLS + k];
                assert!(
                    (v as f64 - want).abs() <= 1e-6 * want.abs(),
                    "{format:?} row {n}"
                );
            }
        }
        let x = activations(&mut rng);
        let reference = run(Isa::Portable, 1, &w, &x, BATCH);
        for isa in isas() {
            for threads in [1, 2, 3] {
                assert_eq!(
                    run(isa, threads, &w, &x, BATCH),
                    reference,
                    "{format:?} {isa:?}"
                );
            }
            for r in 0..BATCH {
                let alone = run(isa, 2, &w, &x[r * COLS..(r + 1) * COLS], 1);
                assert_eq!(
                    alone,
                    reference[r * ROWS..(r + 1) * ROWS],
                    "{format:?} row {r}"
                );
            }
        }
        // Against f64: exact for the quantized activations the kernel saw, close to the
        // float activations they stand for.
        let mut q = QuantRows::default();
        q.quantize(Isa::Portable, &x, BATCH, COLS);
        for c in 0..BATCH {
            for n in 0..ROWS {
                let (mut exact, mut float, mut scale) = (0f64, 0f64, 0f64);
                for k in 0..COLS {
                    let wk = dense[n * COLS + k];
                    let xq = q.value(c, k) as f64 * q.scale_sum(c, k / BLOCK).0 as f64;
                    exact += wk
                        * if format == Format::F32 {
                            x[c * COLS + k] as f64
                        } else {
                            xq
                        };
                    float += wk * x[c * COLS + k] as f64;
                    scale += (wk * x[c * COLS + k] as f64).abs();
                }
                let got = reference[c * ROWS + n] as f64;
                assert!(
                    (got - exact).abs() <= 1e-5 * scale,
                    "{format:?} {got} vs {exact}"
                );
                assert!(
                    (got - float).abs() <= 0.02 * scale,
                    "{format:?} {got} vs {float}"
                );
            }
        }
    }
}

#[test]
fn i6_sums_of_the_largest_weights_scales_and_activations_do_not_overflow() {
    let d = f16::from_f32(0.0001);
    // Weights of -32 (the largest magnitude) times scales of -128: every product as large as
    // the format allows.
    let w = PackedMatrix::from_blocks(ROWS, COLS, Format::I6, |_, _| SourceBlock::Signed6 {
        d,
        scales: [-128, -128],
        q: [0; BLOCK],
    });
    for sign in [1.0f32, -1.0] {
        let x = vec![sign; BATCH * COLS];
        let want = sign as f64 * d.to_f64() * 128.0 * 32.0 * COLS as f64;
        let reference = run(Isa::Portable, 1, &w, &x, BATCH);
        for &v in &reference {
            assert!(
                (v as f64 - want).abs() <= 1e-4 * want.abs(),
                "{v} vs {want}"
            );
        }
        for isa in isas() {
            assert_eq!(run(isa, 2, &w, &x, BATCH), reference, "{isa:?}");
        }
    }
}

#[test]
fn u5_sums_of_the_largest_weights_and_activations_do_not_overflow() {
    let d = f16::from_f32(0.01);
    let w = PackedMatrix::from_blocks(ROWS, COLS, Format::U5, |_, _| SourceBlock::Affine5 {
        d,
        m: f16::from_f32(0.0),
        q: [31; BLOCK],
    });
    let mut row = vec![0f32; COLS];
    w.row_f32(ROWS - 1, &mut row);
    assert!(row.iter().all(|&v| v == d.to_f32() * 31.0));
    // Every activation quantizes to +127 or -127: sixteen-bit sums of eight sub-steps
    // would reach 62,992 and overflow.
    for sign in [1.0f32, -1.0] {
        let x = vec![sign; BATCH * COLS];
        let want = sign as f64 * d.to_f64() * 31.0 * COLS as f64;
        let reference = run(Isa::Portable, 1, &w, &x, BATCH);
        for &v in &reference {
            assert!(
                (v as f64 - want).abs() <= 1e-4 * want.abs(),
                "{v} vs {want}"
            );
        }
        for isa in isas() {
            assert_eq!(run(isa, 2, &w, &x, BATCH), reference, "{isa:?}");
        }
    }
}

#[test]
fn add_mode_accumulates_into_the_output() {
    let mut rng = StdRng::seed_from_u64(8);
    let (w, _) = random_matrix(Format::U4, &mut rng);
    let x = activations(&mut rng);
    let once = run(Isa::detect(), 2, &w, &x, BATCH);
    let pool = Pool::new(2);
    let mut q = QuantRows::default();
    q.quantize(Isa::detect(), &x, BATCH, COLS);
    let mut out = vec![1.5f32; BATCH * ROWS];
    matmul(
        &pool,
        Isa::detect(),
        &w,
        Input::Quant(&q),
        &mut out,
        Write::Add,
    );
    for (a, b) in out.iter().zip(&once) {
        assert_eq!(*a, 1.5 + b);
    }
}

/// The shape of a test's attention: head size, KV heads and query heads.
#[derive(Clone, Copy, Debug)]
struct Dims {
    hd: usize,
    kv_heads: usize,
    heads: usize,
}

/// The default model's shape (head size 64, three query heads per KV head), then others that
/// take the kernels' other paths: one, two, four and five heads per KV head, heads of 32 and
/// of 48 (which the AVX2 value kernel leaves to the portable one).
const DIMS: [Dims; 6] = [
    Dims {
        hd: 64,
        kv_heads: 2,
        heads: 6,
    },
    Dims {
        hd: 64,
        kv_heads: 2,
        heads: 2,
    },
    Dims {
        hd: 64,
        kv_heads: 1,
        heads: 4,
    },
    Dims {
        hd: 32,
        kv_heads: 1,
        heads: 5,
    },
    Dims {
        hd: 32,
        kv_heads: 2,
        heads: 2,
    },
    Dims {
        hd: 48,
        kv_heads: 1,
        heads: 2,
    },
];

/// A sequence of `len` random keys and values in pages, and the same as floats.
fn random_sequence(
    dims: Dims,
    len: usize,
    rng: &mut StdRng,
) -> (Vec<Vec<u16>>, Vec<[Vec<f32>; 2]>) {
    let shape = KvShape {
        layers: 1,
        kv_heads: dims.kv_heads,
        head_dim: dims.hd,
    };
    let mut pages = vec![vec![0u16; shape.page_len()]; len.div_ceil(PAGE)];
    let mut kv = Vec::new();
    for pos in 0..len {
        let k: Vec<f32> = (0..dims.kv_heads * dims.hd)
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let v: Vec<f32> = (0..dims.kv_heads * dims.hd)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        shape.write(&mut pages[pos / PAGE], 0, pos % PAGE, &k, &v);
        // What the cache holds: the values rounded to f16.
        let round = |x: &Vec<f32>| x.iter().map(|&a| f16::from_f32(a).to_f32()).collect();
        kv.push([round(&k), round(&v)]);
    }
    (pages, kv)
}

fn naive(dims: Dims, q: &[f32], kv: &[[Vec<f32>; 2]], first: usize, pos: usize) -> Vec<f64> {
    let Dims {
        hd,
        kv_heads,
        heads,
    } = dims;
    let mut out = vec![0f64; heads * hd];
    for head in 0..heads {
        let h = head / (heads / kv_heads);
        let s: Vec<f64> = (first..=pos)
            .map(|t| {
                (0..hd)
                    .map(|d| q[head * hd + d] as f64 * kv[t][0][h * hd + d] as f64)
                    .sum()
            })
            .collect();
        let m = s.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = s.iter().map(|v| (v - m).exp()).collect();
        let l: f64 = e.iter().sum();
        for (t, et) in (first..).zip(&e) {
            for d in 0..hd {
                out[head * hd + d] += et / l * kv[t][1][h * hd + d] as f64;
            }
        }
    }
    out
}

#[test]
fn paged_attention_matches_f64_and_gives_the_same_bits_alone_batched_or_threaded() {
    for dims in DIMS {
        check_attention(dims, None);
    }
}

#[test]
fn sliding_window_attention_sees_only_the_window_with_the_same_bits_everywhere() {
    for dims in DIMS {
        // Windows that end inside a page, on a page and span boundary, and past a span.
        for window in [1, 37, PAGE, SPAN, SPAN + 20] {
            check_attention(dims, Some(window));
        }
    }
}

fn check_attention(dims: Dims, window: Option<usize>) {
    let Dims {
        hd,
        kv_heads,
        heads,
    } = dims;
    let mut rng = StdRng::seed_from_u64(9);
    let len = 2 * SPAN + 37;
    let (pages, kv) = random_sequence(dims, len, &mut rng);
    let (other, _) = random_sequence(dims, len, &mut rng);
    let shape = KvShape {
        layers: 1,
        kv_heads,
        head_dim: hd,
    };
    let slices: Vec<&[u16]> = pages.iter().map(|p| p.as_slice()).collect();
    // A second sequence sharing the first half of the pages, as a branch would.
    let forked: Vec<&[u16]> = (0..pages.len())
        .map(|i| {
            if i < pages.len() / 2 {
                slices[i]
            } else {
                other[i].as_slice()
            }
        })
        .collect();
    let positions = [0, 5, PAGE - 1, PAGE, SPAN - 1, SPAN, SPAN + 3, len - 1];
    let q: Vec<f32> = (0..positions.len() * heads * hd)
        .map(|_| rng.random_range(-0.5..0.5))
        .collect();
    let rows: Vec<AttnRow> = positions
        .iter()
        .map(|&pos| AttnRow {
            pages: &slices,
            pos,
            first: window.map_or(0, |w| (pos + 1).saturating_sub(w)),
        })
        .collect();
    let compute = |isa: Isa, threads: usize, rows: &[AttnRow], q: &[f32]| {
        let mut out = vec![0f32; rows.len() * heads * hd];
        let h = Heads {
            layer: 0,
            n_head: heads,
        };
        attention(&Pool::new(threads), isa, &shape, h, q, rows, &mut out);
        out
    };
    let all = compute(Isa::Portable, 1, &rows, &q);
    for (i, &pos) in positions.iter().enumerate() {
        let first = rows[i].first;
        let want = naive(
            dims,
            &q[i * heads * hd..(i + 1) * heads * hd],
            &kv,
            first,
            pos,
        );
        for (g, w) in all[i * heads * hd..(i + 1) * heads * hd].iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() < 1e-4,
                "{dims:?} window {window:?} pos {pos}: {g} vs {w}"
            );
        }
    }
    for isa in isas() {
        for threads in [1, 2, 3] {
            assert_eq!(
                compute(isa, threads, &rows, &q),
                all,
                "{dims:?} {isa:?} {threads} threads"
            );
        }
        for (i, row) in rows.iter().enumerate() {
            let qi = &q[i * heads * hd..(i + 1) * heads * hd];
            let alone = compute(isa, 2, std::slice::from_ref(row), qi);
            assert_eq!(
                alone,
                all[i * heads * hd..(i + 1) * heads * hd],
                "{dims:?} row {i} alone"
            );
            // Batched with a forked sequence that shares some of its pages.
            let fork = AttnRow {
                pages: &forked,
                ..*row
            };
            let pair = compute(isa, 2, &[fork, *row], &[qi, qi].concat());
            assert_eq!(
                pair[heads * hd..],
                all[i * heads * hd..(i + 1) * heads * hd],
                "{dims:?} row {i} beside a fork"
            );
        }
    }
}
