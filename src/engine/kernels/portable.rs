//! The portable kernels: plain Rust doing exactly the arithmetic of the SIMD ones (exact
//! integer block sums, then the same fused multiply-adds in the same order), so both give
//! bit-identical results.

use super::packed::{
    BLOCK, Format, I6_BLOCK_BYTES, S8_BLOCK_BYTES, TILE_ROWS, U4_BLOCK_BYTES, U5_BLOCK_BYTES,
    i6_at, u5_at,
};
use super::quant::QGroup;
use half::f16;

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// Eight rows of a `U4` tile against `MR` quantized activation rows.
fn u4_tile<const MR: usize>(tile: &[u8], x: QGroup) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [[0f32; TILE_ROWS]; MR];
    for (j, blk) in tile.chunks_exact(U4_BLOCK_BYTES).enumerate() {
        for (m, acc) in acc.iter_mut().enumerate() {
            let xq: [i8; BLOCK] = std::array::from_fn(|k| x.value(m, j * BLOCK + k));
            for r in 0..TILE_ROWS {
                let mut isum = 0i32;
                for (k, &xk) in xq.iter().enumerate() {
                    let s = k / 4;
                    let byte = blk[32 * (s / 2) + r * 4 + k % 4];
                    let q = (byte >> (4 * (s % 2))) & 0x0F;
                    isum += q as i32 * xk as i32;
                }
                let scale = f16_at(blk, 128 + 2 * r) * x.scale(m, j);
                acc[r] = (isum as f32).mul_add(scale, acc[r]);
                acc[r] = f16_at(blk, 144 + 2 * r).mul_add(x.sum(m, j), acc[r]);
            }
        }
    }
    acc
}

/// Eight rows of a `U5` tile against `MR` quantized activation rows.
fn u5_tile<const MR: usize>(tile: &[u8], x: QGroup) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [[0f32; TILE_ROWS]; MR];
    for (j, blk) in tile.chunks_exact(U5_BLOCK_BYTES).enumerate() {
        for (m, acc) in acc.iter_mut().enumerate() {
            let xq: [i8; BLOCK] = std::array::from_fn(|k| x.value(m, j * BLOCK + k));
            for (r, out) in acc.iter_mut().enumerate() {
                let mut isum = 0i32;
                for (k, &xk) in xq.iter().enumerate() {
                    isum += u5_at(blk, r, k) as i32 * xk as i32;
                }
                let scale = f16_at(blk, 160 + 2 * r) * x.scale(m, j);
                *out = (isum as f32).mul_add(scale, *out);
                *out = f16_at(blk, 176 + 2 * r).mul_add(x.sum(m, j), *out);
            }
        }
    }
    acc
}

/// Eight rows of an `I6` tile against `MR` quantized activation rows: each half block's
/// exact integer sum of `(q - 32) x` times its scale, added as integers, then `d` in float.
fn i6_tile<const MR: usize>(tile: &[u8], x: QGroup) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [[0f32; TILE_ROWS]; MR];
    for (j, blk) in tile.chunks_exact(I6_BLOCK_BYTES).enumerate() {
        for (m, acc) in acc.iter_mut().enumerate() {
            let xq: [i8; BLOCK] = std::array::from_fn(|k| x.value(m, j * BLOCK + k));
            for (r, out) in acc.iter_mut().enumerate() {
                let mut isum = 0i32;
                for (half, xs) in xq.chunks_exact(16).enumerate() {
                    let mut hsum = 0i32;
                    for (k, &xk) in xs.iter().enumerate() {
                        hsum += (i6_at(blk, r, 16 * half + k) as i32 - 32) * xk as i32;
                    }
                    isum += hsum * (blk[192 + 8 * half + r] as i8) as i32;
                }
                let scale = f16_at(blk, 208 + 2 * r) * x.scale(m, j);
                *out = (isum as f32).mul_add(scale, *out);
            }
        }
    }
    acc
}

/// Eight rows of an `S8` tile against `MR` quantized activation rows.
fn s8_tile<const MR: usize>(tile: &[u8], x: QGroup) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [[0f32; TILE_ROWS]; MR];
    for (j, blk) in tile.chunks_exact(S8_BLOCK_BYTES).enumerate() {
        for (m, acc) in acc.iter_mut().enumerate() {
            let xq: [i8; BLOCK] = std::array::from_fn(|k| x.value(m, j * BLOCK + k));
            for r in 0..TILE_ROWS {
                let mut isum = 0i32;
                for (k, &xk) in xq.iter().enumerate() {
                    let q = blk[32 * (k / 4) + r * 4 + k % 4] as i8;
                    isum += q as i32 * xk as i32;
                }
                let scale = f16_at(blk, 256 + 2 * r) * x.scale(m, j);
                acc[r] = (isum as f32).mul_add(scale, acc[r]);
            }
        }
    }
    acc
}

/// Eight rows of an `F32` tile (`[k][8]`) against `MR` float activation rows.
fn f32_tile<const MR: usize>(tile: &[f32], x: [&[f32]; MR]) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [[0f32; TILE_ROWS]; MR];
    for (k, w) in tile.chunks_exact(TILE_ROWS).enumerate() {
        for (m, xr) in x.iter().enumerate() {
            for r in 0..TILE_ROWS {
                acc[m][r] = w[r].mul_add(xr[k], acc[m][r]);
            }
        }
    }
    acc
}

/// The kernels over consecutive `U4`, `U5`, `I6` or `S8` tiles and groups of rows, as
/// `avx2::quant_tiles`.
pub(crate) fn quant_tiles<const MR: usize>(
    format: Format,
    tiles: &[u8],
    tile_bytes: usize,
    x: &[QGroup],
    out: &mut [[f32; TILE_ROWS]],
) {
    assert!(x.iter().all(|xg| xg.rows == MR), "groups of {MR} rows");
    for (t, tile) in tiles.chunks_exact(tile_bytes).enumerate() {
        for (g, xg) in x.iter().enumerate() {
            let acc = match format {
                Format::U4 => u4_tile::<MR>(tile, *xg),
                Format::U5 => u5_tile::<MR>(tile, *xg),
                Format::I6 => i6_tile::<MR>(tile, *xg),
                _ => s8_tile::<MR>(tile, *xg),
            };
            let at = (t * x.len() + g) * MR;
            out[at..at + MR].copy_from_slice(&acc);
        }
    }
}

/// `f32_tile` over consecutive tiles and groups of rows.
pub(crate) fn f32_tiles<const MR: usize>(
    tiles: &[f32],
    k: usize,
    x: &[[&[f32]; MR]],
    out: &mut [[f32; TILE_ROWS]],
) {
    for (t, tile) in tiles.chunks_exact(k * TILE_ROWS).enumerate() {
        for (g, xg) in x.iter().enumerate() {
            let at = (t * x.len() + g) * MR;
            out[at..at + MR].copy_from_slice(&f32_tile(tile, *xg));
        }
    }
}
