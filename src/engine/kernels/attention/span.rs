//! One attention task: the queries of a block of rows for one KV head over one span of
//! positions, page by page, written as partial softmaxes for `attention` to merge.

use super::{AttnRow, KvShape, PAGE, SPAN, VALUE_BLOCK};
use crate::engine::kernels::{Isa, SharedMut, prefetch, vecmath};

#[derive(Default)]
pub(super) struct Scratch {
    scores: Vec<f32>,
    /// Values of the task's distinct pages as floats, `PAGE * head_dim` each.
    values: Vec<f32>,
    live: Vec<usize>,
    /// The distinct pages of the span: (a row that holds it, page index).
    distinct: Vec<(usize, usize)>,
    /// Per live row and page of the span: its index in `distinct`, or `NONE`.
    page_of: Vec<u32>,
    /// Per query that meets a page: where it starts in `q`, and where its scores go.
    queries: Vec<usize>,
    at: Vec<usize>,
    /// Per live row and head of the group: its largest score in the span so far.
    maxes: Vec<f32>,
}

const NONE: u32 = u32::MAX;

/// What every task of one `attention` call shares.
pub(super) struct Ctx<'a> {
    pub isa: Isa,
    pub shape: &'a KvShape,
    pub layer: usize,
    pub n_head: usize,
    /// Query heads per KV head.
    pub group: usize,
    pub spans: usize,
    pub q: &'a [f32],
    pub rows: &'a [AttnRow<'a>],
}

