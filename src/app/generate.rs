//! Asking the engine for continuations: placeholders appear at once (one undo step), the
//! request is queued, and tokens fill the nodes as they stream in.

use super::curate::writable;
use super::msg::Effect;
use super::state::{App, Level, SeedMode};
use crate::engine::ModelDescription;
use crate::session::config::check_sampling;
use crate::session::start_expansion;
use crate::tree::NodeId;

/// Generate `sampling.n` children of `parent`.
pub fn generate(app: &mut App, parent: NodeId, fx: &mut Vec<Effect>) {
    if !writable(app) {
        return;
    }
    if let super::state::EngineState::Failed(e) = &app.engine {
        let e = e.clone();
        return app.say(Level::Error, format!("the model is not available: {e}"));
    }
    let mut params = app.sampling.clone();
    params.seed = match app.seed_mode {
        SeedMode::Fixed(s) => s,
        SeedMode::Random => app.next_random() % (1 << 31),
    };
    if let Err(problem) = check_sampling(&params) {
        return app.say(
            Level::Error,
            format!("bad sampling value: {problem} (p opens the sampling panel)"),
        );
    }
    let model = app.model().cloned().unwrap_or_else(|| ModelDescription {
        model: "(loading)".into(),
        backend: app.backend_name.clone(),
        context_length: 0,
    });
    let trim = app.config.ui.trim_prompt;
    match start_expansion(
        &mut app.loom,
        &mut app.jobs,
        parent,
        &params,
        &model,
        trim,
        app.now,
    ) {
        Ok(expansion) => fx.push(Effect::Engine(expansion.request)),
        Err(e) => return app.say(Level::Error, e),
    }
    app.file.dirty = true;
}

/// Cancel every running or queued generation (and stop a weave); branches keep their
/// text, marked as cut.
pub fn cancel_all(app: &mut App) -> bool {
    // A running weave stops too: its rounds are generations like any others.
    if let Some(w) = app.weave.as_mut()
        && w.halted.is_none()
        && w.in_round()
    {
        w.stop();
    }
    let n = app.jobs.cancel_all();
    if n > 0 {
        app.say(
            Level::Info,
            format!("cancelling {n} generation{}", if n == 1 { "" } else { "s" }),
        );
    }
    n > 0
}

/// Triage: move the highlight to the next unread child, or to the next node with unread
/// children; leave triage when nothing is unread.
pub fn triage_advance(app: &mut App) {
    let cursor = app.loom.cursor();
    let children = app.shown_children(cursor);
    let unread = |app: &App, id: NodeId| app.loom.get(id).is_some_and(|n| n.unread);
    let n = children.len();
    if n > 0 {
        let start = app.branch_sel.min(n - 1);
        for k in 1..=n {
            let i = (start + k) % n;
            if unread(app, children[i]) {
                app.branch_sel = i;
                return;
            }
        }
    }
    let show_archived = app.show_archived;
    let next = app.loom.step_in_order(cursor, true, |loom, id| {
        let kids = if show_archived {
            loom.children(id).to_vec()
        } else {
            loom.visible_children(id)
        };
        id != cursor
            && loom.is_ancestor(loom.view_root(), id)
            && kids.iter().any(|c| loom.get(*c).is_some_and(|n| n.unread))
    });
    match next {
        Some(node) => {
            super::navigate::go(app, node);
            let kids = app.shown_children(node);
            app.branch_sel = kids.iter().position(|c| unread(app, *c)).unwrap_or(0);
            app.say(Level::Info, "next branch point with unread branches");
        }
        None => {
            app.mode = super::state::Mode::Normal;
            app.say(Level::Info, "triage done: no unread branches left");
        }
    }
}

/// Start triage on the cursor's children.
pub fn start_triage(app: &mut App) {
    let children = app.shown_children(app.loom.cursor());
    if children.is_empty() {
        return app.say(Level::Info, "no children to triage: g generates some");
    }
    app.branch_sel = children
        .iter()
        .position(|c| app.loom.get(*c).is_some_and(|n| n.unread))
        .unwrap_or(0);
    app.mode = super::state::Mode::Triage;
    app.say(
        Level::Info,
        "triage: y keep · x discard · g expand · j/k move · Esc done",
    );
}

/// A triage verdict on the highlighted child.
pub fn triage(app: &mut App, verdict: super::action::Action, fx: &mut Vec<Effect>) {
    use super::action::Action;
    let Some(child) = app.selected_child() else {
        return;
    };
    if !writable(app) {
        return;
    }
    let _ = app.loom.set_unread(child, false);
    match verdict {
        Action::Keep => {
            let _ = app.loom.set_bookmarked(child, true);
            app.touch();
        }
        Action::Discard => {
            let _ = app.loom.set_archived(child, true);
            app.touch();
            // The archived child left the list; the highlight now points at the next one.
            let n = app.shown_children(app.loom.cursor()).len();
            if n > 0 && app.branch_sel > 0 {
                app.branch_sel -= 1;
            }
        }
        Action::Expand => generate(app, child, fx),
        _ => return,
    }
    triage_advance(app);
}
