//! Element-wise maths of the forward pass and the sampler: a vectorizable `exp`, RMS norm,
//! SiLU- and GELU-gated products, rotary embeddings (adjacent pairs or halves) and softmax
//! statistics.
//!
//! Each function is written once as plain lane-structured Rust and compiled twice: as is, and
//! inside an AVX2/FMA function where the compiler turns the eight-lane loops into vector code.
//! Sums keep eight partial sums in a fixed order, so a result never depends on which rows or
//! how many rows were computed together.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Below this `exp` is taken as 0 (e^-87.3 is the smallest normal float).
const EXP_MIN: f32 = -87.0;
const EXP_MAX: f32 = 88.0;

/// Adding this to a float of magnitude below 2^22 rounds it to an integer (to nearest, ties
/// to even, in the low mantissa bits), with plain float adds that vectorize.
pub const ROUND_MAGIC: f32 = 12_582_912.0;

/// e^x to within about 2 ulp: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to
/// degree 7, times 2^n built in the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(EXP_MIN, EXP_MAX);
    let t = xc.mul_add(LOG2E, ROUND_MAGIC);
    let n = t - ROUND_MAGIC;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, xc));
    let mut p: f32 = 1.0 / 5040.0;
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    let scale = f32::from_bits((ni.wrapping_add(127) as u32) << 23);
    if x < EXP_MIN { 0.0 } else { p * scale }
}

#[inline(always)]
fn exp_in_place_body(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

dispatched! {
    /// Replaces every value by its exponential.
    pub exp_in_place => exp_in_place_body(xs: &mut [f32]) -> ()
}

#[inline(always)]
fn exp_shifted_body(xs: &mut [f32], shift: f32) {
    for x in xs.iter_mut() {
        *x = exp(*x - shift);
    }
}

dispatched! {
    /// Replaces every value `x` by `exp(x - shift)`.
    pub exp_shifted => exp_shifted_body(xs: &mut [f32], shift: f32) -> ()
}

#[inline(always)]
fn sum_squares(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] = c[l].mul_add(c[l], acc[l]);
        }
    }
    for (l, v) in rest.iter().enumerate() {
        acc[l] = v.mul_add(*v, acc[l]);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

#[inline(always)]
fn sum_body(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    for (l, v) in rest.iter().enumerate() {
        acc[l] += v;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

dispatched! {
    /// The sum, over eight lanes in a fixed order.
    pub sum => sum_body(x: &[f32]) -> f32
}

#[inline(always)]
fn rms_norm_body(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let inv = 1.0 / (sum_squares(x) / x.len() as f32 + eps).sqrt();
    for ((o, v), g) in out.iter_mut().zip(x).zip(w) {
        *o = v * inv * g;
    }
}

dispatched! {
    /// `out = x / rms(x) * w`.
    pub rms_norm => rms_norm_body(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) -> ()
}

#[inline(always)]
fn silu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
        *o = g / (1.0 + exp(-g)) * u;
    }
}

dispatched! {
    /// `out = silu(gate) * up`, the SwiGLU activation.
    pub silu_mul => silu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) -> ()
}

#[inline(always)]
fn gelu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
        // tanh(y) = 1 - 2 / (e^(2y) + 1): exact at both ends, where e^(2y) is 0 or infinite.
        let y = SQRT_2_OVER_PI * (0.044_715 * g * g).mul_add(*g, *g);
        let tanh = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
        *o = 0.5 * g * (1.0 + tanh) * u;
    }
}

dispatched! {
    /// `out = gelu(gate) * up` with GELU's tanh approximation (Gemma's GeGLU).
    pub gelu_mul => gelu_mul_body(gate: &[f32], up: &[f32], out: &mut [f32]) -> ()
}

#[inline(always)]
fn rope_halves_body(x: &mut [f32], cos: &[f32], sin: &[f32], scale: f32) {
    let half = cos.len();
    let (lo, hi) = x.split_at_mut(half);
    for (((a, b), c), s) in lo.iter_mut().zip(hi.iter_mut()).zip(cos).zip(sin) {
        let (x0, x1) = (*a, *b);
        *a = (x0 * c - x1 * s) * scale;
        *b = (x0 * s + x1 * c) * scale;
    }
}

dispatched! {
    /// Rotates element `i` with element `i + half` (the "NeoX" layout of Qwen, Phi and Gemma
    /// files) for the first `2 * cos.len()` elements, then multiplies them by `scale`.
    pub rope_halves => rope_halves_body(x: &mut [f32], cos: &[f32], sin: &[f32], scale: f32) -> ()
}

#[inline(always)]
fn scale_body(x: &mut [f32], scale: f32) {
    x.iter_mut().for_each(|v| *v *= scale);
}

dispatched! {
    /// Multiplies every value by `scale`.
    pub scale => scale_body(x: &mut [f32], scale: f32) -> ()
}

