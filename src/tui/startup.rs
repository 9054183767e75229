//! Opening a loom for the UI: the named file or the scratch loom, the lock, the config.

use crate::app::state::FileState;
use crate::session::config::{Config, ThemeName};
use crate::store::{self, Base, FileLock, Journal};
use crate::tree::Loom;
use std::path::{Path, PathBuf};

/// A loom ready for the UI, and what to tell the user first.
pub struct Opened {
    pub loom: Loom,
    pub file: FileState,
    pub lock: Option<FileLock>,
    /// Where unsaved changes go between saves (None when the file is read-only).
    pub journal: Option<Journal>,
    pub notes: Vec<String>,
}

/// The scratch loom used when no file is named: `<data dir>/tloom/scratch.json`.
pub fn scratch_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TLOOM_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("scratch.json"));
    }
    use etcetera::BaseStrategy;
    Some(
        etcetera::choose_base_strategy()
            .ok()?
            .data_dir()
            .join("tloom/scratch.json"),
    )
}

/// Open `path` (or the scratch loom), creating it from the starter prompt when missing.
/// Without `read_only`, the file is locked; a file held by another tloom is refused with a
/// message naming that process.
pub fn open(path: Option<&Path>, read_only: bool, config: &Config) -> Result<Opened, String> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => scratch_path()
            .ok_or("no data directory for the scratch loom; name a file: tloom FILE")?,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
    }
    let lock = if read_only {
        None
    } else {
        Some(
            FileLock::acquire(&path)
                .map_err(|e| format!("{e}\n(open it with --read-only to look without writing)"))?,
        )
    };
    let mut notes = Vec::new();
    let mut base = Base::of(b"");
    let mut replayed = 0;
    let (loom, mut ro) = if path.exists() && read_only {
        let opened = store::load(&path).map_err(|e| e.to_string())?;
        notes.extend(opened.warnings);
        (opened.loom, opened.read_only)
    } else if path.exists() {
        let recovered = store::load_recovering(&path).map_err(|e| e.to_string())?;
        notes.extend(recovered.notes);
        notes.extend(recovered.opened.warnings);
        base = recovered.base;
        replayed = recovered.replayed;
        (recovered.opened.loom, recovered.opened.read_only)
    } else {
        notes.push(format!(
            "new loom {}: write after the prompt, or press g to generate",
            path.display()
        ));
        (Loom::new(config.ui.starter_prompt.clone()), None)
    };
    if read_only && ro.is_none() {
        ro = Some("opened with --read-only".into());
    }
    if let Some(r) = &ro {
        notes.push(format!("read-only: {r}"));
    }
    // A new file, or recovered changes, are saved at the first tick.
    let dirty = !path.exists() || replayed > 0;
    let journal = ro.is_none().then(|| Journal::new(&path, base));
    Ok(Opened {
        loom,
        file: FileState {
            path,
            read_only: ro,
            dirty,
            save_due: (replayed > 0).then_some(0),
            save_error: None,
        },
        lock,
        journal,
        notes,
    })
}

/// The theme to use: the config's, or monochrome when NO_COLOR is set.
pub fn theme(config: &Config) -> ThemeName {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        ThemeName::Mono
    } else {
        config.ui.theme
    }
}
