//! One attention task: the queries of a block of rows for one KV head over one span of
//! positions, page by page, written as partial softmaxes for `attention` to merge.

use super::{AttnRow, KvShape, PAGE, PageQuery, SPAN, VALUE_BLOCK};
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
    /// Per distinct page: how many live rows see it, and whether it is in `values` yet.
    users: Vec<u32>,
    converted: Vec<bool>,
    /// Per live row: whether it reads the current block's values from `values`.
    from_arena: Vec<bool>,
    /// The queries that meet a page.
    queries: Vec<PageQuery>,
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
        s.live.extend(rows.filter(|&r| {
            let row = &self.rows[r];
            row.pos >= start && row.first < start + SPAN
        }));
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
        // Where every live row's span ends; a page that all rows see and that ends by then
        // meets all their queries, every slot valid, so one list serves all such pages.
        let first_end = live
            .iter()
            .map(|&r| self.rows[r].pos + 1)
            .min()
            .unwrap_or(0);
        let mut list_is_full = false;
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
            // Every query that sees this page, where its row's scores start, and how many of
            // the page's slots lie at or before its row's position.
            let full = s.users[d] as usize == live.len() && first_end >= (p + 1) * PAGE;
            if !(full && list_is_full) {
                s.queries.clear();
                for (i, &r) in live.iter().enumerate() {
                    if s.page_of[i * n_pages + slot] != d as u32 {
                        continue;
                    }
                    let valid = (self.rows[r].pos + 1 - p * PAGE).min(PAGE) as u32;
                    for qg in 0..g {
                        let head = r * self.n_head + h * g + qg;
                        s.queries.push(PageQuery {
                            q: (head * hd) as u32,
                            at: ((i * g + qg) * SPAN) as u32,
                            valid,
                            max: (i * g + qg) as u32,
                        });
                    }
                }
                list_is_full = full;
            }
            page_scores(
                self.isa,
                self.q,
                &s.queries,
                keys,
                &mut s.scores,
                slot * PAGE,
                &mut s.maxes,
            );
        }
        // Softmax over the span per query. Positions before a row's window were scored with
        // the rest; they are hidden here and the maximum taken again over what is left.
        for (i, &r) in live.iter().enumerate() {
            let len = (self.rows[r].pos + 1 - start).min(SPAN);
            let hidden = self.rows[r].first.saturating_sub(start).min(len);
            for qg in 0..g {
                let sc = &mut s.scores[(i * g + qg) * SPAN..][..len];
                if hidden > 0 {
                    sc[..hidden].fill(f32::NEG_INFINITY);
                    s.maxes[i * g + qg] = vecmath::max(self.isa, &sc[hidden..]);
                }
                let m = s.maxes[i * g + qg];
                vecmath::exp_shifted(self.isa, sc, m);
                let dst = self.partial(partials, r, h * g + qg, span);
                dst[0] = m;
                dst[1] = vecmath::sum(self.isa, sc);
                dst[2..].fill(0.0);
            }
        }
        // Values, a few pages at a time, each query's sums kept in registers per block. A page
        // that several rows see (a shared prefix) is converted to floats once for all of them
        // (except with AVX-512, below); a row's own pages are read as f16 directly, each
        // conversion serving the row's heads.
        // The next block's values are fetched meanwhile.
        s.values.resize(s.distinct.len() * PAGE * hd, 0.0);
        s.converted.clear();
        s.converted.resize(s.distinct.len(), false);
        s.from_arena.clear();
        s.from_arena.resize(live.len(), false);
        let first_page = start / PAGE;
        let value_range = at + hd * PAGE..at + 2 * hd * PAGE;
        // The AVX-512 kernel converts sixteen f16 values per instruction as it goes, and
        // reading shared pages that way was faster than converting them first (`bench
        // kernels`, toggled round by round: 4 rows over 1024 positions 47-61 -> 43-51 us, 8
        // rows 104-117 -> 98-117); with AVX2 the float copy wins (8 rows 124-143 -> 173-181).
        let floats_for_shared = self.isa != Isa::Avx512Vnni;
        let prefetch_values = |b0: usize| {
            for &(holder, p) in &s.distinct {
                if (b0..b0 + VALUE_BLOCK).contains(&(p - first_page)) {
                    prefetch(&self.rows[holder].pages[p][value_range.clone()]);
                }
            }
        };
        prefetch_values(0);
        for b0 in (0..n_pages).step_by(VALUE_BLOCK) {
            let b1 = (b0 + VALUE_BLOCK).min(n_pages);
            prefetch_values(b1);
            for i in 0..live.len() {
                let pages = &s.page_of[i * n_pages + b0..i * n_pages + b1];
                let seen = pages.iter().take_while(|&&d| d != NONE);
                s.from_arena[i] =
                    floats_for_shared && seen.clone().any(|&d| s.users[d as usize] > 1);
                if !s.from_arena[i] {
                    continue;
                }
                for &d in seen {
                    let d = d as usize;
                    if !s.converted[d] {
                        let (holder, p) = s.distinct[d];
                        let v = &self.rows[holder].pages[p][value_range.clone()];
                        convert(
                            self.isa,
                            v,
                            &mut s.values[d * PAGE * hd..(d + 1) * PAGE * hd],
                        );
                        s.converted[d] = true;
                    }
                }
            }
            for (i, &r) in live.iter().enumerate() {
                let len = (self.rows[r].pos + 1 - start).min(SPAN);
                if len <= b0 * PAGE {
                    continue;
                }
                let to = len.min(b1 * PAGE);
                let slots = b0..to.div_ceil(PAGE);
                let values = if s.from_arena[i] {
                    let mut pages: [&[f32]; VALUE_BLOCK] = [&[]; VALUE_BLOCK];
                    for (k, page) in pages.iter_mut().zip(slots.clone()) {
                        let d = s.page_of[i * n_pages + page] as usize;
                        *k = &s.values[d * PAGE * hd..(d + 1) * PAGE * hd];
                    }
                    Values::F32(pages, slots.len())
                } else {
                    let mut pages: [&[u16]; VALUE_BLOCK] = [&[]; VALUE_BLOCK];
                    for (k, page) in pages.iter_mut().zip(slots.clone()) {
                        *k = &self.rows[r].pages[first_page + page][value_range.clone()];
                    }
                    Values::F16(pages, slots.len())
                };
                let weights =
                    |qg: usize| &s.scores[(i * g + qg) * SPAN + b0 * PAGE..][..to - b0 * PAGE];
                // The row's heads see the same pages: up to three at a time share each load.
                let mut qg = 0;
                while qg < g {
                    let n = match g - qg {
                        4 => 2,
                        left => left.min(3),
                    };
                    let mut out: [&mut [f32]; 3] = [&mut [], &mut [], &mut []];
                    let mut w: [&[f32]; 3] = [&[]; 3];
                    for k in 0..n {
                        out[k] = &mut self.partial(partials, r, h * g + qg + k, span)[2..];
                        w[k] = weights(qg + k);
                    }
                    weighted_values(self.isa, &w[..n], values, &mut out[..n]);
                    qg += n;
                }
            }
        }
        s.live = live;
    }

    /// Fills `s.distinct` and `s.page_of` for pages `first..first + n` of the live rows.
    fn find_distinct_pages(&self, live: &[usize], first: usize, n: usize, s: &mut Scratch) {
        s.distinct.clear();
        s.users.clear();
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
                        s.users.push(0);
                        s.distinct.len() - 1
                    }
                };
                s.users[d] += 1;
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

