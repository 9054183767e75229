//! Popups drawn over the panes: help, palette, sampling panel, context inspector.

use super::panes::rect;
use super::theme::Theme;
use crate::app::keymap::KeyContext;
use crate::app::palette::matches;
use crate::app::reading::{Segment, wrap};
use crate::app::sampling_panel::{FIELDS, value};
use crate::app::state::{App, Mode};
use crate::app::view::Area;
use crate::session::prompt::prompt_for;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// A centred box `w` x `h` (clamped to the screen).
pub(super) fn centred(screen: Area, w: u16, h: u16) -> Area {
    let w = w.min(screen.w);
    let h = h.min(screen.h);
    Area {
        x: screen.x + (screen.w - w) / 2,
        y: screen.y + (screen.h - h) / 2,
        w,
        h,
    }
}

/// A bordered popup; long lines wrap when `scroll` is Some (scrollable text), else are cut.
pub(super) fn boxed(
    frame: &mut Frame,
    area: Area,
    title: &str,
    lines: Vec<Line<'static>>,
    scroll: Option<u16>,
) {
    frame.render_widget(Clear, rect(area));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "));
    let mut widget = Paragraph::new(lines).block(block);
    if let Some(scroll) = scroll {
        widget = widget.wrap(Wrap { trim: false }).scroll((scroll, 0));
    }
    frame.render_widget(widget, rect(area));
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme, screen: Area) {
    match &app.mode {
        Mode::Help { scroll } => help(frame, app, theme, screen, *scroll),
        Mode::Palette { input, selected } => {
            let area = centred(
                screen,
                screen.w.saturating_sub(8).min(90),
                screen.h.saturating_sub(4).min(18),
            );
            let mut lines = vec![Line::from(format!(":{}▏", input.text())), Line::from("")];
            for (i, entry) in matches(input.text())
                .iter()
                .take(area.h.saturating_sub(4) as usize)
                .enumerate()
            {
                let line = Line::from(vec![
                    Span::raw(format!("{:<20}", entry.name())),
                    Span::styled(entry.doc().to_string(), theme.dim()),
                ]);
                lines.push(if i == *selected {
                    line.style(theme.selected())
                } else {
                    line
                });
            }
            boxed(
                frame,
                area,
                "Command palette · Enter runs · Esc closes",
                lines,
                None,
            );
        }
        Mode::Sampling { field, typing } => {
            let area = centred(screen, 60, FIELDS.len() as u16 + 5);
            let mut lines = Vec::new();
            for (i, name) in FIELDS.iter().enumerate() {
                let shown = match typing {
                    Some(input) if i == *field => format!("{}▏", input.text()),
                    _ => value(app, name),
                };
                let line = Line::from(format!(" {name:<20} {shown}"));
                lines.push(if i == *field {
                    line.style(theme.selected())
                } else {
                    line
                });
            }
            lines.push(Line::from(""));
            lines.push(Line::styled(
                " ↑↓ choose · ←→ change · Enter type a value · Esc close",
                theme.dim(),
            ));
            boxed(frame, area, "Sampling", lines, None);
        }
        Mode::Context {
            scroll, inspection, ..
        } => context(frame, app, theme, screen, *scroll, inspection),
        Mode::Alternatives {
            node,
            index,
            selected,
        } => super::predictor::alternatives_popup(
            frame,
            app,
            theme,
            screen,
            (*node, *index, *selected),
        ),
        Mode::Stats { scroll } => super::stats::draw(frame, app, theme, screen, *scroll),
        Mode::Multiverse {
            result, selected, ..
        } => super::predictor::multiverse_popup(frame, theme, screen, result.as_ref(), *selected),
        _ => {}
    }
}

fn help(frame: &mut Frame, app: &App, theme: &Theme, screen: Area, scroll: u16) {
    let area = centred(
        screen,
        screen.w.saturating_sub(6).min(100),
        screen.h.saturating_sub(2),
    );
    let mut lines = Vec::new();
    for context in [KeyContext::Normal, KeyContext::Triage] {
        lines.push(Line::styled(
            format!("── {} ──", context.name()),
            theme.on_path(),
        ));
        for (action, keys) in app.keymap.bindings(context) {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            lines.push(Line::from(vec![
                Span::raw(format!(" {:<20} ", keys.join(" "))),
                Span::styled(format!("{:<18} ", action.name()), theme.dim()),
                Span::raw(action.doc().to_string()),
            ]));
        }
        lines.push(Line::from(""));
    }
    lines.push(Line::styled("── editing ──", theme.on_path()));
    lines.push(Line::from(" arrows, home, end, ctrl-←/→ move · enter new line · esc or ctrl-s keep · ctrl-c discard · ctrl-t split"));
    lines.push(Line::from(""));
    lines.push(Line::from(" Mouse: click a node to select it, the wheel scrolls. Hold Shift to select text in most terminals."));
    boxed(
        frame,
        area,
        "Keys · j/k scroll · Esc closes",
        lines,
        Some(scroll),
    );
}

fn context(
    frame: &mut Frame,
    app: &App,
    theme: &Theme,
    screen: Area,
    scroll: u16,
    inspection: &Option<Result<crate::app::state::ContextFit, String>>,
) {
    let area = centred(
        screen,
        screen.w.saturating_sub(4),
        screen.h.saturating_sub(2),
    );
    let prompt = prompt_for(&app.loom, app.loom.cursor(), app.config.ui.trim_prompt);
    let (summary, cut) = match inspection {
        None => ("counting tokens…".to_string(), 0),
        Some(Ok(i)) if i.dropped_tokens > 0 => (
            format!(
                "{} tokens; the window is {} with {} kept for the answer: the first {} tokens are cut (dimmed)",
                i.tokens, i.context_length, app.sampling.max_tokens, i.dropped_tokens
            ),
            i.kept_from_byte,
        ),
        Some(Ok(i)) => (
            format!(
                "{} tokens of {} in the window: it fits",
                i.tokens, i.context_length
            ),
            0,
        ),
        Some(Err(e)) => (
            format!("~{} tokens (estimated: {e})", prompt.text.len() / 4),
            0,
        ),
    };
    let memory = prompt.memory_len;
    let mut segments = Vec::new();
    let text = &prompt.text;
    let mut bounds = vec![
        0,
        cut.min(text.len()),
        memory.max(cut).min(text.len()),
        text.len(),
    ];
    bounds.dedup();
    for pair in bounds.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a >= b || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        let kind = if b <= cut {
            Segment::Note
        } else if b <= memory {
            Segment::Human
        } else {
            Segment::Model
        };
        segments.push((text[a..b].to_string(), kind));
    }
    let inner_w = area.w.saturating_sub(2) as usize;
    let mut lines = vec![
        Line::styled(summary, theme.on_path()),
        Line::styled(
            format!(
                "memory: {} bytes (shown like human text) · story: {} bytes",
                memory,
                text.len() - memory
            ),
            theme.dim(),
        ),
        Line::from(""),
    ];
    for l in wrap(&segments, inner_w).lines {
        lines.push(Line::from(
            l.into_iter()
                .map(|(t, k)| Span::styled(t, theme.segment(k)))
                .collect::<Vec<_>>(),
        ));
    }
    boxed(
        frame,
        area,
        "Context: exactly what the model is sent · j/k scroll · Esc closes",
        lines,
        Some(scroll),
    );
}
