//! Activations quantized for the integer kernels: per row and per 32 values, signed bytes in
//! -127..=127 with a scale `d`, the scaled sum `s = d * sum(q)` (which the `U4` kernel needs
//! for the weights' offsets), the plain sum (exact as a float; the VNNI `S8` kernel
//! multiplies unsigned `w + 128` and subtracts `128 * sum(q)`) and `32 x` the sums of each
//! half (16 values: the VNNI `I6` kernels subtract them, exactly, per half block).
//!
//! Rows are stored in groups of four, interleaved 4 bytes at a time, because that is how the
//! kernels read them: one weight load meets the same four activation bytes of every row of a
//! group, so one pointer reaches them all (with a row per pointer, the 4-row kernel ran out of
//! registers and was 7-10% slower).

use super::packed::BLOCK;
use super::vecmath::ROUND_MAGIC;
use super::{Isa, SharedMut};

/// Rows per interleaved group.
pub const GROUP: usize = 4;
/// 4-byte units per block.
const UNITS: usize = BLOCK / 4;
/// Floats per row and block in `ds`: the scale, the scaled sum, the plain sum, and `32 x`
/// the plain sum of each half.
pub(crate) const DS_PER_ROW: usize = 5;

/// `rows` rows of `cols` quantized activations, in groups of `GROUP` rows.
#[derive(Debug, Clone, Default)]
pub struct QuantRows {
    pub rows: usize,
    pub cols: usize,
    /// Row `GROUP * g + m`'s bytes `32j + 4u..32j + 4u + 4` are at
    /// `qs[GROUP * g * cols + 4 * ((j * UNITS + u) * r + m)..][..4]`, where `r` is the number
    /// of rows in group `g` (`GROUP`, but fewer in a last, partial group, so that a lone row
    /// lies as compactly as in a plain row-major layout).
    qs: Vec<i8>,
    /// Per group and block, the rows' scales, then their scaled sums, their plain sums and
    /// `32 x` the plain sums of their two halves: `ds[g * nb * 5 * GROUP + j * 5 * r + m]`,
    /// `ds[.. + r]`, `ds[.. + 2 * r]`, `ds[.. + 3 * r]` and `ds[.. + 4 * r]`.
    ds: Vec<f32>,
}

impl QuantRows {
    /// Resizes for `rows x cols` (contents undefined until quantized).
    pub fn reset(&mut self, rows: usize, cols: usize) {
        assert!(
            cols.is_multiple_of(BLOCK),
            "quantized rows need a multiple of 32 columns"
        );
        self.rows = rows;
        self.cols = cols;
        let groups = rows.div_ceil(GROUP);
        self.qs.resize(groups * cols * GROUP, 0);
        self.ds
            .resize(groups * cols / BLOCK * DS_PER_ROW * GROUP, 0.0);
    }

    /// Groups in use.
    pub fn groups(&self) -> usize {
        self.rows.div_ceil(GROUP)
    }

    /// Quantizes all of `x` (row-major, `rows x cols`).
    pub fn quantize(&mut self, isa: Isa, x: &[f32], rows: usize, cols: usize) {
        self.reset(rows, cols);
        for g in 0..self.groups() {
            let from = g * GROUP;
            let to = (from + GROUP).min(rows);
            let group = self.group_mut(g);
            quantize_group(isa, &x[from * cols..to * cols], to - from, group.0, group.1);
        }
    }

    /// Group `g`'s bytes and scales, to quantize into (`quantize_group`).
    fn group_mut(&mut self, g: usize) -> (&mut [i8], &mut [f32]) {
        let (x, ds) = self.group_ranges(g);
        (&mut self.qs[x], &mut self.ds[ds])
    }

    /// Every group's bytes and scales at once, for tasks that quantize one group each.
    pub(crate) fn writer(&mut self) -> GroupWriter {
        let (x, ds) = self.group_ranges(0);
        GroupWriter {
            qs: SharedMut::new(&mut self.qs),
            ds: SharedMut::new(&mut self.ds),
            sizes: (x.len(), ds.len()),
        }
    }

