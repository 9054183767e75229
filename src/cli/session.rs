//! Opening a loom file for a headless command: read-only, or locked, changed and saved.

use super::error::{CliError, CliResult, code};
use crate::store::{self, FileLock};
use crate::tree::{Loom, NodeId};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// Load a loom to read it. Repairs made while loading are reported on stderr.
pub fn read_loom(path: &Path) -> CliResult<Loom> {
    let opened = store::load(path)?;
    for w in &opened.warnings {
        eprintln!("tloom: {}: {w}", path.display());
    }
    Ok(opened.loom)
}

/// Lock, load, change and save a loom. Nothing is written when `change` fails.
pub fn change_loom<T>(path: &Path, change: impl FnOnce(&mut Loom) -> CliResult<T>) -> CliResult<T> {
    let _lock = FileLock::acquire(path)?;
    // Changes a killed tloom left in the journal are part of the loom this command changes.
    let recovered = store::load_recovering(path)?;
    for note in &recovered.notes {
        eprintln!("{}: {note}", path.display());
    }
    let opened = recovered.opened;
    if let Some(reason) = opened.read_only {
        return Err(CliError::new(
            code::DATA,
            format!("{}: {reason}", path.display()),
        ));
    }
    let mut loom = opened.loom;
    let result = change(&mut loom)?;
    let bytes = store::to_bytes(&loom);
    store::save_bytes(path, &bytes)?;
    store::Journal::new(path, store::Base::of(&bytes)).saved(&mut loom, store::Base::of(&bytes))?;
    Ok(result)
}

/// Saves a loom the caller holds the lock of (and clears its journal).
pub fn save_loom(path: &Path, loom: &mut Loom) -> CliResult {
    let bytes = store::to_bytes(loom);
    store::save_bytes(path, &bytes)?;
    store::Journal::new(path, store::Base::of(&bytes)).saved(loom, store::Base::of(&bytes))?;
    Ok(())
}

/// Locks and loads a loom to change it over a while (saving with `save_loom`); the lock is
/// held until the returned guard is dropped.
pub fn open_for_change(path: &Path) -> CliResult<(FileLock, Loom)> {
    let lock = FileLock::acquire(path)?;
    let recovered = store::load_recovering(path)?;
    for note in &recovered.notes {
        eprintln!("{}: {note}", path.display());
    }
    let opened = recovered.opened;
    if let Some(reason) = opened.read_only {
        return Err(CliError::new(
            code::DATA,
            format!("{}: {reason}", path.display()),
        ));
    }
    Ok((lock, opened.loom))
}

/// The node a command is about: the given one (checked), else the saved cursor.
pub fn pick_node(loom: &Loom, node: Option<NodeId>) -> CliResult<NodeId> {
    let id = node.unwrap_or(loom.cursor());
    loom.node(id)?;
    Ok(id)
}

/// Text from --text, from --text-file (or "-" for stdin), or from piped stdin.
pub fn read_text(text: Option<String>, file: Option<PathBuf>, what: &str) -> CliResult<String> {
    if let Some(t) = text {
        return Ok(t);
    }
    match file {
        Some(p) if p.as_os_str() == "-" => read_stdin(),
        Some(p) => std::fs::read_to_string(&p).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                code::NO_INPUT
            } else {
                code::IO
            };
            CliError::new(code, format!("{}: cannot read {what}: {e}", p.display()))
        }),
        None if !std::io::stdin().is_terminal() => read_stdin(),
        None => Err(CliError::usage(format!(
            "no {what} given: use --text TEXT, --text-file PATH, or pipe it on stdin"
        ))),
    }
}

fn read_stdin() -> CliResult<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| CliError::new(code::IO, format!("cannot read stdin: {e}")))?;
    Ok(s)
}
