//! Markdown of one path: the text from the root to a node, optionally with an invisible
//! marker where each node starts and YAML front matter giving provenance (models,
//! sampling, dates, node ids). Values are written in YAML flow style with JSON-quoted
//! strings, which every YAML parser reads.

use super::ExportOptions;
use crate::store::time::format_rfc3339;
use crate::tree::{Author, Loom, Node, NodeId, Origin};
use serde_json::{Value, json};

/// The path ending at `end` as Markdown.
pub fn path(loom: &Loom, end: NodeId, options: &ExportOptions) -> String {
    let chain = loom.ancestry(end);
    let mut out = String::new();
    if options.front_matter {
        out.push_str(&front_matter(loom, &chain, options));
    }
    for id in &chain {
        let Some(node) = loom.get(*id) else { continue };
        if options.separators {
            out.push_str(&format!("<!-- node {id}{} -->", who(node)));
        }
        out.push_str(&node.text);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// " · model-name" or " · human" for a separator.
fn who(node: &Node) -> String {
    match (&node.origin, node.origin.model_name()) {
        (_, Some(m)) if !m.is_empty() => format!(" · {}", m.replace("--", "- -")),
        (Origin::Human, _) => " · human".into(),
        (Origin::Imported(i), _) if i.author == Author::Human => " · human".into(),
        _ => String::new(),
    }
}

fn author(node: &Node) -> &'static str {
    match &node.origin {
        Origin::Human => "human",
        Origin::Model(_) => "model",
        Origin::Imported(i) => match i.author {
            Author::Human => "human",
            Author::Model => "model",
            Author::Unknown => "unknown",
        },
    }
}

/// An f32 setting as the decimal it was typed as: `0.8`, not the `0.800000011920929` that
/// widening it to f64 prints.
fn short(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(x as f64)
}

/// One node's provenance as a JSON object (written inline, which YAML accepts).
fn provenance(node: &Node) -> Value {
    let mut v = json!({"id": node.id().to_string(), "author": author(node)});
    if node.created > 0 {
        v["created"] = format_rfc3339(node.created).into();
    }
    if node.edited {
        v["edited"] = true.into();
    }
    match &node.origin {
        Origin::Model(g) => {
            v["model"] = g.model.clone().into();
            v["backend"] = g.backend.clone().into();
            v["sampling"] = json!({
                "temperature": short(g.params.temperature), "top_p": short(g.params.top_p),
                "top_k": g.params.top_k, "min_p": short(g.params.min_p),
                "repetition_penalty": short(g.params.repetition_penalty),
                "max_tokens": g.params.max_tokens, "seed": g.seed,
            });
            if let Some(f) = &g.finish {
                v["finish"] = f.clone().into();
            }
        }
        Origin::Imported(i) => {
            v["imported_from"] = i.format.clone().into();
            if let Some(m) = &i.model {
                v["model"] = m.clone().into();
            }
        }
        Origin::Human => {}
    }
    v
}

fn front_matter(loom: &Loom, chain: &[NodeId], options: &ExportOptions) -> String {
    let nodes: Vec<&Node> = chain.iter().filter_map(|id| loom.get(*id)).collect();
    let mut models: Vec<&str> = nodes.iter().filter_map(|n| n.origin.model_name()).collect();
    models.sort_unstable();
    models.dedup();
    let times: Vec<i64> = nodes.iter().map(|n| n.created).filter(|t| *t > 0).collect();
    let title = super::title(loom, options);
    let mut out = String::from("---\n");
    let line = |out: &mut String, key: &str, v: Value| {
        out.push_str(&format!("{key}: {}\n", flow(&v)));
    };
    line(&mut out, "title", title.into());
    line(
        &mut out,
        "generator",
        format!("tloom {}", env!("CARGO_PKG_VERSION")).into(),
    );
    line(
        &mut out,
        "node",
        chain
            .last()
            .map(|n| n.to_string())
            .unwrap_or_default()
            .into(),
    );
    line(
        &mut out,
        "path",
        chain
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .into(),
    );
    line(&mut out, "models", models.into());
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        line(&mut out, "created", format_rfc3339(*first).into());
        line(&mut out, "updated", format_rfc3339(*last).into());
    }
    out.push_str("nodes:\n");
    for node in &nodes {
        out.push_str(&format!("  - {}\n", flow(&provenance(node))));
    }
    out.push_str("---\n\n");
    out
}

/// A value in YAML flow style: `{key: value, ...}`, `[a, b]`, JSON scalars.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        scalar => scalar.to_string(),
    }
}
