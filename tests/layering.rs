//! The dependency direction of docs/architecture.md, checked mechanically: `tree/` imports
//! nothing of ours and no UI or model crate; `engine/` never sees the tree, app or UI; `ui/`
//! never mutates anything through the tree's editing API nor names an engine type; `cli/`
//! goes through `session/`, never the TUI's `app/`.

use std::path::Path;

/// Every `.rs` file under `dir` whose text contains any of `forbidden`, with the word found.
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read a source directory") {
                stack.push(entry.expect("a directory entry").path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read a source file");
            for word in forbidden {
                if text.contains(word) {
                    found.push(format!("{} mentions {word}", path.display()));
                }
            }
        }
    }
    found
}

#[test]
fn the_tree_knows_nothing_of_ui_models_files_or_the_app() {
    let bad = offenders(
        "src/tree",
        &[
            "ratatui",
            "crossterm",
            "candle_",
            "tokenizers::",
            "crate::engine",
            "crate::app",
            "crate::ui",
            "crate::store",
            "std::sync::mpsc",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_engine_knows_nothing_of_the_tree_or_the_ui() {
    let bad = offenders(
        "src/engine",
        &[
            "crate::tree",
            "crate::app",
            "crate::ui",
            "crate::tui",
            "ratatui",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_cli_goes_through_the_session_not_the_tui() {
    let bad = offenders(
        "src/cli",
        &[
            "crate::app",
            "crate::ui",
            "crate::tui",
            "ratatui",
            "crossterm",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_session_and_the_weave_know_nothing_of_the_tui() {
    for dir in ["src/session", "src/weave"] {
        let bad = offenders(
            dir,
            &[
                "crate::app",
                "crate::ui",
                "crate::tui",
                "ratatui",
                "crossterm",
            ],
        );
        assert!(bad.is_empty(), "{bad:#?}");
    }
}

#[test]
fn the_ui_only_draws() {
    let bad = offenders(
        "src/ui",
        &[
            "crate::tui",
            "crate::store",
            "&mut App",
            "&mut Loom",
            "std::fs",
            "crate::engine",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}
