//! The block multiverse: the most probable token tree below the cursor node, shown as an
//! indented list; a chosen token path becomes a new child branch.

use super::curate::writable;
use super::msg::Effect;
use super::state::{App, Level, Mode};
use crate::engine::{CancelFlag, EngineRequest, ExploredToken, JobId};
use crate::session::jobs::{Job, JobKind};
use crate::session::prompt::prompt_for;
use crate::tree::{NodeId, TokenAlt, TokenRecord};
use crossterm::event::{KeyCode, KeyEvent};

/// One token of the explored tree, as the app keeps it for the overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenTree {
    pub id: Option<u32>,
    pub text: String,
    pub logprob: f32,
    /// Probability of the whole token path from a root to here.
    pub path_prob: f32,
    pub children: Vec<TokenTree>,
}

impl TokenTree {
    fn from_explored(t: &ExploredToken) -> TokenTree {
        TokenTree {
            id: t.token.id,
            text: t.token.text.clone(),
            logprob: t.token.logprob,
            path_prob: t.path_prob,
            children: t.children.iter().map(TokenTree::from_explored).collect(),
        }
    }
}

/// One row of the flattened tree: its depth and the token path from a root to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub depth: usize,
    pub path: Vec<&'a TokenTree>,
}

impl Row<'_> {
    pub fn token(&self) -> Option<&TokenTree> {
        self.path.last().copied()
    }
}

/// The tree in display order (pre-order), each row with its path.
pub fn rows(roots: &[TokenTree]) -> Vec<Row<'_>> {
    fn walk<'a>(nodes: &'a [TokenTree], path: &mut Vec<&'a TokenTree>, out: &mut Vec<Row<'a>>) {
        for n in nodes {
            path.push(n);
            out.push(Row {
                depth: path.len() - 1,
                path: path.clone(),
            });
            walk(&n.children, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(roots, &mut Vec::new(), &mut out);
    out
}

/// Ask the engine for the token tree below the cursor node.
pub fn open(app: &mut App, fx: &mut Vec<Effect>) {
    let node = app.loom.cursor();
    let prompt = prompt_for(&app.loom, node, app.config.ui.trim_prompt);
    let job = app.jobs.next_id();
    app.jobs.add(Job::queued(
        job,
        JobKind::Explore { node },
        CancelFlag::new(),
        app.now,
    ));
    app.mode = Mode::Multiverse {
        node,
        job,
        result: None,
        selected: 0,
    };
    fx.push(Effect::Engine(EngineRequest::Explore {
        job,
        prompt: prompt.text,
        depth: app.config.ui.multiverse_depth.clamp(1, 8),
        width: app.config.ui.multiverse_width.clamp(1, 16),
        cutoff: app.config.ui.multiverse_cutoff.clamp(0.0, 1.0),
    }));
}

/// The tree arrives; shown if its overlay is still open.
pub fn explored(app: &mut App, job: JobId, roots: Vec<ExploredToken>) {
    if let Mode::Multiverse { job: j, result, .. } = &mut app.mode
        && *j == job
    {
        *result = Some(Ok(roots.iter().map(TokenTree::from_explored).collect()));
    }
}

/// Keys in the multiverse overlay.
pub fn key(app: &mut App, key: KeyEvent) {
    let Mode::Multiverse {
        node,
        job,
        result,
        selected,
    } = app.mode.clone()
    else {
        return;
    };
    let n = match &result {
        Some(Ok(roots)) => rows(roots).len(),
        _ => 0,
    };
    let selected = match key.code {
        KeyCode::Esc | KeyCode::Char('q') => {
            app.jobs.remove(job);
            app.mode = Mode::Normal;
            return;
        }
        KeyCode::Down | KeyCode::Char('j') if n > 0 => (selected + 1) % n,
        KeyCode::Up | KeyCode::Char('k') if n > 0 => (selected + n - 1) % n,
        KeyCode::Enter if n > 0 => {
            if let Some(Ok(roots)) = &result {
                return branch(app, node, roots, selected);
            }
            selected
        }
        _ => selected,
    };
    app.mode = Mode::Multiverse {
        node,
        job,
        result,
        selected,
    };
}

/// The token path of row `selected` as a new child of `node`; the cursor goes there.
fn branch(app: &mut App, node: NodeId, roots: &[TokenTree], selected: usize) {
    if !writable(app) {
        return;
    }
    let all = rows(roots);
    let Some(row) = all.get(selected) else {
        return;
    };
    let records: Vec<TokenRecord> = row
        .path
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let siblings = if i == 0 {
                roots
            } else {
                row.path[i - 1].children.as_slice()
            };
            TokenRecord {
                id: t.id,
                text: t.text.clone(),
                logprob: t.logprob,
                top: siblings
                    .iter()
                    .map(|s| TokenAlt {
                        id: s.id,
                        text: s.text.clone(),
                        logprob: s.logprob,
                    })
                    .collect(),
            }
        })
        .collect();
    // The prompt lost the story's trailing spaces; the first token's leading ones stand
    // for them, as in a generation (see `BranchText`).
    let trimmed = prompt_for(&app.loom, node, app.config.ui.trim_prompt).trimmed_spaces;
    let mut records = records;
    if let Some(first) = records.first_mut() {
        let mut skip = trimmed;
        while skip > 0 && first.text.starts_with([' ', '\t']) {
            first.text.remove(0);
            skip -= 1;
        }
    }
    let child = super::predictor::picked_node(app, node, records);
    app.loom.begin_batch("branch from the multiverse");
    let added = app.loom.add_child_node(node, child);
    app.loom.end_batch();
    match added {
        Ok(id) => {
            app.mode = Mode::Normal;
            super::navigate::go(app, id);
            app.touch();
            app.say(
                Level::Info,
                "new branch from the token tree (g continues it)",
            );
        }
        Err(e) => app.say(Level::Error, e.to_string()),
    }
}
