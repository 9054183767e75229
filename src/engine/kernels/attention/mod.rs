//! Attention over a paged KV cache. A sequence's keys and values live in pages of
//! `PAGE` tokens (f16); sequences that share a prefix share its pages, and queries of all
//! rows that see the same page are computed against it together, so a batch of branches
//! reads its common prompt once per step.
//!
//! Work is split by KV head, by span of `SPAN` positions and by block of query rows; each
//! task writes a partial softmax (max, sum, weighted values) per query and span, and the
//! partials are merged in span order. Spans start at fixed positions, so a query's result does
//! not depend on how its sequence was chunked, batched or threaded.

mod span;

use super::pool::Pool;
use super::{Isa, SharedMut, vecmath};
use span::{Ctx, Scratch};
use std::cell::RefCell;

/// Tokens per KV page.
pub const PAGE: usize = 16;
/// Positions per span (a multiple of `PAGE`).
pub const SPAN: usize = 256;
/// Query rows per task.
const ROW_BLOCK: usize = 32;
/// Pages whose values are summed together (their floats fit in L1).
const VALUE_BLOCK: usize = 4;

/// Where a layer and head's keys and values sit in a page: keys transposed (`[dim][slot]`),
/// then values (`[slot][dim]`), as f16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvShape {
    pub layers: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

impl KvShape {
    fn head_block(&self) -> usize {
        2 * PAGE * self.head_dim
    }

    /// f16 values in one page.
    pub fn page_len(&self) -> usize {
        self.layers * self.kv_heads * self.head_block()
    }

    fn keys_at(&self, layer: usize, head: usize) -> usize {
        (layer * self.kv_heads + head) * self.head_block()
    }

    /// Stores token `slot`'s keys and values (`kv_heads * head_dim` each) for `layer`.
    pub fn write(&self, page: &mut [u16], layer: usize, slot: usize, k: &[f32], v: &[f32]) {
        use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
        let hd = self.head_dim;
        let mut bits = vec![0u16; hd];
        for h in 0..self.kv_heads {
            let at = self.keys_at(layer, h);
            let keys: &mut [half::f16] = bits.reinterpret_cast_mut();
            keys.convert_from_f32_slice(&k[h * hd..(h + 1) * hd]);
            for (d, &b) in bits.iter().enumerate() {
                page[at + d * PAGE + slot] = b;
            }
            let vat = at + PAGE * hd + slot * hd;
            let values: &mut [half::f16] = page[vat..vat + hd].reinterpret_cast_mut();
            values.convert_from_f32_slice(&v[h * hd..(h + 1) * hd]);
        }
    }
}

/// One query meeting one page: its vector starts at `q` in the query buffer, its sixteen
/// scores go to `at` plus the page's offset in the score buffer (slots from `valid` on are
/// past its position and get -inf), and `max` indexes its running maximum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageQuery {
    pub q: u32,
    pub at: u32,
    pub valid: u32,
    pub max: u32,
}

/// Which layer, and how many query heads (sharing the KV heads in equal groups).
#[derive(Debug, Clone, Copy)]
pub struct Heads {
    pub layer: usize,
    pub n_head: usize,
}

/// One query row: the pages of its sequence and its position; it sees `first..=pos` (`first`
/// is 0 but in a sliding window).
#[derive(Clone, Copy)]
pub struct AttnRow<'a> {
    pub pages: &'a [&'a [u16]],
    pub pos: usize,
    pub first: usize,
}

