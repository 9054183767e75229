//! textile (formerly loompad): its full-tree JSON export (`{schemaVersion, title, tree:
//! StoryNode}` nested through `continuations`) and the Lync event log it opens (JSON lines
//! of `{id, kind, at, author, parents, payload}`, a DAG of which the first parent is kept,
//! as textile itself navigates).

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::{Obj, id_of};
use crate::store::time::{epoch_guess_ms, parse_rfc3339};
use crate::tree::{Author, LoomBuilder, Node, NodeId};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    const FORMAT: &str = "textile";
    let file = Obj::new(v, FORMAT, "the file")?;
    let tree = file
        .get("tree")
        .ok_or_else(|| file.err("has no \"tree\""))?;
    let mut builder: Option<LoomBuilder> = None;
    let mut stack: Vec<(&Value, Option<NodeId>)> = vec![(tree, None)];
    let mut count = 0usize;
    while let Some((value, parent)) = stack.pop() {
        count += 1;
        let id = value.get("id").and_then(id_of);
        let at = id
            .map(|i| format!("node {i:?}"))
            .unwrap_or(format!("node #{count}"));
        let o = Obj::new(value, FORMAT, at)?;
        let mut n = Node::new(o.opt_str("text")?.unwrap_or(""));
        let model = o
            .opt_object("generatedBy")?
            .and_then(|g| g.lenient_str("model").map(String::from));
        let author = match o.lenient_str("origin") {
            Some("human") => Author::Human,
            Some("model") => Author::Model,
            _ if model.is_some() => Author::Model,
            _ => Author::Unknown,
        };
        n.origin = flat::origin(FORMAT, author, model);
        n.created = o
            .lenient_f64("createdAt")
            .and_then(epoch_guess_ms)
            .unwrap_or(0);
        n.bookmarked = o.lenient_bool("kept").unwrap_or(false);
        if let Some(notes) = o.get("annotations").and_then(Value::as_array) {
            let texts: Vec<&str> = notes
                .iter()
                .filter_map(|a| a.get("text")?.as_str())
                .collect();
            n.note = texts.join("\n\n");
        }
        n.extra = Map::from_iter([(
            FORMAT.to_string(),
            Value::Object(o.keep(&["id", "actor", "via"])),
        )]);
        let new_id = match (parent, builder.as_mut()) {
            (Some(p), Some(b)) => b.add(p, n).map_err(|e| o.err(e))?,
            _ => {
                let b = LoomBuilder::new(n);
                let root = b.root();
                builder = Some(b);
                root
            }
        };
        let kids = o.opt_array("continuations")?.unwrap_or(&[]);
        stack.extend(kids.iter().rev().map(|c| (c, Some(new_id))));
    }
    let mut loom = builder.ok_or_else(|| file.err("has no tree"))?.finish();
    let title = file.lenient_str("title").unwrap_or("");
    if !title.is_empty() {
        loom.extra.insert("title".into(), title.into());
    }
    Ok(vec![ImportedTree::new(title, loom, Vec::new())])
}

/// One Lync event line.
struct Event {
    id: String,
    kind: String,
    parents: Vec<String>,
    value: Value,
}

fn events(text: &str) -> Result<Vec<Event>, ImportError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value = serde_json::from_str(line).map_err(|e| {
            ImportError::invalid("lync", format!("line {}: not valid JSON: {e}", i + 1))
        })?;
        let o = Obj::new(&value, "lync", format!("line {}", i + 1))?;
        let id = o.id("id")?;
        if !seen.insert(id.clone()) {
            return Err(o.err(format!("event id {id:?} appears twice")));
        }
        let kind = o.str("kind")?.to_string();
        let parents = o.ids("parents")?;
        out.push(Event {
            id,
            kind,
            parents,
            value,
        });
    }
    Ok(out)
}

