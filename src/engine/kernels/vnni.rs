//! The integer matmul kernels with AVX-512 VNNI (x86-64): `vpdpbusd` multiplies unsigned
//! weight bytes with signed activation bytes, sums each four products and adds them to a
//! 32-bit lane in one instruction, where AVX2 needs `vpmaddubsw`, an add of 16-bit sums and a
//! `vpmaddwd` to widen them. The operands stay 256 bits wide (a tile's eight rows), but the
//! EVEX encoding gives 32 vector registers, so every row keeps two accumulators.
//!
//! Integer block sums are exact either way, and the float steps after them are `avx2.rs`'s,
//! in the same order, so results are bit-identical with the AVX2 and portable kernels.

use super::avx2::{bcast4, quant_tiles_with, store};
use super::packed::{BLOCK, Format, S8_BLOCK_BYTES, TILE_ROWS, U4_BLOCK_BYTES};
use super::quant::QGroup;
use std::arch::x86_64::*;

/// As `avx2::quant_tiles`, with the VNNI tile kernels.
///
/// # Safety
/// The CPU must have AVX2, FMA, F16C, AVX-512 F, BW and VL, and AVX-512 VNNI.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
pub(crate) unsafe fn quant_tiles<const MR: usize>(
    format: Format,
    tiles: &[u8],
    tile_bytes: usize,
    x: &[QGroup],
    out: &mut [[f32; TILE_ROWS]],
) {
    // SAFETY: the closures run in this function, which has the tile kernels' features.
    let u4 = |w, nb, x, ds| unsafe { u4_tile::<MR>(w, nb, x, ds) };
    let s8 = |w, nb, x, ds| unsafe { s8_tile::<MR>(w, nb, x, ds) };
    // SAFETY: passed on from the caller.
    unsafe { quant_tiles_with(format, tiles, tile_bytes, x, out, u4, s8) }
}

/// `avx2::u4_tile` with `vpdpbusd`: the low and high nibbles of a chunk go to two
/// accumulators per row, so eight independent sums hide the instruction's latency.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn u4_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
) -> [[f32; TILE_ROWS]; MR] {
    let mask = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        // SAFETY: block j lies inside the tile; the group's blocks were bounds-checked.
        unsafe {
            let blk = w.add(j * U4_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut lo_sum = [_mm256_setzero_si256(); MR];
            let mut hi_sum = [_mm256_setzero_si256(); MR];
            for c in 0..4 {
                let v = _mm256_loadu_si256(blk.add(32 * c) as *const __m256i);
                let lo = _mm256_and_si256(v, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
                for m in 0..MR {
                    let xl = bcast4(xj.add(4 * (2 * c * MR + m)));
                    let xh = bcast4(xj.add(4 * ((2 * c + 1) * MR + m)));
                    lo_sum[m] = _mm256_dpbusd_epi32(lo_sum[m], lo, xl);
                    hi_sum[m] = _mm256_dpbusd_epi32(hi_sum[m], hi, xh);
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(128) as *const __m128i));
            let mw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(144) as *const __m128i));
            let dj = ds.add(j * 2 * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(_mm256_add_epi32(lo_sum[m], hi_sum[m]));
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
                acc[m] = _mm256_fmadd_ps(mw, _mm256_set1_ps(*dj.add(MR + m)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// `avx2::s8_tile` with `vpdpbusd`: `|w|` as unsigned bytes meets `x` carrying `w`'s sign;
/// even and odd sub-steps go to two accumulators per row.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn s8_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        // SAFETY: as in `u4_tile`.
        unsafe {
            let blk = w.add(j * S8_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut sums = [[_mm256_setzero_si256(); MR]; 2];
            for s in 0..8 {
                let wv = _mm256_loadu_si256(blk.add(32 * s) as *const __m256i);
                // |w| as unsigned bytes (-128 becomes 128), and the sign moved onto x.
                let wabs = _mm256_abs_epi8(wv);
                for (m, sum) in sums[s % 2].iter_mut().enumerate() {
                    let xs = _mm256_sign_epi8(bcast4(xj.add(4 * (s * MR + m))), wv);
                    *sum = _mm256_dpbusd_epi32(*sum, wabs, xs);
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(256) as *const __m128i));
            let dj = ds.add(j * 2 * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(_mm256_add_epi32(sums[0][m], sums[1][m]));
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}
