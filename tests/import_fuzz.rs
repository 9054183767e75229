//! Truncated, mistyped and hostile inputs to every importer end in a clear error (or a
//! tree), never a panic.

mod support;

use proptest::prelude::*;
use serde_json::{Value, json};
use tloom::store::import::{Format, import};

const FIXTURES: &[&str] = &[
    "pyloom/dialectical_247efe0.json",
    "pyloom/dialectical.json",
    "pyloom/teleology.json",
    "pyloom/GPT_chat.json",
    "pyloom/prime_intellect.json",
    "pyloom/loom_demo.json",
    "openloom/24-12-15 The Existence of Claude.openloom.json",
    "bonsai/bonsai.json",
    "bonsai/ida.json",
    "textile/dag-links.lync",
];

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    FIXTURES
        .iter()
        .filter_map(|f| Some((*f, std::fs::read(support::fixture(f)?).expect("readable"))))
        .collect()
}

/// An error must say something; a result must be a real tree.
fn check(bytes: &[u8], format: Option<Format>) -> bool {
    match import(bytes, format) {
        Ok(trees) => {
            assert!(!trees.is_empty());
            assert!(trees.iter().all(|t| !t.loom.is_empty()));
            true
        }
        Err(e) => {
            assert!(e.to_string().len() > 10, "unclear error: {e}");
            false
        }
    }
}

#[test]
fn every_fixture_truncated_anywhere_is_refused_without_a_panic() {
    for (name, bytes) in fixtures() {
        let end = bytes.trim_ascii_end().len();
        let steps = if bytes.len() > 100_000 { 40 } else { 150 };
        let mut offsets: Vec<usize> = (0..steps).map(|i| i * end / steps).collect();
        offsets.extend(1..64.min(end));
        for at in offsets {
            let ok = check(&bytes[..at], None);
            if !name.ends_with(".lync") {
                assert!(!ok, "{name} cut at {at} bytes was accepted");
            }
        }
    }
}

/// Replace the `n`-th value (preorder) of `doc` with `with`.
fn replace_nth(doc: &mut Value, n: usize, with: &Value) -> bool {
    let mut count = 0usize;
    let mut stack: Vec<&mut Value> = vec![doc];
    while let Some(v) = stack.pop() {
        if count == n {
            *v = with.clone();
            return true;
        }
        count += 1;
        match v {
            Value::Array(items) => stack.extend(items.iter_mut().rev()),
            Value::Object(map) => stack.extend(map.values_mut().rev()),
            _ => {}
        }
    }
    false
}

fn count_values(doc: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        count += 1;
        match v {
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    count
}

#[test]
fn swapping_any_value_for_another_type_never_panics() {
    let swaps = [
        json!(null),
        json!(-1),
        json!(1e300),
        json!(u64::MAX),
        json!("text"),
        json!([]),
        json!({}),
        json!(true),
    ];
    for (name, bytes) in fixtures() {
        if name.ends_with(".lync") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&bytes).expect("fixture is JSON");
        let total = count_values(&doc);
        let points = if bytes.len() > 100_000 { 12 } else { 60 };
        for i in 0..points {
            let n = i * total / points + i % 7;
            for with in &swaps {
                let mut mutated = doc.clone();
                if replace_nth(&mut mutated, n, with) {
                    check(mutated.to_string().as_bytes(), None);
                }
            }
        }
    }
}

#[test]
fn lync_lines_with_wrong_types_are_refused_clearly() {
    let Some(path) = support::fixture("textile/dag-links.lync") else {
        return;
    };
    let text = std::fs::read_to_string(path).expect("read");
    for (i, line) in text.lines().enumerate() {
        let mut event: Value = serde_json::from_str(line).expect("json");
        for key in ["id", "kind", "parents", "payload"] {
            for with in [json!(null), json!(7), json!([1]), json!({"a": 1})] {
                event[key] = with;
                let mut lines: Vec<String> = text.lines().map(String::from).collect();
                lines[i] = event.to_string();
                check(lines.join("\n").as_bytes(), None);
            }
        }
    }
}

fn refused(json: &str, expect: &str) {
    let err = import(json.as_bytes(), None).expect_err(json).to_string();
    assert!(err.contains(expect), "{err:?} should mention {expect:?}");
}

