//! The predictor's views: the probability heatmap, the token cursor, the alternatives the
//! model had at a token (and branching on one of them), and scores of hand-written text.
//!
//! Scores of hand-written text live here, keyed by node id, not in the loom: scoring is a
//! view, so it never marks the file changed. A score is used only while its token texts
//! still spell the node's text exactly, so an edit or a split simply retires it.

use super::curate::writable;
use super::msg::Effect;
use super::state::{App, Level, Mode};
use crate::engine::{CancelFlag, EngineRequest, JobId, TokenInfo};
use crate::session::convert::gen_params;
use crate::session::jobs::{Job, JobKind};
use crate::tree::{Generation, Node, NodeId, Origin, TokenAlt, TokenRecord};
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::HashMap;

/// The heatmap switch and the scores of text the model did not write.
#[derive(Debug, Clone, Default)]
pub struct Predictor {
    pub heatmap: bool,
    scores: HashMap<NodeId, Vec<TokenRecord>>,
    /// Per scored node, the summed logprob and the number of the tokens that start in its
    /// text (a token across a boundary belongs to the node it starts in), for intervention
    /// bits.
    starting_logprob: HashMap<NodeId, (f64, usize)>,
}

/// Probability bands the heatmap colours by: p ≥ 0.5, ≥ 0.1, ≥ 0.01, below.
pub fn band(logprob: f32) -> u8 {
    let p = logprob.exp();
    if p >= 0.5 {
        0
    } else if p >= 0.1 {
        1
    } else if p >= 0.01 {
        2
    } else {
        3
    }
}

