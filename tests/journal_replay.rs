//! The journal of unsaved changes: what a flush writes, a load with replay brings back,
//! byte for byte as the saved file would have held it.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use tloom::store::{self, Base, Journal, journal_path, load_recovering};
use tloom::tree::Loom;

fn saved_loom(dir: &Path) -> (PathBuf, Loom, Base) {
    let path = dir.join("story.json");
    let mut loom = Loom::new("Once upon a time");
    let a = loom.add_child(loom.root(), " there was a fox.").unwrap();
    let b = loom.add_child(loom.root(), " there was a crow.").unwrap();
    loom.add_child(a, " It was hungry.").unwrap();
    loom.add_child(b, " It sang.").unwrap();
    loom.memory = "Genre: fable.".into();
    let bytes = store::to_bytes(&loom);
    store::save_bytes(&path, &bytes).unwrap();
    loom.take_changed();
    (path, loom, Base::of(&bytes))
}

/// Every kind of change: text, new nodes, deletion, a move, a new root, flags, streaming
/// text, the cursor and the tree memory.
fn change_everything(loom: &mut Loom) {
    let root = loom.root();
    let a = loom.children(root)[0];
    let b = loom.children(root)[1];
    loom.set_text(a, " there was a clever fox.").unwrap();
    let c = loom.add_child(a, " Then it rained.").unwrap();
    loom.append_generated(c, " A lot.", None).unwrap();
    let grandchild = loom.children(b)[0];
    loom.delete(grandchild).unwrap();
    loom.move_node(b, a, Some(0)).unwrap();
    loom.set_bookmarked(c, true).unwrap();
    loom.add_parent(root, "Prologue. ").unwrap();
    loom.set_cursor(c).unwrap();
    loom.memory = "Genre: tragedy.".into();
}

#[test]
fn replaying_a_journal_restores_every_change_made_after_the_save() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    let root = loom.root();
    let a = loom.children(root)[0];
    loom.set_text(a, " there was a fox, first edit.").unwrap();
    assert!(journal.flush(&mut loom).unwrap() > 0);
    change_everything(&mut loom);
    assert!(journal.flush(&mut loom).unwrap() > 0);

    let recovered = load_recovering(&path).unwrap();
    assert!(recovered.replayed > 0);
    assert!(
        recovered.notes[0].starts_with("recovered"),
        "{:?}",
        recovered.notes
    );
    assert_eq!(
        String::from_utf8(store::to_bytes(&recovered.opened.loom)).unwrap(),
        String::from_utf8(store::to_bytes(&loom)).unwrap()
    );
    assert_eq!(recovered.opened.loom.cursor(), loom.cursor());
    // The saved file itself was not touched.
    assert_eq!(Base::of(&std::fs::read(&path).unwrap()), base);
}

#[test]
fn a_torn_last_line_is_ignored_and_the_earlier_flushes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    let a = loom.children(loom.root())[0];
    loom.set_text(a, " first flush").unwrap();
    journal.flush(&mut loom).unwrap();
    let expected = store::to_bytes(&loom);
    loom.set_text(a, " second flush").unwrap();
    journal.flush(&mut loom).unwrap();
    // Cut the last line in half, as a crash in the middle of a write would.
    let jpath = journal_path(&path);
    let bytes = std::fs::read(&jpath).unwrap();
    let last_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let cut = last_start + (bytes.len() - last_start) / 2;
    std::fs::write(&jpath, &bytes[..cut]).unwrap();

    let recovered = load_recovering(&path).unwrap();
    assert_eq!(store::to_bytes(&recovered.opened.loom), expected);

    // A corrupted (not just short) last line is ignored the same way.
    let mut damaged = bytes.clone();
    let at = damaged.len() - 5;
    damaged[at] ^= 0x20;
    std::fs::write(&jpath, &damaged).unwrap();
    let recovered = load_recovering(&path).unwrap();
    assert_eq!(store::to_bytes(&recovered.opened.loom), expected);
}

#[test]
fn after_a_replay_new_flushes_continue_the_journal_past_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    let a = loom.children(loom.root())[0];
    loom.set_text(a, " before the crash").unwrap();
    journal.flush(&mut loom).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_path(&path))
        .unwrap();
    file.write_all(b"0123456789abcdef {\"state\":").unwrap();
    drop(file);

    // The second run: recover, keep working, crash again before saving.
    let recovered = load_recovering(&path).unwrap();
    let mut loom = recovered.opened.loom;
    assert_eq!(loom.node(a).unwrap().text, " before the crash");
    let mut journal = Journal::new(&path, recovered.base);
    let b = loom.add_child(a, " after the crash").unwrap();
    journal.flush(&mut loom).unwrap();

    let again = load_recovering(&path).unwrap();
    assert_eq!(again.opened.loom.node(a).unwrap().text, " before the crash");
    assert_eq!(again.opened.loom.node(b).unwrap().text, " after the crash");
}

