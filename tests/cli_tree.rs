//! The headless tree commands, run as the real binary: output, exit codes, files untouched
//! on failure.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

fn tloom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run tloom")
}

fn ok(args: &[&str]) -> String {
    let out = tloom(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_scripted_session_builds_the_expected_tree() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("story.json");
    let f = path_str(&file);
    assert_eq!(ok(&["new", f, "--prompt", "The keeper"]).trim(), "1");
    let a = ok(&["add", f, "--node", "1", "--text", " lit the lamp."])
        .trim()
        .to_string();
    let b = ok(&["add", f, "--node", "1", "--text", " slept."])
        .trim()
        .to_string();
    ok(&["bookmark", f, "--node", &a]);
    ok(&["archive", f, "--node", &b]);
    let upper = ok(&["split", f, "--node", "1", "--at", "4"])
        .trim()
        .to_string();
    assert_eq!(ok(&["show", f, "--node", &a]), "The keeper lit the lamp.\n");
    assert_eq!(ok(&["show", f, "--node", &upper, "--segment"]), "The \n");
    let tree = ok(&["tree", f]);
    assert_eq!(
        tree,
        format!(
            "\"The \" #{upper}\n  \"keeper\" #1 [*]\n    \" lit the lamp.\" #{a} [b]\n    \" slept.\" #{b} [x]\n"
        )
    );
    let stats: serde_json::Value = serde_json::from_str(&ok(&["stats", f, "--json"])).unwrap();
    assert_eq!(stats["root"], upper.as_str());
    assert_eq!(stats["nodes"], 4);
    assert_eq!(stats["bookmarks"], 1);
    assert_eq!(stats["archived"], 1);
    ok(&["merge", f, "--node", "1"]);
    assert_eq!(ok(&["show", f, "--node", &b]), "The keeper slept.\n");
    ok(&["move", f, "--node", &b, "--index", "0"]);
    assert!(ok(&["tree", f]).contains(&format!("  \" slept.\" #{b} [x]\n  \" lit")));
    let hits = ok(&["search", f, "LAMP"]);
    assert!(hits.starts_with(&format!("{a}\t")), "{hits}");
    ok(&["delete", f, "--node", &a]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ok(&["stats", f, "--json"])).unwrap()["nodes"],
        2
    );
}

#[test]
fn text_can_come_from_a_file_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let f = path_str(&file);
    let prompt = dir.path().join("prompt.txt");
    std::fs::write(&prompt, "From a file\n").unwrap();
    ok(&["new", f, "--prompt-file", path_str(&prompt)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(["add", f])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(ok(&["show", f, "--node", "2"]), "From a file\npiped\n");
}

#[test]
fn exit_codes_follow_sysexits_and_failures_leave_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let f = path_str(&file);
    ok(&["new", f, "--prompt", "x"]);
    let before = std::fs::read(&file).unwrap();
    let missing = dir.path().join("missing.json");
    assert_eq!(tloom(&["tree", path_str(&missing)]).status.code(), Some(66));
    assert_eq!(tloom(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(tloom(&["show", f, "--node", "abc"]).status.code(), Some(2));
    let out = tloom(&["delete", f, "--node", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("root"));
    assert_eq!(tloom(&["show", f, "--node", "99"]).status.code(), Some(2));
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\":\"tloom\",").unwrap();
    let out = tloom(&["add", path_str(&bad), "--text", "y"]);
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json: line 1"));
    assert_eq!(
        std::fs::read_to_string(&bad).unwrap(),
        "{\"format\":\"tloom\","
    );
    assert_eq!(
        tloom(&["new", f]).status.code(),
        Some(1),
        "new refuses to overwrite"
    );
}

#[test]
fn a_locked_file_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    let f = path_str(&file);
    ok(&["new", f, "--prompt", "x"]);
    let _held = tloom::store::FileLock::acquire(&file).unwrap();
    let out = tloom(&["add", f, "--text", "y"]);
    assert_eq!(out.status.code(), Some(75));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
}

#[test]
fn help_has_examples_and_completions_are_generated() {
    let help = ok(&["--help"]);
    assert!(help.contains("Examples:") && help.contains("tloom new story.json"));
    let bash = ok(&["completions", "bash"]);
    assert!(bash.contains("_tloom()") && bash.contains("bookmark"));
}

#[test]
fn tree_of_a_49000_deep_chain_streams_in_linear_size_and_a_closed_pipe_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.json");
    let mut loom = tloom::tree::Loom::new("root");
    let mut at = loom.root();
    for _ in 0..49_000 {
        at = loom.add_child(at, " a step further").unwrap();
    }
    tloom::store::save(&file, &loom).unwrap();
    let out = ok(&["tree", path_str(&file)]);
    assert_eq!(out.lines().count(), 49_001);
    // Indentation stops at 64 levels, and deeper lines say their depth.
    assert!(out.len() < 20_000_000, "{} bytes", out.len());
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("{}(depth 49000) ", "  ".repeat(64))),
        "{last}"
    );
    // A reader that stops early (`| head`) ends the output without an error or a panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(["tree", path_str(&file)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    // It ends (by SIGPIPE's default action, as `cat` would) with nothing on stderr.
    let out = child.wait_with_output().unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn empty_config() -> std::path::PathBuf {
    let config =
        std::env::temp_dir().join(format!("tloom-empty-config-{}.toml", std::process::id()));
    std::fs::write(&config, "").unwrap();
    config
}

#[test]
fn printing_into_a_closed_pipe_ends_quietly() {
    // `tloom keys | head -c 16`: the reader goes away, and tloom must not panic about it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(["keys", "--markdown"])
        .env("TLOOM_CONFIG", empty_config())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
