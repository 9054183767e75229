//! The predictor's popups: a token's alternatives and the block multiverse.

use super::overlays::{boxed, centred};
use super::theme::Theme;
use crate::app::multiverse::{TokenTree, rows};
use crate::app::predictor::{alternatives, band, tokens_of};
use crate::app::state::App;
use crate::app::view::Area;
use crate::tree::NodeId;
use ratatui::Frame;
use ratatui::text::{Line, Span};

/// A bar of `width` cells for a probability.
fn bar(p: f32, width: usize) -> String {
    let filled = ((p.clamp(0.0, 1.0) * width as f32).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "·".repeat(width - filled))
}

/// A token's text as it reads in a list: spaces and line breaks made visible.
fn shown(text: &str) -> String {
    let t = text.replace('\n', "⏎").replace('\t', "⇥");
    if t.is_empty() {
        "∅".into()
    } else {
        format!("{t:?}")
    }
}

pub fn alternatives_popup(
    frame: &mut Frame,
    app: &App,
    theme: &Theme,
    screen: Area,
    (node, index, selected): (NodeId, usize, usize),
) {
    let alts = alternatives(app, node, index);
    let area = centred(screen, 56, alts.len() as u16 + 6);
    let token = tokens_of(app, node).and_then(|t| t.get(index));
    let mut lines = Vec::new();
    if let Some(t) = token {
        lines.push(Line::from(format!(
            " token {} of node {node}: {}  p={:.3}",
            index + 1,
            shown(&t.text),
            t.logprob.exp()
        )));
    }
    lines.push(Line::from(""));
    if alts.is_empty() {
        lines.push(Line::styled(
            " no alternatives were recorded here",
            theme.dim(),
        ));
    }
    // Row numbers take the width of the largest, so the 10th row lines up with the 9th.
    let digits = alts.len().max(1).to_string().len();
    for (i, (alt, same)) in alts.iter().enumerate() {
        let p = alt.logprob.exp();
        let mark = if *same { " ◂ here" } else { "" };
        let line = Line::from(vec![
            Span::raw(format!(" {:>digits$} {:>6.3} ", i + 1, p)),
            Span::styled(bar(p, 10), theme.heat(band(alt.logprob), true)),
            Span::raw(format!(" {}{mark}", shown(&alt.text))),
        ]);
        lines.push(if i == selected {
            line.style(theme.selected())
        } else {
            line
        });
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " j/k choose · Enter or 1-9 branches here and continues · Esc back",
        theme.dim(),
    ));
    boxed(frame, area, "Alternatives", lines, None);
}

pub fn multiverse_popup(
    frame: &mut Frame,
    theme: &Theme,
    screen: Area,
    result: Option<&Result<Vec<TokenTree>, String>>,
    selected: usize,
) {
    let shown_rows = match result {
        Some(Ok(roots)) => rows(roots).len().max(1),
        _ => 1,
    };
    let area = centred(
        screen,
        screen.w.saturating_sub(8).min(70),
        (shown_rows as u16)
            .saturating_add(5)
            .min(screen.h.saturating_sub(4)),
    );
    let room = area.h.saturating_sub(4) as usize;
    let mut lines = Vec::new();
    match result {
        None => lines.push(Line::from(" asking the model…")),
        Some(Err(e)) => lines.push(Line::from(format!(" failed: {e}"))),
        Some(Ok(roots)) if roots.is_empty() => {
            lines.push(Line::from(" no path is probable enough to show"))
        }
        Some(Ok(roots)) => {
            let all = rows(roots);
            let start = selected.saturating_sub(room.saturating_sub(1));
            for (i, row) in all.iter().enumerate().skip(start).take(room) {
                let Some(t) = row.token() else { continue };
                let line = Line::from(vec![
                    Span::raw(format!(" {}", "  ".repeat(row.depth))),
                    Span::styled(
                        bar(t.path_prob, 8),
                        theme.heat(band(t.path_prob.ln()), true),
                    ),
                    Span::raw(format!(" {:>5.3} {}", t.path_prob, shown(&t.text))),
                ]);
                lines.push(if i == selected {
                    line.style(theme.selected())
                } else {
                    line
                });
            }
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " bar: path probability · j/k move · Enter branches · Esc closes",
        theme.dim(),
    ));
    boxed(frame, area, "Multiverse", lines, None);
}
