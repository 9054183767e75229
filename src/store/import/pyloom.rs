//! socketteer/loom ("pyloom") trees: nested `{root: {text, children}}` in every version seen
//! (the oldest `bookmark` field, chapters, `meta` authorship and timestamps, tags, older
//! per-node logprobs, `generation` pointers into `model_responses`), zipped and hoisted
//! compound nodes (unzipped back into the chain they mask), and the JSONL export.

use super::ImportedTree;
use super::error::ImportError;
use super::flat::{self, FlatNode};
use super::json::{Obj, id_of, shallow};
use super::pyloom_tokens::{from_openai_logprobs, from_response};
use crate::store::time::parse_pyloom;
use crate::tree::{Author, LoomBuilder, Node, NodeId};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

const FORMAT: &str = "pyloom";

/// Fields of a pyloom node kept under `extra["pyloom"]`.
const KEPT: &[&str] = &[
    "text_attributes",
    "multimedia",
    "frame",
    "history",
    "summaries",
    "template",
    "generation",
];

/// What the whole file says about its nodes.
struct Context<'a> {
    chapters: HashMap<String, String>,
    responses: Option<&'a Map<String, Value>>,
    canonical: HashSet<String>,
}

enum Work<'a> {
    /// A node to add under a parent (None: it is the root).
    Node(&'a Value, Option<NodeId>),
    /// After a compound node's masked chain is added: its children go under the tail.
    Unzip {
        children: &'a [Value],
        tail: String,
        mask: Option<String>,
        hoisted: bool,
    },
}

#[derive(Default)]
struct Walk {
    builder: Option<LoomBuilder>,
    ids: HashMap<String, NodeId>,
    hoist: Option<NodeId>,
    unmatched_tokens: usize,
    count: usize,
}

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = v.as_object();
    let context = Context {
        chapters: chapters(file),
        responses: file
            .and_then(|f| f.get("model_responses"))
            .and_then(Value::as_object),
        canonical: file
            .and_then(|f| f.get("canonical"))
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(id_of).collect())
            .unwrap_or_default(),
    };
    let mut walk = Walk::default();
    let mut stack = Vec::new();
    match v {
        // A whole tree, or (loader quirk) a file that is one root node.
        Value::Object(o) => stack.push(Work::Node(o.get("root").unwrap_or(v), None)),
        // Loader quirk: a list of the root's children.
        Value::Array(children) => {
            let mut root = Node::new("");
            root.origin = flat::origin(FORMAT, Author::Unknown, None);
            let b = LoomBuilder::new(root);
            let top = b.root();
            walk.builder = Some(b);
            stack.extend(children.iter().rev().map(|c| Work::Node(c, Some(top))));
        }
        _ => {
            return Err(ImportError::invalid(
                FORMAT,
                "the file is neither an object nor a list",
            ));
        }
    }
    while let Some(work) = stack.pop() {
        match work {
            Work::Node(value, parent) => walk.node(value, parent, &context, &mut stack)?,
            Work::Unzip {
                children,
                tail,
                mask,
                hoisted,
            } => {
                let &at = walk.ids.get(&tail).ok_or_else(|| {
                    ImportError::invalid(
                        FORMAT,
                        format!(
                            "compound node {:?}: its tail_id {tail:?} is not inside its masked_head",
                            mask.clone().unwrap_or_default()
                        ),
                    )
                })?;
                if let Some(m) = mask {
                    walk.ids.entry(m).or_insert(at);
                }
                if hoisted {
                    walk.hoist = Some(at);
                }
                stack.extend(children.iter().rev().map(|c| Work::Node(c, Some(at))));
            }
        }
    }
    finish(walk, file)
}

fn chapters(file: Option<&Map<String, Value>>) -> HashMap<String, String> {
    let Some(map) = file
        .and_then(|f| f.get("chapters"))
        .and_then(Value::as_object)
    else {
        return HashMap::new();
    };
    map.iter()
        .map(|(id, ch)| {
            let title = ch.get("title").and_then(Value::as_str).unwrap_or(id);
            (id.clone(), title.to_string())
        })
        .collect()
}