#[test]
fn a_save_removes_the_journal_and_a_stale_journal_is_set_aside_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    let a = loom.children(loom.root())[0];
    loom.set_text(a, " journaled").unwrap();
    journal.flush(&mut loom).unwrap();
    let stale = std::fs::read(journal_path(&path)).unwrap();

    let bytes = store::to_bytes(&loom);
    store::save_bytes(&path, &bytes).unwrap();
    journal.saved(&mut loom, Base::of(&bytes)).unwrap();
    assert!(!journal_path(&path).exists());
    assert!(!loom.has_changes());

    // A journal left over from before that save (a crash between the rename and the
    // removal) describes another version of the file: it must not be applied.
    std::fs::write(journal_path(&path), &stale).unwrap();
    let mut changed = loom.clone();
    changed.set_text(a, " changed on disk later").unwrap();
    store::save(&path, &changed).unwrap();
    let recovered = load_recovering(&path).unwrap();
    assert_eq!(recovered.replayed, 0);
    assert_eq!(
        recovered.opened.loom.node(a).unwrap().text,
        " changed on disk later"
    );
    assert!(recovered.notes[0].contains("journal not replayed"));
    assert!(!journal_path(&path).exists());
}

#[test]
fn a_change_of_tree_memory_alone_is_journaled_too() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    loom.memory.clear();
    assert_eq!(journal.flush(&mut loom).unwrap(), 0, "no node changed");
    assert!(journal_path(&path).exists());
    let recovered = load_recovering(&path).unwrap();
    assert!(recovered.opened.loom.memory.is_empty());
}

#[test]
fn the_ui_startup_replays_the_journal_says_so_and_saves_at_the_first_tick() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut loom, base) = saved_loom(dir.path());
    let mut journal = Journal::new(&path, base);
    change_everything(&mut loom);
    journal.flush(&mut loom).unwrap();
    drop(journal);

    let config = tloom::session::config::Config::default();
    let opened = tloom::tui::startup::open(Some(&path), false, &config).unwrap();
    assert!(
        opened.notes.iter().any(|n| n.starts_with("recovered")),
        "{:?}",
        opened.notes
    );
    assert_eq!(store::to_bytes(&opened.loom), store::to_bytes(&loom));
    assert!(opened.file.dirty);
    assert_eq!(opened.file.save_due, Some(0));
    assert!(opened.journal.is_some());
}

#[test]
fn a_second_ui_on_a_locked_file_is_refused_and_read_only_takes_no_journal() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = saved_loom(dir.path());
    let config = tloom::session::config::Config::default();
    let first = tloom::tui::startup::open(Some(&path), false, &config).unwrap();
    let err = tloom::tui::startup::open(Some(&path), false, &config)
        .err()
        .unwrap();
    assert!(
        err.contains("already open") && err.contains("--read-only"),
        "{err}"
    );
    let second = tloom::tui::startup::open(Some(&path), true, &config).unwrap();
    assert!(second.file.read_only.is_some());
    assert!(second.journal.is_none() && second.lock.is_none());
    drop(first);
}

#[test]
fn random_edits_undos_and_redos_replay_to_the_same_tree() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    for seed in 0..20u64 {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut loom, base) = saved_loom(dir.path());
        let mut journal = Journal::new(&path, base);
        let mut rng = StdRng::seed_from_u64(seed);
        for step in 0..200 {
            let ids = loom.all_nodes();
            let id = ids[rng.random_range(0..ids.len())];
            let other = ids[rng.random_range(0..ids.len())];
            // Failing operations (deleting the root, a cycle) are fine: nothing changes.
            let _ = match rng.random_range(0..12) {
                0 | 1 => loom.add_child(id, &format!(" step {step}")).map(drop),
                2 => loom.set_text(id, &format!(" rewritten at {step}")),
                3 => loom.delete(id),
                4 => loom.move_node(id, other, None),
                5 => loom.split(id, 1).map(drop),
                6 => loom.merge_into_parent(id).map(drop),
                7 => loom.undo().map(drop),
                8 => loom.redo().map(drop),
                9 => loom.set_cursor(id),
                10 => loom.clone_subtree(id, Some(other)).map(drop),
                _ => loom.append_generated(id, " more", None),
            };
            if rng.random_range(0..4) == 0 {
                journal.flush(&mut loom).unwrap();
            }
        }
        journal.flush(&mut loom).unwrap();
        let recovered = load_recovering(&path).unwrap();
        assert_eq!(
            String::from_utf8(store::to_bytes(&recovered.opened.loom)).unwrap(),
            String::from_utf8(store::to_bytes(&loom)).unwrap(),
            "seed {seed}"
        );
    }
}