impl Ctx<'_> {
    /// Partials of KV head `h`'s queries of rows `rows` over span `span`.
    pub(super) fn span_task(
        &self,
        h: usize,
        span: usize,
        rows: std::ops::Range<usize>,
        partials: &SharedMut<f32>,
        s: &mut Scratch,
    ) {
        let (hd, g) = (self.shape.head_dim, self.group);
        let start = span * SPAN;
        s.live.clear();
        s.live.extend(rows.filter(|&r| self.rows[r].pos >= start));
        if s.live.is_empty() {
            return;
        }
        let live = std::mem::take(&mut s.live);
        let end = live
            .iter()
            .map(|&r| self.rows[r].pos + 1)
            .max()
            .unwrap_or(0);
        let n_pages = (end.min(start + SPAN) - start).div_ceil(PAGE);
        self.find_distinct_pages(&live, start / PAGE, n_pages, s);
        s.scores.resize(live.len() * g * SPAN, 0.0);
        s.maxes.clear();
        s.maxes.resize(live.len() * g, f32::NEG_INFINITY);
        let at = self.shape.keys_at(self.layer, h);
        // Scores: each distinct page meets every query that sees it, four at a time. Pages lie
        // far apart in memory, so the keys two pages ahead are fetched while this one is used.
        for &(holder, p) in s.distinct.iter().take(2) {
            prefetch(&self.rows[holder].pages[p][at..at + hd * PAGE]);
        }
        for d in 0..s.distinct.len() {
            let (holder, p) = s.distinct[d];
            let keys = &self.rows[holder].pages[p][at..at + hd * PAGE];
            if let Some(&(holder, p)) = s.distinct.get(d + 2) {
                prefetch(&self.rows[holder].pages[p][at..at + hd * PAGE]);
            }
            let slot = p - start / PAGE;
            // Every query that sees this page, and where its sixteen scores go.
            s.queries.clear();
            s.at.clear();
            for (i, &r) in live.iter().enumerate() {
                if s.page_of[i * n_pages + slot] != d as u32 {
                    continue;
                }
                for qg in 0..g {
                    let head = r * self.n_head + h * g + qg;
                    s.queries.push(head * hd);
                    s.at.push((i * g + qg) * SPAN + p * PAGE - start);
                }
            }
            page_scores(self.isa, self.q, &s.queries, keys, &mut s.scores, &s.at);
            // Positions past a row's own (in its last page) get no weight. Each query's
            // largest score is kept up to date while its scores are still in L1 (a separate
            // pass over the span read them back from L2 at two cycles a score).
            for (i, &r) in live.iter().enumerate() {
                if s.page_of[i * n_pages + slot] != d as u32 {
                    continue;
                }
                let valid = (self.rows[r].pos + 1).saturating_sub(p * PAGE);
                for qg in 0..g {
                    let at = (i * g + qg) * SPAN + p * PAGE - start;
                    let page: &mut [f32; PAGE] = (&mut s.scores[at..at + PAGE])
                        .try_into()
                        .expect("a page of scores");
                    if valid < PAGE {
                        page[valid..].fill(f32::NEG_INFINITY);
                    }
                    s.maxes[i * g + qg] = max_into(page, s.maxes[i * g + qg]);
                }
            }
        }
        // Softmax over the span per query.
        for (i, &r) in live.iter().enumerate() {
            let len = (self.rows[r].pos + 1 - start).min(SPAN);
            for qg in 0..g {
                let sc = &mut s.scores[(i * g + qg) * SPAN..][..len];
                let m = s.maxes[i * g + qg];
                vecmath::exp_shifted(self.isa, sc, m);
                let dst = self.partial(partials, r, h * g + qg, span);
                dst[0] = m;
                dst[1] = vecmath::sum(self.isa, sc);
                dst[2..].fill(0.0);
            }
        }
        // Values, a few pages at a time so that they stay in L1 while every query meets them:
        // each distinct page converted once, each query's sums kept in registers per block;
        // the next block's values are fetched meanwhile.
        s.values.resize(s.distinct.len() * PAGE * hd, 0.0);
        let first_page = start / PAGE;
        let prefetch_values = |b0: usize| {
            for &(holder, p) in &s.distinct {
                if (b0..b0 + VALUE_BLOCK).contains(&(p - first_page)) {
                    prefetch(&self.rows[holder].pages[p][at + hd * PAGE..at + 2 * hd * PAGE]);
                }
            }
        };
        prefetch_values(0);
        for b0 in (0..n_pages).step_by(VALUE_BLOCK) {
            let b1 = (b0 + VALUE_BLOCK).min(n_pages);
            prefetch_values(b1);
            for (d, &(holder, p)) in s.distinct.iter().enumerate() {
                if (b0..b1).contains(&(p - start / PAGE)) {
                    let v = &self.rows[holder].pages[p][at + hd * PAGE..at + 2 * hd * PAGE];
                    convert(
                        self.isa,
                        v,
                        &mut s.values[d * PAGE * hd..(d + 1) * PAGE * hd],
                    );
                }
            }
            for (i, &r) in live.iter().enumerate() {
                let len = (self.rows[r].pos + 1 - start).min(SPAN);
                if len <= b0 * PAGE {
                    continue;
                }
                let to = len.min(b1 * PAGE);
                let pages = &s.page_of[i * n_pages + b0..i * n_pages + to.div_ceil(PAGE)];
                // The row's heads see the same pages: two at a time, they share value loads.
                let weights =
                    |qg: usize| &s.scores[(i * g + qg) * SPAN + b0 * PAGE..][..to - b0 * PAGE];
                let mut qg = 0;
                while qg < g {
                    let dst = self.partial(partials, r, h * g + qg, span);
                    if qg + 1 < g {
                        let dst2 = self.partial(partials, r, h * g + qg + 1, span);
                        let w = [weights(qg), weights(qg + 1)];
                        let out = [&mut dst[2..], &mut dst2[2..]];
                        weighted_values_pair(self.isa, w, pages, &s.values, out);
                        qg += 2;
                    } else {
                        weighted_values(self.isa, weights(qg), pages, &s.values, &mut dst[2..]);
                        qg += 1;
                    }
                }
            }
        }
        s.live = live;
    }

    /// Fills `s.distinct` and `s.page_of` for pages `first..first + n` of the live rows.
    fn find_distinct_pages(&self, live: &[usize], first: usize, n: usize, s: &mut Scratch) {
        s.distinct.clear();
        s.page_of.clear();
        s.page_of.resize(live.len() * n, NONE);
        for slot in 0..n {
            let p = first + slot;
            let from = s.distinct.len();
            for (i, &r) in live.iter().enumerate() {
                let row = &self.rows[r];
                if row.pos < p * PAGE {
                    continue;
                }
                let ptr = row.pages[p].as_ptr();
                let found = s.distinct[from..]
                    .iter()
                    .position(|&(holder, _)| self.rows[holder].pages[p].as_ptr() == ptr);
                let d = match found {
                    Some(k) => from + k,
                    None => {
                        s.distinct.push((r, p));
                        s.distinct.len() - 1
                    }
                };
                s.page_of[i * n + slot] = d as u32;
            }
        }
    }

    /// The partial `[m, l, o...]` of (row, head, span).
    #[allow(clippy::mut_from_ref)]
    fn partial<'p>(
        &self,
        partials: &'p SharedMut<f32>,
        r: usize,
        head: usize,
        span: usize,
    ) -> &'p mut [f32] {
        let stride = self.shape.head_dim + 2;
        // SAFETY: (row, head, span) belongs to the one task of (KV head, span, row block).
        unsafe {
            partials.slice(
                ((r * self.n_head + head) * self.spans + span) * stride,
                stride,
            )
        }
    }
}

