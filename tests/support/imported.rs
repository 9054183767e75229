//! Helpers for the fixture import tests: reading a fixture, importing it, listing path texts.

use serde_json::Value;
use std::collections::HashMap;
use tloom::store::import::{ImportedTree, import};
use tloom::tree::Loom;

pub fn read(relative: &str) -> Option<Vec<u8>> {
    let path = super::fixture(relative)?;
    Some(std::fs::read(path).expect("fixture readable"))
}

pub fn raw(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}

/// Path texts of every node of a loom, in tree order.
pub fn loom_paths(loom: &Loom) -> Vec<String> {
    loom.all_nodes()
        .into_iter()
        .map(|id| loom.path_text(id).expect("node exists"))
        .collect()
}

pub fn only_tree(bytes: &[u8]) -> ImportedTree {
    let mut trees = import(bytes, None).expect("imports");
    assert_eq!(trees.len(), 1);
    trees.remove(0)
}

/// Expected path texts of a flat node map, walking `children_key` from the root.
pub fn flat_paths(
    nodes: &HashMap<String, &Value>,
    root: &str,
    text_key: &str,
    children_key: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_string(), String::new())];
    while let Some((id, prefix)) = stack.pop() {
        let node = nodes[&id];
        let text = format!("{prefix}{}", node[text_key].as_str().expect("text"));
        out.push(text.clone());
        let kids = node[children_key].as_array().expect("children");
        for kid in kids.iter().rev() {
            stack.push((kid.as_str().expect("id").to_string(), text.clone()));
        }
    }
    out
}
