//! The integer matmul kernels with AVX-512 VNNI (x86-64): `vpdpbusd` multiplies unsigned
//! weight bytes with signed activation bytes, sums each four products and adds them to a
//! 32-bit lane in one instruction, where AVX2 needs `vpmaddubsw`, an add of 16-bit sums and a
//! `vpmaddwd` to widen them. The operands stay 256 bits wide (a tile's eight rows), but the
//! EVEX encoding gives 32 vector registers, so every row keeps two accumulators.
//!
//! Integer block sums are exact either way, and the float steps after them are `avx2.rs`'s,
//! in the same order, so results are bit-identical with the AVX2 and portable kernels.

use super::attention::PageQuery;
use super::avx2::{
    FloatLanes, PageNumbers, bcast4, block_bytes, check_page_queries, fifth_bits, fold_max,
    i6_quants, quant_tiles_with, store, weighted_values_in,
};
use super::packed::{
    BLOCK, Format, I6_BLOCK_BYTES, S8_BLOCK_BYTES, TILE_ROWS, U4_BLOCK_BYTES, U5_BLOCK_BYTES,
};
use super::quant::{DS_PER_ROW, QGroup};
use super::{AHEAD_TILES, Ahead};
use std::arch::x86_64::*;

/// As `avx2::quant_tiles`, with the VNNI tile kernels. For two or more rows, tiles go in
/// pairs: one 512-bit register holds the same chunk of two neighbouring tiles, so each
/// activation broadcast and each instruction serves sixteen output rows; an odd last tile
/// goes alone.
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
    let groups = x.len();
    // A lone row is bound by memory, and reads its tiles faster as one stream than as two.
    let pairs = if MR == 1 {
        0
    } else {
        tiles.len() / tile_bytes / 2
    };
    let (paired, last) = tiles.split_at(2 * pairs * tile_bytes);
    let (out_paired, out_last) = out.split_at_mut(2 * pairs * groups * MR);
    // SAFETY: the closures run in this function, which has the tile kernels' features.
    let kernels = super::avx2::TileKernels {
        u4: |w, nb, x, ds, ahead| unsafe { u4_tile::<MR>(w, nb, x, ds, ahead) },
        u5: |w, nb, x, ds, ahead| unsafe { u5_tile::<MR>(w, nb, x, ds, ahead) },
        i6: |w, nb, x, ds, ahead| unsafe { i6_tile::<MR>(w, nb, x, ds, ahead) },
        s8: |w, nb, x, ds, ahead| unsafe { s8_tile::<MR>(w, nb, x, ds, ahead) },
    };
    // The odd tile, and the checks of every group's size against the tiles' blocks.
    // SAFETY: passed on from the caller.
    unsafe { quant_tiles_with(format, last, tile_bytes, x, out_last, kernels) };
    let nb = tile_bytes / block_bytes(format);
    // `I6` pairs are unpacked once, by the first group's pass, for the others to read.
    let mut scratch = Vec::new();
    if format == Format::I6 && groups > 1 && pairs > 0 {
        scratch = I6_SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        scratch.resize(nb * I6_UNPACKED_BLOCK, 0);
    }
    for p in 0..pairs {
        for (g, xg) in x.iter().enumerate() {
            let w = paired[2 * p * tile_bytes..].as_ptr();
            let (xq, ds) = (xg.qs.as_ptr(), xg.ds.as_ptr());
            // The pair `AHEAD_TILES` on is fetched meanwhile: half by each group's pass, or
            // all of it by a lone group.
            let ahead = Ahead {
                at: w.wrapping_add((AHEAD_TILES + g) * tile_bytes),
                tiles: if groups == 1 { 2 } else { (g < 2) as usize },
                stride: tile_bytes,
            };
            // SAFETY: both tiles are inside `paired`; the group was checked above.
            let acc = unsafe {
                match format {
                    Format::U4 => u4_pair::<MR>(w, tile_bytes, nb, xq, ds, ahead),
                    Format::U5 => u5_pair::<MR>(w, tile_bytes, nb, xq, ds, ahead),
                    Format::I6 if groups == 1 => i6_pair::<MR, UNPACK>(
                        w,
                        tile_bytes,
                        nb,
                        xq,
                        ds,
                        ahead,
                        std::ptr::null_mut(),
                    ),
                    Format::I6 if g == 0 => i6_pair::<MR, UNPACK_AND_KEEP>(
                        w,
                        tile_bytes,
                        nb,
                        xq,
                        ds,
                        ahead,
                        scratch.as_mut_ptr(),
                    ),
                    Format::I6 => {
                        i6_pair::<MR, KEPT>(w, tile_bytes, nb, xq, ds, ahead, scratch.as_mut_ptr())
                    }
                    _ => s8_pair::<MR>(w, tile_bytes, nb, xq, ds, ahead),
                }
            };
            for (half, acc) in acc.iter().enumerate() {
                let at = ((2 * p + half) * groups + g) * MR;
                out_paired[at..at + MR].copy_from_slice(acc);
            }
        }
    }
    if !scratch.is_empty() {
        I6_SCRATCH.with(|s| *s.borrow_mut() = scratch);
    }
}

