//! Curating: bookmarks, archive, delete, edit, add, split, merge, reorder, undo.

use super::msg::Effect;
use super::navigate::go;
use super::state::{App, EditTarget, Level, Mode};
use super::textbuf::TextBuf;
use crate::tree::{NodeId, TreeError};

/// Refuse changes to a read-only file, saying why.
pub fn writable(app: &mut App) -> bool {
    if let Some(reason) = app.file.read_only.clone() {
        app.say(Level::Warning, format!("read-only: {reason}"));
        return false;
    }
    true
}

/// Run a change on the loom; report a tree error, or note the change for autosave.
fn done<T>(
    app: &mut App,
    change: impl FnOnce(&mut crate::tree::Loom) -> Result<T, TreeError>,
) -> Option<T> {
    match change(&mut app.loom) {
        Ok(v) => {
            app.touch();
            Some(v)
        }
        Err(e) => {
            app.say(Level::Warning, e.to_string());
            None
        }
    }
}

pub fn toggle_bookmark(app: &mut App) {
    if !writable(app) {
        return;
    }
    let id = app.loom.cursor();
    let on = !app.loom.get(id).is_some_and(|n| n.bookmarked);
    let result = app.loom.set_bookmarked(id, on);
    done(app, |_| result);
}

/// Archive (or unarchive) the cursor node; the cursor moves to a shown sibling or up.
pub fn toggle_archive(app: &mut App) {
    if !writable(app) {
        return;
    }
    let id = app.loom.cursor();
    let on = !app.loom.get(id).is_some_and(|n| n.archived);
    if done(app, |l| l.set_archived(id, on)).is_some() && on && !app.show_archived {
        let parent = app.loom.parent(id);
        let next = parent
            .and_then(|p| app.shown_children(p).first().copied())
            .or(parent);
        if let Some(n) = next {
            go(app, n);
        }
        app.say(Level::Info, "archived (X shows archived nodes, u undoes)");
    }
}

pub fn delete(app: &mut App) {
    if !writable(app) {
        return;
    }
    let id = app.loom.cursor();
    if app.jobs.is_generating(id) {
        return app.say(
            Level::Warning,
            "this node is being generated: Esc cancels first",
        );
    }
    let count = app.loom.stats(id).nodes;
    if done(app, |l| l.delete(id)).is_some() {
        let cursor = app.loom.cursor();
        go(app, cursor);
        app.say(
            Level::Info,
            format!(
                "deleted {count} node{} (u undoes)",
                if count == 1 { "" } else { "s" }
            ),
        );
    }
}

pub fn delete_children(app: &mut App) {
    if writable(app)
        && let Some(n) = done(app, |l| l.delete_children(l.cursor()))
    {
        app.branch_sel = 0;
        app.say(Level::Info, format!("deleted {n} children (u undoes)"));
    }
}

pub fn delete_siblings(app: &mut App) {
    if writable(app)
        && let Some(n) = done(app, |l| l.delete_siblings(l.cursor()))
    {
        app.say(Level::Info, format!("deleted {n} siblings (u undoes)"));
    }
}

pub fn undo(app: &mut App, redo: bool) {
    if !writable(app) {
        return;
    }
    let label = if redo {
        app.loom.redo_label()
    } else {
        app.loom.undo_label()
    }
    .map(str::to_string);
    let result = if redo {
        app.loom.redo()
    } else {
        app.loom.undo()
    };
    if let Some(focus) = done(app, |_| result) {
        if let Some(f) = focus {
            go(app, f);
        }
        let verb = if redo { "redid" } else { "undid" };
        app.say(Level::Info, format!("{verb} {}", label.unwrap_or_default()));
    }
}

