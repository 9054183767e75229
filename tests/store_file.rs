//! The tloom file: round trips, unknown fields, newer versions, bad input, atomic saves.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use tloom::store::{self, FileLock, StoreError};
use tloom::tree::{Loom, NodeId};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Load must fail with the given kind of error, naming the file, and leave it untouched.
fn assert_rejected(text: &str, expect: impl Fn(&StoreError) -> bool, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.json", text);
    let err = match store::load(&path) {
        Ok(_) => panic!("accepted bad input: {text:.80}"),
        Err(e) => e,
    };
    assert!(expect(&err), "unexpected error kind: {err}");
    let message = err.to_string();
    assert!(
        message.contains("bad.json"),
        "message does not name the file: {message}"
    );
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the file was changed"
    );
    assert_eq!(err.exit_code(), 65);
}

#[test]
fn truncated_json_names_the_position() {
    let text = r#"{"format":"tloom","version":1,"root":"1","nodes":{"1":{"text":"hel"#;
    assert_rejected(
        text,
        |e| matches!(e, StoreError::Syntax { line: 1, .. }),
        "EOF",
    );
}

#[test]
fn wrong_types_name_line_and_column() {
    let text = "{\"format\":\"tloom\",\"version\":1,\"root\":\"1\",\n\"nodes\":{\"1\":{\"text\":\"a\",\"bookmarked\":\"yes\"}}}";
    assert_rejected(
        text,
        |e| matches!(e, StoreError::Syntax { line: 2, column, .. } if *column > 20),
        "expected a boolean",
    );
}

#[test]
fn duplicate_ids_are_refused() {
    let text =
        r#"{"format":"tloom","version":1,"root":"1","nodes":{"1":{"text":"a"},"1":{"text":"b"}}}"#;
    assert_rejected(
        text,
        |e| matches!(e, StoreError::Syntax { .. }),
        "node id 1 appears twice",
    );
}

#[test]
fn a_child_naming_a_missing_parent_is_refused() {
    let text = r#"{"format":"tloom","version":1,"root":"1","nodes":{"1":{"text":"a"},"2":{"parent":"9","text":"b"}}}"#;
    assert_rejected(
        text,
        |e| matches!(e, StoreError::Invalid { .. }),
        "names parent 9, which is not in the file",
    );
}

#[test]
fn a_child_list_naming_a_missing_node_is_refused() {
    let text =
        r#"{"format":"tloom","version":1,"root":"1","nodes":{"1":{"text":"a","children":["5"]}}}"#;
    assert_rejected(
        text,
        |e| matches!(e, StoreError::Invalid { .. }),
        "lists child 5",
    );
}

#[test]
fn a_cycle_is_refused() {
    let text = r#"{"format":"tloom","version":1,"root":"1","nodes":{
        "1":{"text":"r"},
        "2":{"parent":"3","children":["3"],"text":"a"},
        "3":{"parent":"2","children":["2"],"text":"b"}}}"#;
    assert_rejected(text, |e| matches!(e, StoreError::Invalid { .. }), "cycle");
}

#[test]
fn a_missing_root_and_a_foreign_file_are_refused() {
    let text = r#"{"format":"tloom","version":1,"root":"7","nodes":{"1":{"text":"a"}}}"#;
    assert_rejected(text, |e| matches!(e, StoreError::Invalid { .. }), "root 7");
    let text = r#"{"root":{"text":"pyloom","children":[]}}"#;
    assert_rejected(
        text,
        |e| matches!(e, StoreError::NotTloom { .. }),
        "tloom import",
    );
    assert_rejected(
        "[1,2]",
        |e| matches!(e, StoreError::NotTloom { .. }),
        "not an object",
    );
    assert_rejected("", |e| matches!(e, StoreError::Syntax { .. }), "EOF");
}

#[test]
fn a_ten_thousand_deep_chain_loads_and_saves() {
    let mut loom = Loom::new("0");
    let mut at = loom.root();
    for i in 1..10_000 {
        at = loom.add_child(at, &format!(" {i}")).unwrap();
    }
    let bytes = store::to_bytes(&loom);
    let loaded = store::load_bytes(Path::new("deep.json"), &bytes)
        .unwrap()
        .loom;
    assert_eq!(loaded.len(), 10_000);
    assert_eq!(loaded.depth(at), 9_999);
    assert!(loaded.path_text(at).unwrap().ends_with(" 9998 9999"));
    assert!(loaded.check_invariants().is_ok());
}

