//! Exporting a loom to the formats people use. Every exporter is a pure function of the
//! loom and the options, so output is reproducible and easy to test; `tloom export` and the
//! TUI's `:export` both call [`export`].

mod canvas;
mod dot;
mod html;
mod layout;
mod markdown;
mod md_tree;
mod openloom;
mod pairs;
mod pyloom;
mod twee;
mod uuid;

use crate::tree::{Loom, LoomBuilder, NodeId};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A format tloom can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text of the path from the root to a node.
    Txt,
    /// Markdown of a path (or, with `subtree`, of the whole tree with alternatives folded).
    Md,
    /// tloom's own file format.
    Json,
    /// socketteer/loom's nested JSON, which the original loom opens.
    Pyloom,
    /// OpenLoom v1 (`*.openloom.json`).
    Openloom,
    /// Graphviz DOT.
    Dot,
    /// One self-contained HTML page with a collapsible tree.
    Html,
    /// Twine 3 source (Twee).
    Twee,
    /// JSON Canvas 1.0 (Obsidian).
    Canvas,
    /// JSON lines of preference pairs: prompt, chosen, rejected.
    Pairs,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Txt,
        Format::Md,
        Format::Json,
        Format::Pyloom,
        Format::Openloom,
        Format::Dot,
        Format::Html,
        Format::Twee,
        Format::Canvas,
        Format::Pairs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Md => "md",
            Format::Json => "json",
            Format::Pyloom => "pyloom",
            Format::Openloom => "openloom",
            Format::Dot => "dot",
            Format::Html => "html",
            Format::Twee => "twee",
            Format::Canvas => "canvas",
            Format::Pairs => "pairs",
        }
    }

    /// The usual file name ending.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Md => "md",
            Format::Json => "json",
            Format::Pyloom => "pyloom.json",
            Format::Openloom => "openloom.json",
            Format::Dot => "dot",
            Format::Html => "html",
            Format::Twee => "twee",
            Format::Canvas => "canvas",
            Format::Pairs => "jsonl",
        }
    }

    /// True for formats that export the path to one node rather than a tree.
    pub fn is_path(self, options: &ExportOptions) -> bool {
        match self {
            Format::Txt => true,
            Format::Md => !options.subtree,
            _ => false,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        let s = s.trim().to_ascii_lowercase();
        let alias = match s.as_str() {
            "markdown" => "md",
            "text" => "txt",
            "tloom" => "json",
            "graphviz" => "dot",
            "twine" => "twee",
            "jsoncanvas" => "canvas",
            other => other,
        };
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == alias)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                format!("unknown export format {s:?}; known: {}", names.join(", "))
            })
    }
}

/// What to export and how.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Path formats: the node the path ends at (default: the cursor). Tree formats: the
    /// node whose subtree is exported (default: the root), its text then being the whole
    /// path down to it so the excerpt reads from the start.
    pub node: Option<NodeId>,
    /// Markdown: the whole subtree at `node`, alternatives folded, instead of the path.
    pub subtree: bool,
    /// Markdown of a path: mark where each node starts.
    pub separators: bool,
    /// Markdown: YAML front matter giving provenance (models, sampling, dates, node ids).
    pub front_matter: bool,
    /// Tree views (md, html, dot, twee, canvas): leave out archived nodes and their subtrees.
    pub hide_archived: bool,
    /// A title (StoryTitle, OpenLoom title, page title); default: the loom's own, if any.
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExportError {
    #[error("node {0} does not exist")]
    NoSuchNode(NodeId),
    #[error(
        "{format} exports the path to a node; --subtree applies to md, and the tree formats always export a subtree"
    )]
    SubtreeNotForPath { format: &'static str },
    #[error(
        "the tree is {depth} levels deep, and a {format} file nests every level: tloom reads such files back only up to {limit} levels; export a subtree (--node) or use json"
    )]
    TooDeep {
        format: &'static str,
        depth: usize,
        limit: usize,
    },
}

/// The deepest tree a pyloom export may hold: each level nests an object and a `children`
/// array, and the importer reads JSON nested at most `import::MAX_JSON_DEPTH` levels (a few
/// more for the file's own wrapping).
pub const PYLOOM_MAX_LEVELS: usize = (crate::store::import::MAX_JSON_DEPTH - 16) / 2;

