//! The weave on a fake expander with known scores: it finds a planted path within a budget
//! it never exceeds, never archives what the person kept or the cursor's path, records its
//! scores on the nodes it made, and stops with a clear error when the user's scorer fails;
//! then `tloom weave` as the real binary on a tiny model.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::process::Command;
use tloom::engine::tiny_model::TinyModel;
use tloom::tree::{Loom, NodeId};
use tloom::weave::{Expanded, Expander, Options, Policy, Report, Rubric, run};

/// Every parent gets `width` children " x0" .. " x{width-1}", each said to take `tokens`.
struct Fake {
    width: usize,
    tokens: usize,
    calls: usize,
}

impl Expander for Fake {
    fn expand(
        &mut self,
        loom: &mut Loom,
        parents: &[NodeId],
        _round: usize,
    ) -> Result<Expanded, String> {
        self.calls += 1;
        let mut out = Expanded::default();
        for &p in parents {
            for d in 0..self.width {
                let id = loom.add_child(p, &format!(" x{d}")).unwrap();
                out.nodes.push((p, id));
                out.tokens += self.tokens;
            }
        }
        Ok(out)
    }

    fn max_tokens_per_parent(&self) -> usize {
        self.width * self.tokens
    }
}

/// A rubric whose regexes reward each step of the planted path `x2 x1 x0 x2`, so a partial
/// path scores by how far it got; a node passes when it has all of it.
fn planted() -> Rubric {
    let steps = ["x2", "x2 x1", "x2 x1 x0", "x2 x1 x0 x2"];
    let text: String = steps
        .iter()
        .map(|s| format!("[[regex]]\npattern = \"^root {s}\"\n"))
        .collect();
    Rubric::parse(&text, "planted").unwrap()
}

fn options(root: NodeId, budget: usize) -> Options {
    Options {
        root,
        budget_tokens: budget,
        per_round: 2,
        stop_on_pass: true,
        policy: Policy::default(),
    }
}

#[test]
fn the_weave_finds_the_planted_path_within_a_budget_it_never_exceeds() {
    let mut loom = Loom::new("root");
    let root = loom.root();
    let mut fake = Fake {
        width: 3,
        tokens: 4,
        calls: 0,
    };
    // Breadth first would expand 1 + 3 + 9 + 27 = 40 nodes (480 tokens) to be sure of
    // depth 4; the budget allows 20 expansions.
    let budget = 240;
    let mut saves = 0;
    let report = run(
        &mut loom,
        &planted(),
        &mut fake,
        &options(root, budget),
        &mut |_, r: &Report| {
            saves += 1;
            assert!(r.tokens_used <= budget);
            Ok(())
        },
    )
    .unwrap();
    let best = report.best.clone().unwrap();
    assert!(best.passes, "{report:?}");
    assert_eq!(best.text, "root x2 x1 x0 x2");
    assert!(report.tokens_used <= budget, "{report:?}");
    assert_eq!(saves, report.rounds);
    // Every node the weave made records its round and score.
    let made: Vec<_> = loom
        .all_nodes()
        .into_iter()
        .filter(|&id| id != root)
        .collect();
    assert_eq!(made.len(), report.nodes_added);
    for id in made {
        let record = &loom.get(id).unwrap().extra["weave"];
        assert!(record["score"].is_number() && record["round"].is_number());
    }
}

#[test]
fn a_budget_too_small_for_the_goal_is_spent_and_never_exceeded() {
    for budget in [12, 13, 35, 36, 100] {
        let mut loom = Loom::new("root");
        let root = loom.root();
        let mut fake = Fake {
            width: 3,
            tokens: 4,
            calls: 0,
        };
        let report = run(
            &mut loom,
            &planted(),
            &mut fake,
            &options(root, budget),
            &mut |_, _| Ok(()),
        )
        .unwrap();
        assert!(report.tokens_used <= budget, "{budget}: {report:?}");
        // Whatever was left cannot pay for one more expansion.
        assert!(budget - report.tokens_used < 12 || report.best.unwrap().passes);
    }
}

#[test]
fn kept_nodes_and_the_cursor_path_are_never_archived_but_weak_branches_are() {
    // The person already expanded the root: " x0" is kept, " x1" is where the cursor is,
    // and both score far below " x2".
    let mut loom = Loom::new("root");
    let root = loom.root();
    let kept = loom.add_child(root, " x0").unwrap();
    loom.set_bookmarked(kept, true).unwrap();
    let on_cursor = loom.add_child(root, " x1").unwrap();
    loom.set_cursor(on_cursor).unwrap();
    loom.add_child(root, " x2").unwrap();
    let mut fake = Fake {
        width: 3,
        tokens: 4,
        calls: 0,
    };
    let mut opts = options(root, 400);
    opts.stop_on_pass = false;
    let report = run(&mut loom, &planted(), &mut fake, &opts, &mut |_, _| Ok(())).unwrap();
    assert!(!loom.get(kept).unwrap().archived);
    assert!(!loom.get(on_cursor).unwrap().archived);
    assert!(report.archived > 0, "{report:?}");
    assert!(report.best.unwrap().passes);
    // Archived, never deleted.
    let archived = loom
        .all_nodes()
        .into_iter()
        .filter(|&id| loom.get(id).unwrap().archived)
        .count();
    assert_eq!(archived, report.archived);
    assert_eq!(loom.all_nodes().len(), 4 + report.nodes_added);
}