thread_local! {
    /// A pair of `I6` tiles unpacked to bytes, kept between calls so it is allocated once.
    static I6_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bytes of one block of a pair of `I6` tiles unpacked: four chunks of low and high
/// sub-steps, 64 bytes each.
const I6_UNPACKED_BLOCK: usize = 4 * 2 * 64;
/// How `i6_pair` gets its weights: unpacked from the tiles, also kept in the scratch
/// buffer, or read back from it.
const UNPACK: u8 = 0;
const UNPACK_AND_KEEP: u8 = 1;
const KEPT: u8 = 2;

/// Two tiles' 32-byte chunks at `p` and `p + stride` in one register.
#[inline(always)]
unsafe fn load_pair(p: *const u8, stride: usize) -> __m512i {
    // SAFETY: the caller points at two readable 32-byte chunks.
    unsafe {
        let a = _mm256_loadu_si256(p as *const __m256i);
        let b = _mm256_loadu_si256(p.add(stride) as *const __m256i);
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b)
    }
}

/// Two tiles' eight f16 numbers at `p` and `p + stride`, as sixteen floats.
#[inline(always)]
unsafe fn halves_pair(p: *const u8, stride: usize) -> __m512 {
    // SAFETY: the caller points at two readable 16-byte runs.
    unsafe {
        let a = _mm_loadu_si128(p as *const __m128i);
        let b = _mm_loadu_si128(p.add(stride) as *const __m128i);
        _mm512_cvtph_ps(_mm256_inserti128_si256::<1>(_mm256_castsi128_si256(a), b))
    }
}

#[inline(always)]
unsafe fn bcast4_wide(p: *const i8) -> __m512i {
    // SAFETY: the caller points at 4 readable bytes.
    unsafe { _mm512_set1_epi32(std::ptr::read_unaligned(p as *const i32)) }
}

/// Each row's results for two tiles: lanes 0..8 are the first tile's, 8..16 the second's.
#[inline(always)]
unsafe fn store_pair<const MR: usize>(acc: [__m512; MR]) -> [[[f32; TILE_ROWS]; MR]; 2] {
    let mut out = [[[0f32; TILE_ROWS]; MR]; 2];
    for (m, a) in acc.into_iter().enumerate() {
        // SAFETY: each half is 8 floats.
        unsafe {
            _mm256_storeu_ps(out[0][m].as_mut_ptr(), _mm512_castps512_ps256(a));
            let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            _mm256_storeu_ps(out[1][m].as_mut_ptr(), hi);
        }
    }
    out
}