/// The attention of one layer. `q` is `[row][n_head][head_dim]`, already rotated and scaled;
/// `out` has the same shape.
pub fn attention(
    pool: &Pool,
    isa: Isa,
    shape: &KvShape,
    Heads { layer, n_head }: Heads,
    q: &[f32],
    rows: &[AttnRow],
    out: &mut [f32],
) {
    let hd = shape.head_dim;
    let group = n_head / shape.kv_heads;
    let spans = rows.iter().map(|r| r.pos / SPAN + 1).max().unwrap_or(0);
    let blocks = rows.len().div_ceil(ROW_BLOCK);
    let stride = hd + 2;
    // Every partial that the merge reads is written by a task first: no need to clear.
    let mut partials = PARTIALS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    partials.resize(rows.len() * n_head * spans * stride, 0.0);
    let shared = SharedMut::new(&mut partials);
    let tasks = shape.kv_heads * spans * blocks;
    let ctx = Ctx {
        isa,
        shape,
        layer,
        n_head,
        group,
        spans,
        q,
        rows,
    };
    // Task t is (KV head, span, block of rows).
    let split = |t: usize| {
        let (h, rest) = (t % shape.kv_heads, t / shape.kv_heads);
        let from = rest / spans * ROW_BLOCK;
        (h, rest % spans, from..(from + ROW_BLOCK).min(rows.len()))
    };
    let order = balanced_order(tasks, |t| {
        let (_, span, block) = split(t);
        rows[block]
            .iter()
            .filter(|r| r.first < (span + 1) * SPAN)
            .map(|r| (r.pos + 1).saturating_sub(span * SPAN).min(SPAN))
            .sum()
    });
    pool.run(tasks, &|slot| {
        let (h, span, block) = split(order[slot]);
        SCRATCH.with(|s| ctx.span_task(h, span, block, &shared, &mut s.borrow_mut()));
    });
    let out = SharedMut::new(out);
    pool.run(rows.len(), &|r| {
        for head in 0..n_head {
            // The spans the row sees (those before its window wrote no partials).
            let (from, to) = (rows[r].first / SPAN, rows[r].pos / SPAN + 1);
            let at = ((r * n_head + head) * spans + from) * stride;
            // SAFETY: row r's outputs belong to this task alone; partials are only read.
            let (dst, parts) = unsafe {
                (
                    out.slice((r * n_head + head) * hd, hd),
                    &*shared.slice(at, (to - from) * stride),
                )
            };
            merge(isa, parts, hd, dst);
        }
    });
    PARTIALS.with(|p| *p.borrow_mut() = partials);
}

/// Tasks `0..n` in the order the pool should hand them out, given each one's cost (here the
/// positions its rows see in its span). The pool's calling thread takes tasks from the front
/// and its workers from the back, so the costliest go to both ends and the cheapest to the
/// middle, where whichever thread finishes first picks them up. In the plain order the short
/// last span sat at the back, so the worker took it first and the threads ended waiting on
/// one long task: both were busy 88-91% of attention's wall time, against 92-96% now
/// (timed per task, one row and a batch of eight alike).
fn balanced_order(n: usize, cost: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut by_cost: Vec<usize> = (0..n).collect();
    by_cost.sort_by_key(|&t| std::cmp::Reverse(cost(t)));
    let mut order = vec![0; n];
    for (i, t) in by_cost.into_iter().enumerate() {
        order[if i % 2 == 0 { i / 2 } else { n - 1 - i / 2 }] = t;
    }
    order
}

/// Combines per-span partials `[m, l, o...]` in span order.
#[inline(always)]
fn merge_body(parts: &[f32], hd: usize, out: &mut [f32]) {
    let stride = hd + 2;
    let m = parts
        .chunks_exact(stride)
        .fold(f32::NEG_INFINITY, |a, p| a.max(p[0]));
    out.fill(0.0);
    let mut l = 0f32;
    for p in parts.chunks_exact(stride) {
        let w = vecmath::exp(p[0] - m);
        l = p[1].mul_add(w, l);
        for (o, v) in out.iter_mut().zip(&p[2..]) {
            *o = v.mul_add(w, *o);
        }
    }
    let inv = if l > 0.0 { 1.0 / l } else { 0.0 };
    out.iter_mut().for_each(|o| *o *= inv);
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// The calling thread's buffer of per-span partials, kept between layers and steps.
    static PARTIALS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

dispatched!(merge => merge_body(parts: &[f32], hd: usize, out: &mut [f32]) -> ());

#[cfg(test)]
mod tests {
    use super::balanced_order;

    #[test]
    fn costliest_tasks_go_to_both_ends_and_cheapest_to_the_middle() {
        let costs = [256, 256, 256, 256, 256, 256, 40, 40, 40];
        let order = balanced_order(costs.len(), |t| costs[t]);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..costs.len()).collect::<Vec<_>>(), "a permutation");
        let by_slot: Vec<usize> = order.iter().map(|&t| costs[t]).collect();
        assert_eq!(by_slot, [256, 256, 256, 40, 40, 40, 256, 256, 256]);
        // Equal costs keep their index order from each end.
        assert_eq!(order, [0, 2, 4, 6, 8, 7, 5, 3, 1]);
        assert!(balanced_order(0, |_| 0).is_empty());
        assert_eq!(balanced_order(1, |_| 5), [0]);
    }
}
