//! The most likely next-token tree from a prompt: every path whose probability stays above a
//! cutoff, `width` children per node, to `depth` tokens. With a batching decoder each level is
//! one batched step over the frontier, forked from the shared prompt prefill.

use super::decoder::Decoder;
use super::error::{EngineError, Result};
use super::generate::prepare_prompt;
use super::protocol::{ExploredToken, TokenAlternative};
use super::sampling::distribution;
use super::tokenizer::TextTokenizer;
use super::worker::ExploreShape;

/// The frontier never grows past this many paths (the least likely are dropped).
const MAX_FRONTIER: usize = 256;

struct Node {
    token: TokenAlternative,
    path_prob: f32,
    children: Vec<usize>,
}

struct Open {
    /// Arena index of the node (None for the root).
    node: Option<usize>,
    path: Vec<u32>,
    prob: f32,
}

pub fn explore_tree(
    decoder: &mut dyn Decoder,
    tokenizer: &TextTokenizer,
    prompt: &str,
    shape: ExploreShape,
) -> Result<Vec<ExploredToken>> {
    if shape.width == 0 || shape.depth == 0 {
        return Err(EngineError::InvalidParams(format!(
            "explore needs depth and width of at least 1 (got depth {}, width {})",
            shape.depth, shape.width
        )));
    }
    let prompt = prepare_prompt(tokenizer, prompt, decoder.context_length(), shape.depth)?;
    let batched = decoder.max_batch() > 1;
    let mut rows = vec![decoder.start(&prompt.ids, 1)?];
    let mut arena: Vec<Node> = Vec::new();
    let mut roots = Vec::new();
    let mut frontier = vec![Open {
        node: None,
        path: Vec::new(),
        prob: 1.0,
    }];
    for level in 0..shape.depth {
        let mut next: Vec<(usize, Open)> = Vec::new();
        for (row, open) in frontier.iter().enumerate() {
            let d = distribution(&rows[row], shape.width);
            for (id, logprob) in d.top {
                let prob = open.prob * logprob.exp();
                if prob < shape.cutoff {
                    continue;
                }
                arena.push(Node {
                    token: TokenAlternative {
                        id: Some(id),
                        text: tokenizer.token_text(id),
                        logprob,
                    },
                    path_prob: prob,
                    children: Vec::new(),
                });
                let index = arena.len() - 1;
                match open.node {
                    Some(parent) => arena[parent].children.push(index),
                    None => roots.push(index),
                }
                if !tokenizer.is_eos(id) {
                    let mut path = open.path.clone();
                    path.push(id);
                    next.push((
                        row,
                        Open {
                            node: Some(index),
                            path,
                            prob,
                        },
                    ));
                }
            }
        }
        if level + 1 == shape.depth || next.is_empty() {
            break;
        }
        next.sort_by(|a, b| b.1.prob.total_cmp(&a.1.prob));
        next.truncate(MAX_FRONTIER);
        rows = if batched {
            let parents: Vec<usize> = next.iter().map(|(row, _)| *row).collect();
            decoder.select(&parents)?;
            let tokens: Vec<u32> = next
                .iter()
                .filter_map(|(_, o)| o.path.last().copied())
                .collect();
            decoder.step(&tokens)?
        } else {
            let mut rows = Vec::with_capacity(next.len());
            for (_, open) in &next {
                let mut ids = prompt.ids.clone();
                ids.extend_from_slice(&open.path);
                rows.push(decoder.start(&ids, 1)?);
            }
            rows
        };
        frontier = next.into_iter().map(|(_, o)| o).collect();
    }
    Ok(roots.iter().map(|&i| build(&arena, i)).collect())
}

fn build(arena: &[Node], index: usize) -> ExploredToken {
    let node = &arena[index];
    ExploredToken {
        token: node.token.clone(),
        path_prob: node.path_prob,
        children: node.children.iter().map(|&c| build(arena, c)).collect(),
    }
}
