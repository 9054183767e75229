//! One pass of the model over new tokens of several sequences at once (a prefill chunk of one
//! sequence, or one token for each branch of a batch): embeddings, then per layer the fused
//! QKV projection, rotary embeddings and KV writes, paged attention, the output projection,
//! and the SwiGLU MLP, each matmul over all rows together.

use super::kv::Sequence;
use super::{Layer, LlamaModel};
use crate::engine::error::{EngineError, Result};
use crate::engine::kernels::SharedMut;
use crate::engine::kernels::attention::{AttnRow, Heads, attention};
use crate::engine::kernels::matmul::{Input, Write, matmul};
use crate::engine::kernels::packed::{Format, PackedMatrix};
use crate::engine::kernels::quant::{GROUP, QuantRows, quantize_group};
use crate::engine::kernels::vecmath;

/// Rows at or above which light row-wise work (norms, quantization) is spread over the pool.
const PARALLEL_ROWS: usize = 16;
/// The same for the SwiGLU activation (an `exp` per element, microseconds per row).
const PARALLEL_SILU_ROWS: usize = 4;

/// Reusable activation buffers.
#[derive(Default)]
pub struct Buffers {
    x: Vec<f32>,
    h: Vec<f32>,
    qkv: Vec<f32>,
    q: Vec<f32>,
    attn: Vec<f32>,
    gate_up: Vec<f32>,
    act: Vec<f32>,
    quant: QuantRows,
    /// The last `logits` call's output, kept so that the next one writes over it instead of
    /// zeroing a fresh 196 KB a row.
    logits: Vec<f32>,
}

/// Which rows' final hidden states a pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The last new row of each sequence.
    Last,
    /// Every new row.
    All,
}

impl LlamaModel {
    /// Runs `tokens[i]` after the tokens of `seqs[i]` for every `i`, extending the sequences;
    /// returns the final (normalized) hidden states of the wanted rows, `hidden` floats each.
    pub fn forward(
        &self,
        seqs: &mut [&mut Sequence],
        tokens: &[&[u32]],
        want: Want,
        buf: &mut Buffers,
    ) -> Result<Vec<f32>> {
        let c = &self.config;
        let kv = c.kv_shape();
        // (sequence, position) of every row.
        let mut rows = Vec::new();
        for (i, (seq, toks)) in seqs.iter_mut().zip(tokens).enumerate() {
            let end = seq.len() + toks.len();
            if end > c.context_length {
                return Err(EngineError::InvalidParams(format!(
                    "{end} tokens exceed the context window of {}",
                    c.context_length
                )));
            }
            if let Some(&bad) = toks.iter().find(|&&t| t as usize >= c.vocab) {
                return Err(EngineError::InvalidParams(format!(
                    "token id {bad} is outside the vocabulary of {}",
                    c.vocab
                )));
            }
            seq.reserve(toks.len(), &kv);
            rows.extend((seq.len()..end).map(|pos| (i, pos)));
        }
        let n = rows.len();
        let ids: Vec<u32> = tokens.iter().flat_map(|t| t.iter().copied()).collect();
        buf.x.resize(n * c.hidden, 0.0);
        for (r, &id) in ids.iter().enumerate() {
            self.embed
                .row_f32(id as usize, &mut buf.x[r * c.hidden..(r + 1) * c.hidden]);
        }
        for (l, layer) in self.layers.iter().enumerate() {
            self.layer(l, layer, seqs, &rows, buf);
        }
        for (seq, toks) in seqs.iter_mut().zip(tokens) {
            seq.extend(toks);
        }
        let wanted: Vec<usize> = match want {
            Want::All => (0..n).collect(),
            Want::Last => (0..n)
                .filter(|&r| r + 1 == n || rows[r + 1].0 != rows[r].0)
                .collect(),
        };
        let mut out = vec![0f32; wanted.len() * c.hidden];
        for (o, &r) in out.chunks_exact_mut(c.hidden).zip(&wanted) {
            vecmath::rms_norm(
                self.isa,
                &buf.x[r * c.hidden..(r + 1) * c.hidden],
                &self.norm,
                c.eps,
                o,
            );
        }
        Ok(out)
    }

