//! AVX2/FMA/F16C kernels (x86-64). Callers check `Isa::avx2` first; each function mirrors
//! its twin in `portable.rs` operation for operation.
//!
//! The `U4` inner loop: a 32-byte load of nibbles gives two sub-steps of eight rows;
//! `vpmaddubsw` multiplies them (0..=15) with four activation bytes broadcast to every row
//! and adds pairs into 16-bit sums. Eight sub-steps fit in 16 bits (8 x 2 x 15 x 127 =
//! 30480), so one `vpmaddwd` per block widens them, and the block's scales apply in float.
//! Activation rows come interleaved in groups of up to four (`QuantRows`): a kernel needs
//! one pointer for all its rows' bytes and one for their scales, which keeps every pointer
//! and accumulator in registers.

use super::attention::PageQuery;
use super::packed::{
    BLOCK, Format, I6_BLOCK_BYTES, S8_BLOCK_BYTES, TILE_ROWS, U4_BLOCK_BYTES, U5_BLOCK_BYTES,
};
use super::quant::{DS_PER_ROW, QGroup};
use super::{AHEAD_TILES, Ahead};
use std::arch::x86_64::*;

#[inline(always)]
pub(crate) unsafe fn bcast4(p: *const i8) -> __m256i {
    // SAFETY: the caller points at 4 readable bytes.
    unsafe { _mm256_set1_epi32(std::ptr::read_unaligned(p as *const i32)) }
}

#[inline(always)]
pub(crate) unsafe fn store<const MR: usize>(acc: [__m256; MR]) -> [[f32; TILE_ROWS]; MR] {
    let mut out = [[0f32; TILE_ROWS]; MR];
    for (o, a) in out.iter_mut().zip(acc) {
        // SAFETY: `o` is 8 floats.
        unsafe { _mm256_storeu_ps(o.as_mut_ptr(), a) };
    }
    out
}

/// Groups of `MR` activation rows against consecutive quantized tiles (`tiles` holds
/// whole tiles of `tile_bytes`). Every group meets a tile before the next tile is read, so a
/// tile comes from memory once while all groups use it. Tile `t`'s results for row `m` of
/// group `g` go to `out[(t * groups + g) * MR + m]`. Each group is interleaved (see
/// `QuantRows`), so one pointer reaches all of its rows.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn quant_tiles<const MR: usize>(
    format: Format,
    tiles: &[u8],
    tile_bytes: usize,
    x: &[QGroup],
    out: &mut [[f32; TILE_ROWS]],
) {
    // SAFETY: the closures run in this function, which has the tile kernels' features.
    let kernels = TileKernels {
        u4: |w, nb, x, ds, ahead| unsafe { u4_tile::<MR>(w, nb, x, ds, ahead) },
        u5: |w, nb, x, ds, ahead| unsafe { u5_tile::<MR>(w, nb, x, ds, ahead) },
        i6: |w, nb, x, ds, ahead| unsafe { i6_tile::<MR>(w, nb, x, ds, ahead) },
        s8: |w, nb, x, ds, ahead| unsafe { s8_tile::<MR>(w, nb, x, ds, ahead) },
    };
    // SAFETY: passed on from the caller.
    unsafe { quant_tiles_with(format, tiles, tile_bytes, x, out, kernels) }
}

/// The tile kernel of each quantized format.
pub(crate) struct TileKernels<A, B, C, D> {
    pub u4: A,
    pub u5: B,
    pub i6: C,
    pub s8: D,
}

/// A kernel for one tile: `(tile, blocks, group's bytes, group's scales, tiles to
/// prefetch)` to each row's eight results.
pub(crate) trait TileKernel<const MR: usize>:
    Fn(*const u8, usize, *const i8, *const f32, Ahead) -> [[f32; TILE_ROWS]; MR]
{
}

impl<const MR: usize, F> TileKernel<MR> for F where
    F: Fn(*const u8, usize, *const i8, *const f32, Ahead) -> [[f32; TILE_ROWS]; MR]
{
}

