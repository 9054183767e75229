//! `tloom import` and `tloom export` run as the real binary: outputs, exit codes, and
//! nothing written when the input is bad.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tloom(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tloom"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tloom runs")
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn copy_fixture(relative: &str, dir: &Path) -> Option<PathBuf> {
    let src = support::fixture(relative)?;
    let dst = dir.join(src.file_name().expect("name"));
    std::fs::copy(&src, &dst).expect("copy");
    Some(dst)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn importing_a_fixture_writes_a_tloom_file_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_) = copy_fixture("pyloom/dialectical.json", dir.path()) else {
        return;
    };
    let o = tloom(&["import", "dialectical.json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("dialectical.tloom.json").exists());
    let stats = tloom(&["stats", "dialectical.tloom.json", "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("json");
    assert_eq!(v["nodes"], 23);
    // A second import refuses to overwrite, then --force replaces.
    let again = tloom(&["import", "dialectical.json"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists"));
    let forced = tloom(&["import", "dialectical.json", "--force"], dir.path());
    assert!(forced.status.success(), "{}", stderr(&forced));
}

#[test]
fn non_tree_and_malformed_inputs_exit_65_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_) = copy_fixture("pyloom/openAI_response.json", dir.path()) else {
        return;
    };
    let Some(_) = copy_fixture("pyloom/openAI_formatted_response.json", dir.path()) else {
        return;
    };
    std::fs::write(
        dir.path().join("broken.json"),
        "{\"root\": {\"text\": \"a\", \"children\": [",
    )
    .expect("write");
    std::fs::write(dir.path().join("odd.json"), "{\"hello\": 1}").expect("write");
    let before = files(dir.path());
    for (file, says) in [
        ("openAI_response.json", "not a loom tree"),
        ("openAI_formatted_response.json", "not a loom tree"),
        ("broken.json", "line 1"),
        ("odd.json", "not a loom format"),
    ] {
        let o = tloom(&["import", file, "-o", "out.json"], dir.path());
        assert_eq!(o.status.code(), Some(65), "{file}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(file) && err.contains(says), "{file}: {err}");
    }
    assert_eq!(files(dir.path()), before, "nothing was written");
    let missing = tloom(&["import", "absent.json"], dir.path());
    assert_eq!(missing.status.code(), Some(66));
}

#[test]
fn a_vault_lists_its_notes_and_imports_one_or_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Constructed Loomsidian vault data.json with two notes (formats.md §3.2).
    let vault = r#"{"settings": {}, "state": {
      "Ship.md": {"current": "a", "hoisted": [], "nodes": {"a": {"text": "Ship", "parentId": null}}},
      "dir/Fog.md": {"current": "b", "hoisted": [], "nodes": {"b": {"text": "Fog", "parentId": null}, "c": {"text": "!", "parentId": "b"}}}}}"#;
    std::fs::write(dir.path().join("data.json"), vault).expect("write");
    let o = tloom(&["import", "data.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"Ship.md\"") && stderr(&o).contains("--note"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(dir.path()), ["data.json"]);
    let one = tloom(
        &["import", "data.json", "--note", "Fog", "-o", "fog.json"],
        dir.path(),
    );
    assert!(one.status.success(), "{}", stderr(&one));
    let shown = tloom(&["show", "fog.json", "--node", "2"], dir.path());
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "Fog!\n");
    let bad = tloom(&["import", "data.json", "--note", "Nope"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    let all = tloom(&["import", "data.json", "--all", "-o", "notes"], dir.path());
    assert!(all.status.success(), "{}", stderr(&all));
    let written: Vec<String> = files(&dir.path().join("notes"))
        .into_iter()
        .filter(|f| !f.ends_with(".lock"))
        .collect();
    assert_eq!(written, ["Ship.tloom.json", "dir-Fog.tloom.json"]);
}

#[test]
fn export_writes_stdout_or_a_file_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new = tloom(&["new", "s.json", "--prompt", "Once"], dir.path());
    assert!(new.status.success());
    let add = tloom(
        &["add", "s.json", "--node", "1", "--text", " upon a time"],
        dir.path(),
    );
    assert!(add.status.success());
    let txt = tloom(
        &["export", "s.json", "--format", "txt", "--node", "2"],
        dir.path(),
    );
    assert_eq!(String::from_utf8_lossy(&txt.stdout), "Once upon a time");
    let html = tloom(
        &["export", "s.json", "-f", "html", "-o", "s.html"],
        dir.path(),
    );
    assert!(html.status.success(), "{}", stderr(&html));
    let page = std::fs::read_to_string(dir.path().join("s.html")).expect("written");
    assert!(
        page.contains("<title>s</title>"),
        "title from the file name"
    );
    let twee = tloom(&["export", "s.json", "--format", "twee"], dir.path());
    assert!(String::from_utf8_lossy(&twee.stdout).starts_with(":: StoryTitle\ns\n"));
    let before = files(dir.path());
    let missing_node = tloom(
        &[
            "export", "s.json", "--format", "md", "--node", "9", "-o", "x.md",
        ],
        dir.path(),
    );
    assert_eq!(missing_node.status.code(), Some(2));
    let sub_txt = tloom(
        &[
            "export",
            "s.json",
            "--format",
            "txt",
            "--subtree",
            "-o",
            "x.txt",
        ],
        dir.path(),
    );
    assert_eq!(sub_txt.status.code(), Some(2));
    let no_file = tloom(
        &["export", "nope.json", "--format", "md", "-o", "x.md"],
        dir.path(),
    );
    assert_eq!(no_file.status.code(), Some(66));
    let bad_format = tloom(&["export", "s.json", "--format", "docx"], dir.path());
    assert_eq!(bad_format.status.code(), Some(2));
    assert_eq!(files(dir.path()), before, "nothing was written");
}

#[test]
fn import_then_export_to_pyloom_round_trips_through_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_) = copy_fixture("bonsai/ida.json", dir.path()) else {
        return;
    };
    let o = tloom(&["import", "ida.json", "-o", "ida.tloom.json"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let e = tloom(
        &[
            "export",
            "ida.tloom.json",
            "--format",
            "pyloom",
            "-o",
            "ida.py.json",
        ],
        dir.path(),
    );
    assert!(e.status.success(), "{}", stderr(&e));
    let back = tloom(
        &["import", "ida.py.json", "--from", "pyloom", "-o", "-"],
        dir.path(),
    );
    assert!(back.status.success(), "{}", stderr(&back));
    let loom = tloom::store::load_bytes(Path::new("stdout"), &back.stdout)
        .expect("tloom file")
        .loom;
    assert_eq!(loom.len(), 13);
}