#[inline(always)]
fn add_body(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

dispatched! {
    /// `x += y`.
    pub add => add_body(x: &mut [f32], y: &[f32]) -> ()
}

#[inline(always)]
fn rope_body(x: &mut [f32], cos: &[f32], sin: &[f32], scale: f32) {
    for ((pair, c), s) in x.chunks_exact_mut(2).zip(cos).zip(sin) {
        let (a, b) = (pair[0], pair[1]);
        pair[0] = (a * c - b * s) * scale;
        pair[1] = (a * s + b * c) * scale;
    }
}

dispatched! {
    /// Rotates adjacent pairs of one head by the angles whose cosines and sines are given
    /// (GGUF llama's layout), then multiplies by `scale`.
    pub rope => rope_body(x: &mut [f32], cos: &[f32], sin: &[f32], scale: f32) -> ()
}

#[inline(always)]
fn max_body(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    for (l, v) in rest.iter().enumerate() {
        acc[l] = if *v > acc[l] { *v } else { acc[l] };
    }
    acc.iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

dispatched! {
    /// The largest value (NaN ignored); -inf for an empty slice.
    pub max => max_body(x: &[f32]) -> f32
}

/// `(exp((x - shift) * scale), x - shift)`, or zeros when `x - shift` is not finite (a
/// logit of -inf, or NaN).
#[inline(always)]
fn weight(x: f32, shift: f32, scale: f32) -> (f32, f32) {
    let d = x - shift;
    let finite = d > f32::NEG_INFINITY && d < f32::INFINITY;
    let d = if finite { d } else { 0.0 };
    let e = exp(d * scale);
    if finite { (e, d) } else { (0.0, 0.0) }
}

/// Sum of `exp((x - shift) * scale)` and of the same weights times `(x - shift)`.
#[inline(always)]
fn exp_sums_body(x: &[f32], shift: f32, scale: f32) -> (f64, f64) {
    let (mut total, mut weighted) = (0f64, 0f64);
    for block in x.chunks(1024) {
        let (mut s, mut w) = ([0f32; 8], [0f32; 8]);
        let chunks = block.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for l in 0..8 {
                let (e, d) = weight(c[l], shift, scale);
                s[l] += e;
                w[l] = e.mul_add(d, w[l]);
            }
        }
        for (l, v) in rest.iter().enumerate() {
            let (e, d) = weight(*v, shift, scale);
            s[l] += e;
            w[l] = e.mul_add(d, w[l]);
        }
        total += s.iter().map(|&v| v as f64).sum::<f64>();
        weighted += w.iter().map(|&v| v as f64).sum::<f64>();
    }
    (total, weighted)
}

dispatched! {
    /// `(sum e, sum e * (x - shift))` with `e = exp((x - shift) * scale)`; values of -inf
    /// (or far below `shift`) weigh nothing. Partial sums are f32 over 1024 values, then f64.
    pub exp_sums => exp_sums_body(x: &[f32], shift: f32, scale: f32) -> (f64, f64)
}

#[inline(always)]
fn exp_weights_body(x: &[f32], shift: f32, scale: f32, out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = weight(*v, shift, scale).0;
    }
}

dispatched! {
    /// `out = exp((x - shift) * scale)`, 0 where `x - shift` is not finite.
    pub exp_weights => exp_weights_body(x: &[f32], shift: f32, scale: f32, out: &mut [f32]) -> ()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::Isa;

    #[test]
    fn exp_is_within_a_few_ulp_of_the_library_function() {
        for isa in [Isa::Portable, Isa::detect()] {
            let xs: Vec<f32> = (-8900..9000).map(|i| i as f32 * 0.0097).collect();
            let mut ys = xs.clone();
            exp_in_place(isa, &mut ys);
            for (x, y) in xs.iter().zip(&ys) {
                let want = x.exp();
                assert!(
                    ((y - want) / want).abs() < 3e-7,
                    "exp({x}) = {y}, want {want}"
                );
            }
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert!(exp(88.0).is_finite());
    }

    #[test]
    fn simd_and_portable_builds_agree_bit_for_bit() {
        let x: Vec<f32> = (0..101)
            .map(|i| ((i * 7919 % 211) as f32 - 100.0) * 0.05)
            .collect();
        let w: Vec<f32> = (0..101).map(|i| 1.0 + (i % 5) as f32 * 0.1).collect();
        let isa = Isa::detect();
        let (mut a, mut b) = (vec![0f32; 101], vec![0f32; 101]);
        rms_norm(Isa::Portable, &x, &w, 1e-5, &mut a);
        rms_norm(isa, &x, &w, 1e-5, &mut b);
        assert_eq!(a, b);
        silu_mul(Isa::Portable, &x, &w, &mut a);
        silu_mul(isa, &x, &w, &mut b);
        assert_eq!(a, b);
        assert_eq!(
            exp_sums(Isa::Portable, &x, 2.0, 1.3),
            exp_sums(isa, &x, 2.0, 1.3)
        );
        assert_eq!(max(isa, &x), max(Isa::Portable, &x));
    }

    #[test]
    fn rms_norm_and_silu_match_their_definitions() {
        let x = [1.0f32, -2.0, 3.0, 0.5];
        let w = [1.0f32, 2.0, 1.0, 1.0];
        let mut out = [0f32; 4];
        rms_norm(Isa::detect(), &x, &w, 0.0, &mut out);
        let rms = ((1.0 + 4.0 + 9.0 + 0.25) / 4.0f32).sqrt();
        for i in 0..4 {
            assert!((out[i] - x[i] / rms * w[i]).abs() < 1e-6);
        }
        silu_mul(Isa::detect(), &x, &[2.0; 4], &mut out);
        for i in 0..4 {
            let want = x[i] / (1.0 + (-x[i]).exp()) * 2.0;
            assert!((out[i] - want).abs() < 1e-6);
        }
    }
}