/// Export `loom` in `format`.
pub fn export(
    loom: &Loom,
    format: Format,
    options: &ExportOptions,
) -> Result<Vec<u8>, ExportError> {
    if format == Format::Txt && options.subtree {
        return Err(ExportError::SubtreeNotForPath { format: "txt" });
    }
    if let Some(n) = options.node
        && !loom.contains(n)
    {
        return Err(ExportError::NoSuchNode(n));
    }
    if format.is_path(options) {
        let end = options.node.unwrap_or(loom.cursor());
        let text = match format {
            Format::Txt => loom
                .path_text(end)
                .map_err(|_| ExportError::NoSuchNode(end))?,
            _ => markdown::path(loom, end, options),
        };
        return Ok(text.into_bytes());
    }
    let scoped = scope(loom, options.node);
    let loom = scoped.as_ref();
    if format == Format::Pyloom {
        let depth = loom.stats(loom.root()).depth;
        if depth > PYLOOM_MAX_LEVELS {
            return Err(ExportError::TooDeep {
                format: "pyloom",
                depth,
                limit: PYLOOM_MAX_LEVELS,
            });
        }
    }
    let title = title(loom, options);
    Ok(match format {
        Format::Json => crate::store::to_bytes(loom),
        Format::Md => md_tree::render(loom, options, &title).into_bytes(),
        Format::Pyloom => pyloom::render(loom).into_bytes(),
        Format::Openloom => openloom::render(loom, &title).into_bytes(),
        Format::Dot => dot::render(loom, options, &title).into_bytes(),
        Format::Html => html::render(loom, options, &title).into_bytes(),
        Format::Twee => twee::render(loom, options, &title).into_bytes(),
        Format::Canvas => canvas::render(loom, options).into_bytes(),
        Format::Pairs => pairs::render(loom).into_bytes(),
        Format::Txt => Vec::new(),
    })
}

/// The title to show: the option, else the loom's recorded title, else "tloom".
fn title(loom: &Loom, options: &ExportOptions) -> String {
    options
        .title
        .clone()
        .or_else(|| {
            loom.extra
                .get("title")
                .and_then(|t| t.as_str())
                .map(String::from)
        })
        .unwrap_or_else(|| "tloom".to_string())
}

/// The loom to export: the whole loom, or the subtree at `node` as a loom of its own
/// whose root holds the full path text down to `node`.
pub fn scope(loom: &Loom, node: Option<NodeId>) -> Cow<'_, Loom> {
    let Some(top) = node.filter(|n| *n != loom.root() && loom.contains(*n)) else {
        return Cow::Borrowed(loom);
    };
    let mut root = loom
        .get(top)
        .cloned()
        .unwrap_or_else(|| crate::tree::Node::new(""));
    root.text = loom.path_text(top).unwrap_or_default();
    root.tokens = None;
    let mut builder = LoomBuilder::new(root);
    let mut map = std::collections::HashMap::from([(top, builder.root())]);
    let mut cursor = builder.root();
    for id in loom.preorder(top).into_iter().skip(1) {
        let (Some(node), Some(parent)) = (loom.get(id), loom.parent(id)) else {
            continue;
        };
        let Some(&p) = map.get(&parent) else { continue };
        if let Ok(new) = builder.add(p, node.clone()) {
            map.insert(id, new);
            if id == loom.cursor() {
                cursor = new;
            }
        }
    }
    let mut sub = builder.finish();
    sub.memory = loom.memory.clone();
    sub.extra = loom.extra.clone();
    let _ = sub.set_cursor(cursor);
    Cow::Owned(sub)
}

/// The nodes a tree view shows: all, or without archived subtrees. Tree order.
pub(crate) fn shown(loom: &Loom, options: &ExportOptions) -> Vec<NodeId> {
    let mut out = Vec::with_capacity(loom.len());
    let mut stack = vec![loom.root()];
    while let Some(id) = stack.pop() {
        out.push(id);
        stack.extend(kids(loom, id, options).into_iter().rev());
    }
    out
}

/// A node's children as a tree view shows them.
pub(crate) fn kids(loom: &Loom, id: NodeId, options: &ExportOptions) -> Vec<NodeId> {
    if options.hide_archived {
        loom.visible_children(id)
    } else {
        loom.children(id).to_vec()
    }
}

/// At most `max` characters of `text` on one line, with an ellipsis when cut.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.trim();
    if trimmed.chars().count() > max {
        let cut: String = trimmed.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        trimmed.to_string()
    }
}

/// Escape text for HTML element content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
