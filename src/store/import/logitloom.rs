//! logitloom's `*.ll.json`: a prompt (and prefill) and a tree of single tokens, each with
//! its logprob. The root holds the prompt and prefill; each token becomes a node whose one
//! token record carries the logprob.

use super::ImportedTree;
use super::error::ImportError;
use super::flat;
use super::json::Obj;
use crate::tree::{Author, LoomBuilder, Node, NodeId, TokenRecord};
use serde_json::{Map, Value};

const FORMAT: &str = "logitloom";

pub fn import(v: &Value) -> Result<Vec<ImportedTree>, ImportError> {
    let file = Obj::new(v, FORMAT, "the file")?;
    let model = file.lenient_str("modelName").map(String::from);
    let settings = file.opt_object("modelSettings")?;
    let part = |k: &str| {
        settings
            .as_ref()
            .and_then(|s| s.lenient_str(k))
            .unwrap_or("")
    };
    let mut root = Node::new(format!("{}{}", part("prompt"), part("prefill")));
    root.origin = flat::origin(FORMAT, Author::Human, None);
    if let Some(s) = &settings {
        root.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(s.keep(&["kind"])))]);
    }
    let mut builder = LoomBuilder::new(root);
    let top = builder.root();
    let mut stack: Vec<(&Value, NodeId)> = file
        .array("roots")?
        .iter()
        .rev()
        .map(|t| (t, top))
        .collect();
    let mut count = 0usize;
    while let Some((value, parent)) = stack.pop() {
        count += 1;
        let o = Obj::new(value, FORMAT, format!("token #{count} (in file order)"))?;
        let text = o.str("text")?;
        let mut n = Node::new(text);
        n.origin = flat::origin(FORMAT, Author::Model, model.clone());
        if let Some(lp) = o.lenient_f64("logprob") {
            n.tokens = Some(vec![TokenRecord {
                id: None,
                text: text.to_string(),
                logprob: lp as f32,
                top: Vec::new(),
            }]);
        }
        let kept = o.keep(&["id", "prob", "branchFinished"]);
        n.extra = Map::from_iter([(FORMAT.to_string(), Value::Object(kept))]);
        let id = builder.add(parent, n).map_err(|e| o.err(e))?;
        let children = o.opt_array("children")?.unwrap_or(&[]);
        stack.extend(children.iter().rev().map(|c| (c, id)));
    }
    let mut loom = builder.finish();
    loom.memory = part("systemPrompt").to_string();
    Ok(vec![ImportedTree::new("", loom, Vec::new())])
}
