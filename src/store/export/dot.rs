//! Graphviz DOT, written by hand: one box per node labelled with its first ~40 characters,
//! the full text (up to a limit) as the tooltip, bookmarked nodes filled and bold, archived
//! nodes dashed and grey, model-written nodes in a different fill. Every string is escaped
//! for DOT's quoted strings.

use super::{ExportOptions, kids, preview, shown};
use crate::tree::Loom;

const LABEL_CHARS: usize = 40;
const TOOLTIP_CHARS: usize = 1000;

/// Escape for a DOT double-quoted string: backslashes and quotes escaped, line breaks as
/// `\n`, other control characters as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render(loom: &Loom, options: &ExportOptions, title: &str) -> String {
    let mut out = String::new();
    out.push_str("digraph loom {\n");
    out.push_str(&format!("  label=\"{}\";\n  labelloc=t;\n", escape(title)));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  edge [color=\"#888888\"];\n");
    let nodes = shown(loom, options);
    for id in &nodes {
        let Some(node) = loom.get(*id) else { continue };
        let text = if node.text.trim().is_empty() {
            "(empty)"
        } else {
            &node.text
        };
        let label = format!("#{id} {}", preview(text, LABEL_CHARS));
        let tooltip: String = node.text.chars().take(TOOLTIP_CHARS).collect();
        let mut attrs = vec![
            format!("label=\"{}\"", escape(&label)),
            format!("tooltip=\"{}\"", escape(&tooltip)),
        ];
        if node.origin.is_model() {
            attrs.push("fillcolor=\"#eef4ff\"".into());
        }
        if node.bookmarked {
            attrs.push("fillcolor=\"#ffe08a\"".into());
            attrs.push("penwidth=2".into());
            attrs.push("color=\"#b8860b\"".into());
        }
        if node.archived {
            attrs.push("style=\"rounded,filled,dashed\"".into());
            attrs.push("fontcolor=\"#888888\"".into());
            attrs.push("color=\"#aaaaaa\"".into());
        }
        if *id == loom.cursor() {
            attrs.push("peripheries=2".into());
        }
        out.push_str(&format!("  n{id} [{}];\n", attrs.join(", ")));
    }
    for id in &nodes {
        for child in kids(loom, *id, options) {
            out.push_str(&format!("  n{id} -> n{child};\n"));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_backslashes_and_newlines_are_escaped() {
        assert_eq!(escape("a \"b\" \\ c\nd\te"), "a \\\"b\\\" \\\\ c\\nd e");
    }
}
