//! Curation metrics of a path, as the original loom defined them: how many bits of choice
//! the curator exercised (selection) and how many bits of text they wrote that the model
//! would not have (intervention), plus what was generated and what was kept.

use super::id::NodeId;
use super::loom::Loom;
use super::node::Node;
use serde::Serialize;
use std::ops::Range;

/// One choice along a path: `node` was picked from `options` model-written siblings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Choice {
    pub node: NodeId,
    pub options: usize,
    /// log2(options).
    pub bits: f64,
}

/// Metrics of the path from the root down to a node. "Generated" counts every
/// model-written child of the path's nodes (the options each choice was made from);
/// "kept" counts the model-written nodes on the path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathMetrics {
    pub node: NodeId,
    /// Sum over the model-written nodes on the path of log2(number of model-written
    /// siblings it was chosen from, itself included).
    pub selection_bits: f64,
    pub choices: Vec<Choice>,
    pub nodes_generated: usize,
    pub nodes_kept: usize,
    /// Archived nodes among those generated.
    pub nodes_archived: usize,
    /// Tokens recorded on the generated nodes (nodes without token data count 0).
    pub tokens_generated: usize,
    pub tokens_kept: usize,
    pub path_chars: usize,
    /// Characters of unedited model-written text on the path.
    pub model_chars: usize,
}

impl PathMetrics {
    /// The share of the path's characters a model wrote (0 for an empty path).
    pub fn model_share(&self) -> f64 {
        if self.path_chars == 0 {
            0.0
        } else {
            self.model_chars as f64 / self.path_chars as f64
        }
    }
}

/// Text a model wrote and nobody edited since; everything else counts as human-written.
pub fn is_model_text(node: &Node) -> bool {
    node.origin.is_model() && !node.edited
}

fn token_count(node: &Node) -> usize {
    node.tokens.as_ref().map_or(0, Vec::len)
}

impl Loom {
    /// Curation metrics of the path from the root to `id` (None for a missing node).
    pub fn path_metrics(&self, id: NodeId) -> Option<PathMetrics> {
        let path = self.ancestry(id);
        if path.is_empty() {
            return None;
        }
        let mut m = PathMetrics {
            node: id,
            selection_bits: 0.0,
            choices: Vec::new(),
            nodes_generated: 0,
            nodes_kept: 0,
            nodes_archived: 0,
            tokens_generated: 0,
            tokens_kept: 0,
            path_chars: 0,
            model_chars: 0,
        };
        for (i, &current) in path.iter().enumerate() {
            let node = self.get(current)?;
            let chars = node.text.chars().count();
            m.path_chars += chars;
            if is_model_text(node) {
                m.model_chars += chars;
            }
            if i + 1 < path.len() {
                self.count_generated(current, &mut m);
            }
            if i > 0 && node.origin.is_model() {
                let options = self
                    .children(path[i - 1])
                    .iter()
                    .filter(|&&c| self.get(c).is_some_and(|n| n.origin.is_model()))
                    .count();
                let bits = (options.max(1) as f64).log2();
                m.selection_bits += bits;
                m.choices.push(Choice {
                    node: current,
                    options,
                    bits,
                });
                m.nodes_kept += 1;
                m.tokens_kept += token_count(node);
            }
        }
        Some(m)
    }

    fn count_generated(&self, parent: NodeId, m: &mut PathMetrics) {
        for &child in self.children(parent) {
            let Some(node) = self.get(child) else {
                continue;
            };
            if node.origin.is_model() {
                m.nodes_generated += 1;
                m.nodes_archived += usize::from(node.archived);
                m.tokens_generated += token_count(node);
            }
        }
    }

    /// The path text to `id` cut into consecutive character ranges, each marked true where
    /// a person wrote it (see `is_model_text`). Adjacent ranges of one kind are joined.
    pub fn authorship_spans(&self, id: NodeId) -> Vec<(Range<usize>, bool)> {
        let mut spans: Vec<(Range<usize>, bool)> = Vec::new();
        let mut offset = 0;
        for current in self.ancestry(id) {
            let Some(node) = self.get(current) else {
                continue;
            };
            let len = node.text.chars().count();
            let human = !is_model_text(node);
            match spans.last_mut() {
                Some((range, h)) if *h == human => range.end += len,
                _ if len > 0 => spans.push((offset..offset + len, human)),
                _ => {}
            }
            offset += len;
        }
        spans
    }
}

impl Loom {
    /// For tokens covering the path text to `id` in order (given by their lengths in
    /// characters), whether each was written by a person: a token belongs to whoever wrote
    /// the character it starts at.
    pub fn human_tokens(
        &self,
        id: NodeId,
        token_chars: impl IntoIterator<Item = usize>,
    ) -> Vec<bool> {
        let spans = self.authorship_spans(id);
        let mut offset = 0;
        let mut span = 0;
        token_chars
            .into_iter()
            .map(|len| {
                while span + 1 < spans.len() && spans[span].0.end <= offset {
                    span += 1;
                }
                let human = spans.get(span).is_some_and(|(_, h)| *h);
                offset += len;
                human
            })
            .collect()
    }
}

/// Intervention bits: -log2 P(the human-written tokens) from their natural-log
/// probabilities under the model.
pub fn intervention_bits(human_logprobs: impl IntoIterator<Item = f32>) -> f64 {
    -human_logprobs.into_iter().map(f64::from).sum::<f64>() / std::f64::consts::LN_2
}