    fn layer(
        &self,
        l: usize,
        layer: &Layer,
        seqs: &mut [&mut Sequence],
        rows: &[(usize, usize)],
        buf: &mut Buffers,
    ) {
        let c = &self.config;
        let n = rows.len();
        let kv = c.kv_shape();
        self.norm_rows(&buf.x, &layer.attn_norm, n, &mut buf.h);
        buf.qkv.resize(n * c.qkv_width(), 0.0);
        self.apply(
            &layer.qkv,
            &buf.h,
            n,
            &mut buf.quant,
            &mut buf.qkv,
            Write::Store,
        );
        self.rotate_and_store(l, seqs, rows, buf);
        let pages: Vec<Vec<&[u16]>> = seqs.iter().map(|s| s.page_slices()).collect();
        let attn_rows: Vec<AttnRow> = rows
            .iter()
            .map(|&(s, pos)| AttnRow {
                pages: &pages[s],
                pos,
            })
            .collect();
        buf.attn.resize(n * c.hidden, 0.0);
        attention(
            &self.pool,
            self.isa,
            &kv,
            Heads {
                layer: l,
                n_head: c.n_head,
            },
            &buf.q,
            &attn_rows,
            &mut buf.attn,
        );
        self.apply(
            &layer.wo,
            &buf.attn,
            n,
            &mut buf.quant,
            &mut buf.x,
            Write::Add,
        );
        self.norm_rows(&buf.x, &layer.ffn_norm, n, &mut buf.h);
        buf.gate_up.resize(n * 2 * c.ffn, 0.0);
        self.apply(
            &layer.gate_up,
            &buf.h,
            n,
            &mut buf.quant,
            &mut buf.gate_up,
            Write::Store,
        );
        buf.act.resize(n * c.ffn, 0.0);
        self.rows_parallel(n, PARALLEL_SILU_ROWS, &mut buf.act, c.ffn, &|r, out| {
            let gu = &buf.gate_up[r * 2 * c.ffn..(r + 1) * 2 * c.ffn];
            vecmath::silu_mul(self.isa, &gu[..c.ffn], &gu[c.ffn..], out);
        });
        self.apply(
            &layer.down,
            &buf.act,
            n,
            &mut buf.quant,
            &mut buf.x,
            Write::Add,
        );
    }

    /// Rotary embeddings of every row's queries (into `buf.q`, scaled for attention) and
    /// keys, then the keys and values into layer `l` of the pages. Rows that write one page
    /// form one task (a prefill chunk's rows share pages; a batch's rows each have their own),
    /// so tasks run in parallel without sharing a page.
    fn rotate_and_store(
        &self,
        l: usize,
        seqs: &mut [&mut Sequence],
        rows: &[(usize, usize)],
        buf: &mut Buffers,
    ) {
        let c = &self.config;
        let (hd, kvw) = (c.head_dim, c.n_kv_head * c.head_dim);
        let kv = c.kv_shape();
        let half = hd / 2;
        let scale = 1.0 / (hd as f32).sqrt();
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for (r, &(s, pos)) in rows.iter().enumerate() {
            match groups.last_mut() {
                Some(g)
                    if rows[g.start].0 == s && rows[g.start].1 / kv_page() == pos / kv_page() =>
                {
                    g.end = r + 1
                }
                _ => groups.push(r..r + 1),
            }
        }
        let pages: Vec<SharedMut<u16>> = groups
            .iter()
            .map(|g| {
                let (s, pos) = rows[g.start];
                SharedMut::new(seqs[s].page_mut(pos))
            })
            .collect();
        debug_assert!(
            (1..pages.len()).all(|i| (0..i).all(|j| pages[i].as_ptr() != pages[j].as_ptr())),
            "two tasks would write one page"
        );
        buf.q.resize(rows.len() * c.hidden, 0.0);
        let q_all = SharedMut::new(&mut buf.q);
        let qkv = &buf.qkv;
        self.pool.run(groups.len(), &|gi| {
            let page = &pages[gi];
            // SAFETY: each group writes its own page and its own rows of `q`.
            let page = unsafe { page.slice(0, kv.page_len()) };
            let mut k = vec![0f32; kvw];
            for r in groups[gi].clone() {
                let pos = rows[r].1;
                let row = &qkv[r * c.qkv_width()..(r + 1) * c.qkv_width()];
                let cos = &self.rope_cos[pos * half..(pos + 1) * half];
                let sin = &self.rope_sin[pos * half..(pos + 1) * half];
                // SAFETY: as above.
                let q = unsafe { q_all.slice(r * c.hidden, c.hidden) };
                q.copy_from_slice(&row[..c.hidden]);
                for head in q.chunks_exact_mut(hd) {
                    vecmath::rope(self.isa, head, cos, sin, scale);
                }
                k.copy_from_slice(&row[c.hidden..c.hidden + kvw]);
                for head in k.chunks_exact_mut(hd) {
                    vecmath::rope(self.isa, head, cos, sin, 1.0);
                }
                kv.write(page, l, pos % kv_page(), &k, &row[c.hidden + kvw..]);
            }
        });
    }