/// `u4_tile` for the two tiles at `w` and `w + stride`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn u4_pair<const MR: usize>(
    w: *const u8,
    stride: usize,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[[f32; TILE_ROWS]; MR]; 2] {
    let mask = _mm512_set1_epi8(0x0F);
    let mut acc = [_mm512_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U4_BLOCK_BYTES);
        // SAFETY: block j of both tiles lies inside them; the group was bounds-checked.
        unsafe {
            let blk = w.add(j * U4_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut lo_sum = [_mm512_setzero_si512(); MR];
            let mut hi_sum = [_mm512_setzero_si512(); MR];
            for c in 0..4 {
                let v = load_pair(blk.add(32 * c), stride);
                let lo = _mm512_and_si512(v, mask);
                let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), mask);
                for m in 0..MR {
                    let xl = bcast4_wide(xj.add(4 * (2 * c * MR + m)));
                    let xh = bcast4_wide(xj.add(4 * ((2 * c + 1) * MR + m)));
                    lo_sum[m] = _mm512_dpbusd_epi32(lo_sum[m], lo, xl);
                    hi_sum[m] = _mm512_dpbusd_epi32(hi_sum[m], hi, xh);
                }
            }
            let dw = halves_pair(blk.add(128), stride);
            let mw = halves_pair(blk.add(144), stride);
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm512_cvtepi32_ps(_mm512_add_epi32(lo_sum[m], hi_sum[m]));
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*dj.add(m)));
                acc[m] = _mm512_fmadd_ps(f, scale, acc[m]);
                acc[m] = _mm512_fmadd_ps(mw, _mm512_set1_ps(*dj.add(MR + m)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store_pair(acc) }
}

/// `avx2::fifth_bits` sixty-four bytes wide.
#[inline(always)]
unsafe fn fifth_bits_wide(hv: __m512i, s: usize) -> __m512i {
    // SAFETY: register operations only; the caller has AVX-512 BW.
    unsafe {
        let moved = match s {
            0 => _mm512_slli_epi16::<4>(hv),
            1 => _mm512_slli_epi16::<3>(hv),
            2 => _mm512_slli_epi16::<2>(hv),
            3 => _mm512_slli_epi16::<1>(hv),
            4 => hv,
            5 => _mm512_srli_epi16::<1>(hv),
            6 => _mm512_srli_epi16::<2>(hv),
            _ => _mm512_srli_epi16::<3>(hv),
        };
        _mm512_and_si512(moved, _mm512_set1_epi8(0x10))
    }
}

/// `u4_pair` for `U5`: each nibble gets its fifth bit; `vpdpbusd` sums in 32 bits, so no
/// early widening is needed.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn u5_pair<const MR: usize>(
    w: *const u8,
    stride: usize,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[[f32; TILE_ROWS]; MR]; 2] {
    let mask = _mm512_set1_epi8(0x0F);
    let mut acc = [_mm512_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U5_BLOCK_BYTES);
        // SAFETY: as in `u4_pair`.
        unsafe {
            let blk = w.add(j * U5_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let hv = load_pair(blk.add(128), stride);
            let mut lo_sum = [_mm512_setzero_si512(); MR];
            let mut hi_sum = [_mm512_setzero_si512(); MR];
            for c in 0..4 {
                let v = load_pair(blk.add(32 * c), stride);
                let lo = _mm512_or_si512(_mm512_and_si512(v, mask), fifth_bits_wide(hv, 2 * c));
                let hi = _mm512_or_si512(
                    _mm512_and_si512(_mm512_srli_epi16::<4>(v), mask),
                    fifth_bits_wide(hv, 2 * c + 1),
                );
                for m in 0..MR {
                    let xl = bcast4_wide(xj.add(4 * (2 * c * MR + m)));
                    let xh = bcast4_wide(xj.add(4 * ((2 * c + 1) * MR + m)));
                    lo_sum[m] = _mm512_dpbusd_epi32(lo_sum[m], lo, xl);
                    hi_sum[m] = _mm512_dpbusd_epi32(hi_sum[m], hi, xh);
                }
            }
            let dw = halves_pair(blk.add(160), stride);
            let mw = halves_pair(blk.add(176), stride);
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let f = _mm512_cvtepi32_ps(_mm512_add_epi32(lo_sum[m], hi_sum[m]));
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*dj.add(m)));
                acc[m] = _mm512_fmadd_ps(f, scale, acc[m]);
                acc[m] = _mm512_fmadd_ps(mw, _mm512_set1_ps(*dj.add(MR + m)), acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store_pair(acc) }
}

