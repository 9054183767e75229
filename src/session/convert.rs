//! Turning engine output into loom nodes: provenance records, token records, and the
//! assembly of streamed tokens into a branch's text.

use crate::engine::{BranchSummary, ModelDescription, SamplingParams, TokenInfo};
use crate::tree::{GenParams, Generation, Node, Origin, TokenAlt, TokenRecord};

/// The sampling parameters as recorded on a node.
pub fn gen_params(p: &SamplingParams) -> GenParams {
    GenParams {
        max_tokens: p.max_tokens as u32,
        temperature: p.temperature,
        top_p: p.top_p,
        top_k: p.top_k as u32,
        min_p: p.min_p,
        repetition_penalty: p.repetition_penalty,
        stop: p.stop.clone(),
    }
}

/// An empty model-written node for branch `branch` of a generation, to be filled by streaming.
pub fn placeholder(model: &ModelDescription, params: &SamplingParams, branch: usize) -> Node {
    let mut node = Node::new("").with_origin(Origin::Model(Generation {
        model: model.model.clone(),
        backend: model.backend.clone(),
        params: gen_params(params),
        seed: params.seed.wrapping_add(branch as u64),
        finish: None,
        mean_logprob: None,
        mean_entropy: None,
    }));
    node.unread = true;
    node
}

pub fn token_record(t: &TokenInfo, text: String) -> TokenRecord {
    TokenRecord {
        id: t.id,
        text,
        logprob: t.logprob,
        top: t
            .top
            .iter()
            .map(|a| TokenAlt {
                id: a.id,
                text: a.text.clone(),
                logprob: a.logprob,
            })
            .collect(),
    }
}

/// The origin of a finished branch: its record with the finish reason and means filled in.
pub fn finished(origin: &Origin, summary: &BranchSummary) -> Origin {
    match origin {
        Origin::Model(g) => Origin::Model(Generation {
            finish: Some(summary.reason.as_str().to_string()),
            mean_logprob: summary.mean_logprob,
            mean_entropy: summary.mean_entropy,
            seed: summary.seed,
            ..g.clone()
        }),
        other => other.clone(),
    }
}

/// Assembles one branch's streamed tokens: drops the leading spaces that stand for spaces
/// trimmed from the prompt's end, so the path text gets no double space.
#[derive(Debug, Clone)]
pub struct BranchText {
    skip_spaces: usize,
}

impl BranchText {
    pub fn new(trimmed_spaces: usize) -> BranchText {
        BranchText {
            skip_spaces: trimmed_spaces,
        }
    }

    /// The text a token adds to the node, and its record.
    pub fn push(&mut self, token: &TokenInfo) -> (String, TokenRecord) {
        let mut text = token.text.as_str();
        while self.skip_spaces > 0 && (text.starts_with(' ') || text.starts_with('\t')) {
            text = &text[1..];
            self.skip_spaces -= 1;
        }
        if !text.is_empty() {
            self.skip_spaces = 0;
        }
        (text.to_string(), token_record(token, text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> TokenInfo {
        TokenInfo {
            id: Some(1),
            text: text.into(),
            logprob: -0.5,
            entropy: None,
            top: Vec::new(),
        }
    }

    #[test]
    fn leading_spaces_standing_for_trimmed_ones_are_dropped_once() {
        let mut b = BranchText::new(1);
        assert_eq!(b.push(&token(" the")).0, "the");
        assert_eq!(b.push(&token(" cat")).0, " cat");
        let mut b = BranchText::new(1);
        assert_eq!(b.push(&token("")).0, "");
        assert_eq!(b.push(&token("\nx")).0, "\nx");
        assert_eq!(b.push(&token(" y")).0, " y");
    }
}
