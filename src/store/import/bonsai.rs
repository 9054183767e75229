//! Bonsai's `{name, focusedId, pathNodes, nodes, edges}`. Nodes may have several parents
//! (`parentIds`, a DAG); the first parent is kept and the others are reported.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::{epoch_guess_ms, parse_rfc3339};
use crate::tree::{Author, Node};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "bonsai";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let edge_parent = edge_parents(&file)?;
    let mut order = HashMap::new();
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    for (i, value) in file.array("nodes")?.iter().enumerate() {
        let o = Obj::new(value, FORMAT, format!("node #{}", i + 1))?;
        let key = o.id("id")?;
        let o = Obj::new(value, FORMAT, format!("node {key:?}"))?;
        let parents = o.ids("parentIds")?;
        if parents.len() > 1 {
            warnings.push(format!(
                "node {key:?} has {} parents (Bonsai trees can join branches); it is kept under the first, {:?}",
                parents.len(),
                parents[0]
            ));
        }
        let parent = parents
            .first()
            .cloned()
            .or_else(|| edge_parent.get(&key).cloned());
        order.insert(key.clone(), o.ids("childrenIds")?);
        nodes.push(FlatNode {
            key,
            parent,
            node: node(&o)?,
        });
    }
    let mut built = flat::build(FORMAT, nodes, &order)?;
    let path_end = file
        .get("pathNodes")
        .and_then(Value::as_array)
        .and_then(|p| p.last())
        .and_then(super::json::id_of);
    let focus = file.opt_id("focusedId")?.or(path_end);
    flat::set_cursor(&mut built, focus.as_deref());
    warnings.extend(built.warnings);
    let name = file.lenient_str("name").unwrap_or("");
    Ok(vec![ImportedTree::new(name, built.loom, warnings)])
}

/// Parents named only by `edges` (`{from, to}`), for nodes without `parentIds`.
fn edge_parents(file: &Obj) -> Result<HashMap<String, String>, ImportError> {
    let mut parents = HashMap::new();
    for (i, e) in file.opt_array("edges")?.unwrap_or(&[]).iter().enumerate() {
        let e = Obj::new(e, FORMAT, format!("edge #{}", i + 1))?;
        if let (Some(from), Some(to)) = (e.opt_id("from")?, e.opt_id("to")?) {
            parents.entry(to).or_insert(from);
        }
    }
    Ok(parents)
}

fn node(o: &Obj) -> Result<Node, ImportError> {
    let mut n = Node::new(o.opt_str("text")?.unwrap_or(""));
    let model = o.lenient_str("model").map(String::from);
    let author = match (model.as_deref(), o.lenient_str("type")) {
        (Some(_), _) => Author::Model,
        (None, Some("human" | "user" | "prompt")) => Author::Human,
        (None, Some("ai" | "model" | "llm" | "gpt" | "generated")) => Author::Model,
        _ => Author::Unknown,
    };
    n.origin = flat::origin(FORMAT, author, model);
    n.created = o
        .lenient_f64("createdAt")
        .and_then(epoch_guess_ms)
        .or_else(|| o.lenient_str("createdAt").and_then(parse_rfc3339))
        .unwrap_or(0);
    n.bookmarked = o.lenient_bool("bookmarked").unwrap_or(false);
    n.archived = o.lenient_bool("hidden").unwrap_or(false);
    if let Some(tags) = o.get("tags").and_then(Value::as_array) {
        n.tags = tags
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
    }
    let mut kept = o.keep(&[
        "id",
        "group",
        "visible",
        "label",
        "lastVisited",
        "lastUpdated",
        "generationSettings",
        "generationId",
        "rating",
        "type",
    ]);
    if let Some(lp) = o.get("logprobs").and_then(super::json::shallow) {
        kept.insert("logprobs".into(), lp);
    }
    let mut extra = Map::new();
    extra.insert(FORMAT.into(), Value::Object(kept));
    n.extra = extra;
    Ok(n)
}