    /// Group `g`'s bytes and scales, for the kernels.
    pub(crate) fn group(&self, g: usize) -> QGroup<'_> {
        let (x, ds) = self.group_ranges(g);
        QGroup {
            qs: &self.qs[x],
            ds: &self.ds[ds],
            rows: GROUP.min(self.rows - g * GROUP),
        }
    }

    fn group_ranges(&self, g: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (bytes, scales) = (self.cols * GROUP, self.cols / BLOCK * DS_PER_ROW * GROUP);
        (g * bytes..(g + 1) * bytes, g * scales..(g + 1) * scales)
    }

    /// Row `r`'s quantized value `k`.
    pub fn value(&self, r: usize, k: usize) -> i8 {
        self.group(r / GROUP).value(r % GROUP, k)
    }

    /// Row `r`'s scale and scaled sum of block `j`.
    pub fn scale_sum(&self, r: usize, j: usize) -> (f32, f32) {
        let g = self.group(r / GROUP);
        (g.scale(r % GROUP, j), g.sum(r % GROUP, j))
    }
}

/// Hands out disjoint groups of a `QuantRows` to parallel tasks.
pub(crate) struct GroupWriter {
    qs: SharedMut<i8>,
    ds: SharedMut<f32>,
    sizes: (usize, usize),
}

impl GroupWriter {
    /// Group `g`'s bytes and scales.
    ///
    /// # Safety
    /// Each group may be borrowed by one task at a time, and the rows must outlive it.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn group(&self, g: usize) -> (&mut [i8], &mut [f32]) {
        let (x, d) = self.sizes;
        // SAFETY: groups are disjoint ranges; the caller borrows each once.
        unsafe { (self.qs.slice(g * x, x), self.ds.slice(g * d, d)) }
    }
}

/// One group of quantized rows (see `QuantRows`).
#[derive(Clone, Copy)]
pub(crate) struct QGroup<'a> {
    pub qs: &'a [i8],
    pub ds: &'a [f32],
    /// Rows in the group, which is also the stride between a row's 4-byte units.
    pub rows: usize,
}

impl QGroup<'_> {
    /// Row `m`'s value `k`.
    #[inline(always)]
    pub fn value(&self, m: usize, k: usize) -> i8 {
        let (j, u) = (k / BLOCK, k % BLOCK / 4);
        self.qs[4 * ((j * UNITS + u) * self.rows + m) + k % 4]
    }

    /// Row `m`'s scale of block `j`.
    #[inline(always)]
    pub fn scale(&self, m: usize, j: usize) -> f32 {
        self.ds[j * DS_PER_ROW * self.rows + m]
    }

    /// Row `m`'s scaled sum of block `j`.
    #[inline(always)]
    pub fn sum(&self, m: usize, j: usize) -> f32 {
        self.ds[j * DS_PER_ROW * self.rows + self.rows + m]
    }

    /// Row `m`'s plain sum of block `j` (an integer of at most 32 x 127); the kernels read
    /// it through their pointer to `ds`.
    #[cfg(test)]
    pub fn plain_sum(&self, m: usize, j: usize) -> f32 {
        self.ds[j * DS_PER_ROW * self.rows + 2 * self.rows + m]
    }
}

/// Quantizes `rows` (at most `GROUP`) rows `x` into one group's bytes and scales
/// (`QuantRows::group_mut`), `rows` apart (see `QuantRows`).
pub fn quantize_group(isa: Isa, x: &[f32], rows: usize, qs: &mut [i8], ds: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn fast(x: &[f32], rows: usize, qs: &mut [i8], ds: &mut [f32]) {
            // SAFETY: this function only runs on CPUs with AVX2 (see below).
            quantize_group_with(x, rows, qs, ds, |x, q| unsafe {
                super::avx2::quantize_block(x, q)
            })
        }
        // SAFETY: `isa.avx2()` holds only on CPUs with AVX2, FMA and F16C.
        return unsafe { fast(x, rows, qs, ds) };
    }
    let _ = isa;
    quantize_group_with(x, rows, qs, ds, quantize_block)
}