/// Scores of `queries` against one page's keys, masked past each query's position, each
/// query's running maximum updated (see `PageQuery`). A query's scores do not depend on which
/// others share the call.
fn page_scores(
    isa: Isa,
    q: &[f32],
    queries: &[PageQuery],
    keys: &[u16],
    scores: &mut [f32],
    offset: usize,
    maxes: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni {
        // SAFETY: `Isa::Avx512Vnni` is only chosen on CPUs with AVX-512 and AVX2.
        unsafe {
            crate::engine::kernels::avx512::page_scores(q, queries, keys, scores, offset, maxes)
        };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        // SAFETY: `isa.avx2()` holds only on CPUs with AVX2, FMA and F16C.
        unsafe {
            crate::engine::kernels::avx2::page_scores(q, queries, keys, scores, offset, maxes)
        };
        return;
    }
    let _ = isa;
    let key = |i: usize| half::f16::from_bits(keys[i]).to_f32();
    let hd = keys.len() / PAGE;
    for pq in queries {
        let qj = &q[pq.q as usize..pq.q as usize + hd];
        let mut acc = [0f32; PAGE];
        for (d, &qd) in qj.iter().enumerate() {
            for (s, a) in acc.iter_mut().enumerate() {
                *a = qd.mul_add(key(d * PAGE + s), *a);
            }
        }
        acc[(pq.valid as usize).min(PAGE)..].fill(f32::NEG_INFINITY);
        let at = pq.at as usize + offset;
        scores[at..at + PAGE].copy_from_slice(&acc);
        // The largest score, NaN ignored (`vecmath::max`), as the AVX2 kernel keeps it.
        let page_max = vecmath::max(Isa::Portable, &acc);
        let m = &mut maxes[pq.max as usize];
        *m = if page_max > *m { page_max } else { *m };
    }
}

