//! `tloom stats --node`: the curation metrics of the path to a node, with intervention bits
//! from scoring the path's human-written tokens under the local model.

use super::args::ModelArgs;
use super::engine_cmds::spec;
use crate::engine::TokenInfo;
use crate::engine::local::LocalModel;
use crate::tree::{Loom, NodeId, PathMetrics, intervention_bits};
use serde_json::{Value, json};

/// How the path's text scored: the tokens and which of them a person wrote.
pub struct PathScore {
    pub tokens: usize,
    pub human_tokens: usize,
    pub intervention_bits: f64,
}

/// Score the path text to `id` in one pass and sum the human-written tokens' surprise. A
/// token belongs to whoever wrote the character it starts at.
pub fn score_path(
    loom: &Loom,
    id: NodeId,
    model: &ModelArgs,
    threads: Option<usize>,
) -> Result<PathScore, String> {
    let text = loom.path_text(id).map_err(|e| e.to_string())?;
    let mut local =
        LocalModel::load(&spec(model, threads), &mut |_, _| {}).map_err(|e| format!("{e:#}"))?;
    let tokens = local.score_text(&text, 0).map_err(|e| format!("{e:#}"))?;
    Ok(attribute(loom, id, &tokens))
}

/// Split scored tokens of the path text into human- and model-written ones.
pub fn attribute(loom: &Loom, id: NodeId, tokens: &[TokenInfo]) -> PathScore {
    let human = loom.human_tokens(id, tokens.iter().map(|t| t.text.chars().count()));
    let logprobs = tokens
        .iter()
        .zip(&human)
        .filter(|(_, h)| **h)
        .map(|(t, _)| t.logprob);
    PathScore {
        tokens: tokens.len(),
        human_tokens: human.iter().filter(|h| **h).count(),
        intervention_bits: intervention_bits(logprobs),
    }
}

/// The JSON fields `tloom stats --node ID --json` adds for the path to ID.
pub fn json_fields(m: &PathMetrics, score: Option<&PathScore>) -> Value {
    let per_token = |bits: f64| {
        score
            .filter(|s| s.tokens > 0)
            .map(|s| bits / s.tokens as f64)
    };
    json!({
        "selection_bits": m.selection_bits,
        "intervention_bits": score.map(|s| s.intervention_bits),
        "selection_bits_per_token": per_token(m.selection_bits),
        "intervention_bits_per_token": score.and_then(|s| per_token(s.intervention_bits)),
        "path_tokens": score.map(|s| s.tokens),
        "human_tokens": score.map(|s| s.human_tokens),
        "tokens_generated": m.tokens_generated,
        "tokens_kept": m.tokens_kept,
        "nodes_generated": m.nodes_generated,
        "nodes_kept": m.nodes_kept,
        "nodes_archived": m.nodes_archived,
        "path_chars": m.path_chars,
        "path_model_chars": m.model_chars,
        "model_share": m.model_share(),
        "choices": m.choices.iter().map(|c| json!({
            "node": c.node.to_string(), "options": c.options, "bits": c.bits
        })).collect::<Vec<_>>(),
    })
}