fn finish(walk: Walk, file: Option<&Map<String, Value>>) -> Result<Vec<ImportedTree>, ImportError> {
    let builder = walk
        .builder
        .ok_or_else(|| ImportError::invalid(FORMAT, "the file has no root node"))?;
    let mut loom = builder.finish();
    let selected = file
        .and_then(|f| f.get("selected_node_id"))
        .and_then(id_of)
        .and_then(|id| walk.ids.get(&id).copied());
    if let Some(id) = selected {
        let _ = loom.set_cursor(id);
    }
    if walk.hoist.is_some() {
        let _ = loom.set_hoist(walk.hoist);
    }
    let mut warnings = Vec::new();
    if walk.unmatched_tokens > 0 {
        warnings.push(format!(
            "{} nodes had token data that does not spell their text (edited or reformatted); it was left out",
            walk.unmatched_tokens
        ));
    }
    Ok(vec![ImportedTree::new("", loom, warnings)])
}

impl Walk {
    fn node<'a>(
        &mut self,
        value: &'a Value,
        parent: Option<NodeId>,
        context: &Context<'a>,
        stack: &mut Vec<Work<'a>>,
    ) -> Result<(), ImportError> {
        self.count += 1;
        let id = value.get("id").and_then(id_of);
        let at = match &id {
            Some(id) => format!("node {id:?}"),
            None => format!("node #{} (in file order)", self.count),
        };
        let o = Obj::new(value, FORMAT, at)?;
        let children = o.opt_array("children")?.unwrap_or(&[]);
        if let Some(head) = o.get("masked_head") {
            // A zipped chain (or a hoisted root): add the chain it masks, then its children
            // under the chain's tail, as pyloom's own `unzip` does.
            stack.push(Work::Unzip {
                children,
                tail: o.id("tail_id")?,
                mask: id,
                hoisted: o.lenient_bool("hoisted").unwrap_or(false),
            });
            stack.push(Work::Node(head, parent));
            return Ok(());
        }
        let node = self.convert(&o, id.as_deref(), context)?;
        let new_id = match (parent, self.builder.as_mut()) {
            (None, None) => {
                let b = LoomBuilder::new(node);
                let root = b.root();
                self.builder = Some(b);
                root
            }
            (Some(p), Some(b)) => b.add(p, node).map_err(|e| o.err(e))?,
            _ => return Err(o.err("a second root")),
        };
        if let Some(id) = id {
            self.ids.insert(id, new_id);
        }
        stack.extend(children.iter().rev().map(|c| Work::Node(c, Some(new_id))));
        Ok(())
    }

    fn convert(
        &mut self,
        o: &Obj,
        id: Option<&str>,
        context: &Context,
    ) -> Result<Node, ImportError> {
        let mut node = Node::new(o.str("text")?);
        let meta = o.opt_object("meta")?;
        let source = meta.as_ref().and_then(|m| m.lenient_str("source"));
        let author = match source {
            Some("AI") | Some("mixed") => Author::Model,
            Some("prompt") => Author::Human,
            _ => Author::Unknown,
        };
        let modified = meta.as_ref().and_then(|m| m.lenient_bool("modified"));
        node.edited =
            source == Some("mixed") || (author == Author::Model && modified == Some(true));
        node.created = meta
            .as_ref()
            .and_then(|m| m.lenient_str("creation_timestamp"))
            .and_then(parse_pyloom)
            .unwrap_or(0);
        let generation = meta.as_ref().and_then(|m| m.get("generation"));
        let response = o
            .get("generation")
            .and_then(|g| Some((g.get("id").and_then(id_of)?, g.get("index")?.as_u64()?)))
            .and_then(|(rid, index)| Some((context.responses?.get(&rid)?, index as usize)));
        let model = generation
            .and_then(|g| g.get("model"))
            .or_else(|| response.and_then(|(r, _)| r.get("model")))
            .or_else(|| meta.as_ref().and_then(|m| m.get("model")))
            .and_then(Value::as_str)
            .map(String::from);
        node.origin = flat::origin(FORMAT, author, model);
        let had_tokens = generation
            .is_some_and(|g| g.get("logprobs").is_some_and(|l| !l.is_null()))
            || response.is_some();
        node.tokens = generation
            .and_then(|g| g.get("logprobs"))
            .and_then(|lp| from_openai_logprobs(lp, &node.text))
            .or_else(|| response.and_then(|(r, i)| from_response(r, i, &node.text)));
        if had_tokens && node.tokens.is_none() {
            self.unmatched_tokens += 1;
        }
        self.marks(o, id, context, &mut node)?;
        node.extra = extras(o, meta.as_ref(), id, context);
        Ok(node)
    }

    fn marks(
        &self,
        o: &Obj,
        id: Option<&str>,
        context: &Context,
        node: &mut Node,
    ) -> Result<(), ImportError> {
        node.bookmarked = o.lenient_bool("bookmark").unwrap_or(false);
        node.archived = o.lenient_bool("archived").unwrap_or(false);
        for tag in o
            .opt_array("tags")?
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_str)
        {
            match tag {
                "bookmark" => node.bookmarked = true,
                "archived" => node.archived = true,
                other if !node.tags.iter().any(|t| t == other) => node.tags.push(other.to_string()),
                _ => {}
            }
        }
        let canonical = o.lenient_bool("canonical").unwrap_or(false)
            || id.is_some_and(|i| context.canonical.contains(i));
        if canonical && !node.tags.iter().any(|t| t == "canonical") {
            node.tags.push("canonical".into());
        }
        node.unread = !o.lenient_bool("visited").unwrap_or(false);
        node.memory = o.lenient_str("memory").unwrap_or("").to_string();
        if let Some(notes) = o.opt_array("notes")? {
            let notes: Vec<&str> = notes.iter().filter_map(Value::as_str).collect();
            node.note = notes.join("\n\n");
        }
        Ok(())
    }
}

