//! Reading a journal back: checking each line's checksum, and replaying the changes onto the
//! saved file's contents before the loom is built, so the usual structural checks apply.

use super::error::StoreError;
use super::file::{Opened, finish_load, parse_dto};
use super::format::{FileDto, NodeDto, NodeMap};
use super::journal::{Base, HeaderLine, StateDto, fnv64, journal_path};
use crate::tree::NodeId;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// One flush of changes.
#[derive(Deserialize)]
struct EntryDto {
    state: StateDto,
    upsert: NodeMap,
    delete: Vec<NodeId>,
}

/// A loaded loom with its journal replayed.
pub struct Recovered {
    pub opened: Opened,
    /// The saved file's base, for the journal that continues it.
    pub base: Base,
    /// How many node changes were replayed from the journal (0 when there was none).
    pub replayed: usize,
    /// What the user should hear about the journal.
    pub notes: Vec<String>,
}

/// The payload of each intact line, in order; stops at the first torn or damaged line.
/// Also returns the byte length of the intact part.
fn intact_lines(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut lines = Vec::new();
    let mut at = 0;
    while let Some(end) = memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i) {
        let line = &bytes[at..end];
        let Some(payload) = check_line(line) else {
            break;
        };
        lines.push(payload);
        at = end + 1;
    }
    (lines, at)
}

fn check_line(line: &[u8]) -> Option<&[u8]> {
    if line.len() < 17 || line[16] != b' ' {
        return None;
    }
    let sum = std::str::from_utf8(&line[..16]).ok()?;
    let sum = u64::from_str_radix(sum, 16).ok()?;
    let payload = &line[17..];
    (fnv64(payload) == sum).then_some(payload)
}

fn header_base(payload: &[u8]) -> Option<Base> {
    let header: HeaderLine = serde_json::from_slice(payload).ok()?;
    (header.tloom_journal == 1).then_some(header.base)
}

/// The length of the intact part of a journal that extends `base`; None when it extends
/// another version of the file (or is not a journal).
pub(crate) fn valid_prefix(bytes: &[u8], base: Base) -> Option<usize> {
    let (lines, len) = intact_lines(bytes);
    let first = lines.first()?;
    (header_base(first)? == base).then_some(len)
}

/// Load `path` and replay its journal, if one extends exactly this version of the file.
/// A journal for another version (its changes were saved, or the file was replaced) is
/// set aside as `.<name>.journal-stale`; one that does not apply is set aside as
/// `.<name>.journal-rejected` and the file is loaded as saved.
pub fn load_recovering(path: &Path) -> Result<Recovered, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, "read", e))?;
    let base = Base::of(&bytes);
    let jpath = journal_path(path);
    let journal = match std::fs::read(&jpath) {
        Ok(j) => j,
        Err(_) => return plain(path, &bytes, base, Vec::new()),
    };
    let (lines, _) = intact_lines(&journal);
    let matches = lines.first().and_then(|h| header_base(h)) == Some(base);
    if !matches {
        let note = set_aside(&jpath, "stale", "it belongs to another version of the file");
        return plain(path, &bytes, base, vec![note]);
    }
    let mut dto = parse_dto(path, &bytes)?;
    let replayed = match apply_entries(&mut dto, &lines[1..]) {
        Ok(n) => n,
        Err(problem) => {
            let note = set_aside(&jpath, "rejected", &problem);
            return plain(path, &bytes, base, vec![note]);
        }
    };
    match finish_load(path, dto) {
        Ok(opened) => {
            let notes = if replayed > 0 {
                vec![format!(
                    "recovered {replayed} changes from the journal (tloom stopped before saving them)"
                )]
            } else {
                Vec::new()
            };
            Ok(Recovered {
                opened,
                base,
                replayed,
                notes,
            })
        }
        Err(e) => {
            let note = set_aside(&jpath, "rejected", &e.to_string());
            plain(path, &bytes, base, vec![note])
        }
    }
}

fn plain(
    path: &Path,
    bytes: &[u8],
    base: Base,
    notes: Vec<String>,
) -> Result<Recovered, StoreError> {
    let opened = finish_load(path, parse_dto(path, bytes)?)?;
    Ok(Recovered {
        opened,
        base,
        replayed: 0,
        notes,
    })
}

fn set_aside(jpath: &Path, tag: &str, why: &str) -> String {
    let aside = jpath.with_file_name(format!(
        "{}-{tag}",
        jpath
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    match std::fs::rename(jpath, &aside) {
        Ok(()) => format!("journal not replayed ({why}); kept as {}", aside.display()),
        Err(e) => format!(
            "journal {} not replayed ({why}); cannot set it aside: {e}",
            jpath.display()
        ),
    }
}

/// Apply each entry's upserts, deletions and state to the file's contents. Returns the
/// number of node changes.
fn apply_entries(dto: &mut FileDto, lines: &[&[u8]]) -> Result<usize, String> {
    if lines.is_empty() {
        return Ok(0);
    }
    let mut nodes: HashMap<NodeId, NodeDto> =
        std::mem::take(&mut dto.nodes.0).into_iter().collect();
    let mut count = 0;
    for (i, line) in lines.iter().enumerate() {
        let entry: EntryDto = serde_json::from_slice(line)
            .map_err(|e| format!("entry {} does not parse: {e}", i + 1))?;
        for (id, node) in entry.upsert.0 {
            nodes.insert(id, node);
            count += 1;
        }
        for id in entry.delete {
            nodes.remove(&id);
            count += 1;
        }
        dto.root = entry.state.root;
        dto.cursor = Some(entry.state.cursor);
        dto.hoist = entry.state.hoist;
        dto.next_id = Some(entry.state.next_id);
        dto.memory = entry.state.memory;
    }
    dto.nodes = NodeMap(nodes.into_iter().collect());
    Ok(count)
}