/// `quant_tiles`' loop and checks, with the tile kernels given (the AVX2 ones or the VNNI
/// ones), inlined into the caller that has their CPU features.
///
/// # Safety
/// The kernels' CPU features must be present.
#[inline(always)]
pub(crate) unsafe fn quant_tiles_with<const MR: usize>(
    format: Format,
    tiles: &[u8],
    tile_bytes: usize,
    x: &[QGroup],
    out: &mut [[f32; TILE_ROWS]],
    kernels: TileKernels<
        impl TileKernel<MR>,
        impl TileKernel<MR>,
        impl TileKernel<MR>,
        impl TileKernel<MR>,
    >,
) {
    let TileKernels { u4, u5, i6, s8 } = kernels;
    let block_bytes = block_bytes(format);
    let nb = tile_bytes / block_bytes;
    let n = tiles.len() / tile_bytes;
    let groups = x.len();
    assert!(nb * block_bytes == tile_bytes && out.len() >= n * groups * MR);
    for xg in x {
        assert!(
            xg.rows == MR && xg.qs.len() >= nb * BLOCK * MR && xg.ds.len() >= nb * DS_PER_ROW * MR
        );
    }
    for t in 0..n {
        for (g, xg) in x.iter().enumerate() {
            // Tile t is inside `tiles`; the rest was checked above.
            let w = tiles[t * tile_bytes..].as_ptr();
            // The first group's pass fetches the tile `AHEAD_TILES` on.
            let ahead = Ahead {
                at: w.wrapping_add(AHEAD_TILES * tile_bytes),
                tiles: (g == 0) as usize,
                stride: tile_bytes,
            };
            let acc = match format {
                Format::U4 => u4(w, nb, xg.qs.as_ptr(), xg.ds.as_ptr(), ahead),
                Format::U5 => u5(w, nb, xg.qs.as_ptr(), xg.ds.as_ptr(), ahead),
                Format::I6 => i6(w, nb, xg.qs.as_ptr(), xg.ds.as_ptr(), ahead),
                _ => s8(w, nb, xg.qs.as_ptr(), xg.ds.as_ptr(), ahead),
            };
            let at = (t * groups + g) * MR;
            out[at..at + MR].copy_from_slice(&acc);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn u4_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mask = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U4_BLOCK_BYTES);
        // SAFETY: block j lies inside the tile; the group's blocks were bounds-checked above.
        unsafe {
            let blk = w.add(j * U4_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut isum = [_mm256_setzero_si256(); MR];
            for c in 0..4 {
                let v = _mm256_loadu_si256(blk.add(32 * c) as *const __m256i);
                let lo = _mm256_and_si256(v, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask);
                for (m, sum) in isum.iter_mut().enumerate() {
                    let xl = bcast4(xj.add(4 * (2 * c * MR + m)));
                    let xh = bcast4(xj.add(4 * ((2 * c + 1) * MR + m)));
                    *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(lo, xl));
                    *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(hi, xh));
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(128) as *const __m128i));
            let mw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(144) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(_mm256_madd_epi16(isum[m], ones));
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
                acc[m] = _mm256_fmadd_ps(mw, _mm256_set1_ps(*dj.add(MR + m)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// The fifth bits of sub-step `s` (bit `s` of every byte of `hv`) moved to bit 4: each
/// byte 0 or 16. A 16-bit shift moves a byte's bits into its neighbour only below or above
/// bit 4, which the mask drops.
#[inline(always)]
pub(crate) unsafe fn fifth_bits(hv: __m256i, s: usize) -> __m256i {
    // SAFETY: register operations only; the caller has AVX2.
    unsafe {
        let moved = match s {
            0 => _mm256_slli_epi16::<4>(hv),
            1 => _mm256_slli_epi16::<3>(hv),
            2 => _mm256_slli_epi16::<2>(hv),
            3 => _mm256_slli_epi16::<1>(hv),
            4 => hv,
            5 => _mm256_srli_epi16::<1>(hv),
            6 => _mm256_srli_epi16::<2>(hv),
            _ => _mm256_srli_epi16::<3>(hv),
        };
        _mm256_and_si256(moved, _mm256_set1_epi8(0x10))
    }
}

/// `u4_tile` for `U5`: each nibble gets its fifth bit, and the 16-bit sums are widened
/// every four sub-steps (4 x 2 x 31 x 127 = 31496 fits; eight would not).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(crate) unsafe fn u5_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mask = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U5_BLOCK_BYTES);
        // SAFETY: as in `u4_tile`.
        unsafe {
            let blk = w.add(j * U5_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let hv = _mm256_loadu_si256(blk.add(128) as *const __m256i);
            let mut wide = [_mm256_setzero_si256(); MR];
            for half in 0..2 {
                let mut isum = [_mm256_setzero_si256(); MR];
                for c in 2 * half..2 * half + 2 {
                    let v = _mm256_loadu_si256(blk.add(32 * c) as *const __m256i);
                    let lo = _mm256_or_si256(_mm256_and_si256(v, mask), fifth_bits(hv, 2 * c));
                    let hi = _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask),
                        fifth_bits(hv, 2 * c + 1),
                    );
                    for (m, sum) in isum.iter_mut().enumerate() {
                        let xl = bcast4(xj.add(4 * (2 * c * MR + m)));
                        let xh = bcast4(xj.add(4 * ((2 * c + 1) * MR + m)));
                        *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(lo, xl));
                        *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(hi, xh));
                    }
                }
                for (wm, sum) in wide.iter_mut().zip(isum) {
                    *wm = _mm256_add_epi32(*wm, _mm256_madd_epi16(sum, ones));
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(160) as *const __m128i));
            let mw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(176) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(wide[m]);
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
                acc[m] = _mm256_fmadd_ps(mw, _mm256_set1_ps(*dj.add(MR + m)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// The bytes of one block of a quantized format's tile.
pub(crate) fn block_bytes(format: Format) -> usize {
    match format {
        Format::U4 => U4_BLOCK_BYTES,
        Format::U5 => U5_BLOCK_BYTES,
        Format::I6 => I6_BLOCK_BYTES,
        _ => S8_BLOCK_BYTES,
    }
}

/// The high bit pair of sub-step `s` (bits `2 (s % 4)` and up of every byte of `hv`, the
/// pairs of sub-steps `4 (s / 4)..`) moved to bits 4 and 5. As in `fifth_bits`, what a
/// 16-bit shift carries into a neighbouring byte lands outside the mask.
#[inline(always)]
unsafe fn high_pair(hv: __m256i, s: usize) -> __m256i {
    // SAFETY: register operations only; the caller has AVX2.
    unsafe {
        let moved = match s % 4 {
            0 => _mm256_slli_epi16::<4>(hv),
            1 => _mm256_slli_epi16::<2>(hv),
            2 => hv,
            _ => _mm256_srli_epi16::<2>(hv),
        };
        _mm256_and_si256(moved, _mm256_set1_epi8(0x30))
    }
}

/// The 6-bit weights `q` (0..64) of sub-steps `2c` and `2c + 1` of an `I6` block, whose
/// high bit pairs of that half are `hv`.
#[inline(always)]
pub(crate) unsafe fn i6_quants(blk: *const u8, c: usize, hv: __m256i) -> (__m256i, __m256i) {
    // SAFETY: the caller points at a whole `I6` block; the rest is register work.
    unsafe {
        let mask = _mm256_set1_epi8(0x0F);
        let v = _mm256_loadu_si256(blk.add(32 * c) as *const __m256i);
        let lo = _mm256_or_si256(_mm256_and_si256(v, mask), high_pair(hv, 2 * c));
        let hi = _mm256_or_si256(
            _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask),
            high_pair(hv, 2 * c + 1),
        );
        (lo, hi)
    }
}

/// The eight rows' scales of half `h` of an `I6` block, each in both 16-bit halves of its
/// row's 32-bit lane (for `vpmaddwd`).
#[inline(always)]
unsafe fn i6_scales16(blk: *const u8, h: usize) -> __m256i {
    // SAFETY: the caller points at a whole `I6` block.
    unsafe {
        let s = _mm256_cvtepi8_epi32(_mm_loadl_epi64(blk.add(192 + 8 * h) as *const __m128i));
        _mm256_blend_epi16::<0b1010_1010>(s, _mm256_slli_epi32::<16>(s))
    }
}

/// `s8_tile` for `I6`: signed weights `q - 32` (at most 32 in magnitude, so four sub-steps
/// of 16-bit sums fit: 4 x 2 x 32 x 127 = 32512), and each half block's sums widened by a
/// `vpmaddwd` with its scales, which applies them exactly.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn i6_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, I6_BLOCK_BYTES);
        // SAFETY: as in `u4_tile`.
        unsafe {
            let blk = w.add(j * I6_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut wide = [_mm256_setzero_si256(); MR];
            for half in 0..2 {
                let hv = _mm256_loadu_si256(blk.add(128 + 32 * half) as *const __m256i);
                let mut isum = [_mm256_setzero_si256(); MR];
                for c in 2 * half..2 * half + 2 {
                    // Signed: `q - 32`.
                    let (lo, hi) = i6_quants(blk, c, hv);
                    let bias = _mm256_set1_epi8(32);
                    let (lo, hi) = (_mm256_sub_epi8(lo, bias), _mm256_sub_epi8(hi, bias));
                    let (lo_abs, hi_abs) = (_mm256_sign_epi8(lo, lo), _mm256_sign_epi8(hi, hi));
                    for (m, sum) in isum.iter_mut().enumerate() {
                        let xl = _mm256_sign_epi8(bcast4(xj.add(4 * (2 * c * MR + m))), lo);
                        let xh = _mm256_sign_epi8(bcast4(xj.add(4 * ((2 * c + 1) * MR + m))), hi);
                        *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(lo_abs, xl));
                        *sum = _mm256_add_epi16(*sum, _mm256_maddubs_epi16(hi_abs, xh));
                    }
                }
                let scales = i6_scales16(blk, half);
                for (wm, sum) in wide.iter_mut().zip(isum) {
                    *wm = _mm256_add_epi32(*wm, _mm256_madd_epi16(sum, scales));
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(208) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(wide[m]);
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn s8_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, S8_BLOCK_BYTES);
        // SAFETY: as in `u4_tile`.
        unsafe {
            let blk = w.add(j * S8_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut isum = [_mm256_setzero_si256(); MR];
            for s in 0..8 {
                let wv = _mm256_loadu_si256(blk.add(32 * s) as *const __m256i);
                // |w| as unsigned bytes (-128 becomes 128), and the sign moved onto x.
                let wabs = _mm256_sign_epi8(wv, wv);
                for (m, sum) in isum.iter_mut().enumerate() {
                    let xb = bcast4(xj.add(4 * (s * MR + m)));
                    let prod = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xb, wv));
                    *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(prod, ones));
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(256) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm256_cvtepi32_ps(isum[m]);
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// Quantizes 32 values to bytes in -127..=127; returns the scale and the sum. The
/// twin of `quant::quantize_block`: the same largest magnitude (NaN ignored), the same
/// multiply, then add, to round, the same clamp.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn quantize_block(x: &[f32; 32], q: &mut [i8; 32]) -> (f32, i32) {
    use super::vecmath::ROUND_MAGIC;
    // SAFETY: 32 floats in, 32 bytes out.
    unsafe {
        let v: [__m256; 4] = std::array::from_fn(|i| _mm256_loadu_ps(x.as_ptr().add(8 * i)));
        let sign = _mm256_set1_ps(-0.0);
        let mut m = _mm256_setzero_ps();
        for vi in v {
            // `max(a, m)` keeps `m` when `a` is NaN, as the portable fold does.
            m = _mm256_max_ps(_mm256_andnot_ps(sign, vi), m);
        }
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), m);
        let amax = lanes.iter().fold(0f32, |a, &l| if l > a { l } else { a });
        let d = amax / 127.0;
        let inv = _mm256_set1_ps(if d > 0.0 { 1.0 / d } else { 0.0 });
        let magic = _mm256_set1_ps(ROUND_MAGIC);
        let magic_bits = _mm256_set1_epi32(ROUND_MAGIC.to_bits() as i32);
        let (lo, hi) = (_mm256_set1_epi32(-127), _mm256_set1_epi32(127));
        let ints: [__m256i; 4] = std::array::from_fn(|i| {
            let t = _mm256_add_ps(_mm256_mul_ps(v[i], inv), magic);
            let n = _mm256_sub_epi32(_mm256_castps_si256(t), magic_bits);
            _mm256_min_epi32(_mm256_max_epi32(n, lo), hi)
        });
        let total = _mm256_add_epi32(
            _mm256_add_epi32(ints[0], ints[1]),
            _mm256_add_epi32(ints[2], ints[3]),
        );
        let mut sums = [0i32; 8];
        _mm256_storeu_si256(sums.as_mut_ptr() as *mut __m256i, total);
        // Packing works within 128-bit halves; the permute puts the bytes back in order.
        let words_ab = _mm256_packs_epi32(ints[0], ints[1]);
        let words_cd = _mm256_packs_epi32(ints[2], ints[3]);
        let bytes = _mm256_packs_epi16(words_ab, words_cd);
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let bytes = _mm256_permutevar8x32_epi32(bytes, order);
        _mm256_storeu_si256(q.as_mut_ptr() as *mut __m256i, bytes);
        (d, sums.iter().sum::<i32>())
    }
}

/// As `quant_tiles`, for `F32` tiles (`[k][8]` floats each) and float activations.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f32_tiles<const MR: usize>(
    tiles: &[f32],
    k: usize,
    x: &[[&[f32]; MR]],
    out: &mut [[f32; TILE_ROWS]],
) {
    let n = tiles.len() / (k * TILE_ROWS);
    let groups = x.len();
    assert!(out.len() >= n * groups * MR);
    for xr in x.iter().flatten() {
        assert!(xr.len() >= k);
    }
    for t in 0..n {
        for (g, xg) in x.iter().enumerate() {
            // SAFETY: tile t is inside `tiles`; the rest was checked above.
            let acc = unsafe { f32_tile(tiles.as_ptr().add(t * k * TILE_ROWS), k, xg) };
            let at = (t * groups + g) * MR;
            out[at..at + MR].copy_from_slice(&acc);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn f32_tile<const MR: usize>(
    tile: *const f32,
    k: usize,
    x: &[&[f32]; MR],
) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [_mm256_setzero_ps(); MR];
    for kk in 0..k {
        // SAFETY: in bounds by the caller's checks.
        unsafe {
            let wv = _mm256_loadu_ps(tile.add(kk * TILE_ROWS));
            for m in 0..MR {
                acc[m] = _mm256_fmadd_ps(wv, _mm256_set1_ps(*x[m].get_unchecked(kk)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// f16 bits to floats.
///
/// # Safety
/// The CPU must have F16C and AVX.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        unsafe {
            let h = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
        }
        i += 8;
    }
    for j in i..n {
        dst[j] = half::f16::from_bits(src[j]).to_f32();
    }
}

/// Scores of queries against one page's keys, stored transposed as f16 (`[dim][16]`): query `j`'s sixteen scores go to `scores[qs[j].at..]`, those at slots from
/// `qs[j].valid` on become -inf, and `maxes[qs[j].max]` takes the largest. Queries go four at
/// a time: for each dimension, sixteen keys are loaded once and meet all four.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn page_scores(
    q: &[f32],
    qs: &[PageQuery],
    keys: &[u16],
    scores: &mut [f32],
    offset: usize,
    maxes: &mut [f32],
) {
    let hd = check_page_queries(q, qs, keys, scores.len(), offset, maxes.len());
    let mut i = 0;
    while i < qs.len() {
        // SAFETY: bounds checked above.
        unsafe {
            match qs.len() - i {
                1 => scores_n::<1>(q, &qs[i..], keys, hd, scores, offset, maxes),
                2 => scores_n::<2>(q, &qs[i..], keys, hd, scores, offset, maxes),
                3 => scores_n::<3>(q, &qs[i..], keys, hd, scores, offset, maxes),
                _ => scores_n::<4>(q, &qs[i..], keys, hd, scores, offset, maxes),
            }
        }
        i += 4;
    }
}

/// The checks the scores kernels rely on: every query's numbers, its sixteen scores (from
/// `offset`) and its maximum's slot lie inside their buffers. Returns the head size.
pub(crate) fn check_page_queries(
    q: &[f32],
    qs: &[PageQuery],
    keys: &[u16],
    scores: usize,
    offset: usize,
    maxes: usize,
) -> usize {
    let hd = keys.len() / 16;
    for pq in qs {
        assert!(pq.q as usize + hd <= q.len() && pq.at as usize + offset + 16 <= scores);
        assert!((pq.max as usize) < maxes);
    }
    hd
}

/// `*m = max(*m, every lane of l and h)`, folded in the same order by both scores kernels:
/// `max(x, m)` is `x` when `x > m`, else `m`, so a NaN score never replaces the maximum.
///
/// # Safety
/// `m` is valid for reads and writes; the CPU has AVX.
#[inline(always)]
pub(crate) unsafe fn fold_max(l: __m256, h: __m256, m: *mut f32) {
    // SAFETY: as the function says.
    unsafe {
        let lanes = _mm256_max_ps(h, _mm256_max_ps(l, _mm256_set1_ps(*m)));
        let half = _mm_max_ps(
            _mm256_castps256_ps128(lanes),
            _mm256_extractf128_ps::<1>(lanes),
        );
        let quad = _mm_max_ps(half, _mm_movehl_ps(half, half));
        let one = _mm_max_ss(quad, _mm_shuffle_ps::<1>(quad, quad));
        *m = _mm_cvtss_f32(one);
    }
}

/// A vector of floats the attention kernels work in: eight lanes (`__m256`, AVX2) or sixteen
/// (`__m512`, AVX-512). Callers hold the CPU features of the type they use.
pub(crate) trait FloatLanes: Copy {
    const LANES: usize;
    /// # Safety
    /// The CPU has the type's features.
    unsafe fn zero() -> Self;
    /// # Safety
    /// As `zero`.
    unsafe fn splat(v: f32) -> Self;
    /// # Safety
    /// `p` points at `LANES` readable floats; the CPU has the type's features.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` points at `LANES` readable f16 numbers; the CPU has the type's features.
    unsafe fn load_f16(p: *const u16) -> Self;
    /// # Safety
    /// `p` points at `LANES` writable floats; the CPU has the type's features.
    unsafe fn store(self, p: *mut f32);
    /// `a * b + self`, fused.
    ///
    /// # Safety
    /// As `zero`.
    unsafe fn fma(self, a: Self, b: Self) -> Self;
}

impl FloatLanes for __m256 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller has AVX.
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: as above.
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: as the trait says.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_f16(p: *const u16) -> Self {
        // SAFETY: as the trait says.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the trait says.
        unsafe { _mm256_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn fma(self, a: Self, b: Self) -> Self {
        // SAFETY: the caller has FMA.
        unsafe { _mm256_fmadd_ps(a, b, self) }
    }
}

/// Numbers of a KV page (f16 bits, or floats already converted), loaded as floats.
pub(crate) trait PageNumbers: Copy {
    /// # Safety
    /// `p` points at `V::LANES` readable numbers; the CPU has `V`'s features.
    unsafe fn load<V: FloatLanes>(p: *const Self) -> V;
}

impl PageNumbers for u16 {
    #[inline(always)]
    unsafe fn load<V: FloatLanes>(p: *const u16) -> V {
        // SAFETY: as the trait says.
        unsafe { V::load_f16(p) }
    }
}

impl PageNumbers for f32 {
    #[inline(always)]
    unsafe fn load<V: FloatLanes>(p: *const f32) -> V {
        // SAFETY: as the trait says.
        unsafe { V::load(p) }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn scores_n<const N: usize>(
    q: &[f32],
    qs: &[PageQuery],
    keys: &[u16],
    hd: usize,
    scores: &mut [f32],
    offset: usize,
    maxes: &mut [f32],
) {
    // SAFETY: the caller checked every query's range.
    let qp: [*const f32; N] = std::array::from_fn(|j| unsafe { q.as_ptr().add(qs[j].q as usize) });
    let mut lo = [_mm256_setzero_ps(); N];
    let mut hi = [_mm256_setzero_ps(); N];
    for d in 0..hd {
        // SAFETY: d < hd, so 16 keys at d * 16 are inside `keys`; queries were checked.
        unsafe {
            let k = keys.as_ptr().add(d * 16);
            let k0: __m256 = u16::load(k);
            let k1: __m256 = u16::load(k.add(8));
            for j in 0..N {
                let qd = _mm256_set1_ps(*qp[j].add(d));
                lo[j] = _mm256_fmadd_ps(qd, k0, lo[j]);
                hi[j] = _mm256_fmadd_ps(qd, k1, hi[j]);
            }
        }
    }
    for j in 0..N {
        let pq = qs[j];
        let (mut l, mut h) = (lo[j], hi[j]);
        if pq.valid < 16 {
            let valid = _mm256_set1_epi32(pq.valid as i32);
            let none = _mm256_set1_ps(f32::NEG_INFINITY);
            let keep_l = _mm256_cmpgt_epi32(valid, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            let keep_h = _mm256_cmpgt_epi32(valid, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
            l = _mm256_blendv_ps(none, l, _mm256_castsi256_ps(keep_l));
            h = _mm256_blendv_ps(none, h, _mm256_castsi256_ps(keep_h));
        }
        // SAFETY: 16 floats at `at` and the max slot were checked by the caller.
        unsafe {
            let o = scores.as_mut_ptr().add(pq.at as usize + offset);
            _mm256_storeu_ps(o, l);
            _mm256_storeu_ps(o.add(8), h);
            fold_max(l, h, maxes.as_mut_ptr().add(pq.max as usize));
        }
    }
}

/// `out[j] += sum_t w[j][t] * v[t]` for `Q` queries: position `t`'s values are slot `t % 16`
/// of `pages[t / 16]` (`[slot][dim]`, f16 bits or floats). `W` vectors of dimensions go per
/// pass (8 for a lone query, 4 for several, so the sums stay in registers), and each value
/// vector is loaded once for all queries. Each sum takes one FMA per position in order,
/// whatever `Q`, `W` or the values' form (f16 converts to f32 exactly).
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn weighted_values<const Q: usize, const W: usize, K: PageNumbers>(
    w: [&[f32]; Q],
    pages: &[&[K]],
    out: [&mut [f32]; Q],
) {
    // SAFETY: passed on from the caller.
    unsafe { weighted_values_in::<__m256, Q, W, K>(w, pages, out) }
}

/// `weighted_values` in vectors of `V`, `W` of them per pass (`avx512` uses it at sixteen
/// lanes); inlined into callers that have `V`'s CPU features.
///
/// # Safety
/// The CPU must have `V`'s features.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indices name registers of a query-by-vector grid
pub(crate) unsafe fn weighted_values_in<
    V: FloatLanes,
    const Q: usize,
    const W: usize,
    K: PageNumbers,
>(
    w: [&[f32]; Q],
    pages: &[&[K]],
    out: [&mut [f32]; Q],
) {
    const PAGE: usize = 16;
    let n = w[0].len();
    let hd = out[0].len();
    for j in 0..Q {
        assert!(w[j].len() == n && out[j].len() == hd);
    }
    assert!(hd.is_multiple_of(W * V::LANES) && pages.len() >= n.div_ceil(PAGE));
    for p in &pages[..n.div_ceil(PAGE)] {
        assert!(p.len() >= PAGE * hd);
    }
    let o: [*mut f32; Q] = std::array::from_fn(|j| out[j].as_ptr() as *mut f32);
    let wp: [*const f32; Q] = std::array::from_fn(|j| w[j].as_ptr());
    // SAFETY: bounds checked above; the caller has `V`'s features.
    unsafe {
        for part in (0..hd).step_by(W * V::LANES) {
            let mut a = [[V::zero(); W]; Q];
            for j in 0..Q {
                for i in 0..W {
                    a[j][i] = V::load(o[j].add(part + V::LANES * i));
                }
            }
            for (k, p) in pages[..n.div_ceil(PAGE)].iter().enumerate() {
                let page = p.as_ptr().add(part);
                for t in k * PAGE..n.min(k * PAGE + PAGE) {
                    let v = page.add((t % PAGE) * hd);
                    let x: [V; Q] = std::array::from_fn(|j| V::splat(*wp[j].add(t)));
                    for i in 0..W {
                        let vv: V = K::load(v.add(V::LANES * i));
                        for j in 0..Q {
                            a[j][i] = a[j][i].fma(x[j], vv);
                        }
                    }
                }
            }
            for j in 0..Q {
                for i in 0..W {
                    a[j][i].store(o[j].add(part + V::LANES * i));
                }
            }
        }
    }
}
