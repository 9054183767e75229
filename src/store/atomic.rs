//! Atomic file replacement: write a temp file in the same directory, fsync it, keep the old
//! version as a backup, rename over the target, fsync the directory. A failure at any point
//! leaves the old file as it was.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The backup kept beside `path`: `<name>.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    sibling(path, "", ".bak")
}

/// A file in the same directory as `path`, named `<prefix><name><suffix>`.
pub fn sibling(path: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "loom".into());
    path.with_file_name(format!("{prefix}{name}{suffix}"))
}

fn temp_path(path: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    sibling(path, ".", &format!(".tmp-{}-{n}", std::process::id()))
}

/// Replace `path` with `bytes` atomically. With `keep_backup`, the previous contents stay
/// in `<name>.bak`. Returns the I/O error of the first step that failed and which step it was.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    keep_backup: bool,
) -> Result<(), (&'static str, std::io::Error)> {
    let temp = temp_path(path);
    let result = write_then_rename(path, &temp, bytes, keep_backup);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_then_rename(
    path: &Path,
    temp: &Path,
    bytes: &[u8],
    keep_backup: bool,
) -> Result<(), (&'static str, std::io::Error)> {
    let existing = fs::metadata(path).ok();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| ("create a temporary file beside", e))?;
    if let Some(meta) = &existing {
        // Keep the user's permissions on the new version.
        let _ = file.set_permissions(meta.permissions());
    }
    file.write_all(bytes).map_err(|e| ("write", e))?;
    file.sync_all().map_err(|e| ("flush to disk", e))?;
    drop(file);
    if keep_backup && existing.is_some() {
        keep_previous(path).map_err(|e| ("keep a backup of", e))?;
    }
    fs::rename(temp, path).map_err(|e| ("replace", e))?;
    sync_dir(path).map_err(|e| ("flush the directory of", e))?;
    Ok(())
}

/// Make `<name>.bak` hold the current contents of `path`, replacing the old backup
/// atomically (hard link when possible, else a copy).
fn keep_previous(path: &Path) -> std::io::Result<()> {
    let backup = backup_path(path);
    let staging = sibling(path, ".", &format!(".bak-tmp-{}", std::process::id()));
    let _ = fs::remove_file(&staging);
    if fs::hard_link(path, &staging).is_err() {
        fs::copy(path, &staging)?;
        File::open(&staging)?.sync_all()?;
    }
    let renamed = fs::rename(&staging, &backup);
    if renamed.is_err() {
        let _ = fs::remove_file(&staging);
    }
    renamed
}

/// fsync the directory holding `path`, so a rename inside it is durable.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
