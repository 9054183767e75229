//! Ordering the cursor's siblings: by how probable the model found them, or by age. One
//! undo step each; the hand order stays editable with move_up / move_down.

use super::curate::writable;
use super::predictor::tokens_of;
use super::state::{App, Level};
use crate::tree::NodeId;
use std::cmp::Ordering;

/// Mean logprob of a node's text: its generation's record, else its tokens (or scores).
pub fn mean_logprob(app: &App, id: NodeId) -> Option<f32> {
    let node = app.loom.get(id)?;
    if !node.edited
        && let Some(lp) = node.origin.generation().and_then(|g| g.mean_logprob)
    {
        return Some(lp);
    }
    let tokens = tokens_of(app, id)?;
    Some(tokens.iter().map(|t| t.logprob).sum::<f32>() / tokens.len() as f32)
}

/// How to order siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    /// Most probable first; siblings with no probabilities last.
    MeanLogprob,
    /// Oldest first.
    Time,
}

pub fn sort(app: &mut App, by: SortBy) {
    let cursor = app.loom.cursor();
    let Some(parent) = app.loom.parent(cursor) else {
        return app.say(Level::Info, "the root has no siblings to sort");
    };
    if !writable(app) {
        return;
    }
    let mut order: Vec<NodeId> = app.loom.children(parent).to_vec();
    let key = |id: &NodeId| match by {
        SortBy::MeanLogprob => mean_logprob(app, *id).map_or(f64::NEG_INFINITY, f64::from),
        SortBy::Time => app.loom.get(*id).map_or(0.0, |n| -(n.created as f64)),
    };
    order.sort_by(|a, b| key(b).partial_cmp(&key(a)).unwrap_or(Ordering::Equal));
    if order.as_slice() == app.loom.children(parent) {
        return app.say(Level::Info, "the siblings are already in that order");
    }
    app.loom.begin_batch("sort siblings");
    let mut result = Ok(());
    for (i, id) in order.iter().enumerate() {
        result = result.and_then(|()| app.loom.reorder(*id, i));
    }
    app.loom.end_batch();
    if let Err(e) = result {
        return app.say(Level::Error, e.to_string());
    }
    app.touch();
    let how = match by {
        SortBy::MeanLogprob => "most probable first",
        SortBy::Time => "oldest first",
    };
    app.say(Level::Info, format!("siblings sorted, {how} (u undoes)"));
}

/// How many of a node's siblings (itself included, archived ones only when shown) have
/// exactly its text; 1 when it is unique or empty. The views fold the later ones into the
/// first (`App::shown_children`) and show this count on it.
pub fn duplicates(app: &App, id: NodeId) -> usize {
    let Some(node) = app.loom.get(id) else {
        return 0;
    };
    // Branches still being written say nothing yet: two that start alike are not copies.
    if node.text.is_empty() || app.jobs.is_generating(id) {
        return 1;
    }
    let Some(parent) = app.loom.parent(id) else {
        return 1;
    };
    app.unfolded_children(parent)
        .iter()
        .filter(|c| !app.jobs.is_generating(**c))
        .filter(|c| app.loom.get(**c).is_some_and(|n| n.text == node.text))
        .count()
}