/// Open the in-place editor.
pub fn start_edit(app: &mut App, target: EditTarget) {
    if !writable(app) {
        return;
    }
    let cursor = app.loom.cursor();
    if matches!(target, EditTarget::Node(_) | EditTarget::Split(_))
        && app.jobs.is_generating(cursor)
    {
        return app.say(
            Level::Warning,
            "this node is being generated: Esc cancels first",
        );
    }
    let buf = match target {
        EditTarget::Node(id) => {
            let text = app.loom.get(id).map(|n| n.text.clone()).unwrap_or_default();
            TextBuf::new(&text, text.len())
        }
        EditTarget::Split(id) => {
            let text = app.loom.get(id).map(|n| n.text.clone()).unwrap_or_default();
            if text.chars().count() < 2 {
                return app.say(Level::Info, "too short to split");
            }
            let middle = text.len() / 2;
            let caret = text[..middle]
                .rfind(' ')
                .map(|i| i + 1)
                .filter(|i| *i > 0)
                .unwrap_or(middle);
            TextBuf::new(&text, caret)
        }
        EditTarget::NewChild(_) | EditTarget::NewSibling(_) => TextBuf::default(),
        EditTarget::Memory => TextBuf::new(&app.loom.memory, app.loom.memory.len()),
    };
    if matches!(target, EditTarget::NewSibling(id) if app.loom.parent(id).is_none()) {
        return app.say(Level::Info, "the root has no siblings");
    }
    app.mode = Mode::Edit { target, buf };
}

/// Keep an edit (from the in-place editor or $EDITOR).
pub fn apply_edit(app: &mut App, target: EditTarget, text: String, fx: &mut Vec<Effect>) {
    let _ = fx;
    app.mode = Mode::Normal;
    match target {
        EditTarget::Node(id) => {
            if app.loom.get(id).is_some_and(|n| n.text == text) {
                app.say(Level::Info, format!("node {id} unchanged"));
            } else if done(app, |l| l.set_text(id, &text)).is_some() {
                app.say(Level::Info, format!("node {id} edited (u undoes)"));
            }
        }
        EditTarget::NewChild(parent) => add_written(app, parent, text, false),
        EditTarget::NewSibling(id) => add_written(app, id, text, true),
        EditTarget::Memory => {
            if app.loom.memory != text {
                app.loom.memory = text;
                app.touch();
                app.say(
                    Level::Info,
                    "memory set: it is prepended to every prompt (c shows the context)",
                );
            }
        }
        EditTarget::Split(_) => {}
    }
}

fn add_written(app: &mut App, at: NodeId, text: String, sibling: bool) {
    if text.is_empty() {
        return app.say(Level::Info, "nothing written, nothing added");
    }
    let result = if sibling {
        app.loom.add_sibling(at, &text)
    } else {
        app.loom.add_child(at, &text)
    };
    if let Some(id) = done(app, |_| result) {
        go(app, id);
    }
}

/// Split the node at a character offset; the cursor stays on the part after the split.
pub fn split_at(app: &mut App, id: NodeId, char_offset: usize) {
    app.mode = Mode::Normal;
    if let Some(upper) = done(app, |l| l.split(id, char_offset)) {
        go(app, id);
        app.say(
            Level::Info,
            format!("split: the text before the caret is now node {upper}"),
        );
    }
}

pub fn merge(app: &mut App) {
    if !writable(app) {
        return;
    }
    let id = app.loom.cursor();
    if let Some(parent) = done(app, |l| l.merge_into_parent(l.cursor())) {
        go(app, parent);
        app.say(
            Level::Info,
            format!("merged node {id} into its parent {parent} (u undoes)"),
        );
    }
}

pub fn clone(app: &mut App) {
    if writable(app)
        && let Some(copy) = done(app, |l| l.clone_subtree(l.cursor(), None))
    {
        go(app, copy);
        app.say(Level::Info, "copied the subtree as the next sibling");
    }
}

/// Move the cursor node one place among its siblings.
pub fn shift(app: &mut App, delta: isize) {
    if !writable(app) {
        return;
    }
    let id = app.loom.cursor();
    let Some(i) = app.loom.index_in_parent(id) else {
        return;
    };
    let n = app.loom.siblings(id).len() as isize;
    let to = i as isize + delta;
    if (0..n).contains(&to) {
        if done(app, |l| l.reorder(id, to as usize)).is_some() {
            app.say(
                Level::Info,
                format!("moved to place {} of {n} among its siblings", to + 1),
            );
        }
    } else {
        let end = if delta < 0 { "first" } else { "last" };
        app.say(Level::Info, format!("already the {end} of its siblings"));
    }
}