/// `s8_tile` for the two tiles at `w` and `w + stride`. The weights' sign bit is flipped,
/// which makes them the unsigned bytes `w + 128` that `vpdpbusd` wants, and each row's
/// `128 * sum(x)` is taken off afterwards (every number involved is an integer below 2^24,
/// so the float subtraction is exact). Even and odd sub-steps go to two accumulators.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn s8_pair<const MR: usize>(
    w: *const u8,
    stride: usize,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[[f32; TILE_ROWS]; MR]; 2] {
    let flip = _mm512_set1_epi8(i8::MIN);
    let mut acc = [_mm512_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, S8_BLOCK_BYTES);
        // SAFETY: as in `u4_pair`.
        unsafe {
            let blk = w.add(j * S8_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut sums = [[_mm512_setzero_si512(); MR]; 2];
            for s in 0..8 {
                let wu = _mm512_xor_si512(load_pair(blk.add(32 * s), stride), flip);
                for (m, sum) in sums[s % 2].iter_mut().enumerate() {
                    *sum = _mm512_dpbusd_epi32(*sum, wu, bcast4_wide(xj.add(4 * (s * MR + m))));
                }
            }
            let dw = halves_pair(blk.add(256), stride);
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let biased = _mm512_cvtepi32_ps(_mm512_add_epi32(sums[0][m], sums[1][m]));
                let bias = _mm512_set1_ps(128.0 * *dj.add(2 * MR + m));
                let f = _mm512_sub_ps(biased, bias);
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*dj.add(m)));
                acc[m] = _mm512_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store_pair(acc) }
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
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mask = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U4_BLOCK_BYTES);
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
            let dj = ds.add(j * DS_PER_ROW * MR);
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

/// `u4_tile` for `U5` (see `u5_pair`).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn u5_tile<const MR: usize>(
    w: *const u8,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mask = _mm256_set1_epi8(0x0F);
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, U5_BLOCK_BYTES);
        // SAFETY: as in `u4_tile`.
        unsafe {
            let blk = w.add(j * U5_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let hv = _mm256_loadu_si256(blk.add(128) as *const __m256i);
            let mut lo_sum = [_mm256_setzero_si256(); MR];
            let mut hi_sum = [_mm256_setzero_si256(); MR];
            for c in 0..4 {
                let v = _mm256_loadu_si256(blk.add(32 * c) as *const __m256i);
                let lo = _mm256_or_si256(_mm256_and_si256(v, mask), fifth_bits(hv, 2 * c));
                let hi = _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask),
                    fifth_bits(hv, 2 * c + 1),
                );
                for m in 0..MR {
                    let xl = bcast4(xj.add(4 * (2 * c * MR + m)));
                    let xh = bcast4(xj.add(4 * ((2 * c + 1) * MR + m)));
                    lo_sum[m] = _mm256_dpbusd_epi32(lo_sum[m], lo, xl);
                    hi_sum[m] = _mm256_dpbusd_epi32(hi_sum[m], hi, xh);
                }
            }
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(160) as *const __m128i));
            let mw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(176) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
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
    ahead: Ahead,
) -> [[f32; TILE_ROWS]; MR] {
    let mut acc = [_mm256_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, S8_BLOCK_BYTES);
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
            let dj = ds.add(j * DS_PER_ROW * MR);
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

/// `avx2::i6_tile` with `vpdpbusd` on the unsigned weights `q` (0..64): each half block
/// sums in its own accumulator per row, `32 x` the half's activation sum (from the
/// quantizer) is taken off and the halves' scales multiply the results, all in float and
/// all exact (every number is an integer below 2^24). The numbers equal the AVX2 and portable kernels' integer sums, so the
/// results do too.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
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
            let mut sums = [[_mm256_setzero_si256(); MR]; 2];
            for (half, sums) in sums.iter_mut().enumerate() {
                let hv = _mm256_loadu_si256(blk.add(128 + 32 * half) as *const __m256i);
                for c in 2 * half..2 * half + 2 {
                    let (lo, hi) = i6_quants(blk, c, hv);
                    for (m, sum) in sums.iter_mut().enumerate() {
                        let xl = bcast4(xj.add(4 * (2 * c * MR + m)));
                        let xh = bcast4(xj.add(4 * ((2 * c + 1) * MR + m)));
                        *sum = _mm256_dpbusd_epi32(*sum, lo, xl);
                        *sum = _mm256_dpbusd_epi32(*sum, hi, xh);
                    }
                }
            }
            // The scales as floats: each half's sum times its scale, and their total, are
            // integers below 2^24, so the float products and sum are exact.
            let scale_of = |h: usize| {
                let s = _mm_loadl_epi64(blk.add(192 + 8 * h) as *const __m128i);
                _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s))
            };
            let (s0, s1) = (scale_of(0), scale_of(1));
            let dw = _mm256_cvtph_ps(_mm_loadu_si128(blk.add(208) as *const __m128i));
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let a0 = _mm256_sub_ps(
                    _mm256_cvtepi32_ps(sums[0][m]),
                    _mm256_set1_ps(*dj.add(3 * MR + m)),
                );
                let a1 = _mm256_sub_ps(
                    _mm256_cvtepi32_ps(sums[1][m]),
                    _mm256_set1_ps(*dj.add(4 * MR + m)),
                );
                let f = _mm256_fmadd_ps(a1, s1, _mm256_mul_ps(a0, s0));
                let scale = _mm256_mul_ps(dw, _mm256_set1_ps(*dj.add(m)));
                acc[m] = _mm256_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store(acc) }
}