/// A block of up to `VALUE_BLOCK` pages of one head's values (`[slot][dim]`), as floats or as
/// f16 bits; the count says how many are used.
#[derive(Clone, Copy)]
enum Values<'a> {
    F32([&'a [f32]; VALUE_BLOCK], usize),
    F16([&'a [u16]; VALUE_BLOCK], usize),
}

/// `out[j] += sum_t w[j][t] * v[t]` for up to three queries, where position `t`'s values are
/// slot `t % 16` of page `t / 16` of `values`. Each sum takes one FMA per position in order,
/// so it does not depend on the values' form or on which queries share the call.
fn weighted_values(isa: Isa, w: &[&[f32]], values: Values, out: &mut [&mut [f32]]) {
    let hd = out.first().map_or(0, |o| o.len());
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512Vnni && hd.is_multiple_of(64) {
        use crate::engine::kernels::avx512::weighted_values as wv;
        macro_rules! call {
            ($pages:expr) => {
                // SAFETY: `Isa::Avx512Vnni` is only chosen on CPUs with AVX-512 and AVX2.
                unsafe {
                    match out {
                        [a] => wv::<1, _>([w[0]], $pages, [a]),
                        [a, b] => wv::<2, _>([w[0], w[1]], $pages, [a, b]),
                        [a, b, c] => wv::<3, _>([w[0], w[1], w[2]], $pages, [a, b, c]),
                        _ => unreachable!("one to three queries"),
                    }
                }
            };
        }
        match values {
            Values::F32(pages, n) => call!(&pages[..n]),
            Values::F16(pages, n) => call!(&pages[..n]),
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() && hd.is_multiple_of(32) {
        use crate::engine::kernels::avx2::weighted_values as wv;
        macro_rules! call {
            ($pages:expr) => {
                // SAFETY: `isa.avx2()` holds only on CPUs with AVX2, FMA and F16C.
                unsafe {
                    match out {
                        [a] if hd.is_multiple_of(64) => wv::<1, 8, _>([w[0]], $pages, [a]),
                        [a] => wv::<1, 4, _>([w[0]], $pages, [a]),
                        [a, b] => wv::<2, 4, _>([w[0], w[1]], $pages, [a, b]),
                        [a, b, c] => wv::<3, 4, _>([w[0], w[1], w[2]], $pages, [a, b, c]),
                        _ => unreachable!("one to three queries"),
                    }
                }
            };
        }
        match values {
            Values::F32(pages, n) => call!(&pages[..n]),
            Values::F16(pages, n) => call!(&pages[..n]),
        }
        return;
    }
    for (wj, o) in w.iter().zip(out.iter_mut()) {
        match values {
            Values::F32(pages, n) => weighted_values_f32(isa, wj, &pages[..n], o),
            Values::F16(pages, n) => weighted_values_f16(isa, wj, &pages[..n], o),
        }
    }
}

/// The portable twin of `avx2::weighted_values`, one query at a time.
#[inline(always)]
fn weighted_values_body<K: Copy>(
    w: &[f32],
    pages: &[&[K]],
    out: &mut [f32],
    float: impl Fn(K) -> f32,
) {
    let hd = out.len();
    for (ws, page) in w.chunks(PAGE).zip(pages) {
        for (s, &wt) in ws.iter().enumerate() {
            for (o, &v) in out.iter_mut().zip(&page[s * hd..(s + 1) * hd]) {
                *o = wt.mul_add(float(v), *o);
            }
        }
    }
}

#[inline(always)]
fn weighted_values_f32_body(w: &[f32], pages: &[&[f32]], out: &mut [f32]) {
    weighted_values_body(w, pages, out, |v| v);
}

#[inline(always)]
fn weighted_values_f16_body(w: &[f32], pages: &[&[u16]], out: &mut [f32]) {
    weighted_values_body(w, pages, out, |v| half::f16::from_bits(v).to_f32());
}

dispatched!(weighted_values_f32 => weighted_values_f32_body(w: &[f32], pages: &[&[f32]], out: &mut [f32]) -> ());
dispatched!(weighted_values_f16 => weighted_values_f16_body(w: &[f32], pages: &[&[u16]], out: &mut [f32]) -> ());

/// f16 bits to floats.
fn convert(isa: Isa, src: &[u16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        // SAFETY: `isa.avx2()` holds only on CPUs with F16C.
        return unsafe { crate::engine::kernels::avx2::f16_to_f32(src, dst) };
    }
    let _ = isa;
    for (d, s) in dst.iter_mut().zip(src) {
        *d = half::f16::from_bits(*s).to_f32();
    }
}
