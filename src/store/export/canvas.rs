//! JSON Canvas 1.0 (Obsidian's open format): one text card per node placed by the tidy
//! layout, one edge per parent-child link from the parent's right side to the child's
//! left. Bookmarked cards are green, archived red, model-written blue.

use super::layout::layout;
use super::{ExportOptions, kids, shown};
use crate::tree::Loom;
use serde_json::{Value, json};

pub fn render(loom: &Loom, options: &ExportOptions) -> String {
    let placed = layout(loom, options);
    let order = shown(loom, options);
    let mut nodes = Vec::with_capacity(order.len());
    let mut edges = Vec::new();
    for id in &order {
        let (Some(node), Some(p)) = (loom.get(*id), placed.get(id)) else {
            continue;
        };
        let mut card = json!({
            "id": format!("n{id}"),
            "type": "text",
            "x": p.x,
            "y": p.y,
            "width": p.width,
            "height": p.height,
            "text": node.text,
        });
        let color = if node.bookmarked {
            Some("4")
        } else if node.archived {
            Some("1")
        } else if node.origin.is_model() {
            Some("5")
        } else {
            None
        };
        if let Some(c) = color {
            card["color"] = c.into();
        }
        nodes.push(card);
        for child in kids(loom, *id, options) {
            edges.push(json!({
                "id": format!("e{id}-{child}"),
                "fromNode": format!("n{id}"),
                "fromSide": "right",
                "toNode": format!("n{child}"),
                "toSide": "left",
            }));
        }
    }
    let doc = json!({"nodes": Value::Array(nodes), "edges": Value::Array(edges)});
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
