//! `y = W x` for a batch of activation rows: tiles of eight weight rows are spread over the
//! pool's threads, and each tile is multiplied with up to four activation rows at a time, so
//! its weights are loaded once per four rows instead of once per row. Two such groups meet
//! each tile in turn while it is in L1, so a batch of eight branches reads every weight from
//! memory once, spread evenly over the step's arithmetic.

use super::packed::{Format, PackedMatrix, TILE_ROWS};
use super::pool::Pool;
use super::quant::{GROUP, QGroup, QuantRows};
use super::{Isa, SharedMut, portable};

/// Activation rows per kernel call.
const MAX_ROWS: usize = 4;
/// Groups of `MAX_ROWS` rows that meet a tile together.
const GROUPS: usize = 2;
/// Tiles per kernel call.
const CHUNK_TILES: usize = 16;

/// The activations a matrix is applied to, in the form its format needs.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// For `U4` and `S8` weights.
    Quant(&'a QuantRows),
    /// For `F32` weights: `rows` rows of `cols` floats.
    Float {
        x: &'a [f32],
        rows: usize,
        cols: usize,
    },
}

impl Input<'_> {
    pub fn rows(&self) -> usize {
        match self {
            Input::Quant(q) => q.rows,
            Input::Float { rows, .. } => *rows,
        }
    }
}

/// Whether results replace the output or are added to it (a residual connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Store,
    Add,
}

/// `out[c][n] (=|+=) sum_k W[n][k] x[c][k]` for every input row `c`; `out` is row-major
/// with `w.rows` columns.
pub fn matmul(pool: &Pool, isa: Isa, w: &PackedMatrix, x: Input, out: &mut [f32], write: Write) {
    let rows = x.rows();
    assert_eq!(out.len(), rows * w.rows, "matmul output size");
    match x {
        Input::Quant(q) => assert!(w.format != Format::F32 && q.cols == w.cols),
        Input::Float { x, cols, .. } => {
            assert!(w.format == Format::F32 && cols == w.cols && x.len() >= rows * cols)
        }
    }
    let tiles = w.tiles();
    let tasks = tiles.min(8 * pool.threads());
    let out = SharedMut::new(out);
    pool.run(tasks, &|task| {
        let (from, to) = (task * tiles / tasks, (task + 1) * tiles / tasks);
        let mut results = [[0f32; TILE_ROWS]; CHUNK_TILES * GROUPS * MAX_ROWS];
        // A chunk of tiles stays in cache while every row block meets it.
        for t0 in (from..to).step_by(CHUNK_TILES) {
            let t1 = (t0 + CHUNK_TILES).min(to);
            let mut c0 = 0;
            while c0 < rows {
                let mr = MAX_ROWS.min(rows - c0);
                let groups = ((rows - c0) / mr).min(GROUPS);
                run_kernel(isa, w, t0..t1, x, c0, mr, groups, &mut results);
                for t in t0..t1 {
                    let n0 = t * TILE_ROWS;
                    let width = TILE_ROWS.min(w.rows - n0);
                    for gm in 0..groups * mr {
                        let y = &results[(t - t0) * groups * mr + gm];
                        // SAFETY: tile t's columns belong to this task alone.
                        let dst = unsafe { out.slice((c0 + gm) * w.rows + n0, width) };
                        if width == TILE_ROWS {
                            let d: &mut [f32; TILE_ROWS] = dst.try_into().expect("a full tile");
                            match write {
                                Write::Store => *d = *y,
                                Write::Add => (0..TILE_ROWS).for_each(|i| d[i] += y[i]),
                            }
                        } else {
                            match write {
                                Write::Store => dst.copy_from_slice(&y[..width]),
                                Write::Add => dst.iter_mut().zip(y).for_each(|(d, v)| *d += v),
                            }
                        }
                    }
                }
                c0 += groups * mr;
            }
        }
    });
}

/// Runs the kernel for tiles `tiles` and `groups` groups of `mr` input rows from `c0`; tile
/// `t`'s results for row `c0 + i` go to `out[(t - tiles.start) * groups * mr + i]`.
#[allow(clippy::too_many_arguments)]
fn run_kernel(
    isa: Isa,
    w: &PackedMatrix,
    tiles: std::ops::Range<usize>,
    x: Input,
    c0: usize,
    mr: usize,
    groups: usize,
    out: &mut [[f32; TILE_ROWS]],
) {
    macro_rules! dispatch {
        ($mr:literal) => {
            kernel::<$mr>(isa, w, tiles, x, c0, groups, out)
        };
    }
    match mr {
        1 => dispatch!(1),
        2 => dispatch!(2),
        3 => dispatch!(3),
        _ => dispatch!(4),
    }
}

fn kernel<const MR: usize>(
    isa: Isa,
    w: &PackedMatrix,
    tiles: std::ops::Range<usize>,
    x: Input,
    c0: usize,
    groups: usize,
    out: &mut [[f32; TILE_ROWS]],
) {
    match x {
        Input::Quant(q) => {
            let bytes = w.tile_bytes();
            let data = w.tiles_data(tiles);
            // Row blocks start at multiples of four, so each group of rows is one of `q`'s.
            debug_assert!(c0.is_multiple_of(GROUP) && (MR == GROUP || groups == 1));
            let x: [QGroup; GROUPS] =
                std::array::from_fn(|g| q.group((c0 / GROUP + g).min(q.groups() - 1)));
            let x = &x[..groups];
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2, FMA and F16C.
                Isa::Avx2 => unsafe {
                    super::avx2::quant_tiles::<MR>(w.format, data, bytes, x, out)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx512Vnni` is only chosen when the CPU has those and AVX2.
                Isa::Avx512Vnni => unsafe {
                    super::avx512::quant_tiles::<MR>(w.format, data, bytes, x, out)
                },
                _ => portable::quant_tiles::<MR>(w.format, data, bytes, x, out),
            }
        }
        Input::Float { x, cols, rows: n } => {
            let rows: [[&[f32]; MR]; GROUPS] = std::array::from_fn(|g| {
                std::array::from_fn(|m| {
                    let r = (c0 + g * MR + m).min(n - 1);
                    &x[r * cols..(r + 1) * cols]
                })
            });
            let rows = &rows[..groups];
            let data = w.tiles_floats(tiles);
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Isa::Avx2 | Isa::Avx512Vnni => unsafe {
                    super::avx2::f32_tiles(data, cols, rows, out)
                },
                _ => portable::f32_tiles(data, cols, rows, out),
            }
        }
    }
}