/// `avx2::high_pair` sixty-four bytes wide.
#[inline(always)]
unsafe fn high_pair_wide(hv: __m512i, s: usize) -> __m512i {
    // SAFETY: register operations only; the caller has AVX-512 BW.
    unsafe {
        let moved = match s % 4 {
            0 => _mm512_slli_epi16::<4>(hv),
            1 => _mm512_slli_epi16::<2>(hv),
            2 => hv,
            _ => _mm512_srli_epi16::<2>(hv),
        };
        _mm512_and_si512(moved, _mm512_set1_epi8(0x30))
    }
}

/// `i6_tile` for the two tiles at `w` and `w + stride`. With `MODE` `UNPACK_AND_KEEP` the
/// unpacked weights also go to `kept` (`nb * I6_UNPACKED_BLOCK` bytes), and with `KEPT`
/// they are read from there instead of unpacked again (a second group of rows).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn i6_pair<const MR: usize, const MODE: u8>(
    w: *const u8,
    stride: usize,
    nb: usize,
    x: *const i8,
    ds: *const f32,
    ahead: Ahead,
    kept: *mut u8,
) -> [[[f32; TILE_ROWS]; MR]; 2] {
    let mask = _mm512_set1_epi8(0x0F);
    let mut acc = [_mm512_setzero_ps(); MR];
    for j in 0..nb {
        ahead.block(j, I6_BLOCK_BYTES);
        // SAFETY: as in `u4_pair`; when `MODE` uses it, `kept` holds `nb` unpacked blocks.
        unsafe {
            let blk = w.add(j * I6_BLOCK_BYTES);
            let xj = x.add(j * BLOCK * MR);
            let mut sums = [[_mm512_setzero_si512(); MR]; 2];
            for (half, sums) in sums.iter_mut().enumerate() {
                let hv = if MODE == KEPT {
                    _mm512_setzero_si512()
                } else {
                    load_pair(blk.add(128 + 32 * half), stride)
                };
                for c in 2 * half..2 * half + 2 {
                    let at = kept.wrapping_add(j * I6_UNPACKED_BLOCK + 128 * c);
                    let (lo, hi) = if MODE == KEPT {
                        (
                            _mm512_loadu_si512(at as *const __m512i),
                            _mm512_loadu_si512(at.add(64) as *const __m512i),
                        )
                    } else {
                        let v = load_pair(blk.add(32 * c), stride);
                        let lo =
                            _mm512_or_si512(_mm512_and_si512(v, mask), high_pair_wide(hv, 2 * c));
                        let hi = _mm512_or_si512(
                            _mm512_and_si512(_mm512_srli_epi16::<4>(v), mask),
                            high_pair_wide(hv, 2 * c + 1),
                        );
                        if MODE == UNPACK_AND_KEEP {
                            _mm512_storeu_si512(at as *mut __m512i, lo);
                            _mm512_storeu_si512(at.add(64) as *mut __m512i, hi);
                        }
                        (lo, hi)
                    };
                    for (m, sum) in sums.iter_mut().enumerate() {
                        let xl = bcast4_wide(xj.add(4 * (2 * c * MR + m)));
                        let xh = bcast4_wide(xj.add(4 * ((2 * c + 1) * MR + m)));
                        *sum = _mm512_dpbusd_epi32(*sum, lo, xl);
                        *sum = _mm512_dpbusd_epi32(*sum, hi, xh);
                    }
                }
            }
            // Both tiles' eight scales of half `h`, widened to sixteen 32-bit lanes.
            let scale_of = |h: usize| {
                let a = _mm_loadl_epi64(blk.add(192 + 8 * h) as *const __m128i);
                let b = _mm_loadl_epi64(blk.add(stride + 192 + 8 * h) as *const __m128i);
                _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_unpacklo_epi64(a, b)))
            };
            let (s0, s1) = (scale_of(0), scale_of(1));
            let dw = halves_pair(blk.add(208), stride);
            let dj = ds.add(j * DS_PER_ROW * MR);
            for m in 0..MR {
                let a0 = _mm512_sub_ps(
                    _mm512_cvtepi32_ps(sums[0][m]),
                    _mm512_set1_ps(*dj.add(3 * MR + m)),
                );
                let a1 = _mm512_sub_ps(
                    _mm512_cvtepi32_ps(sums[1][m]),
                    _mm512_set1_ps(*dj.add(4 * MR + m)),
                );
                let f = _mm512_fmadd_ps(a1, s1, _mm512_mul_ps(a0, s0));
                let scale = _mm512_mul_ps(dw, _mm512_set1_ps(*dj.add(m)));
                acc[m] = _mm512_fmadd_ps(f, scale, acc[m]);
            }
        }
    }
    // SAFETY: plain stores into local arrays.
    unsafe { store_pair(acc) }
}