/// Scores of the queries starting at `q[q_at[i]]` against one page's keys (f16,
/// `[dim][slot]`), sixteen each into `scores[at[i]..]`. A query's scores do not depend on
/// which others share the call.
fn page_scores(
    isa: Isa,
    q: &[f32],
    q_at: &[usize],
    keys: &[u16],
    scores: &mut [f32],
    at: &[usize],
) {
    let hd = keys.len() / PAGE;
    let mut qs: [&[f32]; 64] = [&[]; 64];
    for (qc, ac) in q_at.chunks(64).zip(at.chunks(64)) {
        for (slot, &o) in qs.iter_mut().zip(qc) {
            *slot = &q[o..o + hd];
        }
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx2 {
            // SAFETY: `Isa::Avx2` is only chosen on CPUs with AVX2, FMA and F16C.
            unsafe { crate::engine::kernels::avx2::page_scores(&qs[..qc.len()], keys, scores, ac) };
            continue;
        }
        scores_portable(&qs[..qc.len()], keys, scores, ac);
    }
    let _ = isa;
}

/// The largest of `m` and `x` (NaN ignored, as `vecmath::max` does: the largest value of a
/// set does not depend on the order it is taken in).
#[inline(always)]
fn max_into(x: &[f32; PAGE], m: f32) -> f32 {
    let mut lanes = [m; 8];
    for c in x.chunks_exact(8) {
        for l in 0..8 {
            lanes[l] = if c[l] > lanes[l] { c[l] } else { lanes[l] };
        }
    }
    lanes
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

/// The portable twin of `avx2::page_scores`.
fn scores_portable(q: &[&[f32]], keys: &[u16], scores: &mut [f32], at: &[usize]) {
    for (qj, &o) in q.iter().zip(at) {
        let mut acc = [0f32; PAGE];
        for (d, kd) in keys.chunks_exact(PAGE).enumerate() {
            for s in 0..PAGE {
                let k = half::f16::from_bits(kd[s]).to_f32();
                acc[s] = qj[d].mul_add(k, acc[s]);
            }
        }
        scores[o..o + PAGE].copy_from_slice(&acc);
    }
}

/// `out += sum_t w[t] * v[t]` over a span, where the values of positions `16p..16p + 16`
/// are page `pages[p]` of `arena` (floats, `[slot][dim]`).
fn weighted_values(isa: Isa, w: &[f32], pages: &[u32], arena: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && out.len() == 64 {
        // SAFETY: `Isa::Avx2` is only chosen on CPUs with AVX2, FMA and F16C.
        return unsafe { crate::engine::kernels::avx2::weighted_values_64(w, pages, arena, out) };
    }
    weighted_values_generic(isa, w, pages, arena, out);
}

/// `weighted_values` for two queries over the same pages: the same sums, with each value
/// loaded once for both.
fn weighted_values_pair(
    isa: Isa,
    w: [&[f32]; 2],
    pages: &[u32],
    arena: &[f32],
    out: [&mut [f32]; 2],
) {
    let [o0, o1] = out;
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && o0.len() == 64 && o1.len() == 64 {
        // SAFETY: `Isa::Avx2` is only chosen on CPUs with AVX2, FMA and F16C.
        return unsafe {
            crate::engine::kernels::avx2::weighted_values_2x64(w, pages, arena, [o0, o1])
        };
    }
    weighted_values(isa, w[0], pages, arena, o0);
    weighted_values(isa, w[1], pages, arena, o1);
}

#[inline(always)]
fn weighted_values_body(w: &[f32], pages: &[u32], arena: &[f32], out: &mut [f32]) {
    let hd = out.len();
    for (ws, &page) in w.chunks(PAGE).zip(pages) {
        let values = &arena[page as usize * PAGE * hd..(page as usize + 1) * PAGE * hd];
        for (s, &wt) in ws.iter().enumerate() {
            for (o, v) in out.iter_mut().zip(&values[s * hd..(s + 1) * hd]) {
                *o = wt.mul_add(*v, *o);
            }
        }
    }
}

dispatched!(weighted_values_generic => weighted_values_body(w: &[f32], pages: &[u32], arena: &[f32], out: &mut [f32]) -> ());
/// f16 bits to floats.
fn convert(isa: Isa, src: &[u16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: `Isa::Avx2` is only chosen on CPUs with F16C.
        return unsafe { crate::engine::kernels::avx2::f16_to_f32(src, dst) };
    }
    let _ = isa;
    for (d, s) in dst.iter_mut().zip(src) {
        *d = half::f16::from_bits(*s).to_f32();
    }
}
