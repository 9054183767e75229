//! The two status lines: a message (or key hints) above; file, model, jobs and sampling below.

use super::panes::rect;
use super::theme::Theme;
use crate::app::action::Action;
use crate::app::keymap::KeyContext;
use crate::app::state::{App, EngineState, Mode};
use crate::app::view::Area;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// How long a message stays before the key hints come back.
const MESSAGE_MS: u64 = 8000;

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, area: Area) {
    if area.h == 0 {
        return;
    }
    let top = Area { h: 1, ..area };
    frame.render_widget(Paragraph::new(message_line(app, theme)), rect(top));
    if area.h > 1 {
        let bottom = Area {
            y: area.y + 1,
            h: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(info_line(app)).style(theme.status_bar()),
            rect(bottom),
        );
    }
}

fn message_line(app: &App, theme: &Theme) -> Line<'static> {
    if let Mode::Search(input) = &app.mode {
        return Line::from(format!(
            "/{}▏  (Enter searches · re: for a regex · Esc cancels)",
            input.text()
        ));
    }
    if let Some(msg) = &app.status
        && app.now.saturating_sub(msg.at) < MESSAGE_MS
    {
        return Line::from(Span::styled(msg.text.clone(), theme.level(msg.level)));
    }
    if let Some(e) = &app.file.save_error {
        return Line::from(Span::styled(
            format!("not saved: {e}"),
            theme.level(crate::app::state::Level::Error),
        ));
    }
    Line::from(Span::styled(hints(app), theme.dim()))
}

fn hints(app: &App) -> String {
    let k = |a: Action| {
        app.keymap
            .keys_for(KeyContext::Normal, a)
            .split(", ")
            .next()
            .unwrap_or("")
            .to_string()
    };
    match app.mode {
        Mode::Triage => {
            "triage: y keep · x discard · g expand · j/k move · l enter · Esc done".into()
        }
        Mode::Edit { .. } => {
            "editing: Esc keeps · ctrl-c discards · ctrl-t splits at the caret".into()
        }
        _ => format!(
            "{} generate · hjkl move · {} bookmark · {} archive · {} edit · {} triage · {} undo · {} help · {} palette · {} quit",
            k(Action::Generate),
            k(Action::Bookmark),
            k(Action::Archive),
            k(Action::Edit),
            k(Action::Triage),
            k(Action::Undo),
            k(Action::Help),
            k(Action::Palette),
            k(Action::Quit)
        ),
    }
}

fn info_line(app: &App) -> String {
    let name = app
        .file
        .path
        .file_name()
        .map_or("(scratch)".into(), |n| n.to_string_lossy().into_owned());
    let file = if app.file.read_only.is_some() {
        format!("{name} [read-only]")
    } else if app.file.save_error.is_some() {
        format!("{name} [NOT SAVED]")
    } else if app.file.dirty {
        format!("{name} [+]")
    } else {
        format!("{name} [saved]")
    };
    let engine = match &app.engine {
        EngineState::Loading { progress, step } => format!(
            "{}: loading {:.0}% {step}",
            app.backend_name,
            progress * 100.0
        ),
        EngineState::Ready(m) => format!("{}: {}", app.backend_name, m.model),
        EngineState::Failed(_) => format!("{}: failed (see the log)", app.backend_name),
    };
    let running = app.jobs.expansions().count();
    let jobs = if running > 0 {
        let rate = app
            .jobs
            .rate(app.now)
            .map_or(String::new(), |r| format!(" · {r:.0} tok/s"));
        format!(
            " │ ⟳ {running} job{}{rate} · Esc cancels",
            if running == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let bits = match crate::app::predictor::path_bits(app, app.loom.cursor()) {
        Some((sel, Some(int))) => format!(" │ sel {sel:.1}b int {int:.1}b"),
        Some((sel, None)) if sel > 0.0 => format!(" │ sel {sel:.1}b"),
        _ => String::new(),
    };
    let p = &app.sampling;
    format!(
        " {file} │ {engine}{jobs}{bits} │ n={} max={} t={:.2} ",
        p.n, p.max_tokens, p.temperature
    )
}