/// As `avx2::page_scores`, with sixteen keys (a whole page's slots of one dimension) in one
/// register: one FMA per query and dimension instead of two. The masking, the stores and
/// the maximum's reduction are `avx2::scores_n`'s, on the register's two halves.
///
/// # Safety
/// The CPU must have AVX2, FMA, F16C and AVX-512 F.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
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
                4 => scores_n::<4>(q, &qs[i..], keys, hd, scores, offset, maxes),
                5 => scores_n::<5>(q, &qs[i..], keys, hd, scores, offset, maxes),
                _ => scores_n::<6>(q, &qs[i..], keys, hd, scores, offset, maxes),
            }
        }
        i += 6;
    }
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
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
    let mut acc = [_mm512_setzero_ps(); N];
    for d in 0..hd {
        // SAFETY: d < hd, so 16 keys at d * 16 are inside `keys`; queries were checked.
        unsafe {
            let k = _mm256_loadu_si256(keys.as_ptr().add(d * 16) as *const __m256i);
            let k = _mm512_cvtph_ps(k);
            for j in 0..N {
                acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(*qp[j].add(d)), k, acc[j]);
            }
        }
    }
    for j in 0..N {
        let pq = qs[j];
        let mut a = acc[j];
        if pq.valid < 16 {
            let keep: __mmask16 = (1u16 << pq.valid) - 1;
            a = _mm512_mask_blend_ps(keep, _mm512_set1_ps(f32::NEG_INFINITY), a);
        }
        // SAFETY: 16 floats at `at` and the max slot were checked by the caller.
        unsafe {
            _mm512_storeu_ps(scores.as_mut_ptr().add(pq.at as usize + offset), a);
            let l = _mm512_castps512_ps256(a);
            let h = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
            fold_max(l, h, maxes.as_mut_ptr().add(pq.max as usize));
        }
    }
}

impl FloatLanes for __m512 {
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller has AVX-512 F.
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: as above.
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: as the trait says.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn load_f16(p: *const u16) -> Self {
        // SAFETY: as the trait says.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: as the trait says.
        unsafe { _mm512_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn fma(self, a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm512_fmadd_ps(a, b, self) }
    }
}

/// As `avx2::weighted_values`, sixteen dimensions per register, 64 per pass (`hd` must be a
/// multiple of 64): each sum still takes one FMA per position in order.
///
/// # Safety
/// The CPU must have AVX2, FMA, F16C and AVX-512 F.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
pub(crate) unsafe fn weighted_values<const Q: usize, K: PageNumbers>(
    w: [&[f32]; Q],
    pages: &[&[K]],
    out: [&mut [f32]; Q],
) {
    // SAFETY: passed on from the caller.
    unsafe { weighted_values_in::<__m512, Q, 4, K>(w, pages, out) }
}
