//! The journal: changes made since the last save, appended beside the file as checksummed
//! JSON lines, so a crash between autosaves loses at most the last second. A save removes it.
//!
//! Layout of `.<name>.journal`: a header line naming the saved file it extends (length and
//! hash of its bytes), then one line per flush holding the full form of every node created
//! or changed since the previous flush, the ids removed, and the tree-level state. Each line
//! is `<16 hex digits of FNV-1a 64> <json>\n`; a line whose checksum does not match (a write
//! torn by a crash) ends the journal.

use super::atomic::{sibling, sync_dir};
use super::convert::node_out;
use super::error::StoreError;
use crate::tree::{Loom, NodeId};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal that belongs to `path`: `.<name>.journal` in the same directory.
pub fn journal_path(path: &Path) -> PathBuf {
    sibling(path, ".", ".journal")
}

/// FNV-1a, 64 bit: a checksum against torn writes, not against tampering.
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Which saved file a journal extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    pub len: u64,
    pub hash: u64,
}

impl Base {
    /// The base for a file holding `bytes`.
    pub fn of(bytes: &[u8]) -> Base {
        Base {
            len: bytes.len() as u64,
            hash: fnv64(bytes),
        }
    }
}

/// The first line of a journal.
#[derive(Serialize, Deserialize)]
pub(crate) struct HeaderLine {
    pub tloom_journal: u32,
    pub base: Base,
}

/// Tree-level state written with every flush.
#[derive(Serialize, Deserialize, PartialEq)]
pub(crate) struct StateDto {
    pub root: NodeId,
    pub cursor: NodeId,
    #[serde(default)]
    pub hoist: Option<NodeId>,
    pub next_id: u64,
    #[serde(default)]
    pub memory: String,
}

fn state_of(loom: &Loom) -> StateDto {
    StateDto {
        root: loom.root(),
        cursor: loom.cursor(),
        hoist: loom.hoist(),
        next_id: loom.next_id(),
        memory: loom.memory.clone(),
    }
}

/// One framed line: checksum, space, payload, newline.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(payload.len() + 18);
    line.extend_from_slice(format!("{:016x} ", fnv64(payload)).as_bytes());
    line.extend_from_slice(payload);
    line.push(b'\n');
    line
}

/// Appends a loom's changes to its journal. Owned by whoever saves the file.
pub struct Journal {
    path: PathBuf,
    base: Base,
    file: Option<File>,
    last_state: Option<StateDto>,
}

impl Journal {
    /// A journal for the file at `path`, whose saved bytes have `base`. Nothing is written
    /// until the first flush with changes.
    pub fn new(path: &Path, base: Base) -> Journal {
        Journal {
            path: journal_path(path),
            base,
            file: None,
            last_state: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append the loom's changes since the last flush and fsync. Returns how many nodes were
    /// written (0: nothing had changed, nothing written). On failure the changes stay marked.
    pub fn flush(&mut self, loom: &mut Loom) -> Result<usize, StoreError> {
        let state = state_of(loom);
        if !loom.has_changes() && self.last_state.as_ref() == Some(&state) {
            return Ok(0);
        }
        let ids = loom.take_changed();
        let line = frame(&entry_bytes(loom, &ids, &state));
        match self.append(&line) {
            Ok(()) => {
                self.last_state = Some(state);
                Ok(ids.len())
            }
            Err((action, e)) => {
                for id in ids {
                    loom.mark_changed(id);
                }
                Err(StoreError::io(&self.path, action, e))
            }
        }
    }

    fn append(&mut self, line: &[u8]) -> Result<(), (&'static str, std::io::Error)> {
        if self.file.is_none() {
            self.file = Some(self.open()?);
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let written = file
            .write_all(line)
            .map_err(|e| ("write", e))
            .and_then(|()| file.sync_data().map_err(|e| ("flush to disk", e)));
        if written.is_err() {
            // Reopen next time: the tail may be torn, and `open` cuts it off.
            self.file = None;
        }
        written
    }

    /// Open for appending: keep the valid part of a journal that extends the same base (it
    /// was replayed at startup), start afresh otherwise.
    fn open(&self) -> Result<File, (&'static str, std::io::Error)> {
        let valid = std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| super::replay::valid_prefix(&bytes, self.base));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|e| ("create", e))?;
        match valid {
            Some(len) => file.set_len(len as u64).map_err(|e| ("truncate", e))?,
            None => {
                file.set_len(0).map_err(|e| ("truncate", e))?;
                let header = HeaderLine {
                    tloom_journal: 1,
                    base: self.base,
                };
                let payload = serde_json::to_vec(&header).map_err(|e| ("encode", e.into()))?;
                file.write_all(&frame(&payload)).map_err(|e| ("write", e))?;
            }
        }
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::End(0)).map_err(|e| ("seek", e))?;
        file.sync_all().map_err(|e| ("flush to disk", e))?;
        sync_dir(&self.path).map_err(|e| ("flush the directory of", e))?;
        Ok(file)
    }

    /// After a successful save of `bytes`: the journal's changes are in the file, so remove
    /// it and start the next one from the new base. The loom's pending changes are dropped.
    pub fn saved(&mut self, loom: &mut Loom, base: Base) -> Result<(), StoreError> {
        loom.take_changed();
        self.base = base;
        self.file = None;
        self.last_state = Some(state_of(loom));
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&self.path, "remove", e)),
        }
    }
}

/// `{"state": {...}, "upsert": {"id": node, ...}, "delete": ["id", ...]}`, nodes in the
/// file's own node form.
fn entry_bytes(loom: &Loom, ids: &[NodeId], state: &StateDto) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"state\":");
    // Serializing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, state);
    out.extend_from_slice(b",\"upsert\":{");
    let mut first = true;
    let mut deleted = Vec::new();
    for id in ids {
        match loom.get(*id) {
            Some(node) => {
                if !first {
                    out.push(b',');
                }
                first = false;
                let _ = write!(out, "\"{id}\":");
                let _ = serde_json::to_writer(&mut out, &node_out(node));
            }
            None => deleted.push(*id),
        }
    }
    out.extend_from_slice(b"},\"delete\":");
    let _ = serde_json::to_writer(&mut out, &deleted);
    out.push(b'}');
    out
}