#[inline(always)]
fn quantize_group_with(
    x: &[f32],
    rows: usize,
    qs: &mut [i8],
    ds: &mut [f32],
    block: impl Fn(&[f32; BLOCK], &mut [i8; BLOCK]) -> (f32, i32),
) {
    let cols = x.len() / rows.max(1);
    let nb = cols / BLOCK;
    let mut q = [0i8; BLOCK];
    assert!(rows <= GROUP, "a group holds at most {GROUP} rows");
    for m in 0..rows {
        for j in 0..nb {
            let xb = x[m * cols + j * BLOCK..][..BLOCK]
                .try_into()
                .expect("a block");
            let (d, sum) = block(xb, &mut q);
            for u in 0..UNITS {
                let at = 4 * ((j * UNITS + u) * rows + m);
                qs[at..at + 4].copy_from_slice(&q[4 * u..4 * u + 4]);
            }
            let at = j * DS_PER_ROW * rows + m;
            ds[at] = d;
            ds[at + rows] = d * sum as f32;
            ds[at + 2 * rows] = sum as f32;
            let first: i32 = q[..BLOCK / 2].iter().map(|&v| v as i32).sum();
            ds[at + 3 * rows] = (32 * first) as f32;
            ds[at + 4 * rows] = (32 * (sum - first)) as f32;
        }
    }
}

/// Quantizes 32 values; returns the scale and the sum. (`avx2::quantize_block` is its
/// vector twin.)
fn quantize_block(x: &[f32; BLOCK], q: &mut [i8; BLOCK]) -> (f32, i32) {
    let amax = x
        .iter()
        .fold(0f32, |a, v| if v.abs() > a { v.abs() } else { a });
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (o, v) in q.iter_mut().zip(x) {
        // Round to nearest (ties to even) by the magic-number add: plain float arithmetic
        // that the vector twin repeats exactly (`round_ties_even` would need SSE4.1 there).
        let t = v * inv + ROUND_MAGIC;
        let v = (t.to_bits() as i32)
            .wrapping_sub(ROUND_MAGIC.to_bits() as i32)
            .clamp(-127, 127);
        sum += v;
        *o = v as i8;
    }
    (d, sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantized_values_reconstruct_within_half_a_step() {
        let x: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.37)
            .collect();
        let mut q = QuantRows::default();
        q.quantize(Isa::detect(), &x, 1, 64);
        for j in 0..2 {
            let (d, s) = q.scale_sum(0, j);
            let mut sum = 0i32;
            for k in 0..32 {
                let v = q.value(0, j * 32 + k);
                assert!((-127..=127).contains(&v));
                assert!((v as f32 * d - x[j * 32 + k]).abs() <= d * 0.5 + 1e-6);
                sum += v as i32;
            }
            assert_eq!(s, d * sum as f32);
            assert_eq!(q.group(0).plain_sum(0, j), sum as f32);
        }
        let zeros = [0f32; 32];
        q.quantize(Isa::detect(), &zeros, 1, 32);
        assert_eq!(q.scale_sum(0, 0), (0.0, 0.0));
    }

    #[test]
    fn every_row_of_a_group_reads_back_as_if_quantized_alone() {
        let (rows, cols) = (6, 64);
        let x: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 211) as f32 - 100.0) * 0.03)
            .collect();
        let mut all = QuantRows::default();
        all.quantize(Isa::detect(), &x, rows, cols);
        assert_eq!(all.groups(), 2);
        let mut one = QuantRows::default();
        for r in 0..rows {
            one.quantize(Isa::Portable, &x[r * cols..(r + 1) * cols], 1, cols);
            for k in 0..cols {
                assert_eq!(all.value(r, k), one.value(0, k), "row {r} value {k}");
            }
            for j in 0..cols / BLOCK {
                assert_eq!(all.scale_sum(r, j), one.scale_sum(0, j));
                let plain = all.group(r / GROUP).plain_sum(r % GROUP, j);
                assert_eq!(plain, one.group(0).plain_sum(0, j));
            }
        }
    }

    #[test]
    fn vector_and_portable_quantization_agree_bit_for_bit() {
        let mut x: Vec<f32> = (0..32 * 40)
            .map(|i| ((i * 7919 % 1013) as f32 - 506.0) * 0.0071 * (1 + i % 7) as f32)
            .collect();
        x[40] = f32::NAN;
        x[70] = -0.0;
        x[100..132].fill(0.0);
        x[200] = 1e30;
        let (mut a, mut b) = (QuantRows::default(), QuantRows::default());
        a.quantize(Isa::detect(), &x, 5, 256);
        b.quantize(Isa::Portable, &x, 5, 256);
        assert_eq!(a.qs, b.qs);
        let bits = |q: &QuantRows| q.ds.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }
}
