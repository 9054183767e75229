//! The three panes: the tree around the cursor, the reading pane, the branch pane.

use super::markers::{markers, preview};
use super::theme::Theme;
use crate::app::reading::{scroll_top, segments, wrap};
use crate::app::state::{App, Mode, Pane};
use crate::app::view::{Area, branch_item_height, branch_offset, tree_offset, tree_rows};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn rect(a: Area) -> Rect {
    Rect::new(a.x, a.y, a.w, a.h)
}

fn block<'a>(title: String, theme: &Theme, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title)
}

pub fn tree(frame: &mut Frame, app: &App, theme: &Theme, area: Area) {
    if area.w < 4 || area.h < 3 {
        return;
    }
    let stats = app.loom.len();
    let title = match app.loom.hoist() {
        Some(h) => format!(" Tree · hoisted at {h} · {stats} nodes "),
        None => format!(" Tree · {stats} nodes "),
    };
    let inner = area.inner();
    let rows = tree_rows(app);
    let offset = tree_offset(&rows, app.loom.cursor(), inner.h as usize);
    let width = inner.w as usize;
    let lines: Vec<Line> = rows
        .iter()
        .skip(offset)
        .take(inner.h as usize)
        .map(|row| {
            let node = app.loom.get(row.node);
            let depth = row.depth.min(width / 4);
            let mut spans = vec![Span::raw("  ".repeat(depth))];
            let has_children = app.loom.children(row.node).len();
            let glyph = if row.hidden_children > 0 {
                "▸ "
            } else if has_children > 0 && row.on_path {
                "▾ "
            } else {
                "· "
            };
            spans.push(Span::raw(glyph));
            for m in markers(app, theme, row.node) {
                spans.push(m);
            }
            let used: usize = spans.iter().map(|s| s.width()).sum();
            let text = node.map(|n| n.text.as_str()).unwrap_or("");
            let mut label = if text.trim().is_empty() {
                "(empty)".to_string()
            } else {
                preview(text, 200)
            };
            if row.hidden_children > 0 {
                label = format!("{label} (+{})", row.hidden_children);
            }
            let room = width.saturating_sub(used + 1);
            spans.push(Span::raw(" "));
            spans.push(Span::raw(preview(&label, room)));
            let mut line = Line::from(spans);
            if row.node == app.loom.cursor() {
                line = line.style(theme.selected());
            } else if node.is_some_and(|n| n.archived) {
                line = line.style(theme.dim());
            } else if row.on_path {
                line = line.style(theme.on_path());
            }
            line
        })
        .collect();
    let widget = Paragraph::new(lines).block(block(title, theme, app.focus == Pane::Tree));
    frame.render_widget(widget, rect(area));
}

