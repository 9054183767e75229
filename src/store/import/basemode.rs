//! basemode-loom's JSON export: `{version, nodes: [{id, parent_id, tree_id (or the older
//! root_id), text, model, checked_out, created_at, metadata}]}`; one tree per tree id.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::{epoch_guess_ms, parse_rfc3339};
use crate::tree::{Author, Node, NodeId};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "basemode";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let mut groups: Vec<(String, Vec<FlatNode>, Vec<String>)> = Vec::new();
    for (i, value) in file.array("nodes")?.iter().enumerate() {
        let o = Obj::new(value, FORMAT, format!("node #{}", i + 1))?;
        let key = o.id("id")?;
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let tree = match o.opt_id("tree_id")? {
            Some(t) => t,
            None => o.opt_id("root_id")?.unwrap_or_default(),
        };
        let checked = o.lenient_bool("checked_out").unwrap_or(false);
        let flat = FlatNode {
            key: key.clone(),
            parent: o.opt_id("parent_id")?,
            node: node(&o)?,
        };
        match groups.iter_mut().find(|g| g.0 == tree) {
            Some(g) => {
                g.1.push(flat);
                if checked {
                    g.2.push(key);
                }
            }
            None => groups.push((
                tree,
                vec![flat],
                if checked { vec![key] } else { Vec::new() },
            )),
        }
    }
    if groups.is_empty() {
        return Err(file.err("has no nodes"));
    }
    groups
        .into_iter()
        .map(|(tree, nodes, checked)| {
            let name = nodes
                .iter()
                .find(|n| n.parent.is_none())
                .and_then(|n| {
                    n.node
                        .extra
                        .get(FORMAT)?
                        .get("metadata")?
                        .get("name")?
                        .as_str()
                })
                .map(String::from)
                .unwrap_or(tree);
            let mut built = flat::build(FORMAT, nodes, &HashMap::new())?;
            let deepest: Option<NodeId> = checked
                .iter()
                .filter_map(|k| built.ids.get(k).copied())
                .max_by_key(|id| built.loom.depth(*id));
            if let Some(id) = deepest {
                let _ = built.loom.set_cursor(id);
            }
            Ok(ImportedTree::new(name, built.loom, built.warnings))
        })
        .collect()
}

fn node(o: &Obj) -> Result<Node, ImportError> {
    let mut n = Node::new(o.opt_str("text")?.unwrap_or(""));
    let model = o.lenient_str("model").map(String::from);
    let author = match (model.is_some(), o.lenient_str("kind")) {
        (true, _) => Author::Model,
        (false, Some("user" | "human" | "prompt")) => Author::Human,
        _ => Author::Unknown,
    };
    n.origin = flat::origin(FORMAT, author, model);
    n.created = o
        .lenient_str("created_at")
        .and_then(parse_rfc3339)
        .or_else(|| o.lenient_f64("created_at").and_then(epoch_guess_ms))
        .unwrap_or(0);
    if let Some(meta) = o.opt_object("metadata")? {
        n.bookmarked = meta.lenient_bool("bookmarked").unwrap_or(false);
        n.archived = meta.lenient_bool("hidden").unwrap_or(false);
    }
    let kept = o.keep(&[
        "id",
        "kind",
        "context_id",
        "strategy",
        "max_tokens",
        "temperature",
        "metadata",
    ]);
    n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
    Ok(n)
}
