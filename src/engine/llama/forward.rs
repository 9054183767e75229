//! One pass of the model over new tokens of several sequences at once (a prefill chunk of one
//! sequence, or one token for each branch of a batch): embeddings, then per layer the fused
//! QKV projection (with its bias, if any), per-head Q/K norms (if any), rotary embeddings and
//! KV writes, paged attention (within a sliding window on windowed layers), the output
//! projection, and the gated MLP, each matmul over all rows together; families with norms
//! after attention and MLP (gemma3) apply them before the residual adds.

use super::family::{Activation, RopeStyle};
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
    /// A sub-layer's output before its post-norm (gemma3).
    post: Vec<f32>,
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
        let embed_scale = (c.hidden as f32).sqrt();
        for (r, &id) in ids.iter().enumerate() {
            let x = &mut buf.x[r * c.hidden..(r + 1) * c.hidden];
            self.embed.row_f32(id as usize, x);
            if c.family.scale_embeddings {
                vecmath::scale(self.isa, x, embed_scale);
            }
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
        if let Some(bias) = &layer.qkv_bias {
            let w = c.qkv_width();
            self.rows_parallel(n, PARALLEL_ROWS, &mut buf.qkv, w, &|_, row| {
                vecmath::add(self.isa, row, bias)
            });
        }
        self.rotate_and_store(l, layer, seqs, rows, buf);
        let window = c.window(l);
        let pages: Vec<Vec<&[u16]>> = seqs.iter().map(|s| s.page_slices()).collect();
        let attn_rows: Vec<AttnRow> = rows
            .iter()
            .map(|&(s, pos)| AttnRow {
                pages: &pages[s],
                pos,
                first: window.map_or(0, |w| (pos + 1).saturating_sub(w)),
            })
            .collect();
        buf.attn.resize(n * c.q_width(), 0.0);
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
        let attn = std::mem::take(&mut buf.attn);
        self.apply_residual(&layer.wo, &attn, n, layer.post_attn_norm.as_deref(), buf);
        buf.attn = attn;
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
        let activation = c.family.activation;
        self.rows_parallel(n, PARALLEL_SILU_ROWS, &mut buf.act, c.ffn, &|r, out| {
            let gu = &buf.gate_up[r * 2 * c.ffn..(r + 1) * 2 * c.ffn];
            match activation {
                Activation::Silu => vecmath::silu_mul(self.isa, &gu[..c.ffn], &gu[c.ffn..], out),
                Activation::GeluTanh => {
                    vecmath::gelu_mul(self.isa, &gu[..c.ffn], &gu[c.ffn..], out)
                }
            }
        });
        let act = std::mem::take(&mut buf.act);
        self.apply_residual(&layer.down, &act, n, layer.post_ffn_norm.as_deref(), buf);
        buf.act = act;
    }

    /// `x += W input`, or `x += norm(W input)` when the family normalizes a sub-layer's output
    /// before the residual add.
    fn apply_residual(
        &self,
        w: &PackedMatrix,
        input: &[f32],
        n: usize,
        post_norm: Option<&[f32]>,
        buf: &mut Buffers,
    ) {
        let Some(norm) = post_norm else {
            self.apply(w, input, n, &mut buf.quant, &mut buf.x, Write::Add);
            return;
        };
        let hidden = self.config.hidden;
        buf.post.resize(n * hidden, 0.0);
        self.apply(w, input, n, &mut buf.quant, &mut buf.post, Write::Store);
        // The sub-layer's input norm is spent by now, so its buffer takes the normed output.
        let post = std::mem::take(&mut buf.post);
        self.norm_rows(&post, norm, n, &mut buf.h);
        buf.post = post;
        let h = &buf.h;
        self.rows_parallel(n, PARALLEL_ROWS, &mut buf.x, hidden, &|r, x| {
            vecmath::add(self.isa, x, &h[r * hidden..(r + 1) * hidden])
        });
    }

    /// Rotary embeddings of every row's queries (into `buf.q`, scaled for attention) and
    /// keys, then the keys and values into layer `l` of the pages. Rows that write one page
    /// form one task (a prefill chunk's rows share pages; a batch's rows each have their own),
    /// so tasks run in parallel without sharing a page.
    fn rotate_and_store(
        &self,
        l: usize,
        layer: &Layer,
        seqs: &mut [&mut Sequence],
        rows: &[(usize, usize)],
        buf: &mut Buffers,
    ) {
        let c = &self.config;
        let (hd, qw, kvw) = (c.head_dim, c.q_width(), c.n_kv_head * c.head_dim);
        let kv = c.kv_shape();
        let table = &self.ropes[layer.rope];
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
        buf.q.resize(rows.len() * qw, 0.0);
        let q_all = SharedMut::new(&mut buf.q);
        let qkv = &buf.qkv;
        // One head: its norm (if the family has one), then the rotation of its first
        // `rope_dim` dimensions, everything times `scale`.
        let turn = |head: &mut [f32], norm: Option<&[f32]>, pos: usize, scale: f32| {
            if let Some(w) = norm {
                let mut normed = [0f32; 512];
                let normed = &mut normed[..hd];
                vecmath::rms_norm(self.isa, head, w, c.eps, normed);
                head.copy_from_slice(normed);
            }
            let (mut cos_buf, mut sin_buf) = ([0f32; 256], [0f32; 256]);
            let (cos, sin) = table.angles(pos, &mut cos_buf, &mut sin_buf);
            let (rotated, rest) = head.split_at_mut(c.rope_dim);
            match c.family.rope {
                RopeStyle::Pairs => vecmath::rope(self.isa, rotated, cos, sin, scale),
                RopeStyle::Halves => vecmath::rope_halves(self.isa, rotated, cos, sin, scale),
            }
            if !rest.is_empty() && scale != 1.0 {
                vecmath::scale(self.isa, rest, scale);
            }
        };
        self.pool.run(groups.len(), &|gi| {
            let page = &pages[gi];
            // SAFETY: each group writes its own page and its own rows of `q`.
            let page = unsafe { page.slice(0, kv.page_len()) };
            let mut k = vec![0f32; kvw];
            for r in groups[gi].clone() {
                let pos = rows[r].1;
                let row = &qkv[r * c.qkv_width()..(r + 1) * c.qkv_width()];
                // SAFETY: as above.
                let q = unsafe { q_all.slice(r * qw, qw) };
                q.copy_from_slice(&row[..qw]);
                for head in q.chunks_exact_mut(hd) {
                    turn(head, layer.q_norm.as_deref(), pos, c.attn_scale);
                }
                k.copy_from_slice(&row[qw..qw + kvw]);
                for head in k.chunks_exact_mut(hd) {
                    turn(head, layer.k_norm.as_deref(), pos, 1.0);
                }
                kv.write(page, l, pos % kv_page(), &k, &row[qw + kvw..]);
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
