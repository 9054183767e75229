//! Helm's `tree.json`: `{id, name, rootId, currentNodeId, bookmarkedNodeIds, nodes: [{id,
//! text, parentId, childIds, locked}]}`. Helm does not record who wrote a node.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "helm";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let bookmarks = file.ids("bookmarkedNodeIds")?;
    let mut order = HashMap::new();
    let mut nodes = Vec::new();
    for (i, value) in file.array("nodes")?.iter().enumerate() {
        let o = Obj::new(value, FORMAT, format!("node #{}", i + 1))?;
        let key = o.id("id")?;
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let mut n = Node::new(o.opt_str("text")?.unwrap_or(""));
        n.origin = flat::origin(FORMAT, Author::Unknown, None);
        n.bookmarked = bookmarks.contains(&key);
        let kept = o.keep(&["id", "locked", "lockReason"]);
        n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
        order.insert(key.clone(), o.ids("childIds")?);
        nodes.push(FlatNode {
            key,
            parent: o.opt_id("parentId")?,
            node: n,
        });
    }
    let mut built = flat::build(FORMAT, nodes, &order)?;
    flat::set_cursor(&mut built, file.opt_id("currentNodeId")?.as_deref());
    let name = file.lenient_str("name").unwrap_or("");
    if !name.is_empty() {
        built.loom.extra.insert("title".into(), name.into());
    }
    Ok(vec![ImportedTree::new(name, built.loom, built.warnings)])
}
