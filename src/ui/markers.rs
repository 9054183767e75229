//! The glyphs that mark a node's state, shared by the tree and branch panes.

use super::theme::Theme;
use crate::app::state::App;
use crate::tree::NodeId;
use ratatui::text::Span;

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Markers for a node: generating, bookmarked, unread, archived, cut, failed.
pub fn markers(app: &App, theme: &Theme, id: NodeId) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let Some(node) = app.loom.get(id) else {
        return out;
    };
    if app.jobs.is_generating(id) {
        let frame = SPINNER[(app.now / 100) as usize % SPINNER.len()];
        out.push(Span::styled(frame, theme.generating()));
    }
    if node.bookmarked {
        out.push(Span::styled("★", theme.bookmark()));
    }
    if node.unread {
        out.push(Span::styled("●", theme.unread()));
    }
    if node.archived {
        out.push(Span::styled("×", theme.dim()));
    }
    match node.origin.generation().and_then(|g| g.finish.as_deref()) {
        Some("cancelled") => out.push(Span::styled("✂", theme.dim())),
        Some("error") => out.push(Span::styled(
            "!",
            theme.level(crate::app::state::Level::Error),
        )),
        _ => {}
    }
    out
}

/// The first line of a text, whitespace folded, cut to `max` characters.
pub fn preview(text: &str, max: usize) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        folded
    } else {
        let cut: String = folded.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
