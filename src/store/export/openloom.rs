//! OpenLoom v1 (`*.openloom.json`): a flat map of nodes keyed by UUID with `parentId`,
//! `childrenIds`, `author` ("user"/"assistant"), `modelId`, `isBookmarked` and Swift
//! reference-date times; bookmarked nodes are repeated under `bookmarkedNodes`. UUIDs are
//! the ones the tree came with when it was imported from OpenLoom, else derived from the
//! tree so the export is reproducible.

use super::uuid::{derive, tree_seed};
use crate::store::time::to_swift_seconds;
use crate::tree::{Author, Loom, Node, NodeId, Origin};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

pub fn render(loom: &Loom, title: &str) -> String {
    let seed = tree_seed(loom);
    let ids = uuids(loom, &seed);
    let order = loom.all_nodes();
    let mut nodes = Map::new();
    let mut bookmarked = Map::new();
    let mut latest = 0i64;
    for id in &order {
        let Some(node) = loom.get(*id) else { continue };
        latest = latest.max(node.created);
        let v = node_value(node, &ids);
        if node.bookmarked {
            bookmarked.insert(ids[id].clone(), v.clone());
        }
        nodes.insert(ids[id].clone(), v);
    }
    let description = loom.extra.get("description").and_then(Value::as_str);
    let tree = json!({
        "id": derive(&seed, "tree"),
        "title": title,
        "description": description,
        "lastModified": to_swift_seconds(latest),
        "systemMessage": loom.memory,
        "rootNodeId": ids[&loom.root()],
        "currentNodeId": ids.get(&loom.cursor()).unwrap_or(&ids[&loom.root()]),
        "nodes": nodes,
        "bookmarkedNodes": bookmarked,
    });
    let mut out = serde_json::to_string_pretty(&tree).unwrap_or_default();
    out.push('\n');
    out
}

/// UUIDs for every node: the original OpenLoom id when present and unique, else derived.
fn uuids(loom: &Loom, seed: &[u8; 32]) -> HashMap<NodeId, String> {
    let mut used = HashSet::new();
    let mut ids = HashMap::with_capacity(loom.len());
    for id in loom.all_nodes() {
        let original = loom
            .get(id)
            .and_then(|n| n.extra.get("openloom")?.get("id")?.as_str())
            .filter(|o| o.len() == 36 && !used.contains(*o))
            .map(String::from);
        let chosen = original.unwrap_or_else(|| derive(seed, &format!("node {id}")));
        used.insert(chosen.clone());
        ids.insert(id, chosen);
    }
    ids
}

fn node_value(node: &Node, ids: &HashMap<NodeId, String>) -> Value {
    let is_model = node.origin.is_model();
    let role = match &node.origin {
        Origin::Imported(i) if i.author == Author::Unknown => node
            .extra
            .get("openloom")
            .and_then(|o| o.get("author"))
            .and_then(Value::as_str)
            .filter(|a| *a == "system")
            .unwrap_or("user"),
        _ if is_model => "assistant",
        _ => "user",
    };
    let model = if is_model {
        node.origin.model_name().unwrap_or("").to_string()
    } else {
        "User".to_string()
    };
    let children: Vec<&String> = node.children().iter().filter_map(|c| ids.get(c)).collect();
    let remembered = node
        .last_child
        .and_then(|c| ids.get(&c))
        .or_else(|| children.first().copied());
    json!({
        "id": ids[&node.id()],
        "text": node.text,
        "author": role,
        "modelId": model,
        "createdTime": to_swift_seconds(node.created.max(0)),
        "parentId": node.parent().and_then(|p| ids.get(&p)),
        "childrenIds": children,
        "rememberedChildId": remembered,
        "isBookmarked": node.bookmarked,
        "bookmarkTitle": if node.bookmarked && !node.note.is_empty() { Some(node.note.clone()) } else { None },
    })
}
