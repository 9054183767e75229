//! The real binary in tmux with the real default model: generate, open a token's
//! alternatives, branch on the second most likely token and see the new branch continue.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;
use support::tmux::Tmux;

#[test]
fn branching_on_the_second_most_likely_token_continues_from_it() {
    if support::default_model().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("story.json");
    let config = dir.path().join("config.toml");
    // Greedy, so the token there is the most likely and alternative 2 the second.
    std::fs::write(
        &config,
        "[sampling]\nn = 2\nmax_tokens = 8\ntemperature = 0.0\n",
    )
    .unwrap();
    let command = format!(
        "TLOOM_CONFIG={} TLOOM_STATE_DIR={} {} {}",
        config.display(),
        dir.path().join("state").display(),
        env!("CARGO_BIN_EXE_tloom"),
        file.display()
    );
    let Some(tmux) = Tmux::start("e2e-predictor", &command) else {
        return;
    };
    let minute = Duration::from_secs(60);
    tmux.wait_for("the model to load", 2 * minute, |s| {
        s.contains("SmolLM2") && !s.contains("loading")
    });
    tmux.keys(&["g"]);
    // Greedy branches are identical: once written, they fold into one row marked ×2.
    let two = |s: &str| s.contains("Branches · 2") || s.contains("×2 same text");
    tmux.wait_for("two branches", minute, two);
    tmux.wait_for("the generation to finish", 2 * minute, |s| {
        !s.contains("Esc cancels")
    });
    tmux.keys(&["l", "i"]);
    tmux.wait_for("the token cursor", minute, |s| s.contains("Token 1/"));
    tmux.keys(&["Enter"]);
    let popup = tmux.wait_for("the alternatives", minute, |s| s.contains("Alternatives"));
    assert!(
        popup.contains("◂ here"),
        "the token there is marked:\n{popup}"
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the new branch's continuations", minute, |s| {
        s.contains("2/3") && two(s)
    });
    tmux.wait_for("the continuation to finish", 2 * minute, |s| {
        !s.contains("Esc cancels")
    });
    tmux.keys(&["q"]);
    let start = std::time::Instant::now();
    while tmux.alive() && start.elapsed() < minute {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.alive(), "q quits");

    let saved = tloom::store::load(&file).unwrap().loom;
    let kids = saved.children(saved.root()).to_vec();
    assert_eq!(
        kids.len(),
        3,
        "two generated branches and the counterfactual"
    );
    let original = saved.node(kids[0]).unwrap();
    let picked = saved.node(kids[1]).unwrap();
    let first = &original.tokens.as_ref().unwrap()[0];
    let mut alts = first.top.clone();
    alts.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    assert_eq!(picked.text, alts[1].text, "the second most likely token");
    assert_eq!(
        picked.origin.generation().unwrap().finish.as_deref(),
        Some("picked")
    );
    let continued = saved.children(kids[1]);
    assert_eq!(continued.len(), 2);
    assert!(
        continued
            .iter()
            .any(|c| !saved.node(*c).unwrap().text.is_empty())
    );
}