#[test]
fn cycles_missing_parents_and_duplicate_ids_are_errors_in_every_flat_format() {
    // Constructed hostile inputs, one per flat format.
    refused(
        r#"{"current": "a", "nodes": {"a": {"text": "", "parentId": "b"}, "b": {"text": "", "parentId": "a"}}}"#,
        "cycle",
    );
    refused(
        r#"{"current": "a", "nodes": {"a": {"text": "", "parentId": null}, "b": {"text": "", "parentId": "zz"}}}"#,
        "\"zz\"",
    );
    refused(
        r#"{"current": "a", "nodes": [{"id": "a", "text": ""}, {"id": "a", "text": ""}]}"#,
        "twice",
    );
    refused(
        r#"{"nodes": [{"id": 1, "text": "", "parentIds": []}, {"id": 2, "text": "", "parentIds": [3]}, {"id": 3, "text": "", "parentIds": [2]}], "edges": []}"#,
        "cycle",
    );
    refused(
        r#"{"nodes": [{"id": 1, "text": "", "parentIds": []}, {"id": 1, "text": "", "parentIds": []}], "edges": []}"#,
        "twice",
    );
    refused(
        r#"{"rootNodeId": "A", "nodes": {"A": {"text": "", "parentId": "B", "childrenIds": []}, "B": {"text": "", "parentId": "A", "childrenIds": []}}}"#,
        "cycle",
    );
    refused(
        r#"{"rootNodeId": "Q", "nodes": {"A": {"text": "", "parentId": null, "childrenIds": []}}}"#,
        "rootNodeId",
    );
    refused(
        r#"{"rootId": "a", "nodes": [{"id": "a", "text": "", "parentId": null, "childIds": []}, {"id": "b", "text": "", "parentId": "gone", "childIds": []}]}"#,
        "gone",
    );
    refused(
        r#"{"nodes": {"a": {"parent_id": "a", "text": ""}}, "focused_node_id": "a"}"#,
        "cycle",
    );
    refused(
        r#"{"version": 1, "nodes": [{"id": "a", "parent_id": "b", "tree_id": "a", "text": ""}, {"id": "b", "parent_id": "a", "tree_id": "a", "text": ""}]}"#,
        "cycle",
    );
    refused(
        r#"{"loomType": "Exoloom", "tree": {"rootNodeId": 1, "nodes": {"1": {"content": "", "parentId": 2, "childrenIds": []}, "2": {"content": "", "parentId": 1, "childrenIds": []}}}, "lens": {}}"#,
        "cycle",
    );
    refused(
        r#"{"loomTree": {"nodeStore": {"1": {"id": "1", "patch": "", "parent": "2", "children": []}, "2": {"id": "2", "patch": "", "parent": "1", "children": []}}}}"#,
        "cycle",
    );
    refused(
        "{\"id\":\"a\",\"kind\":\"corpus/message\",\"parents\":[\"b\"],\"payload\":{\"text\":\"x\"}}\n{\"id\":\"b\",\"kind\":\"corpus/message\",\"parents\":[\"a\"],\"payload\":{\"text\":\"y\"}}\n",
        "cycle",
    );
    refused(
        "{\"id\":\"a\",\"kind\":\"corpus/message\",\"parents\":[],\"payload\":{\"text\":\"x\"}}\n{\"id\":\"a\",\"kind\":\"corpus/message\",\"parents\":[],\"payload\":{\"text\":\"y\"}}\n",
        "twice",
    );
    refused(
        r#"{"root": {"id": "r", "text": 5, "children": []}}"#,
        "\"text\" is a number",
    );
    refused(
        r#"{"root": {"id": "r", "text": "", "children": {}}}"#,
        "\"children\" is an object",
    );
    refused(
        r#"{"root": {"id": "m", "text": "", "children": [], "masked_head": {"id": "h", "text": "", "children": []}, "tail_id": "nowhere"}}"#,
        "tail_id",
    );
    refused(
        r#"{"loomTree": {"nodeStore": {"1": {"id": "1", "patch": [{"diffs": [[0, "absent"]], "start2": 0}], "parent": null, "children": []}}}}"#,
        "does not apply",
    );
}

#[test]
fn huge_numbers_and_odd_values_are_survived() {
    // Constructed: timestamps and ids far out of range.
    let inputs = [
        r#"{"rootNodeId": "A", "nodes": {"A": {"text": "x", "parentId": null, "childrenIds": [], "createdTime": 1e308, "isBookmarked": "yes"}}}"#,
        r#"{"nodes": [{"id": 18446744073709551615, "text": "x", "parentIds": [], "createdAt": -1e300}], "edges": []}"#,
        r#"{"root": {"id": "r", "text": "x", "children": [], "meta": {"creation_timestamp": "9999-99-99-99.99.99", "source": 7}}}"#,
        r#"{"loomTree": {"nodeStore": {"1": {"id": "1", "patch": [{"diffs": [[1, "x"]], "start2": 18446744073709551615}], "parent": null, "children": [], "timestamp": 1e400}}}}"#,
        r#"{"isLogitLoomTreeVersion": "x", "roots": [{"text": "a", "logprob": "NaN", "children": []}]}"#,
    ];
    for json in inputs {
        check(json.as_bytes(), None);
    }
    for format in Format::ALL {
        check(b"{}", Some(*format));
        check(b"[]", Some(*format));
        check(b"\"x\"", Some(*format));
        check(
            b"{\"nodes\": 5, \"root\": 5, \"tree\": 5, \"state\": 5, \"loomTree\": 5}",
            Some(*format),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes, None);
    }

    #[test]
    fn arbitrary_json_shaped_text_never_panics(text in r#"[\{\}\[\]":,a-z0-9 ]{0,200}"#) {
        check(text.as_bytes(), None);
        check(text.as_bytes(), Some(Format::Pyloom));
    }

    #[test]
    fn random_parent_maps_build_or_fail_cleanly(parents in proptest::collection::vec(0usize..12, 1..12)) {
        // A Loomsidian note whose node i names parent parents[i] (itself: a root).
        let nodes: serde_json::Map<String, Value> = parents
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let parent = if *p == i { Value::Null } else { json!(format!("n{p}")) };
                (format!("n{i}"), json!({"text": format!("{i}"), "parentId": parent}))
            })
            .collect();
        let doc = json!({"current": "n0", "nodes": nodes});
        let acyclic = (0..parents.len()).all(|start| {
            let mut at = start;
            for _ in 0..=parents.len() {
                if parents[at] == at { return true; }
                if parents[at] >= parents.len() { return true; }
                at = parents[at];
            }
            false
        });
        let missing = parents.iter().enumerate().any(|(i, p)| *p != i && *p >= parents.len());
        let ok = check(doc.to_string().as_bytes(), None);
        prop_assert_eq!(ok, acyclic && !missing);
    }
}
