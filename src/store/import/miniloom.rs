//! MiniLoom and MiniHF: `{loomTree: {nodeStore}, focus}` whose nodes hold diff-match-patch
//! patches; a node's text is its patches applied from the root down. A node whose patches
//! rewrite earlier text (not just append) is placed under the nearest ancestor whose text
//! it still begins with, so every path reads exactly as MiniLoom renders it.

use super::ImportedTree;
use super::dmp;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::epoch_guess_ms;
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, "miniloom", "the file")?;
    let store = file.object("loomTree")?.object("nodeStore")?;
    let format = if store.map.values().any(|n| n.get("cache").is_some()) {
        "minihf"
    } else {
        "miniloom"
    };
    // First pass: the structure alone, checked (ids, parents, cycles) and in tree order.
    let mut order = HashMap::new();
    let mut nodes = Vec::new();
    let mut patches = HashMap::new();
    for (key, value) in store.map {
        let o = Obj::new(value, format, format!("node {key:?}"))?;
        let key = o.opt_id("id")?.unwrap_or_else(|| key.clone());
        let p = dmp::parse(o.get("patch").unwrap_or(&Value::Null)).map_err(|e| o.err(e))?;
        patches.insert(key.clone(), p);
        order.insert(key.clone(), o.ids("children")?);
        nodes.push(FlatNode {
            key: key.clone(),
            parent: o.opt_id("parent")?,
            node: node(&o, format)?,
        });
    }
    let shape = flat::build(format, nodes, &order)?;
    // Second pass: render each node's full text, then keep only what it appends.
    let keys: HashMap<_, _> = shape.ids.iter().map(|(k, id)| (*id, k.clone())).collect();
    let mut full: HashMap<crate::tree::NodeId, String> = HashMap::new();
    let mut rebuilt = Vec::with_capacity(keys.len());
    let mut warnings = shape.warnings;
    for id in shape.loom.all_nodes() {
        let Some(key) = keys.get(&id) else { continue };
        let parent = shape.loom.parent(id);
        let base = parent
            .and_then(|p| full.get(&p))
            .map(String::as_str)
            .unwrap_or("");
        let text = dmp::apply(patches.get(key).map(Vec::as_slice).unwrap_or(&[]), base)
            .map_err(|e| ImportError::invalid(format, format!("node {key:?}: {e}")))?;
        let mut host = parent;
        while let Some(h) = host {
            if full.get(&h).is_some_and(|t| text.starts_with(t.as_str())) {
                break;
            }
            host = shape.loom.parent(h);
        }
        if host != parent {
            warnings.push(format!(
                "node {key:?} rewrites earlier text; it is placed under {} so its text reads whole",
                host.and_then(|h| keys.get(&h))
                    .map(|k| format!("node {k:?}"))
                    .unwrap_or("a new root".into())
            ));
        }
        let prefix = host
            .and_then(|h| full.get(&h))
            .map(String::len)
            .unwrap_or(0);
        let mut n = shape.loom.get(id).cloned().unwrap_or_else(|| Node::new(""));
        n.text = text[prefix..].to_string();
        rebuilt.push(FlatNode {
            key: key.clone(),
            parent: host.and_then(|h| keys.get(&h).cloned()),
            node: n,
        });
        full.insert(id, text);
    }
    let mut built = flat::build(format, rebuilt, &HashMap::new())?;
    let focus = file
        .opt_object("focus")?
        .and_then(|f| f.get("id").and_then(super::json::id_of));
    flat::set_cursor(&mut built, focus.as_deref());
    warnings.extend(built.warnings);
    Ok(vec![ImportedTree::new("", built.loom, warnings)])
}

fn node(o: &Obj, format: &'static str) -> Result<Node, ImportError> {
    let mut n = Node::new("");
    let model = o.lenient_str("model").map(String::from);
    let author = match o.lenient_str("type") {
        Some("gen" | "rewrite") => Author::Model,
        Some("user") => Author::Human,
        _ if model.is_some() => Author::Model,
        _ => Author::Unknown,
    };
    n.origin = flat::origin(format, author, model);
    n.created = o
        .lenient_f64("timestamp")
        .and_then(epoch_guess_ms)
        .unwrap_or(0);
    match o.get("rating").and_then(Value::as_bool) {
        Some(true) => n.bookmarked = true,
        Some(false) => n.archived = true,
        None => {}
    }
    n.unread = o.lenient_bool("read") == Some(false);
    let kept = o.keep(&["id", "type", "summary", "rating", "error", "finishReason"]);
    n.extra = Map::from_iter([(format.to_string(), Value::Object(kept))]);
    Ok(n)
}
