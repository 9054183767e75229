//! Twine 3 source (Twee 3 specification): a `StoryTitle` and a `StoryData` passage (with an
//! uppercase version-4-layout IFID derived from the tree, so exports are reproducible),
//! then one passage per node whose body is the node's text followed by `[[label->Target]]`
//! links to its children. Passage names are "<id> <first words>", built only from
//! characters that need no escaping in headers or links; tags mark generated, kept and
//! archived nodes and the model.

use super::layout::layout;
use super::uuid::{derive, tree_seed};
use super::{ExportOptions, kids, preview, shown};
use crate::tree::{Loom, NodeId};
use serde_json::json;

/// Characters kept in passage names and link labels: none of `[ ] { } | \ < >`.
fn plain(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " .,;:!?'\"-_()*&%$#@+=~/".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A passage's name: its id and up to ~30 characters of its text.
pub fn passage_name(loom: &Loom, id: NodeId) -> String {
    let text = loom.get(id).map(|n| plain(&n.text)).unwrap_or_default();
    let words = preview(&text, 30).trim_end_matches('…').trim().to_string();
    if words.is_empty() {
        format!("{id}")
    } else {
        format!("{id} {words}")
    }
}

fn tag(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() || "-_.:/".contains(*c))
        .collect()
}

/// A line of content may not start with `::` (it would read as a passage header), and a
/// `[[` in a node's own text would become a link: a zero-width space breaks it.
fn body(text: &str) -> String {
    let text = text.replace("[[", "[\u{200B}[");
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            if l.starts_with("::") {
                format!(" {l}")
            } else {
                l.to_string()
            }
        })
        .collect();
    lines.join("\n")
}

pub fn render(loom: &Loom, options: &ExportOptions, title: &str) -> String {
    let seed = tree_seed(loom);
    let placed = layout(loom, options);
    let data = json!({
        "ifid": derive(&seed, "ifid"),
        "format": "Harlowe",
        "format-version": "3.3.9",
        "start": passage_name(loom, loom.root()),
        "tag-colors": {"kept": "green", "archived": "red", "generated": "blue"},
        "zoom": 1,
    });
    let mut out = format!(
        ":: StoryTitle\n{}\n\n:: StoryData\n{}\n\n",
        title.replace('\n', " "),
        serde_json::to_string_pretty(&data).unwrap_or_default()
    );
    for id in shown(loom, options) {
        let Some(node) = loom.get(id) else { continue };
        let mut tags = Vec::new();
        if node.origin.is_model() {
            tags.push("generated".to_string());
        }
        if node.bookmarked {
            tags.push("kept".to_string());
        }
        if node.archived {
            tags.push("archived".to_string());
        }
        if let Some(m) = node.origin.model_name().map(tag).filter(|t| !t.is_empty()) {
            tags.push(m);
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", tags.join(" "))
        };
        let pos = placed
            .get(&id)
            .map(|p| (p.x / 2, p.y / 2))
            .unwrap_or((0, 0));
        out.push_str(&format!(
            ":: {}{tags} {{\"position\":\"{},{}\",\"size\":\"100,100\"}}\n{}\n",
            passage_name(loom, id),
            pos.0,
            pos.1,
            body(&node.text)
        ));
        let children = kids(loom, id, options);
        if !children.is_empty() {
            out.push('\n');
        }
        for child in children {
            let text = loom.get(child).map(|n| plain(&n.text)).unwrap_or_default();
            let label = preview(&text, 40);
            let label = if label.is_empty() {
                "(continue)".to_string()
            } else {
                label
            };
            out.push_str(&format!("[[{label}->{}]]\n", passage_name(loom, child)));
        }
        out.push('\n');
    }
    out
}
