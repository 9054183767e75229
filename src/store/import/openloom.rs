//! OpenLoom v1 (`*.openloom.json`): a flat `nodes` map of chat messages with `parentId`,
//! `childrenIds`, `author`, `modelId`, `isBookmarked` and Swift reference-date times.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::from_swift_seconds;
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "openloom";

/// Placeholders OpenLoom writes where a message has no model.
const NOT_MODELS: &[&str] = &["User", "<model identifier>", ""];

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let bookmarked: Vec<&String> = match file.opt_object("bookmarkedNodes")? {
        Some(b) => b.map.keys().collect(),
        None => Vec::new(),
    };
    let mut order = HashMap::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    for (key, value) in file.object("nodes")?.map {
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let text = o.opt_str("text")?;
        if text.is_none() {
            warnings.push(format!("node {key:?} has no text: it is imported empty"));
        }
        let mut n = Node::new(text.unwrap_or(""));
        let role = o.lenient_str("author");
        let model = o
            .lenient_str("modelId")
            .filter(|m| !NOT_MODELS.contains(m))
            .map(String::from);
        let author = match role {
            Some("assistant") => Author::Model,
            Some("user") => Author::Human,
            _ => Author::Unknown,
        };
        let model = if author == Author::Model { model } else { None };
        n.origin = flat::origin(FORMAT, author, model);
        let created = o.lenient_f64("createdTime");
        n.created = created.and_then(from_swift_seconds).unwrap_or(0);
        let mut keep = vec!["id", "author", "modelId"];
        if created.is_none()
            && let Some(raw) = o.map.get("createdTime").filter(|v| !v.is_null())
        {
            warnings.push(format!(
                "node {key:?}: createdTime {raw} is not a time: kept as it is, the time left unset"
            ));
            keep.push("createdTime");
        }
        n.bookmarked = o.lenient_bool("isBookmarked").unwrap_or(false) || bookmarked.contains(&key);
        n.note = o.lenient_str("bookmarkTitle").unwrap_or("").to_string();
        let kept = o.keep(&keep);
        n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
        order.insert(key.clone(), o.ids("childrenIds")?);
        nodes.push(FlatNode {
            key: key.clone(),
            parent: o.opt_id("parentId")?,
            node: n,
        });
    }
    if let Some(root) = file.opt_id("rootNodeId")?
        && !nodes.iter().any(|n| n.key == root)
    {
        return Err(file.err(format!("rootNodeId {root:?} is not among the nodes")));
    }
    let mut built = flat::build(FORMAT, nodes, &order)?;
    built.warnings.extend(warnings);
    let current = file.lenient_str("currentNodeId");
    if let Some(c) = current
        && !built.ids.contains_key(c)
    {
        built.warnings.push(format!(
            "currentNodeId {c:?} is not among the nodes: the cursor starts at the root"
        ));
        built.loom.extra.insert("currentNodeId".into(), c.into());
    }
    flat::set_cursor(&mut built, current);
    let loom = &mut built.loom;
    loom.memory = file.lenient_str("systemMessage").unwrap_or("").to_string();
    for key in ["title", "description"] {
        if let Some(t) = file.lenient_str(key) {
            loom.extra.insert(key.into(), t.into());
        }
    }
    let name = file.lenient_str("title").unwrap_or("");
    Ok(vec![ImportedTree::new(name, built.loom, built.warnings)])
}