fn spells(tokens: &[TokenRecord], text: &str) -> bool {
    let mut rest = text;
    for t in tokens {
        match rest.strip_prefix(t.text.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The tokens of a node: the model's own records, else a still-valid score.
pub fn tokens_of(app: &App, id: NodeId) -> Option<&[TokenRecord]> {
    let node = app.loom.get(id)?;
    if let Some(t) = node.valid_tokens().filter(|t| !t.is_empty()) {
        return Some(t);
    }
    app.predictor
        .scores
        .get(&id)
        .filter(|t| !t.is_empty() && spells(t, &node.text))
        .map(Vec::as_slice)
}

pub fn toggle_heatmap(app: &mut App) {
    app.predictor.heatmap = !app.predictor.heatmap;
    let msg = if app.predictor.heatmap {
        "heatmap on: text coloured by each token's probability (S scores hand-written text)"
    } else {
        "heatmap off"
    };
    app.say(Level::Info, msg);
}

/// Start walking the cursor node's tokens.
pub fn enter_tokens(app: &mut App) {
    let node = app.loom.cursor();
    if tokens_of(app, node).is_none() {
        return app.say(
            Level::Info,
            "this node has no token data (S scores hand-written text)",
        );
    }
    app.mode = Mode::Tokens { node, index: 0 };
    app.say(
        Level::Info,
        "tokens: h/l move · Enter shows alternatives · Esc leaves",
    );
}

/// Keys while walking tokens.
pub fn tokens_key(app: &mut App, node: NodeId, index: usize, key: KeyEvent) {
    let len = tokens_of(app, node).map_or(0, <[TokenRecord]>::len);
    if len == 0 {
        app.mode = Mode::Normal;
        return;
    }
    let index = match key.code {
        KeyCode::Left | KeyCode::Char('h') => index.saturating_sub(1),
        KeyCode::Right | KeyCode::Char('l') => (index + 1).min(len - 1),
        KeyCode::Home | KeyCode::Char('0') => 0,
        KeyCode::End | KeyCode::Char('$') => len - 1,
        KeyCode::Enter | KeyCode::Char('a') => {
            app.mode = Mode::Alternatives {
                node,
                index,
                selected: 0,
            };
            return;
        }
        KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('i') => {
            app.mode = Mode::Normal;
            // The token cursor's hint is no longer true.
            if app
                .status
                .as_ref()
                .is_some_and(|s| s.text.starts_with("tokens: "))
            {
                app.status = None;
            }
            return;
        }
        _ => index,
    };
    app.mode = Mode::Tokens { node, index };
}

/// The alternatives at a token, most likely first, each with whether it is the token there.
pub fn alternatives(app: &App, node: NodeId, index: usize) -> Vec<(TokenAlt, bool)> {
    let Some(token) = tokens_of(app, node).and_then(|t| t.get(index)) else {
        return Vec::new();
    };
    let is_token = |a: &TokenAlt| match (a.id, token.id) {
        (Some(x), Some(y)) => x == y,
        _ => a.text == token.text,
    };
    let mut alts = token.top.clone();
    // The token that was sampled gets a row even when it was outside the recorded top.
    if !alts.iter().any(is_token) {
        alts.push(TokenAlt {
            id: token.id,
            text: token.text.clone(),
            logprob: token.logprob,
        });
    }
    alts.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    alts.into_iter()
        .map(|a| {
            let same = is_token(&a);
            (a, same)
        })
        .collect()
}

/// Keys in the alternatives popup.
pub fn alternatives_key(
    app: &mut App,
    (node, index, selected): (NodeId, usize, usize),
    key: KeyEvent,
    fx: &mut Vec<Effect>,
) {
    let n = alternatives(app, node, index).len();
    let pick = match key.code {
        KeyCode::Esc | KeyCode::Char('q') => {
            app.mode = Mode::Tokens { node, index };
            return;
        }
        KeyCode::Down | KeyCode::Char('j') if n > 0 => {
            app.mode = Mode::Alternatives {
                node,
                index,
                selected: (selected + 1) % n,
            };
            return;
        }
        KeyCode::Up | KeyCode::Char('k') if n > 0 => {
            app.mode = Mode::Alternatives {
                node,
                index,
                selected: (selected + n - 1) % n,
            };
            return;
        }
        KeyCode::Enter => selected,
        KeyCode::Char(c @ '1'..='9') => c as usize - '1' as usize,
        _ => return,
    };
    if pick < n {
        branch_on_alternative(app, node, index, pick, fx);
    }
}

/// A counterfactual: split the node before token `index`, add the alternative as a new
/// branch beside the rest of the text, go there and generate its continuation (N branches,
/// as `g` would). One undo step.
pub fn branch_on_alternative(
    app: &mut App,
    node: NodeId,
    index: usize,
    pick: usize,
    fx: &mut Vec<Effect>,
) {
    let Some((alt, same)) = alternatives(app, node, index).get(pick).cloned() else {
        return;
    };
    if same {
        return app.say(Level::Info, "that is the token already there: pick another");
    }
    if !writable(app) {
        return;
    }
    if app.jobs.is_generating(node) {
        return app.say(Level::Info, "this node is still being written: wait or Esc");
    }
    let Some(tokens) = tokens_of(app, node).map(<[TokenRecord]>::to_vec) else {
        return;
    };
    let top = tokens.get(index).map(|t| t.top.clone()).unwrap_or_default();
    let offset: usize = tokens[..index].iter().map(|t| t.text.chars().count()).sum();
    let record = TokenRecord {
        id: alt.id,
        text: alt.text.clone(),
        logprob: alt.logprob,
        top,
    };
    let branch = picked_node(app, node, vec![record]);
    app.loom.begin_batch("branch on an alternative token");
    let added = add_beside(app, node, offset, branch);
    let new = match added {
        Ok(id) => id,
        Err(e) => {
            app.loom.end_batch();
            return app.say(Level::Error, e.to_string());
        }
    };
    super::navigate::go(app, new);
    app.mode = Mode::Normal;
    super::generate::generate(app, new, fx);
    app.loom.end_batch();
    app.touch();
}

/// Split `node` at `offset` (unless 0) and add `branch` as a sibling of the part after it.
fn add_beside(
    app: &mut App,
    node: NodeId,
    offset: usize,
    branch: Node,
) -> Result<NodeId, crate::tree::TreeError> {
    let parent = if offset == 0 {
        app.loom
            .parent(node)
            .ok_or(crate::tree::TreeError::RootRefused(
                node,
                "the root's first token has no siblings to branch into",
            ))?
    } else {
        app.loom.split(node, offset)?
    };
    let new = app.loom.add_child_node(parent, branch)?;
    if let Some(at) = app.loom.index_in_parent(node) {
        app.loom.reorder(new, at + 1)?;
    }
    Ok(new)
}

/// A model-written node whose tokens a person picked from the model's alternatives.
pub fn picked_node(app: &App, like: NodeId, tokens: Vec<TokenRecord>) -> Node {
    let (model, backend) = match (app.model(), app.loom.get(like).map(|n| &n.origin)) {
        (Some(m), _) => (m.model.clone(), m.backend.clone()),
        (None, Some(Origin::Model(g))) => (g.model.clone(), g.backend.clone()),
        _ => (String::new(), app.backend_name.clone()),
    };
    let text: String = tokens.iter().map(|t| t.text.as_str()).collect();
    let mean = tokens.iter().map(|t| t.logprob).sum::<f32>() / tokens.len().max(1) as f32;
    let mut params = gen_params(&app.sampling);
    params.max_tokens = tokens.len() as u32;
    let mut node = Node::new(text).with_origin(Origin::Model(Generation {
        model,
        backend,
        params,
        seed: 0,
        finish: Some("picked".into()),
        mean_logprob: Some(mean),
        mean_entropy: None,
    }));
    node.tokens = Some(tokens);
    node
}

/// Ask the engine to score the path text to the cursor, to colour hand-written text.
pub fn score_path(app: &mut App, fx: &mut Vec<Effect>) {
    let node = app.loom.cursor();
    let Ok(text) = app.loom.path_text(node) else {
        return;
    };
    if text.is_empty() {
        return app.say(Level::Info, "nothing to score: the path is empty");
    }
    let job = app.jobs.next_id();
    app.jobs.add(Job::queued(
        job,
        JobKind::Score {
            node,
            text: text.clone(),
        },
        CancelFlag::new(),
        app.now,
    ));
    fx.push(Effect::Engine(EngineRequest::Score { job, text }));
    app.say(Level::Info, "scoring the path…");
}

/// A score or an exploration failed.
pub fn failed(app: &mut App, job: JobId, error: String) {
    if let Mode::Multiverse { job: j, result, .. } = &mut app.mode
        && *j == job
    {
        *result = Some(Err(error.clone()));
    }
    app.say(Level::Error, format!("the model could not do it: {error}"));
}

/// Scores arrive: each node of the path without token data of its own gets the pieces of
/// the scored tokens that fall in its text (a token across a node boundary is shared, with
/// its probability, by both sides).
pub fn scored(app: &mut App, node: NodeId, text: &str, tokens: Vec<TokenInfo>) {
    let joined: String = tokens.iter().map(|t| t.text.as_str()).collect();
    let skip = match joined.len().checked_sub(text.len()) {
        // A tokenizer may report a leading space it added; the scores line up from the end.
        Some(extra) if joined.ends_with(&text) => extra,
        _ => {
            return app.say(
                Level::Warning,
                "the model's tokens do not spell the path text: scores not shown",
            );
        }
    };
    let mut pieces = Vec::new();
    let mut pos = 0usize; // byte offset in `joined`
    for t in &tokens {
        let start = pos.max(skip) - skip;
        pos += t.text.len();
        let end = pos.max(skip) - skip;
        if end > start {
            pieces.push((start, end, t));
        }
    }
    let mut scored_nodes = 0;
    let mut offset = 0usize;
    for id in app.loom.ancestry(node) {
        let Some(n) = app.loom.get(id) else { continue };
        let (from, to) = (offset, offset + n.text.len());
        offset = to;
        if n.valid_tokens().is_some_and(|t| !t.is_empty()) || from == to {
            continue;
        }
        let records: Vec<TokenRecord> = pieces
            .iter()
            .filter(|(s, e, _)| *e > from && *s < to)
            .filter_map(|(s, e, t)| {
                let (a, b) = ((*s).max(from), (*e).min(to));
                let piece = text.get(a..b)?;
                Some(crate::session::convert::token_record(t, piece.to_string()))
            })
            .collect();
        if spells(&records, &n.text) {
            let starting = pieces
                .iter()
                .filter(|(s, _, _)| (from..to).contains(s))
                .fold((0.0, 0), |(sum, n), (_, _, t)| {
                    (sum + f64::from(t.logprob), n + 1)
                });
            app.predictor.starting_logprob.insert(id, starting);
            app.predictor.scores.insert(id, records);
            scored_nodes += 1;
        }
    }
    app.say(
        Level::Info,
        format!("scored {scored_nodes} node(s) without token data of their own"),
    );
}

/// The curation bits of the path to `id`: selection bits, and intervention bits when every
/// hand-written node on the path has scores (press the score key to get them).
pub fn path_bits(app: &App, id: NodeId) -> Option<(f64, Option<f64>)> {
    let metrics = app.loom.path_metrics(id)?;
    let mut bits = 0.0;
    for node_id in app.loom.ancestry(id) {
        match human_score(app, node_id) {
            HumanScore::ModelText => {}
            HumanScore::Scored { bits: b, .. } => bits += b,
            HumanScore::Unscored => return Some((metrics.selection_bits, None)),
        }
    }
    Some((metrics.selection_bits, Some(bits)))
}

/// What is known of a node's hand-written text under the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HumanScore {
    /// Model-written (unedited) or empty: no intervention.
    ModelText,
    /// Hand-written and scored: the intervention bits and number of the tokens that start
    /// in it.
    Scored { bits: f64, tokens: usize },
    /// Hand-written, not scored (or edited since).
    Unscored,
}

pub fn human_score(app: &App, id: NodeId) -> HumanScore {
    let Some(node) = app.loom.get(id) else {
        return HumanScore::Unscored;
    };
    if crate::tree::is_model_text(node) || node.text.is_empty() {
        return HumanScore::ModelText;
    }
    let tokens = app.predictor.scores.get(&id);
    match (tokens, app.predictor.starting_logprob.get(&id)) {
        (Some(t), Some(&(sum, count))) if spells(t, &node.text) => HumanScore::Scored {
            bits: -sum / std::f64::consts::LN_2,
            tokens: count,
        },
        _ => HumanScore::Unscored,
    }
}
