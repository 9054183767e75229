//! Activations quantized for the integer kernels: per row and per 32 values, signed bytes in
//! -127..=127 with a scale `d` and the scaled sum `s = d * sum(q)` (which the `U4` kernel
//! needs for the weights' offsets).

use super::Isa;
use super::packed::BLOCK;
use super::vecmath::ROUND_MAGIC;

/// `rows` rows of `cols` quantized activations.
#[derive(Debug, Clone, Default)]
pub struct QuantRows {
    pub rows: usize,
    pub cols: usize,
    pub qs: Vec<i8>,
    pub d: Vec<f32>,
    pub s: Vec<f32>,
}

impl QuantRows {
    /// Resizes for `rows x cols` (contents undefined until `quantize_row`).
    pub fn reset(&mut self, rows: usize, cols: usize) {
        assert!(
            cols.is_multiple_of(BLOCK),
            "quantized rows need a multiple of 32 columns"
        );
        self.rows = rows;
        self.cols = cols;
        self.qs.resize(rows * cols, 0);
        self.d.resize(rows * cols / BLOCK, 0.0);
        self.s.resize(rows * cols / BLOCK, 0.0);
    }

    /// Quantizes all of `x` (row-major, `rows x cols`).
    pub fn quantize(&mut self, isa: Isa, x: &[f32], rows: usize, cols: usize) {
        self.reset(rows, cols);
        let nb = cols / BLOCK;
        for r in 0..rows {
            quantize_into(
                isa,
                &x[r * cols..(r + 1) * cols],
                &mut self.qs[r * cols..(r + 1) * cols],
                &mut self.d[r * nb..(r + 1) * nb],
                &mut self.s[r * nb..(r + 1) * nb],
            );
        }
    }

    /// Pointers to row `r`'s bytes, scales and sums.
    pub(crate) fn row(&self, r: usize) -> QRow<'_> {
        let nb = self.cols / BLOCK;
        QRow {
            qs: &self.qs[r * self.cols..(r + 1) * self.cols],
            d: &self.d[r * nb..(r + 1) * nb],
            s: &self.s[r * nb..(r + 1) * nb],
        }
    }
}

/// One quantized row.
#[derive(Clone, Copy)]
pub(crate) struct QRow<'a> {
    pub qs: &'a [i8],
    pub d: &'a [f32],
    pub s: &'a [f32],
}

#[inline(always)]
fn quantize_into_body(x: &[f32], qs: &mut [i8], d: &mut [f32], s: &mut [f32]) {
    for (j, (dj, sj)) in d.iter_mut().zip(s.iter_mut()).enumerate() {
        (*dj, *sj) = quantize_block(
            &x[j * BLOCK..(j + 1) * BLOCK],
            &mut qs[j * BLOCK..(j + 1) * BLOCK],
        );
    }
}

dispatched! {
    /// Quantizes one row `x` into its bytes `qs`, scales `d` and sums `s`.
    pub quantize_into => quantize_into_body(x: &[f32], qs: &mut [i8], d: &mut [f32], s: &mut [f32]) -> ()
}

/// Quantizes 32 values; returns the scale and the scaled sum.
#[inline(always)]
fn quantize_block(x: &[f32], q: &mut [i8]) -> (f32, f32) {
    let amax = x
        .iter()
        .fold(0f32, |a, v| if v.abs() > a { v.abs() } else { a });
    let d = amax / 127.0;
    let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (o, v) in q.iter_mut().zip(x) {
        // Round to nearest (ties to even) by the magic-number add: plain float arithmetic
        // that vectorizes, where `round_ties_even` is a library call without SSE4.1.
        let t = v * inv + ROUND_MAGIC;
        let v = (t.to_bits() as i32)
            .wrapping_sub(ROUND_MAGIC.to_bits() as i32)
            .clamp(-127, 127);
        sum += v;
        *o = v as i8;
    }
    (d, d * sum as f32)
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
            let d = q.d[j];
            let mut sum = 0i32;
            for k in 0..32 {
                let v = q.qs[j * 32 + k];
                assert!((-127..=127).contains(&v));
                assert!((v as f32 * d - x[j * 32 + k]).abs() <= d * 0.5 + 1e-6);
                sum += v as i32;
            }
            assert_eq!(q.s[j], d * sum as f32);
        }
        let zeros = [0f32; 32];
        q.quantize(Isa::detect(), &zeros, 1, 32);
        assert_eq!((q.d[0], q.s[0]), (0.0, 0.0));
    }
}
