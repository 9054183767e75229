//! wool's `tree_state.json`: `{nodes: {id: {id, parent_id, type, text, position, error}},
//! focused_node_id}`. Children follow file order.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "wool";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let mut nodes = Vec::new();
    for (key, value) in file.object("nodes")?.map {
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let mut n = Node::new(o.opt_str("text")?.unwrap_or(""));
        let author = match o.lenient_str("type") {
            Some("ai") => Author::Model,
            Some("user" | "human") => Author::Human,
            _ => Author::Unknown,
        };
        n.origin = flat::origin(FORMAT, author, None);
        let kept = o.keep(&["id", "type", "position", "error", "manually_positioned"]);
        n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
        nodes.push(FlatNode {
            key: key.clone(),
            parent: o.opt_id("parent_id")?,
            node: n,
        });
    }
    let mut built = flat::build(FORMAT, nodes, &HashMap::new())?;
    flat::set_cursor(&mut built, file.opt_id("focused_node_id")?.as_deref());
    Ok(vec![ImportedTree::new("", built.loom, built.warnings)])
}