fn extras(o: &Obj, meta: Option<&Obj>, id: Option<&str>, context: &Context) -> Map<String, Value> {
    let mut kept = o.keep(KEPT);
    if let Some(id) = id {
        kept.insert("id".into(), id.into());
    }
    if let Some(chapter) = o.get("chapter_id").and_then(id_of) {
        let title = context.chapters.get(&chapter).cloned().unwrap_or(chapter);
        kept.insert("chapter".into(), title.into());
    }
    if let Some(origin) = meta.and_then(|m| m.get("origin")).and_then(shallow) {
        kept.insert("origin".into(), origin);
    }
    let mut extra = Map::new();
    if !kept.is_empty() {
        extra.insert(FORMAT.into(), Value::Object(kept));
    }
    extra
}

/// pyloom's JSONL export: one `{id, text, parent_id}` object per line, parents first.
pub fn import_lines(text: &str) -> Result<Vec<ImportedTree>, ImportError> {
    let mut nodes = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value = serde_json::from_str(line).map_err(|e| {
            ImportError::invalid(FORMAT, format!("line {}: not valid JSON: {e}", i + 1))
        })?;
        let o = Obj::new(&value, FORMAT, format!("line {}", i + 1))?;
        let mut node = Node::new(o.str("text")?);
        node.origin = flat::origin(FORMAT, Author::Unknown, None);
        nodes.push(FlatNode {
            key: o.id("id")?,
            parent: o.opt_id("parent_id")?,
            node,
        });
    }
    let built = flat::build(FORMAT, nodes, &HashMap::new())?;
    Ok(vec![ImportedTree::new("", built.loom, built.warnings)])
}
