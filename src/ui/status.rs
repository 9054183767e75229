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
            Paragraph::new(info_line(app, area.w as usize)).style(theme.status_bar()),
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

/// One field of the info line, with shorter forms to fall back to (the last may be empty:
/// the field is then left out).
struct Field {
    forms: Vec<String>,
    /// Which form is shown.
    at: usize,
}

impl Field {
    fn new(forms: Vec<String>) -> Field {
        Field { forms, at: 0 }
    }

    fn shown(&self) -> &str {
        &self.forms[self.at]
    }
}

/// File, model, jobs, weave, bits and sampling, fitted to `width` columns: when they do not
/// fit, fields give way by priority (path bits first, then the model's name, the weave, the
/// jobs, the sampling values, the file last), each to a shorter form or out altogether,
/// never cut mid-word.
fn info_line(app: &App, width: usize) -> String {
    // In display order; `shrink` lists the indices in the order they give way.
    let mut fields = info_fields(app);
    let shrink = [4usize, 1, 3, 2, 5, 0];
    let line = |fields: &[Field]| {
        let parts: Vec<&str> = fields
            .iter()
            .map(Field::shown)
            .filter(|s| !s.is_empty())
            .collect();
        format!(" {} ", parts.join(" │ "))
    };
    for &i in &shrink {
        while line(&fields).chars().count() > width && fields[i].at + 1 < fields[i].forms.len() {
            fields[i].at += 1;
        }
    }
    line(&fields)
}

fn info_fields(app: &App) -> Vec<Field> {
    let name = app
        .file
        .path
        .file_name()
        .map_or("(scratch)".into(), |n| n.to_string_lossy().into_owned());
    let mark = if app.file.read_only.is_some() {
        "[read-only]"
    } else if app.file.save_error.is_some() {
        "[NOT SAVED]"
    } else if app.file.dirty {
        "[+]"
    } else {
        "[saved]"
    };
    let file = Field::new(vec![format!("{name} {mark}"), mark.to_string()]);
    let engine = Field::new(match &app.engine {
        EngineState::Loading { progress, step } => vec![
            format!(
                "{}: loading {:.0}% {step}",
                app.backend_name,
                progress * 100.0
            ),
            format!("loading {:.0}%", progress * 100.0),
            String::new(),
        ],
        EngineState::Ready(m) => vec![
            format!("{}: {}", app.backend_name, m.model),
            m.model.clone(),
            String::new(),
        ],
        EngineState::Failed(_) => vec![
            format!("{}: failed (see the log)", app.backend_name),
            "model failed".into(),
        ],
    });
    let running = app.jobs.expansions().count();
    let jobs = Field::new(if running > 0 {
        let rate = app
            .jobs
            .rate(app.now)
            .map_or(String::new(), |r| format!(" · {r:.0} tok/s"));
        let s = if running == 1 { "" } else { "s" };
        vec![
            format!("⟳ {running} job{s}{rate} · Esc cancels"),
            format!("⟳ {running} job{s}{rate}"),
            format!("⟳ {running}"),
        ]
    } else {
        vec![String::new()]
    });
    let weave = Field::new(match &app.weave {
        Some(w) if w.halted.is_none() => {
            let r = &w.report;
            let state = if w.paused { "paused" } else { "weaving" };
            vec![
                format!("{state} · {} of {} tok", r.tokens_used, w.budget_tokens),
                state.to_string(),
                String::new(),
            ]
        }
        _ => vec![String::new()],
    });
    let bits = Field::new(
        match crate::app::predictor::path_bits(app, app.loom.cursor()) {
            Some((sel, Some(int))) => vec![format!("sel {sel:.1}b int {int:.1}b"), String::new()],
            Some((sel, None)) if sel > 0.0 => vec![format!("sel {sel:.1}b"), String::new()],
            _ => vec![String::new()],
        },
    );
    let p = &app.sampling;
    let sampling = Field::new(vec![
        format!("n={} max={} t={:.2}", p.n, p.max_tokens, p.temperature),
        format!("n={} t={:.2}", p.n, p.temperature),
        String::new(),
    ]);
    vec![file, engine, jobs, weave, bits, sampling]
}
