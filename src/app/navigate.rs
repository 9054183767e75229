//! Moving around the loom: parent, children, siblings, bookmarks, search hits, walks.

use super::state::{App, Level};
use crate::tree::NodeId;

/// Move the cursor to `node`, resetting per-node view state.
pub fn go(app: &mut App, node: NodeId) {
    if app.loom.set_cursor(node).is_err() {
        return;
    }
    app.reading_scroll = 0;
    let children = app.shown_children(node);
    let preferred = app.loom.preferred_child(node);
    app.branch_sel = preferred
        .and_then(|p| children.iter().position(|c| *c == p))
        .unwrap_or(0);
}

pub fn parent(app: &mut App) {
    let cursor = app.loom.cursor();
    if cursor == app.loom.view_root() {
        return app.say(Level::Info, "at the top (the root, or the hoisted node)");
    }
    if let Some(p) = app.loom.parent(cursor) {
        go(app, p);
    }
}

pub fn child(app: &mut App) {
    let cursor = app.loom.cursor();
    let children = app.shown_children(cursor);
    let target = app
        .loom
        .preferred_child(cursor)
        .filter(|c| children.contains(c))
        .or_else(|| children.first().copied());
    match target {
        Some(c) => go(app, c),
        None => app.say(Level::Info, "no children: press g to generate some"),
    }
}

/// The nth shown child (0-based).
pub fn nth_child(app: &mut App, n: usize) {
    match app.shown_children(app.loom.cursor()).get(n) {
        Some(c) => go(app, *c),
        None => app.say(Level::Info, format!("there is no child {}", n + 1)),
    }
}

/// Step among the cursor's siblings (`delta` = -1 or +1), wrapping.
pub fn sibling(app: &mut App, delta: isize) {
    let cursor = app.loom.cursor();
    let Some(parent) = app.loom.parent(cursor) else {
        return;
    };
    if cursor == app.loom.view_root() {
        return;
    }
    let mut siblings = app.shown_children(parent);
    if !siblings.contains(&cursor) {
        siblings = app.loom.children(parent).to_vec();
    }
    let Some(at) = siblings.iter().position(|s| *s == cursor) else {
        return;
    };
    let n = siblings.len() as isize;
    let next = siblings[((at as isize + delta).rem_euclid(n)) as usize];
    if next != cursor {
        go(app, next);
    }
}

pub fn root(app: &mut App) {
    let root = app.loom.view_root();
    go(app, root);
}

pub fn bookmark_step(app: &mut App, forward: bool) {
    let cursor = app.loom.cursor();
    let next = if forward {
        app.loom.next_bookmark(cursor)
    } else {
        app.loom.prev_bookmark(cursor)
    };
    match next {
        Some(b) if b != cursor => {
            go(app, b);
            app.say(Level::Info, format!("bookmark: node {b}"));
        }
        Some(_) => app.say(Level::Info, "this is the only bookmark"),
        None => app.say(Level::Info, "no bookmarks yet: b marks the current node"),
    }
}

pub fn search_step(app: &mut App, forward: bool) {
    if app.search.hits.is_empty() {
        return app.say(Level::Info, "no search: / searches node texts");
    }
    let hits = app.search.hits.clone();
    let cursor = app.loom.cursor();
    match app
        .loom
        .step_in_order(cursor, forward, |_, id| hits.contains(&id))
    {
        Some(hit) => {
            go(app, hit);
            let i = hits.iter().position(|h| *h == hit).unwrap_or(0);
            app.say(
                Level::Info,
                // Quoted as typed: Debug quoting would double a regex's backslashes.
                format!("match {}/{} for “{}”", i + 1, hits.len(), app.search.query),
            );
        }
        None => app.say(Level::Info, "no match in view"),
    }
}

pub fn random_walk(app: &mut App) {
    let cursor = app.loom.cursor();
    let seed = app.next_random();
    let mut state = seed;
    let path = app.loom.random_walk(cursor, |n| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    });
    match path.last() {
        Some(leaf) => {
            let leaf = *leaf;
            go(app, leaf);
            let n = path.len();
            let steps = if n == 1 { "step" } else { "steps" };
            app.say(Level::Info, format!("walked {n} {steps} down"));
        }
        None => app.say(Level::Info, "nowhere to walk: no children"),
    }
}
