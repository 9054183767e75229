//! Saving when the disk is full or read-only: the save fails with a message that says so,
//! the tree in memory and the file on disk stay as they were, and saving works again once
//! the problem is gone. Uses a small tmpfs (needs root and a container that allows mounts;
//! skipped with a note otherwise). Permission-denied is not tested: as root, file modes do
//! not stop writes, and that error takes the same path as read-only (EACCES vs EROFS).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use tloom::store::{self, Base, Journal, journal_path};
use tloom::tree::Loom;

/// A tmpfs mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root in a privileged container)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn small_loom() -> Loom {
    let mut loom = Loom::new("A small story.");
    loom.add_child(loom.root(), " It ends well.").unwrap();
    loom
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
}

#[test]
fn a_full_disk_fails_the_save_keeps_the_old_file_and_saving_works_once_space_is_back() {
    let Some(fs) = Tmpfs::mount("1m") else { return };
    let path = fs.path().join("story.json");
    let mut loom = small_loom();
    store::save(&path, &loom).unwrap();
    let before = std::fs::read(&path).unwrap();
    // A node too big for the disk.
    let big = loom.add_child(loom.root(), &"x".repeat(2 << 20)).unwrap();
    let snapshot = store::to_bytes(&loom);

    let err = store::save(&path, &loom).unwrap_err().to_string();
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains("story.json"),
        "the message names the file: {err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the old file is intact"
    );
    assert_eq!(
        store::to_bytes(&loom),
        snapshot,
        "the tree in memory is intact"
    );
    assert_eq!(
        entries(fs.path()),
        vec![fs.path().join("story.json")],
        "no temporary file is left behind"
    );

    // The journal cannot take the node either; its changes stay marked for the next try.
    let mut journal = Journal::new(&path, Base::of(&before));
    assert!(journal.flush(&mut loom).is_err());
    assert!(loom.has_changes());
    let _ = std::fs::remove_file(journal_path(&path));

    fs.remount("size=8m");
    store::save(&path, &loom).unwrap();
    let reloaded = store::load(&path).unwrap().loom;
    assert_eq!(reloaded.node(big).unwrap().text.len(), 2 << 20);
    assert_eq!(
        std::fs::read(store::atomic::backup_path(&path)).unwrap(),
        before
    );
}

#[test]
fn a_read_only_directory_fails_the_save_and_saving_works_again_when_it_is_writable() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let path = fs.path().join("story.json");
    let mut loom = small_loom();
    store::save(&path, &loom).unwrap();
    let before = std::fs::read(&path).unwrap();
    loom.add_child(loom.root(), " Or does it?").unwrap();

    fs.remount("ro");
    let err = store::save(&path, &loom).unwrap_err().to_string();
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);

    fs.remount("rw");
    store::save(&path, &loom).unwrap();
    assert_eq!(store::load(&path).unwrap().loom.len(), 3);
}

#[test]
fn the_app_reports_a_failed_save_keeps_retrying_and_says_when_it_works_again() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let mut app = support::app::app_from("\"A story\" #1\n  \" that goes on\" #2 [*]");
    app.file.path = fs.path().join("story.json");
    let mut journal = Journal::new(&app.file.path, Base::of(b""));
    tloom::tui::effects::save(&mut app, Some(&mut journal));
    assert!(app.file.save_error.is_none());
    let before = std::fs::read(&app.file.path).unwrap();

    let root = app.loom.root();
    app.loom.add_child(root, " and on").unwrap();
    app.file.dirty = true;
    let in_memory = store::to_bytes(&app.loom);
    fs.remount("ro");
    tloom::tui::effects::save(&mut app, Some(&mut journal));
    let status = app.status.as_ref().unwrap().text.clone();
    assert!(status.starts_with("not saved:"), "{status}");
    assert!(status.contains("Read-only file system"), "{status}");
    assert!(status.contains("still in memory"), "{status}");
    assert!(
        app.file.dirty && app.file.save_due.is_some(),
        "a retry is scheduled"
    );
    assert_eq!(store::to_bytes(&app.loom), in_memory);
    assert_eq!(std::fs::read(&app.file.path).unwrap(), before);

    fs.remount("rw");
    tloom::tui::effects::save(&mut app, Some(&mut journal));
    assert!(!app.file.dirty && app.file.save_error.is_none());
    assert!(app.status.as_ref().unwrap().text.contains("saved again"));
    assert_eq!(std::fs::read(&app.file.path).unwrap(), in_memory);
}