    /// `out` rows = RMS-normalized `x` rows times `w`.
    fn norm_rows(&self, x: &[f32], w: &[f32], n: usize, out: &mut Vec<f32>) {
        let hidden = self.config.hidden;
        out.resize(n * hidden, 0.0);
        self.rows_parallel(n, PARALLEL_ROWS, out, hidden, &|r, o| {
            vecmath::rms_norm(
                self.isa,
                &x[r * hidden..(r + 1) * hidden],
                w,
                self.config.eps,
                o,
            )
        });
    }

    /// `out (=|+=) W x` for `n` rows of `x`, quantizing `x` first when `W` is quantized.
    fn apply(
        &self,
        w: &PackedMatrix,
        x: &[f32],
        n: usize,
        quant: &mut QuantRows,
        out: &mut [f32],
        write: Write,
    ) {
        let input = if w.format == Format::F32 {
            Input::Float {
                x,
                rows: n,
                cols: w.cols,
            }
        } else {
            quant.reset(n, w.cols);
            let groups = quant.groups();
            let cols = w.cols;
            let writer = quant.writer();
            self.for_rows(groups, PARALLEL_ROWS / GROUP, &|g| {
                let rows = GROUP.min(n - g * GROUP);
                let x = &x[g * GROUP * cols..(g * GROUP + rows) * cols];
                // SAFETY: each group belongs to its task alone.
                let (q, d) = unsafe { writer.group(g) };
                quantize_group(self.isa, x, rows, q, d);
            });
            Input::Quant(quant)
        };
        matmul(
            &self.pool,
            self.isa,
            w,
            input,
            &mut out[..n * w.rows],
            write,
        );
    }

    /// Calls `f(r, row r of out)` for each of `n` rows of width `width`, in parallel from
    /// `parallel_from` rows on.
    fn rows_parallel(
        &self,
        n: usize,
        parallel_from: usize,
        out: &mut [f32],
        width: usize,
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        let shared = SharedMut::new(out);
        self.for_rows(n, parallel_from, &|r| {
            // SAFETY: row r belongs to this call alone.
            f(r, unsafe { shared.slice(r * width, width) })
        });
    }

    fn for_rows(&self, n: usize, parallel_from: usize, f: &(dyn Fn(usize) + Sync)) {
        if n < parallel_from {
            (0..n).for_each(f);
            return;
        }
        let tasks = self.pool.threads() * 4;
        self.pool.run(tasks, &|t| {
            (t * n / tasks..(t + 1) * n / tasks).for_each(f);
        });
    }

    /// Next-token logits (`vocab` per row) for final hidden states.
    pub fn logits<'b>(&self, hidden: &[f32], buf: &'b mut Buffers) -> &'b [f32] {
        let c = &self.config;
        let n = hidden.len() / c.hidden;
        // Every element is stored below, so stale values from the last call never show.
        buf.logits.resize(n * c.vocab, 0.0);
        self.apply(
            self.output(),
            hidden,
            n,
            &mut buf.quant,
            &mut buf.logits,
            Write::Store,
        );
        &buf.logits
    }
}

fn kv_page() -> usize {
    crate::engine::kernels::attention::PAGE
}