pub fn reading(frame: &mut Frame, app: &App, theme: &Theme, area: Area) {
    if area.w < 4 || area.h < 3 {
        return;
    }
    let inner = area.inner();
    let view = wrap(&segments(app), inner.w as usize);
    let top = scroll_top(&view, inner.h as usize, app.reading_scroll);
    let lines: Vec<Line> = view
        .lines
        .iter()
        .skip(top)
        .take(inner.h as usize)
        .map(|l| {
            Line::from(
                l.iter()
                    .map(|(t, k)| Span::styled(t.clone(), theme.segment(*k)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let cursor = app.loom.cursor();
    let depth = app.loom.depth(cursor);
    // Counted among the siblings shown (an archived cursor counts itself); "+N archived"
    // says what the count leaves out.
    let all = app.loom.siblings(cursor);
    let siblings: Vec<_> = all
        .iter()
        .copied()
        .filter(|&s| {
            s == cursor || app.show_archived || app.loom.get(s).is_some_and(|n| !n.archived)
        })
        .collect();
    let at = siblings.iter().position(|s| *s == cursor).unwrap_or(0) + 1;
    let archived = match all.len() - siblings.len() {
        0 => String::new(),
        n => format!(" (+{n} archived)"),
    };
    let who = app
        .loom
        .get(cursor)
        .map(|n| {
            let edited = if n.edited { ", edited" } else { "" };
            match n.origin.model_name() {
                _ if !n.origin.is_model() => format!("written by hand{edited}"),
                Some(m) if !m.is_empty() => format!("{m}{edited}"),
                _ => format!("model-written{edited}"),
            }
        })
        .unwrap_or_default();
    let title = match &app.mode {
        Mode::Edit {
            target: crate::app::state::EditTarget::Memory,
            ..
        } => " Memory · what every prompt starts with · Esc keeps · ctrl-c discards ".to_string(),
        Mode::Edit { .. } => {
            " Editing · Esc keeps · ctrl-c discards · ctrl-t splits at the caret ".to_string()
        }
        Mode::Tokens { node, index } | Mode::Alternatives { node, index, .. } => {
            token_title(app, *node, *index, area.w as usize)
        }
        _ => format!(
            " Node {cursor} · depth {depth} · {at}/{}{archived} · {who}{} ",
            siblings.len(),
            if app.predictor.heatmap {
                " · heatmap"
            } else {
                ""
            }
        ),
    };
    let widget = Paragraph::new(lines).block(block(title, theme, app.focus == Pane::Reading));
    frame.render_widget(widget, rect(area));
}

/// " Token 3/12 "·the" · p 0.042 · h/l move · Enter alternatives · Esc leaves ", its key
/// hints left out from the end, whole, when the pane is narrower.
fn token_title(app: &App, node: crate::tree::NodeId, index: usize, width: usize) -> String {
    let tokens = crate::app::predictor::tokens_of(app, node).unwrap_or(&[]);
    let token = tokens.get(index);
    let p = token.map_or(0.0, |t| t.logprob.exp());
    // Spaces and line breaks made visible, and a long token cut.
    let text: String = token
        .map(|t| t.text.replace(' ', "·").replace('\n', "⏎"))
        .unwrap_or_default()
        .chars()
        .take(24)
        .collect();
    let mut parts = vec![
        format!("Token {}/{} \"{text}\"", index + 1, tokens.len()),
        format!("p {p:.3}"),
        "h/l move".to_string(),
        "Enter alternatives".to_string(),
        "Esc leaves".to_string(),
    ];
    let title = |parts: &[String]| format!(" {} ", parts.join(" · "));
    while parts.len() > 2 && title(&parts).chars().count() + 2 > width {
        parts.pop();
    }
    title(&parts)
}

pub fn branches(frame: &mut Frame, app: &App, theme: &Theme, area: Area) {
    if area.w < 4 || area.h < 3 {
        return;
    }
    let inner = area.inner();
    let children = app.shown_children(app.loom.cursor());
    let hidden =
        app.loom.children(app.loom.cursor()).len() - app.unfolded_children(app.loom.cursor()).len();
    let triage = app.mode == Mode::Triage;
    let title = match (children.len(), triage) {
        (0, _) => " Branches · none yet: g generates ".to_string(),
        (n, true) => format!(" Triage · {n} branches · y keep · x discard · g expand · Esc done "),
        (n, false) => format!(
            " Branches · {n}{} ",
            if hidden > 0 {
                format!(" (+{hidden} archived)")
            } else {
                String::new()
            }
        ),
    };
    let item_h = branch_item_height(inner.h, children.len());
    let offset = branch_offset(app.branch_sel, children.len(), item_h, inner.h);
    let width = inner.w as usize;
    let mut lines: Vec<Line> = Vec::new();
    for (i, child) in children.iter().enumerate().skip(offset) {
        if lines.len() + item_h as usize > inner.h as usize {
            break;
        }
        let Some(node) = app.loom.get(*child) else {
            continue;
        };
        let selected = i == app.branch_sel.min(children.len() - 1);
        let mut head = vec![Span::raw(format!("{:>2} ", i + 1))];
        head.extend(markers(app, theme, *child));
        let info = branch_info(app, *child);
        head.push(Span::styled(format!(" {info}"), theme.dim()));
        if item_h == 1 {
            let used: usize = head.iter().map(|s| s.width()).sum();
            head.push(Span::raw(format!(
                " {}",
                preview(&node.text, width.saturating_sub(used + 1))
            )));
        }
        let mut first = Line::from(head);
        if selected {
            first = first.style(theme.selected());
        }
        lines.push(first);
        let body = wrap(
            &[(
                node.text.trim_start().to_string(),
                crate::app::reading::Segment::Model,
            )],
            width.saturating_sub(3),
        );
        for l in body.lines.iter().take(item_h as usize - 1) {
            let text: String = l.iter().map(|(t, _)| t.as_str()).collect();
            lines.push(Line::from(vec![Span::raw("   "), Span::raw(text)]));
        }
        while !lines.len().is_multiple_of(item_h as usize) {
            lines.push(Line::from(""));
        }
    }
    let widget =
        Paragraph::new(lines).block(block(title, theme, app.focus == Pane::Branches || triage));
    frame.render_widget(widget, rect(area));
}

/// "#12 · 48 tok · lp -1.23 · weave 0.50" for a child.
fn branch_info(app: &App, id: crate::tree::NodeId) -> String {
    let Some(node) = app.loom.get(id) else {
        return String::new();
    };
    let mut parts = vec![format!("#{id}")];
    let same = crate::app::siblings::duplicates(app, id);
    if same > 1 {
        parts.push(format!("×{same} same text"));
    }
    if let Some(tokens) = node.tokens.as_ref() {
        parts.push(format!("{} tok", tokens.len()));
    }
    if let Some(lp) = node.origin.generation().and_then(|g| g.mean_logprob) {
        parts.push(format!("lp {lp:.2}"));
    }
    // The weave's score for a node it made.
    if let Some(score) = node
        .extra
        .get("weave")
        .and_then(|w| w.get("score"))
        .and_then(|s| s.as_f64())
    {
        parts.push(format!("weave {score:.2}"));
    }
    let kids = node.children().len();
    if kids > 0 {
        parts.push(format!("{kids} below"));
    }
    parts.join(" · ")
}
