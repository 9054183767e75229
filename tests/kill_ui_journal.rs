//! The UI's journal under SIGKILL: the real binary in tmux, with autosave off so only the
//! journal holds the work, edits a node, waits past the one-second flush, and is killed with
//! SIGKILL. Every restart must bring back every earlier edit.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::tmux::Tmux;

const ROUNDS: usize = 5;

#[test]
fn edits_older_than_a_second_survive_a_sigkill_of_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("story.json");
    tloom::store::save(&file, &tloom::tree::Loom::new("Killed story.")).unwrap();
    let config = dir.path().join("config.toml");
    // No model to load, and no autosave: the edits live only in the journal.
    std::fs::write(
        &config,
        "backend = \"dead\"\n[backends.dead]\nkind = \"openai-completions\"\n\
         base_url = \"http://127.0.0.1:9/v1\"\nmodel = \"none\"\n[ui]\nautosave = false\n",
    )
    .unwrap();
    let command = format!(
        "exec env TLOOM_CONFIG={} TLOOM_STATE_DIR={} {} {}",
        config.display(),
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_tloom"),
        file.display()
    );
    let ten = Duration::from_secs(10);
    for round in 0..ROUNDS {
        let Some(tmux) = Tmux::start(&format!("kill-ui-{round}"), &command) else {
            return;
        };
        tmux.wait_for("the loom", ten, |s| s.contains("Killed story."));
        tmux.keys(&["e", "End"]);
        tmux.literal(&format!(" R{round}"));
        tmux.keys(&["Escape"]);
        tmux.wait_for("the edit", ten, |s| s.contains(&format!("R{round}")));
        std::thread::sleep(Duration::from_millis(1600));
        let lock = tloom::store::lock_path(&file);
        let pid = std::fs::read_to_string(&lock).unwrap().trim().to_string();
        assert!(!pid.is_empty(), "the UI holds the lock");
        let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(killed.success());
        let start = Instant::now();
        while tmux.alive() && start.elapsed() < ten {
            std::thread::sleep(Duration::from_millis(50));
        }
        let saved = tloom::store::load(&file).unwrap().loom;
        let recovered = tloom::store::load_recovering(&file).unwrap();
        let text = recovered
            .opened
            .loom
            .path_text(recovered.opened.loom.root())
            .unwrap();
        for earlier in 0..=round {
            assert!(
                text.contains(&format!(" R{earlier}")),
                "round {round}: edit R{earlier} lost: {text:?}"
            );
        }
        let in_file = saved.path_text(saved.root()).unwrap();
        assert!(
            !in_file.contains(&format!(" R{round}")),
            "autosave is off: the last edit came from the journal, not a save"
        );
        drop(tmux);
    }
}