#[test]
fn a_failing_scorer_stops_the_run_with_a_clear_error_and_keeps_what_was_made() {
    let rubric = Rubric::parse(
        "[[command]]\nrun = [\"sh\", \"-c\", \"if grep -q x1; then echo 'no x1 here' >&2; exit 2; else echo 0; fi\"]\n",
        "scorer.toml",
    )
    .unwrap();
    let mut loom = Loom::new("root");
    let root = loom.root();
    let mut fake = Fake {
        width: 3,
        tokens: 4,
        calls: 0,
    };
    let e = run(
        &mut loom,
        &rubric,
        &mut fake,
        &options(root, 100),
        &mut |_, _| Ok(()),
    )
    .unwrap_err();
    assert!(e.contains("no x1 here") && e.contains("sh -c"), "{e}");
    assert_eq!(fake.calls, 1);
    assert_eq!(loom.children(root).len(), 3);
}

/// A tiny real model, an empty config and a new loom "abc abc", in a fresh directory.
fn real_model_story() -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.gguf");
    TinyModel::default().write(&model).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let file = dir.path().join("story.json");
    assert!(
        tloom(
            &["new", file.to_str().unwrap(), "--prompt", "abc abc"],
            &config
        )
        .status
        .success()
    );
    (dir, model, config, file)
}

fn tloom(args: &[&str], config: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(args)
        .env("TLOOM_CONFIG", config)
        .output()
        .unwrap()
}

#[test]
fn tloom_weave_runs_on_a_real_model_saves_its_rounds_and_prints_json() {
    let (_dir, model, config, file) = real_model_story();
    let file = file.to_str().unwrap();
    let out = tloom(
        &[
            "weave",
            file,
            "--score-regex",
            "never matches: \\x00",
            "--budget-tokens",
            "40",
            "-n",
            "2",
            "--max-tokens",
            "5",
            "--seed",
            "3",
            "--model",
            model.to_str().unwrap(),
            "--json",
        ],
        &config,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("round 1:"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let used = report["tokens_used"].as_u64().unwrap();
    assert!(used > 0 && used <= 40, "{report}");
    assert!(report["rounds"].as_u64().unwrap() >= 1);
    assert!(
        report["best"]["text"]
            .as_str()
            .unwrap()
            .starts_with("abc abc")
    );
    // The file holds what the report says, each new node with its weave record.
    let shown = tloom(&["stats", file, "--json"], &config);
    assert!(shown.status.success());
    let loom = tloom::store::load(std::path::Path::new(file)).unwrap().loom;
    let made: Vec<_> = loom
        .all_nodes()
        .into_iter()
        .filter(|&id| loom.get(id).unwrap().extra.contains_key("weave"))
        .collect();
    assert_eq!(made.len() as u64, report["nodes_added"].as_u64().unwrap());
    // Bad input: no scorer, a budget below one expansion, a bad regex.
    for (args, want) in [
        (vec!["weave", file, "--budget-tokens", "40"], "--rubric"),
        (
            vec![
                "weave",
                file,
                "--score-regex",
                "x",
                "--budget-tokens",
                "3",
                "-n",
                "2",
                "--max-tokens",
                "5",
            ],
            "less than one expansion",
        ),
        (
            vec!["weave", file, "--score-regex", "(", "--budget-tokens", "40"],
            "bad --score-regex",
        ),
    ] {
        let out = tloom(&args, &config);
        assert!(!out.status.success());
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(want), "{args:?}: {e}");
    }
}

#[test]
fn killing_tloom_weave_mid_run_loses_no_finished_round() {
    let (_dir, model, config, file) = real_model_story();
    let file_s = file.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args([
            "weave",
            file_s,
            "--score-regex",
            "never matches: \\x00",
            "--budget-tokens",
            "1000000",
            "-n",
            "2",
            "--max-tokens",
            "5",
            "--seed",
            "3",
            "--model",
            model.to_str().unwrap(),
        ])
        .env("TLOOM_CONFIG", &config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a few rounds are saved, then kill it without warning.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.matches("\"weave\"").count() >= 6 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no rounds were saved");
        assert!(child.try_wait().unwrap().is_none(), "the weave ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The file is whole, and every round saved before the kill is in it.
    let loom = tloom::store::load(&file).unwrap().loom;
    let made = loom
        .all_nodes()
        .into_iter()
        .filter(|&id| loom.get(id).unwrap().extra.contains_key("weave"))
        .count();
    assert!(made >= 6, "{made}");
    // Another command can take the file at once (the dead run's lock is not in the way).
    assert!(tloom(&["stats", file_s], &config).status.success());
    assert!(
        tloom(&["add", file_s, "--text", " more"], &config)
            .status
            .success()
    );
}

#[test]
fn a_model_judge_rubric_scores_with_the_real_engine() {
    let (dir, model, config, file) = real_model_story();
    let file_s = file.to_str().unwrap();
    let rubric = dir.path().join("judge.toml");
    std::fs::write(
        &rubric,
        "[[judge]]\nquestion = \"Is the text about letters?\"\nweight = 2.0\n",
    )
    .unwrap();
    let out = tloom(
        &[
            "weave",
            file_s,
            "--rubric",
            rubric.to_str().unwrap(),
            "--budget-tokens",
            "20",
            "-n",
            "2",
            "--max-tokens",
            "5",
            "--seed",
            "1",
            "--model",
            model.to_str().unwrap(),
            "--json",
        ],
        &config,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loom = tloom::store::load(&file).unwrap().loom;
    let parts: Vec<f64> = loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| {
            let w = loom.get(id).unwrap().extra.get("weave")?;
            w["parts"]["judge \"Is the text about letters?\""].as_f64()
        })
        .collect();
    assert!(!parts.is_empty());
    // Calibrated values lie in -1..1 and differ between candidates only by what they say.
    assert!(parts.iter().all(|v| v.abs() <= 1.0), "{parts:?}");
}
