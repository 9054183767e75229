//! Size limits: a 50 MB node, a million nodes and a 10,000-deep chain load, save, export and
//! edit without stack overflow (the deep chain runs on a deliberately small stack, so any
//! recursion over depth fails here first) and in reasonable time.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;
use tloom::store::export::{ExportOptions, Format, export};
use tloom::store::{self, Base, Journal, load_recovering};
use tloom::tree::{Loom, LoomBuilder, Node, outline};

/// Run `f` on a thread with a small stack: 10,000 nested calls of any real function need
/// far more than this, so recursion over the tree's depth shows up as a crash.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("ran out of stack (recursion over depth?) or panicked");
}

#[test]
fn a_ten_thousand_deep_chain_loads_edits_and_exports_without_deep_recursion() {
    on_small_stack(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep.json");
        let mut loom = Loom::new("0");
        let mut last = loom.root();
        for i in 1..10_000 {
            last = loom.add_child(last, &format!(" {}", i % 10)).unwrap();
        }
        store::save(&path, &loom).unwrap();
        let mut loom = store::load(&path).unwrap().loom;
        assert_eq!(loom.len(), 10_000);
        assert_eq!(loom.depth(last), 9_999);
        loom.check_invariants().unwrap();
        assert_eq!(loom.path_text(last).unwrap().len(), 1 + 2 * 9_999);
        assert_eq!(loom.stats(loom.root()).nodes, 10_000);
        let text = outline::render(&loom, loom.root(), Default::default());
        assert_eq!(text.lines().count(), 10_000);
        let parsed = outline::parse(&text).unwrap();
        assert_eq!(parsed.len(), 10_000);
        for format in Format::ALL.iter().copied() {
            let started = Instant::now();
            let options = ExportOptions {
                node: Some(last),
                ..Default::default()
            };
            let bytes = export(&loom, format, &options).unwrap();
            // A chain has no rejected (archived) siblings, so no preference pairs.
            assert!(
                !bytes.is_empty() || matches!(format, Format::Pairs),
                "{format}"
            );
            eprintln!(
                "10,000-deep chain: {format} export in {:?}",
                started.elapsed()
            );
        }
        // The UI draws it, with the cursor at the bottom of the chain.
        let mut app = support::app::app_from(&text);
        app.loom.set_cursor(last).unwrap();
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        term.draw(|f| tloom::ui::draw(f, &app)).unwrap();
        let first = loom.children(loom.root())[0];
        loom.delete(first).unwrap();
        assert_eq!(loom.len(), 1);
        loom.undo().unwrap();
        assert_eq!(loom.len(), 10_000);
        drop(loom);
    });
}

#[test]
fn a_fifty_megabyte_node_saves_loads_and_goes_through_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let mut loom = Loom::new("Start.");
    let chunk = "A \"quoted\" line\\ with ünïcödé, a tab\t and a newline\n. ";
    let big = chunk.repeat(50 * 1024 * 1024 / chunk.len() + 1);
    assert!(big.len() >= 50 * 1024 * 1024);
    let id = loom.add_child(loom.root(), &big).unwrap();
    let started = Instant::now();
    let bytes = store::to_bytes(&loom);
    store::save_bytes(&path, &bytes).unwrap();
    let loaded = store::load(&path).unwrap().loom;
    eprintln!("50 MB node: save + load in {:?}", started.elapsed());
    assert_eq!(loaded.node(id).unwrap().text, big);

    // The same node changed after the save comes back from the journal.
    let mut loom = loaded;
    loom.take_changed();
    loom.append_generated(id, "THE END", None).unwrap();
    let mut journal = Journal::new(&path, Base::of(&bytes));
    journal.flush(&mut loom).unwrap();
    let recovered = load_recovering(&path).unwrap();
    assert!(
        recovered
            .opened
            .loom
            .node(id)
            .unwrap()
            .text
            .ends_with("THE END")
    );
}

#[test]
fn a_million_nodes_save_and_load_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.json");
    let started = Instant::now();
    let mut builder = LoomBuilder::new(Node::new("root"));
    let mut ids = vec![builder.root()];
    for i in 1..1_000_000usize {
        let parent = ids[(i - 1) / 4];
        ids.push(
            builder
                .add(parent, Node::new(format!(" node {i}")))
                .unwrap(),
        );
    }
    let loom = builder.finish();
    let built = started.elapsed();
    let started = Instant::now();
    store::save(&path, &loom).unwrap();
    let saved = started.elapsed();
    let size = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let loaded = store::load(&path).unwrap().loom;
    let load = started.elapsed();
    eprintln!(
        "1,000,000 nodes ({} MB): built in {built:?}, saved in {saved:?}, loaded in {load:?}",
        size / 1_000_000
    );
    assert_eq!(loaded.len(), 1_000_000);
    let last = ids[ids.len() - 1];
    assert_eq!(
        loaded.path_text(last).unwrap(),
        loom.path_text(last).unwrap()
    );
    assert_eq!(loaded.stats(loaded.root()).nodes, 1_000_000);
}
