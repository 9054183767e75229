//! The real binary in tmux with the real default model, as a new user would use it: open a
//! new file, generate, move into a child, bookmark it, edit it, quit, reopen, and find the
//! tree as it was left.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;
use support::tmux::Tmux;

#[test]
fn a_new_user_generates_curates_quits_and_finds_everything_on_reopening() {
    if support::default_model().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("story.json");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[sampling]\nn = 3\nmax_tokens = 16\n").unwrap();
    let command = format!(
        "TLOOM_CONFIG={} TLOOM_STATE_DIR={} {} {}",
        config.display(),
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_tloom"),
        file.display()
    );
    let Some(tmux) = Tmux::start("e2e", &command) else {
        return;
    };
    let minute = Duration::from_secs(60);
    tmux.wait_for("the model to load", 2 * minute, |s| {
        s.contains("SmolLM2") && !s.contains("loading")
    });
    assert!(
        tmux.screen().contains("lighthouse keeper"),
        "a new loom starts from the starter prompt"
    );
    tmux.keys(&["g"]);
    // Three placeholders while generating; a fast generation may be done (and a branch that
    // ended at once removed, or exact duplicates folded) before the screen is read.
    tmux.wait_for("three branches", minute, |s| {
        s.contains("Branches · 3")
            || (s.contains("Branches · ") && !s.contains("none yet") && !s.contains("Esc cancels"))
    });
    tmux.wait_for("the generation to finish", 2 * minute, |s| {
        !s.contains("Esc cancels")
    });
    tmux.keys(&["l"]);
    // A branch that ends at once (end-of-text first) is removed, so 1 to 3 remain.
    tmux.wait_for("the cursor in a child", minute, |s| {
        s.contains("depth 1 · 1/")
    });
    tmux.keys(&["b", "e", "End"]);
    // One word, so the node pane's word wrap cannot split it across two screen lines.
    tmux.literal(" THE_END");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the edit", minute, |s| s.contains("THE_END"));
    tmux.keys(&["q"]);
    let start = std::time::Instant::now();
    while tmux.alive() && start.elapsed() < minute {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.alive(), "q quits");

    let saved = tloom::store::load(&file).unwrap().loom;
    let root = saved.root();
    let kids = saved.children(root).to_vec();
    assert!(
        (1..=3).contains(&kids.len()),
        "{} branches kept",
        kids.len()
    );
    let first = saved.node(kids[0]).unwrap();
    assert!(first.bookmarked && first.edited && first.text.ends_with(" THE_END"));
    assert!(first.origin.is_model());
    assert!(kids[1..].iter().all(|k| {
        saved
            .node(*k)
            .unwrap()
            .origin
            .generation()
            .is_some_and(|g| g.finish.is_some())
    }));
    assert_eq!(saved.cursor(), kids[0]);
    drop(tmux);

    let Some(again) = Tmux::start("e2e-reopen", &command) else {
        return;
    };
    let screen = again.wait_for("the reopened loom", minute, |s| s.contains("THE_END"));
    assert!(
        screen.contains(&format!("depth 1 · 1/{}", kids.len())),
        "the cursor is where it was:\n{screen}"
    );
    assert!(screen.contains('★'), "the bookmark shows:\n{screen}");
    again.keys(&["q"]);
}
