//! Nothing in an input file decides where tloom writes: a file full of path-like texts,
//! fields and titles is changed, saved and exported by the real binary, and afterwards the
//! directory holds only the file, its backup, its lock, the journal-free state and the
//! export the user named; none of the paths inside the file exist.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;

#[test]
fn a_hostile_file_cannot_make_tloom_write_anywhere_but_where_it_was_told() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let evil = |name: &str| victim.join(name).display().to_string();
    let path = dir.path().join("story.json");
    let file = serde_json::json!({
        "format": "tloom",
        "version": 1,
        "root": "1",
        "title": evil("title.html"),
        "output": evil("output.json"),
        "memory": format!("$(touch {})", evil("memory")),
        "nodes": {
            "1": {"children": ["2"], "text": format!("../../{}", evil("root")),
                  "origin": {"kind": "human"}, "path": evil("node-path")},
            "2": {"parent": "1", "text": "<script>alert(1)</script>",
                  "origin": {"kind": "imported", "format": evil("format")},
                  "note": evil("note"), "tags": [evil("tag")]}
        }
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    let out = dir.path().join("out.html");
    let tloom = |args: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_tloom"))
            .args(args)
            .current_dir(&victim)
            .status()
            .unwrap();
        assert!(status.success(), "{args:?}");
    };
    let p = path.to_str().unwrap();
    tloom(&["add", p, "--node", "2", "--text", " more"]);
    tloom(&[
        "export",
        p,
        "--format",
        "html",
        "--output",
        out.to_str().unwrap(),
    ]);
    tloom(&["export", p, "--format", "md", "--front-matter", "--subtree"]);

    let names: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "story.json",
        "story.json.bak",
        ".story.json.lock",
        "out.html",
        "victim",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(names, expected);
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written in victim/"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script>alert(1)"), "node text is escaped");
    // The unknown fields survived the save untouched.
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(saved["output"], file["output"]);
    assert_eq!(saved["nodes"]["1"]["path"], file["nodes"]["1"]["path"]);
}
