//! socketteer/loom's nested JSON, written so the original loom opens it: every node has
//! `id`, `text`, `children`, `parent_id`, `open`, `visited`, `mutable`; authorship and time
//! go in `meta` (`source` "AI"/"prompt"/"mixed", `creation_timestamp`); bookmarks and
//! archived nodes become the `bookmark` and `archived` tags the tree defines; token data
//! becomes `model_responses` entries that nodes point to with `generation`. Written
//! iteratively, so a tree of any depth exports without deep recursion.

use crate::store::time::format_pyloom;
use crate::tree::{Author, Loom, Node, NodeId, Origin};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// pyloom fields tloom keeps on import and writes back.
const RESTORED: &[&str] = &[
    "text_attributes",
    "multimedia",
    "frame",
    "history",
    "summaries",
    "template",
];

enum Step {
    Open(NodeId, bool),
    Close,
}

pub fn render(loom: &Loom) -> String {
    let ids = pyloom_ids(loom);
    let mut responses = Map::new();
    let mut out = String::with_capacity(loom.len() * 200);
    out.push_str("{\"root\": ");
    let mut stack = vec![Step::Open(loom.root(), true)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Close => out.push_str("]}"),
            Step::Open(id, first) => {
                let Some(node) = loom.get(id) else { continue };
                if !first {
                    out.push_str(",\n");
                }
                let mut fields = fields(loom, node, &ids);
                if let Some(response) = response(node, &ids[&id]) {
                    let rid = format!("tloom-{}", ids[&id]);
                    fields.insert("generation".into(), json!({"id": rid, "index": 0}));
                    responses.insert(rid, response);
                }
                let body = Value::Object(fields).to_string();
                // The object without its closing brace, then the children list.
                out.push_str(&body[..body.len() - 1]);
                out.push_str(",\"children\": [");
                stack.push(Step::Close);
                for (i, c) in node.children().iter().enumerate().rev() {
                    stack.push(Step::Open(*c, i == 0));
                }
            }
        }
    }
    let mut top = Map::new();
    top.insert("chapters".into(), json!({}));
    top.insert("canonical".into(), json!([]));
    top.insert("summaries".into(), json!({}));
    top.insert("model_responses".into(), Value::Object(responses));
    top.insert("tags".into(), tag_definitions());
    if let Some(sel) = ids.get(&loom.cursor()) {
        top.insert("selected_node_id".into(), sel.clone().into());
    }
    for (k, v) in top {
        out.push_str(&format!(",\n{}: {v}", Value::String(k)));
    }
    out.push_str("}\n");
    out
}

/// The ids to write: the node's original pyloom id when it had one (and it is unique),
/// else "tloom-<id>".
fn pyloom_ids(loom: &Loom) -> HashMap<NodeId, String> {
    let mut used = HashSet::new();
    let mut ids = HashMap::with_capacity(loom.len());
    for id in loom.all_nodes() {
        let original = loom
            .get(id)
            .and_then(|n| n.extra.get("pyloom")?.get("id")?.as_str())
            .filter(|o| !o.is_empty() && !used.contains(*o));
        let mut chosen = original
            .map(String::from)
            .unwrap_or_else(|| format!("tloom-{id}"));
        while used.contains(&chosen) {
            chosen.push('_');
        }
        used.insert(chosen.clone());
        ids.insert(id, chosen);
    }
    ids
}

fn author(origin: &Origin) -> Author {
    match origin {
        Origin::Human => Author::Human,
        Origin::Model(_) => Author::Model,
        Origin::Imported(i) => i.author,
    }
}

fn fields(loom: &Loom, node: &Node, ids: &HashMap<NodeId, String>) -> Map<String, Value> {
    let id = node.id();
    let mut f = Map::new();
    f.insert("id".into(), ids[&id].clone().into());
    if let Some(p) = node.parent() {
        f.insert("parent_id".into(), ids[&p].clone().into());
    }
    f.insert("text".into(), node.text.clone().into());
    // pyloom wraps a mutable root in an empty immutable one; an empty root with children
    // is already that.
    let is_root = id == loom.root();
    let mutable = !(is_root && node.text.is_empty() && !node.children().is_empty());
    f.insert("mutable".into(), mutable.into());
    f.insert("open".into(), true.into());
    f.insert("visited".into(), (!node.unread).into());
    let mut meta = Map::new();
    let source = match (author(&node.origin), node.edited) {
        (Author::Model, true) => Some("mixed"),
        (Author::Model, false) => Some("AI"),
        (Author::Human, _) => Some("prompt"),
        (Author::Unknown, _) => None,
    };
    if let Some(s) = source {
        meta.insert("source".into(), s.into());
        meta.insert("modified".into(), node.edited.into());
    }
    if node.created > 0 {
        meta.insert(
            "creation_timestamp".into(),
            format_pyloom(node.created).into(),
        );
    }
    if let Some(m) = node.origin.model_name().filter(|m| !m.is_empty()) {
        meta.insert("model".into(), m.into());
    }
    if !meta.is_empty() {
        f.insert("meta".into(), Value::Object(meta));
    }
    let mut tags: Vec<Value> = Vec::new();
    if node.bookmarked {
        tags.push("bookmark".into());
    }
    if node.archived {
        tags.push("archived".into());
    }
    tags.extend(node.tags.iter().map(|t| Value::from(t.clone())));
    if !tags.is_empty() {
        f.insert("tags".into(), tags.into());
    }
    let memory = if is_root && node.memory.is_empty() {
        &loom.memory
    } else {
        &node.memory
    };
    if !memory.is_empty() {
        f.insert("memory".into(), memory.clone().into());
    }
    if !node.note.is_empty() {
        f.insert("notes".into(), json!([node.note]));
    }
    if let Some(Value::Object(kept)) = node.extra.get("pyloom") {
        for key in RESTORED {
            if let Some(v) = kept.get(*key) {
                f.insert((*key).into(), v.clone());
            }
        }
    }
    f
}

/// A pyloom `Response` holding the node's tokens, when it has token data.
fn response(node: &Node, id: &str) -> Option<Value> {
    let tokens = node.valid_tokens()?;
    let mut pos = 0usize;
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| {
            let len = t.text.chars().count();
            let alts: Map<String, Value> = t
                .top
                .iter()
                .filter(|a| a.logprob.is_finite())
                .map(|a| (a.text.clone(), json!(a.logprob)))
                .collect();
            let v = json!({
                "generatedToken": {"token": t.text, "logprob": if t.logprob.is_finite() { json!(t.logprob) } else { Value::Null }},
                "position": {"start": pos, "end": pos + len},
                "counterfactuals": if alts.is_empty() { Value::Null } else { Value::Object(alts) },
            });
            pos += len;
            v
        })
        .collect();
    let finish = node.origin.generation().and_then(|g| g.finish.clone());
    Some(json!({
        "id": format!("tloom-{id}"),
        "model": node.origin.model_name().unwrap_or(""),
        "timestamp": if node.created > 0 { format_pyloom(node.created) } else { String::new() },
        "prompt": {"text": "", "tokens": null},
        "completions": [{"text": node.text, "finishReason": finish, "tokens": tokens}],
    }))
}

/// The tag definitions pyloom needs to treat `bookmark` and `archived` as it does by default.
fn tag_definitions() -> Value {
    json!({
        "bookmark": {"name": "bookmark", "scope": "node", "hide": false, "show_only": false,
                     "toggle_key": "b", "icon": "bookmark-black"},
        "archived": {"name": "archived", "scope": "node", "hide": true, "show_only": false,
                     "toggle_key": "!", "icon": "archive-yellow"},
    })
}
