//! One tloom per file: an advisory lock on a sidecar `.<name>.lock` holding the owner's pid.

use super::atomic::sibling;
use super::error::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while a process may write a loom file; released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

/// The lock file that guards `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    sibling(path, ".", ".lock")
}

impl FileLock {
    /// Take the lock for `path`, or explain which process holds it.
    pub fn acquire(path: &Path) -> Result<FileLock, StoreError> {
        let lock = lock_path(path);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|e| StoreError::io(&lock, "create the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let who = match holder.trim() {
                    "" => "another tloom process".to_string(),
                    pid => format!("another tloom process (pid {pid})"),
                };
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                    message: format!(
                        "already open in {who}; close it there first, or open this file read-only"
                    ),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&lock, "lock", e)),
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.sync_all();
        Ok(FileLock { file, path: lock })
    }

    pub fn lock_file(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}
