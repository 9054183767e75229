//! exoloom's export: `{loomType: "Exoloom", tree: {rootNodeId, nodes}, lens: {bookmarks,
//! prunedNodes}}`. Pruned nodes become archived, lens bookmarks bookmarks.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::parse_rfc3339;
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

const FORMAT: &str = "exoloom";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let tree = file.object("tree")?;
    let lens = file.opt_object("lens")?;
    let bookmarks = lens_ids(lens.as_ref(), "bookmarks")?;
    let pruned = lens_ids(lens.as_ref(), "prunedNodes")?;
    let tree_created = tree.lenient_str("createdAt").and_then(parse_rfc3339);
    let mut order = HashMap::new();
    let mut nodes = Vec::new();
    for (key, value) in tree.object("nodes")?.map {
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let mut n = Node::new(o.opt_str("content")?.unwrap_or(""));
        let (author, model) = match o.lenient_str("authorType") {
            Some("LLM") => (Author::Model, o.lenient_str("authorName").map(String::from)),
            Some("USER") => (Author::Human, None),
            _ => (Author::Unknown, None),
        };
        n.origin = flat::origin(FORMAT, author, model);
        n.created = o
            .lenient_str("createdAt")
            .and_then(parse_rfc3339)
            .or(tree_created)
            .unwrap_or(0);
        n.bookmarked = bookmarks.contains(key);
        n.archived = pruned.contains(key);
        let mut kept = o.keep(&["authorName"]);
        kept.insert("id".into(), key.clone().into());
        n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
        order.insert(key.clone(), o.ids("childrenIds")?);
        nodes.push(FlatNode {
            key: key.clone(),
            parent: o.opt_id("parentId")?,
            node: n,
        });
    }
    let root = tree.id("rootNodeId")?;
    if !nodes.iter().any(|n| n.key == root) {
        return Err(tree.err(format!("rootNodeId {root:?} is not among the nodes")));
    }
    let mut built = flat::build(FORMAT, nodes, &order)?;
    if let Some(title) = tree.lenient_str("title") {
        built.loom.extra.insert("title".into(), title.into());
    }
    if let Some(d) = tree.lenient_str("description") {
        built.loom.extra.insert("description".into(), d.into());
    }
    let name = tree.lenient_str("title").unwrap_or("");
    Ok(vec![ImportedTree::new(name, built.loom, built.warnings)])
}

fn lens_ids(lens: Option<&Obj>, key: &str) -> Result<HashSet<String>, ImportError> {
    let Some(lens) = lens else {
        return Ok(HashSet::new());
    };
    let mut ids = HashSet::new();
    for (i, item) in lens.opt_array(key)?.unwrap_or(&[]).iter().enumerate() {
        let o = Obj::new(item, FORMAT, format!("lens.{key} #{}", i + 1))?;
        ids.insert(o.id("nodeId")?);
    }
    Ok(ids)
}
