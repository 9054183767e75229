//! The Obsidian loom plugin (Loomsidian): a vault's `data.json` (`{settings, state}`, one
//! tree per note), a single note's export (`NoteState`), the older list form with
//! `value`/`author`, and damask's output. Several roots go under an empty root.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::Obj;
use crate::store::time::epoch_guess_ms;
use crate::tree::Author;
use crate::tree::Node;
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "loomsidian";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    match file.opt_object("state")? {
        Some(state) => {
            let mut trees = Vec::with_capacity(state.map.len());
            for (note, value) in state.map {
                let at = format!("note {note:?}");
                trees.push(note_tree(note, &Obj::new(value, FORMAT, at)?)?);
            }
            if trees.is_empty() {
                return Err(file.err("the vault holds no notes (its \"state\" is empty)"));
            }
            Ok(trees)
        }
        None => Ok(vec![note_tree("", &file)?]),
    }
}

fn note_tree(name: &str, note: &Obj) -> Result<ImportedTree, ImportError> {
    let nodes = match note.get("nodes") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, v)| node(key.clone(), v, note))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let o = Obj::new(v, FORMAT, format!("{}: node #{}", note.at(), i + 1))?;
                node(o.id("id")?, v, note)
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => {
            return Err(note.err(format!(
                "\"nodes\" is {}, expected an object or a list",
                super::json::kind(other)
            )));
        }
        None => return Err(note.err("has no \"nodes\"")),
    };
    let mut built = flat::build(FORMAT, nodes, &HashMap::new())
        .map_err(|e| note.err(e.to_string().trim_start_matches("loomsidian: ")))?;
    flat::set_cursor(&mut built, note.lenient_str("current"));
    let hoisted = note
        .get("hoisted")
        .and_then(Value::as_array)
        .and_then(|h| h.last())
        .and_then(Value::as_str)
        .and_then(|k| built.ids.get(k).copied());
    if hoisted.is_some() {
        let _ = built.loom.set_hoist(hoisted);
    }
    Ok(ImportedTree::new(name, built.loom, built.warnings))
}

fn node(key: String, v: &Value, note: &Obj) -> Result<FlatNode, ImportError> {
    let o = Obj::new(v, FORMAT, format!("{}: node {key:?}", note.at()))?;
    let text = match o.opt_str("text")? {
        Some(t) => t,
        None => o.opt_str("value")?.unwrap_or(""),
    };
    let mut n = Node::new(text);
    let author = o
        .lenient_str("author")
        .filter(|a| !matches!(*a, "genesis" | "N/A" | ""));
    n.origin = flat::origin(
        FORMAT,
        if author.is_some() {
            Author::Model
        } else {
            Author::Unknown
        },
        author.map(String::from),
    );
    n.bookmarked = o.lenient_bool("bookmarked").unwrap_or(false);
    n.unread = o.lenient_bool("unread").unwrap_or(false);
    if let Some(color) = o.lenient_str("color") {
        n.tags.push(color.to_string());
    }
    let mut kept = o.keep(&["collapsed", "lastVisited", "color"]);
    kept.insert("id".into(), key.clone().into());
    if let Some(ms) = o.lenient_f64("lastVisited").and_then(epoch_guess_ms) {
        kept.insert("lastVisited".into(), ms.into());
    }
    let mut extra = Map::new();
    extra.insert(FORMAT.into(), Value::Object(kept));
    n.extra = extra;
    Ok(FlatNode {
        key,
        parent: o.opt_id("parentId")?,
        node: n,
    })
}