#[test]
fn unknown_fields_survive_load_and_save() {
    let text = r#"{"format":"tloom","version":1,"root":"1","future_top":{"x":[1,2]},
      "nodes":{"1":{"text":"a","children":["2"],"future_node":"keep me"},
               "2":{"parent":"1","text":"b","origin":{"kind":"human"},"shiny":true}}}"#;
    let loaded = store::load_bytes(Path::new("f.json"), text.as_bytes()).unwrap();
    assert!(loaded.read_only.is_none());
    let saved = String::from_utf8(store::to_bytes(&loaded.loom)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(value["future_top"]["x"][1], 2);
    assert_eq!(value["nodes"]["1"]["future_node"], "keep me");
    assert_eq!(value["nodes"]["2"]["shiny"], true);
}

#[test]
fn a_newer_version_opens_read_only_with_a_message() {
    let text = r#"{"format":"tloom","version":2,"root":"1","nodes":{"1":{"text":"a"}}}"#;
    let opened = store::load_bytes(Path::new("new.json"), text.as_bytes()).unwrap();
    let reason = opened.read_only.expect("read-only");
    assert!(reason.contains("newer tloom"), "{reason}");
    let incompatible = r#"{"format":"tloom","version":3,"root":"1","nodes":[]}"#;
    let err = store::load_bytes(Path::new("new.json"), incompatible.as_bytes())
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::TooNew { version: 3, .. }),
        "{err}"
    );
}

#[test]
fn saving_is_atomic_and_keeps_the_previous_version_as_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("story.json");
    let mut loom = Loom::new("first");
    store::save(&path, &loom).unwrap();
    assert!(!store::atomic::backup_path(&path).exists());
    loom.set_text(loom.root(), "second").unwrap();
    store::save(&path, &loom).unwrap();
    let backup = store::load(&store::atomic::backup_path(&path))
        .unwrap()
        .loom;
    assert_eq!(backup.node(NodeId(1)).unwrap().text, "first");
    assert_eq!(
        store::load(&path)
            .unwrap()
            .loom
            .node(NodeId(1))
            .unwrap()
            .text,
        "second"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn saving_into_a_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/story.json");
    let err = store::save(&path, &Loom::new("x")).err().unwrap();
    assert_eq!(err.exit_code(), 74);
    assert!(err.to_string().contains("story.json"), "{err}");
}

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("story.json");
    let first = FileLock::acquire(&path).unwrap();
    let err = FileLock::acquire(&path).err().unwrap();
    let message = err.to_string();
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    drop(first);
    FileLock::acquire(&path).unwrap();
}

#[test]
fn token_data_and_provenance_round_trip_including_negative_infinity() {
    use tloom::tree::{GenParams, Generation, Node, Origin, TokenAlt, TokenRecord};
    let mut loom = Loom::new("Hi");
    let mut node = Node::new(" there").with_origin(Origin::Model(Generation {
        model: "m.gguf".into(),
        backend: "candle".into(),
        params: GenParams {
            max_tokens: 8,
            temperature: 0.7,
            stop: vec!["\n".into()],
            ..GenParams::default()
        },
        seed: 42,
        finish: Some("length".into()),
        mean_logprob: Some(-1.25),
        mean_entropy: None,
    }));
    node.tokens = Some(vec![TokenRecord {
        id: Some(7),
        text: " there".into(),
        logprob: f32::NEG_INFINITY,
        top: vec![TokenAlt {
            id: Some(8),
            text: " you".into(),
            logprob: -0.1,
        }],
    }]);
    let id = loom.add_child_node(loom.root(), node).unwrap();
    let loaded = store::load_bytes(Path::new("t.json"), &store::to_bytes(&loom))
        .unwrap()
        .loom;
    assert_eq!(loaded.node(id).unwrap(), loom.node(id).unwrap());
}
