//! A readable outline notation for trees: one node per line, two spaces of indent per level,
//! the text as a JSON string, an optional `#id`, and markers in brackets:
//! `*` cursor, `b` bookmarked, `x` archived, `m` model-written, `u` unread, `e` edited.
//! Past `MAX_INDENT` levels the indent stays and the line says its depth: `(depth 70) "..."`.
//!
//! ```text
//! "Once upon a time" #1
//!   ", a cat" #2 [b *]
//!   ", a dog" #3 [x]
//! ```
//! Tests write fixtures in it and compare trees as text, so a failure shows a tree diff.

use super::id::NodeId;
use super::loom::Loom;
use super::node::{Author, Imported, Node, Origin};

/// How to render an outline.
#[derive(Debug, Clone, Copy)]
pub struct OutlineOptions {
    pub ids: bool,
    /// Cut texts to this many characters (with an ellipsis).
    pub max_chars: Option<usize>,
    pub include_archived: bool,
}

impl Default for OutlineOptions {
    fn default() -> Self {
        OutlineOptions {
            ids: true,
            max_chars: None,
            include_archived: true,
        }
    }
}

/// Levels of indent an outline draws; deeper lines keep this indent and say their depth
/// (`(depth 12345) "text"`), so a 49,000-deep chain prints in linear, not quadratic, size.
pub const MAX_INDENT: usize = 64;

/// Render the subtree at `from` in outline notation.
pub fn render(loom: &Loom, from: NodeId, options: OutlineOptions) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = render_to(loom, from, options, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the outline of the subtree at `from` line by line (nothing held whole), in time
/// linear in the nodes.
pub fn render_to(
    loom: &Loom,
    from: NodeId,
    options: OutlineOptions,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    // (node, depth below `from`)
    let mut stack = vec![(from, 0usize)];
    let hidden_from = |id: NodeId| {
        // Whether `from` itself sits under an archived node.
        loom.ancestry(id)
            .iter()
            .any(|a| loom.get(*a).is_some_and(|n| n.archived))
    };
    if !options.include_archived && hidden_from(from) {
        return Ok(());
    }
    let mut line = String::new();
    while let Some((id, depth)) = stack.pop() {
        let Some(node) = loom.get(id) else { continue };
        if !options.include_archived && node.archived {
            continue;
        }
        line.clear();
        line.push_str(&"  ".repeat(depth.min(MAX_INDENT)));
        if depth > MAX_INDENT {
            line.push_str(&format!("(depth {depth}) "));
        }
        line.push_str(&quote(&node.text, options.max_chars));
        if options.ids {
            line.push_str(&format!(" #{id}"));
        }
        let markers = markers(loom, node);
        if !markers.is_empty() {
            line.push_str(&format!(" [{}]", markers.join(" ")));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        for &child in loom.children(id).iter().rev() {
            stack.push((child, depth + 1));
        }
    }
    Ok(())
}

fn quote(text: &str, max_chars: Option<usize>) -> String {
    match max_chars {
        Some(max) if text.chars().count() > max => {
            let cut: String = text.chars().take(max).collect();
            format!("{}…", serde_json::Value::String(cut))
        }
        _ => serde_json::Value::String(text.to_string()).to_string(),
    }
}

fn markers(loom: &Loom, node: &Node) -> Vec<&'static str> {
    let mut m = Vec::new();
    if loom.cursor() == node.id() {
        m.push("*");
    }
    if node.bookmarked {
        m.push("b");
    }
    if node.archived {
        m.push("x");
    }
    if node.origin.is_model() {
        m.push("m");
    }
    if node.unread {
        m.push("u");
    }
    if node.edited {
        m.push("e");
    }
    m
}

/// A line of an outline that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("outline line {line}: {problem}")]
pub struct OutlineError {
    pub line: usize,
    pub problem: String,
}

/// Build a loom from outline notation. Nodes without `#id` get ids in order from 1.
pub fn parse(text: &str) -> Result<Loom, OutlineError> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<NodeId> = Vec::new();
    let mut cursor = None;
    let mut next = 1u64;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |problem: String| OutlineError { line, problem };
        if raw.trim().is_empty() {
            continue;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if indent % 2 != 0 {
            return Err(err("indent must be a multiple of two spaces".into()));
        }
        let mut body = raw.trim_start();
        let mut depth = indent / 2;
        // Lines deeper than `MAX_INDENT` levels say their depth.
        if let Some(rest) = body.strip_prefix("(depth ")
            && let Some((n, rest)) = rest.split_once(") ")
        {
            depth = n
                .parse()
                .map_err(|_| err(format!("(depth {n}) is not a depth")))?;
            body = rest;
        }
        if depth > stack.len() || (nodes.is_empty() && depth != 0) {
            return Err(err("indented deeper than its parent".into()));
        }
        if depth == 0 && !nodes.is_empty() {
            return Err(err("a second root; only one node may be unindented".into()));
        }
        stack.truncate(depth);
        let (text, rest) = read_json_string(body).map_err(&err)?;
        let mut node = Node::new(text);
        let (id, flags) = read_tail(rest).map_err(&err)?;
        let id = id.unwrap_or(NodeId(next));
        next = next.max(id.0 + 1);
        if nodes.iter().any(|n| n.id == id) {
            return Err(err(format!("id #{id} used twice")));
        }
        node.id = id;
        node.created = 1;
        for flag in flags {
            match flag.as_str() {
                "*" => cursor = Some(id),
                "b" => node.bookmarked = true,
                "x" => node.archived = true,
                "u" => node.unread = true,
                "e" => node.edited = true,
                "m" => {
                    node.origin = Origin::Imported(Imported {
                        format: "outline".into(),
                        author: Author::Model,
                        model: None,
                    })
                }
                other => return Err(err(format!("unknown marker {other:?}"))),
            }
        }
        if let Some(&parent) = stack.last() {
            node.parent = Some(parent);
            if let Some(p) = nodes.iter_mut().find(|n| n.id == parent) {
                p.children.push(id);
            }
        }
        stack.push(id);
        nodes.push(node);
    }
    let root = nodes.first().map(|n| n.id).ok_or(OutlineError {
        line: 0,
        problem: "empty outline".into(),
    })?;
    let mut loom = Loom::from_checked_parts(root, nodes);
    if let Some(c) = cursor {
        loom.cursor = c;
    }
    Ok(loom)
}

fn read_json_string(s: &str) -> Result<(String, &str), String> {
    if !s.starts_with('"') {
        return Err("a node line starts with its text in double quotes".into());
    }
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<String>();
    match stream.next() {
        Some(Ok(text)) => Ok((text, &s[stream.byte_offset()..])),
        Some(Err(e)) => Err(format!("bad quoted text: {e}")),
        None => Err("missing text".into()),
    }
}

fn read_tail(rest: &str) -> Result<(Option<NodeId>, Vec<String>), String> {
    let mut rest = rest.trim();
    let mut id = None;
    if let Some(after) = rest.strip_prefix('#') {
        let end = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        id = Some(after[..end].parse::<NodeId>()?);
        rest = after[end..].trim();
    }
    let mut flags = Vec::new();
    if let Some(inner) = rest.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or("markers must close with ]")?;
        flags = inner.split_whitespace().map(str::to_string).collect();
    } else if !rest.is_empty() {
        return Err(format!("unexpected {rest:?} after the text"));
    }
    Ok((id, flags))
}