/// A Lync log: messages (and other events with text) become nodes; `selection`
/// annotations bookmark what they chose, `cluster` annotations tag their targets, and the
/// last pointer sets the cursor.
pub fn import_lync(text: &str) -> Result<Vec<ImportedTree>, ImportError> {
    const FORMAT: &str = "lync";
    let events = events(text)?;
    let by_id: HashMap<&str, &Event> = events.iter().map(|e| (e.id.as_str(), e)).collect();
    let is_node = |e: &Event| {
        e.value
            .get("payload")
            .and_then(|p| p.get("text"))
            .is_some_and(Value::is_string)
    };
    let mut chosen = HashSet::new();
    let mut tags: HashMap<String, Vec<String>> = HashMap::new();
    let mut pointer = None;
    let mut warnings = Vec::new();
    let mut skipped = 0usize;
    let mut nodes = Vec::new();
    for e in &events {
        let payload = e.value.get("payload");
        match e.kind.as_str() {
            "lync/annotation" => {
                let label = payload.and_then(|p| p.get("label")).and_then(Value::as_str);
                if label == Some("selection") {
                    let ids = payload
                        .and_then(|p| p.get("chosen"))
                        .and_then(Value::as_array);
                    chosen.extend(ids.into_iter().flatten().filter_map(id_of));
                }
                let tag = payload.and_then(|p| p.get("value")?.get("tag")?.as_str());
                if let (Some("cluster"), Some(tag)) = (label, tag) {
                    for target in &e.parents {
                        tags.entry(target.clone())
                            .or_default()
                            .push(tag.to_string());
                    }
                }
            }
            "lync/pointer" => {
                pointer = payload
                    .and_then(|p| p.get("target"))
                    .and_then(id_of)
                    .or(pointer);
            }
            _ if is_node(e) => nodes.push(message(e, &by_id, &is_node, &mut warnings)?),
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        warnings.push(format!(
            "{skipped} events without text (not messages) were left out"
        ));
    }
    if nodes.is_empty() {
        return Err(ImportError::invalid(
            FORMAT,
            "the log has no message events",
        ));
    }
    for n in &mut nodes {
        n.node.bookmarked = chosen.contains(&n.key);
        if let Some(t) = tags.remove(&n.key) {
            n.node.tags = t;
        }
    }
    let mut built = flat::build(FORMAT, nodes, &HashMap::new())?;
    flat::set_cursor(&mut built, pointer.as_deref());
    warnings.extend(built.warnings);
    Ok(vec![ImportedTree::new("", built.loom, warnings)])
}

fn message(
    e: &Event,
    by_id: &HashMap<&str, &Event>,
    is_node: &dyn Fn(&Event) -> bool,
    warnings: &mut Vec<String>,
) -> Result<FlatNode, ImportError> {
    let o = Obj::new(&e.value, "lync", format!("event {:?}", e.id))?;
    let payload = o.object("payload")?;
    let mut n = Node::new(payload.str("text")?);
    let actor = o
        .opt_object("author")?
        .and_then(|a| a.lenient_str("actor").map(String::from));
    let (author, model) = match payload.lenient_str("role") {
        Some("assistant") => (Author::Model, actor.clone()),
        Some("user") => (Author::Human, None),
        _ => (Author::Unknown, None),
    };
    n.origin = flat::origin("lync", author, model);
    n.created = o.lenient_str("at").and_then(parse_rfc3339).unwrap_or(0);
    let mut kept = Map::from_iter([("id".to_string(), Value::from(e.id.clone()))]);
    kept.extend(o.keep(&["author", "kind"]));
    if e.parents.len() > 1 {
        warnings.push(format!(
            "event {:?} has {} parents (Lync is a DAG); it is kept under the first, as textile shows it",
            e.id,
            e.parents.len()
        ));
        kept.insert("parents".into(), e.parents.clone().into());
    }
    n.extra = Map::from_iter([("lync".to_string(), Value::Object(kept))]);
    // The nearest first-parent ancestor that is itself a node (textile skips other events).
    let mut parent = e.parents.first().cloned();
    let mut hops = 0;
    while let Some(p) = parent.clone() {
        match by_id.get(p.as_str()) {
            Some(ev) if !is_node(ev) && hops < by_id.len() => {
                parent = ev.parents.first().cloned();
                hops += 1;
            }
            _ => break,
        }
    }
    Ok(FlatNode {
        key: e.id.clone(),
        parent,
        node: n,
    })
}
