//! Reading and writing tloom files. Loading never modifies the file; saving is atomic and
//! keeps the previous version as `<name>.bak`.

use super::atomic::write_atomic;
use super::convert::{from_dto, node_out};
use super::error::StoreError;
use super::format::{FORMAT, FileDto, Header, VERSION};
use crate::tree::Loom;
use std::io::Write;
use std::path::Path;

/// A loaded loom and what the user should be told about it.
pub struct Opened {
    pub loom: Loom,
    /// Set when the file must not be overwritten (written by a newer tloom), with the reason.
    pub read_only: Option<String>,
    /// Problems repaired while loading (e.g. a cursor pointing at a missing node).
    pub warnings: Vec<String>,
}

/// Read and check a loom file.
pub fn load(path: &Path) -> Result<Opened, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, "read", e))?;
    load_bytes(path, &bytes)
}

/// Parse loom file contents; `path` is only used in messages.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<Opened, StoreError> {
    finish_load(path, parse_dto(path, bytes)?)
}

/// Parse the contents into the file DTO, explaining what is wrong when they do not parse.
pub(crate) fn parse_dto(path: &Path, bytes: &[u8]) -> Result<FileDto, StoreError> {
    let dto: FileDto = match serde_json::from_slice(bytes) {
        Ok(dto) => dto,
        Err(e) => return Err(explain_failure(path, bytes, e)),
    };
    if dto.format != FORMAT {
        return Err(StoreError::NotTloom {
            path: path.to_path_buf(),
            found: format!("its \"format\" is {:?}, not \"{FORMAT}\"", dto.format),
        });
    }
    Ok(dto)
}

/// Check the DTO's structure and build the loom.
pub(crate) fn finish_load(path: &Path, dto: FileDto) -> Result<Opened, StoreError> {
    let version = dto.version;
    let converted = from_dto(dto).map_err(|problem| StoreError::Invalid {
        path: path.to_path_buf(),
        problem,
    })?;
    let read_only = (version > VERSION).then(|| {
        format!(
            "written by a newer tloom (format version {version}; this one writes {VERSION}): opened read-only"
        )
    });
    Ok(Opened {
        loom: converted.loom,
        read_only,
        warnings: converted.warnings,
    })
}

/// A file that did not parse as a tloom file: say whether it is not JSON, not ours, from a
/// newer tloom, or ours with a syntax or type error at a position.
fn explain_failure(path: &Path, bytes: &[u8], error: serde_json::Error) -> StoreError {
    let syntax = |e: &serde_json::Error| StoreError::Syntax {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        problem: clean_message(e),
    };
    let header: Header = match serde_json::from_slice(bytes) {
        Ok(h) => h,
        Err(e) if e.is_syntax() || e.is_eof() => return syntax(&e),
        Err(_) => Header {
            format: None,
            version: None,
        },
    };
    let is_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let format = header.format.as_ref().and_then(|f| f.as_str());
    if !is_object || format != Some(FORMAT) {
        let found = match (&header.format, is_object) {
            (_, false) => "it is JSON, but not an object".to_string(),
            (Some(f), true) => format!("its \"format\" is {f}, not \"{FORMAT}\""),
            (None, true) => "it has no \"format\": \"tloom\" field".into(),
        };
        return StoreError::NotTloom {
            path: path.to_path_buf(),
            found,
        };
    }
    match header.version.as_ref().and_then(|v| v.as_u64()) {
        Some(version) if version > VERSION => StoreError::TooNew {
            path: path.to_path_buf(),
            version,
            supported: VERSION,
        },
        _ => syntax(&error),
    }
}

fn clean_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line X column Y"; we report the position separately.
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Serialize a loom: a header, then one node per line (compact, diff-friendly), in tree
/// order. Nodes are written straight from the tree, without copying their texts.
pub fn to_bytes(loom: &Loom) -> Vec<u8> {
    let mut out = Vec::with_capacity(loom.len() * 256);
    out.push(b'{');
    for (k, v) in header_fields(loom) {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "\n{}: {},", json(&k), v);
    }
    out.extend_from_slice(b"\n\"nodes\": {");
    for (i, node) in loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| loom.get(id))
        .enumerate()
    {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        let _ = write!(out, "{}: ", json(&node.id().to_string()));
        let _ = serde_json::to_writer(&mut out, &node_out(node));
    }
    out.extend_from_slice(b"\n}\n}\n");
    out
}

fn header_fields(loom: &Loom) -> serde_json::Map<String, serde_json::Value> {
    let mut header = serde_json::Map::new();
    header.insert("format".into(), FORMAT.into());
    header.insert("version".into(), VERSION.into());
    header.insert("root".into(), loom.root().to_string().into());
    header.insert("cursor".into(), loom.cursor().to_string().into());
    if let Some(h) = loom.hoist() {
        header.insert("hoist".into(), h.to_string().into());
    }
    header.insert("next_id".into(), loom.next_id().into());
    if !loom.memory.is_empty() {
        header.insert("memory".into(), loom.memory.clone().into());
    }
    for (k, v) in &loom.extra {
        if k != "nodes" {
            header.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    header
}

fn json(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Save atomically, keeping the previous version as `<name>.bak`.
pub fn save(path: &Path, loom: &Loom) -> Result<(), StoreError> {
    save_bytes(path, &to_bytes(loom))
}

/// Save already serialized contents (from `to_bytes`) atomically, keeping a `.bak`.
pub fn save_bytes(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic(path, bytes, true).map_err(|(action, source)| StoreError::Io {
        path: path.to_path_buf(),
        action,
        source,
    })
}
