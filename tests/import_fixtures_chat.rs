//! Importing the real OpenLoom, Bonsai and Lync files in ../shared/fixtures: node counts
//! and every path text, compared with what the test computes itself from the raw file.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use support::imported::{flat_paths, loom_paths, only_tree, raw, read};
use tloom::store::import::{Format, detect};
use tloom::tree::Origin;

#[test]
fn the_openloom_example_imports_with_authors_bookmarks_and_swift_dates() {
    let Some(bytes) = read("openloom/24-12-15 The Existence of Claude.openloom.json") else {
        return;
    };
    let json = raw(&bytes);
    let map = json["nodes"].as_object().expect("nodes");
    let nodes: HashMap<String, &Value> = map.iter().map(|(k, v)| (k.clone(), v)).collect();
    let expected = flat_paths(
        &nodes,
        json["rootNodeId"].as_str().expect("root"),
        "text",
        "childrenIds",
    );
    assert_eq!(expected.len(), 81);
    let tree = only_tree(&bytes);
    assert_eq!(tree.name, "The Existence of Claude");
    assert_eq!(loom_paths(&tree.loom), expected);
    let loom = &tree.loom;
    assert_eq!(loom.stats(loom.root()).bookmarks, 8);
    let assistants = map.values().filter(|n| n["author"] == "assistant").count();
    let model_nodes: Vec<_> = loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| loom.get(id))
        .filter(|n| n.origin.is_model())
        .collect();
    assert_eq!(model_nodes.len(), assistants);
    assert!(
        model_nodes
            .iter()
            .any(|n| n.origin.model_name() == Some("claude-3-5-sonnet-20241022"))
    );
    // createdTime is seconds since 2001-01-01 (`date -u -d @1734039840` gives the same).
    let root = loom.get(loom.root()).expect("root");
    let expected_ms = ((json["nodes"][json["rootNodeId"].as_str().expect("id")]["createdTime"]
        .as_f64()
        .expect("time")
        + 978_307_200.0)
        * 1000.0)
        .round() as i64;
    assert_eq!(root.created, expected_ms);
    assert_eq!(
        tloom::store::time::format_rfc3339(root.created),
        "2024-12-12T21:44:00Z"
    );
    let current = loom.get(loom.cursor()).expect("cursor");
    assert_eq!(current.extra["openloom"]["id"], json["currentNodeId"]);
}

fn check_bonsai(file: &str, count: usize) {
    let Some(bytes) = read(file) else { return };
    let json = raw(&bytes);
    let list = json["nodes"].as_array().expect("nodes");
    let nodes: HashMap<String, &Value> = list
        .iter()
        .map(|n| (n["id"].as_str().expect("id").to_string(), n))
        .collect();
    let root = list
        .iter()
        .find(|n| n["parentIds"].as_array().is_some_and(Vec::is_empty))
        .expect("a root");
    let expected = flat_paths(
        &nodes,
        root["id"].as_str().expect("id"),
        "text",
        "childrenIds",
    );
    assert_eq!(expected.len(), count, "{file}");
    let tree = only_tree(&bytes);
    assert_eq!(detect(&bytes).ok(), Some(Format::Bonsai));
    assert_eq!(loom_paths(&tree.loom), expected, "{file}");
    let focused = json["focusedId"].as_str().expect("focus");
    let cursor = tree.loom.get(tree.loom.cursor()).expect("cursor");
    assert_eq!(cursor.extra["bonsai"]["id"], focused, "{file}");
}

#[test]
fn bonsai_files_import_exactly() {
    check_bonsai("bonsai/bonsai.json", 16);
    check_bonsai("bonsai/ida.json", 13);
}

#[test]
fn the_lync_dag_keeps_first_parents_and_says_so() {
    let Some(bytes) = read("textile/dag-links.lync") else {
        return;
    };
    let text = std::str::from_utf8(&bytes).expect("utf-8");
    let events: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let messages: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "corpus/message")
        .collect();
    let by_id: HashMap<&str, &Value> = messages
        .iter()
        .map(|e| (e["id"].as_str().expect("id"), *e))
        .collect();
    let path = |e: &Value| {
        let mut chain = vec![e];
        while let Some(p) = chain
            .last()
            .and_then(|c| c["parents"].get(0))
            .and_then(Value::as_str)
        {
            chain.push(by_id[p]);
        }
        chain
            .iter()
            .rev()
            .map(|c| c["payload"]["text"].as_str().expect("text"))
            .collect::<String>()
    };
    let mut expected: Vec<String> = messages.iter().map(|e| path(e)).collect();
    expected.sort();
    let tree = only_tree(&bytes);
    assert_eq!(detect(&bytes).ok(), Some(Format::Lync));
    let mut got = loom_paths(&tree.loom);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 4);
    assert!(
        tree.warnings.iter().any(|w| w.contains("2 parents")),
        "{:?}",
        tree.warnings
    );
    let loom = &tree.loom;
    let chosen: Vec<_> = loom
        .bookmarks()
        .into_iter()
        .map(|id| loom.get(id).expect("node").text.clone())
        .collect();
    assert_eq!(chosen, ["Branch A proposes cooperation."]);
    let cursor = loom.get(loom.cursor()).expect("cursor");
    assert_eq!(cursor.text, "A synthesis depends on both branches.");
    assert_eq!(cursor.tags, ["cooperation"]);
    assert!(matches!(&cursor.origin, Origin::Imported(i) if i.model.as_deref() == Some("model-a")));
}
