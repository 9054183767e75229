//! Importing trees from other looms: format detection from content, one small reader per
//! format, all ending in a `Loom` whose nodes record the source format in their origin.
//!
//! The TUI's `:import` calls [`import`] and grafts a chosen tree under a node with
//! `Loom::graft`; `tloom import` writes each tree to a file.

mod basemode;
mod bonsai;
mod detect;
mod dmp;
mod error;
mod exoloom;
mod flat;
mod helm;
pub mod json;
mod logitloom;
mod loomsidian;
mod miniloom;
mod openloom;
mod pyloom;
mod pyloom_tokens;
mod textile;
mod wool;

pub use detect::{detect, detect_value};
pub use error::ImportError;
pub use json::MAX_DEPTH as MAX_JSON_DEPTH;

use crate::tree::Loom;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A format tloom can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// tloom's own file (imported as a subtree).
    Tloom,
    /// socketteer/loom, the original Python loom (nested JSON; also its JSONL export).
    Pyloom,
    /// The Obsidian loom plugin: a vault `data.json`, one note's export, or the list form.
    Loomsidian,
    /// Bonsai's `{nodes, edges, pathNodes}`.
    Bonsai,
    /// exoloom's export with its lens.
    Exoloom,
    /// MiniLoom and MiniHF: diff-match-patch nodes.
    Miniloom,
    /// basemode-loom's JSON export.
    Basemode,
    /// OpenLoom v1 (`*.openloom.json`).
    Openloom,
    /// Helm's `tree.json`.
    Helm,
    /// wool's `tree_state.json`.
    Wool,
    /// logitloom's `*.ll.json`.
    Logitloom,
    /// textile (formerly loompad) full-tree JSON export.
    Textile,
    /// Lync event logs (JSON lines), which textile opens.
    Lync,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Tloom,
        Format::Pyloom,
        Format::Loomsidian,
        Format::Bonsai,
        Format::Exoloom,
        Format::Miniloom,
        Format::Basemode,
        Format::Openloom,
        Format::Helm,
        Format::Wool,
        Format::Logitloom,
        Format::Textile,
        Format::Lync,
    ];

    /// The name used on the command line and in node provenance.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tloom => "tloom",
            Format::Pyloom => "pyloom",
            Format::Loomsidian => "loomsidian",
            Format::Bonsai => "bonsai",
            Format::Exoloom => "exoloom",
            Format::Miniloom => "miniloom",
            Format::Basemode => "basemode",
            Format::Openloom => "openloom",
            Format::Helm => "helm",
            Format::Wool => "wool",
            Format::Logitloom => "logitloom",
            Format::Textile => "textile",
            Format::Lync => "lync",
        }
    }

    /// Other names accepted for the format.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Format::Pyloom => &["socketteer", "janus"],
            Format::Loomsidian => &["obsidian"],
            Format::Miniloom => &["minihf"],
            Format::Textile => &["loompad"],
            _ => &[],
        }
    }

    /// All names, for messages.
    pub fn names() -> String {
        Format::ALL
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
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
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s || f.aliases().contains(&s.as_str()))
            .ok_or_else(|| format!("unknown format {s:?}; known: {}", Format::names()))
    }
}

/// One tree read from a file. Most files hold one; a Loomsidian vault holds one per note.
#[derive(Debug)]
pub struct ImportedTree {
    /// The tree's name in the file (a note path, a title), empty when it has none.
    pub name: String,
    pub loom: Loom,
    /// What was changed or left out on the way in (e.g. a DAG reduced to a tree).
    pub warnings: Vec<String>,
}

impl ImportedTree {
    fn new(name: impl Into<String>, loom: Loom, warnings: Vec<String>) -> ImportedTree {
        ImportedTree {
            name: name.into(),
            loom,
            warnings,
        }
    }
}

/// The bytes as text without a byte-order mark, or an error at the first bad byte.
pub(crate) fn text_of(bytes: &[u8]) -> Result<&str, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ImportError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(text)
}

/// Read every tree in `bytes`, in the given format or the one detected from the content.
pub fn import(bytes: &[u8], format: Option<Format>) -> Result<Vec<ImportedTree>, ImportError> {
    let text = text_of(bytes)?;
    let format = match format {
        Some(f) => f,
        None if detect::is_json_lines(text) => detect::detect_lines(text)?,
        None => {
            return json::with_value(text.as_bytes(), |v| convert(detect_value(&v)?, &v, text));
        }
    };
    match format {
        Format::Lync => textile::import_lync(text),
        Format::Tloom => tloom(text),
        Format::Pyloom if detect::is_json_lines(text) => pyloom::import_lines(text),
        other => json::with_value(text.as_bytes(), |v| convert(other, &v, text)),
    }
}

fn convert(format: Format, v: &Value, text: &str) -> Result<Vec<ImportedTree>, ImportError> {
    match format {
        Format::Tloom => tloom(text),
        Format::Pyloom => pyloom::import(v),
        Format::Loomsidian => loomsidian::import(v),
        Format::Bonsai => bonsai::import(v),
        Format::Exoloom => exoloom::import(v),
        Format::Miniloom => miniloom::import(v),
        Format::Basemode => basemode::import(v),
        Format::Openloom => openloom::import(v),
        Format::Helm => helm::import(v),
        Format::Wool => wool::import(v),
        Format::Logitloom => logitloom::import(v),
        Format::Textile => textile::import(v),
        Format::Lync => textile::import_lync(text),
    }
}

fn tloom(text: &str) -> Result<Vec<ImportedTree>, ImportError> {
    let opened =
        crate::store::load_bytes(std::path::Path::new("input"), text.as_bytes()).map_err(|e| {
            let msg = e.to_string();
            ImportError::invalid("tloom", msg.trim_start_matches("input: ").to_string())
        })?;
    Ok(vec![ImportedTree::new("", opened.loom, opened.warnings)])
}
