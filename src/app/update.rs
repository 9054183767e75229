//! The update function: one message in, state changed, effects out. No I/O, no clock, no
//! terminal: tests drive it directly.

use super::msg::{Effect, Msg};
use super::state::{App, EditTarget, Level, Mode};
use super::{engine_events, input, view};
use crossterm::event::{KeyEventKind, MouseButton, MouseEvent, MouseEventKind};

/// Apply one message; return what the runtime must do.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Tick(now) => {
            app.now = now;
            if app.file.save_due.is_some_and(|due| due <= now) {
                app.file.save_due = None;
                fx.push(Effect::Save);
            }
        }
        Msg::Resize(w, h) => app.screen = (w, h),
        Msg::Key(key) if key.kind != KeyEventKind::Release => input::key(app, key, &mut fx),
        Msg::Key(_) => {}
        Msg::Paste(text) => input::paste(app, &text),
        Msg::Mouse(mouse) => on_mouse(app, mouse),
        Msg::Engine(event) => engine_events::handle(app, event, &mut fx),
        Msg::EditorClosed { target, result } => match result {
            Ok(text) => super::curate::apply_edit(app, target, text, &mut fx),
            Err(e) => app.say(Level::Error, format!("the editor failed: {e}")),
        },
    }
    fx
}

fn on_mouse(app: &mut App, mouse: MouseEvent) {
    if !app.config.ui.mouse {
        return;
    }
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if !matches!(app.mode, Mode::Normal | Mode::Triage) {
                return;
            }
            match view::node_at(app, mouse.column, mouse.row) {
                Some((node, true)) => {
                    let children = app.shown_children(app.loom.cursor());
                    if let Some(i) = children.iter().position(|c| *c == node) {
                        if app.branch_sel == i && app.mode == Mode::Normal {
                            super::navigate::go(app, node);
                        } else {
                            app.branch_sel = i;
                        }
                    }
                }
                Some((node, false)) => super::navigate::go(app, node),
                None => {}
            }
        }
        MouseEventKind::ScrollUp => app.reading_scroll += 3,
        MouseEventKind::ScrollDown => app.reading_scroll -= 3,
        _ => {}
    }
}

impl App {
    /// The runtime reports how a save went.
    pub fn saved(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.file.dirty = false;
                self.file.save_due = None;
                if self.file.save_error.take().is_some() {
                    self.say(Level::Info, "saved again: the earlier problem is gone");
                }
            }
            Err(e) => {
                self.say(
                    Level::Error,
                    format!("not saved: {e} (your work is still in memory; retrying)"),
                );
                self.file.save_error = Some(e);
                self.file.save_due = Some(self.now + 5000);
            }
        }
    }

    /// Is the user typing text (so a paste goes into it)?
    pub fn is_editing(&self) -> bool {
        matches!(
            self.mode,
            Mode::Edit { .. } | Mode::Search(_) | Mode::Palette { .. }
        ) || matches!(
            self.mode,
            Mode::Sampling {
                typing: Some(_),
                ..
            }
        )
    }

    /// The edit target, when editing in place.
    pub fn edit_target(&self) -> Option<EditTarget> {
        match &self.mode {
            Mode::Edit { target, .. } => Some(*target),
            _ => None,
        }
    }
}
