//! tloom -> pyloom -> tloom and tloom -> OpenLoom -> tloom keep structure, texts and
//! bookmarks (compared as outlines); pyloom also keeps token data and authorship.

mod support;

use support::sample::{KEPT, sample};
use tloom::store::export::{ExportOptions, Format, export};
use tloom::store::import::{self, Format as In};
use tloom::tree::outline::{OutlineOptions, render};
use tloom::tree::{Loom, NodeId};

/// Structure, texts and bookmark/archive marks; no ids (they are renumbered), no cursor.
fn shape(loom: &Loom) -> String {
    let o = OutlineOptions {
        ids: false,
        ..OutlineOptions::default()
    };
    render(loom, loom.root(), o)
        .lines()
        .map(|l| match l.rfind(" [") {
            // Texts are quoted, so only a marker list ends a line with ']'.
            Some(i) if l.ends_with(']') => {
                let marks: Vec<&str> = l[i + 2..l.len() - 1]
                    .split(' ')
                    .filter(|m| *m == "b" || *m == "x")
                    .collect();
                if marks.is_empty() {
                    l[..i].to_string()
                } else {
                    format!("{} [{}]", &l[..i], marks.join(" "))
                }
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every node's path text, in tree order (ids are renumbered in tree order on import).
fn paths(loom: &Loom) -> Vec<String> {
    loom.all_nodes()
        .into_iter()
        .map(|id| loom.path_text(id).expect("node"))
        .collect()
}

fn through(loom: &Loom, out: Format, back: In) -> Loom {
    let bytes = export(loom, out, &ExportOptions::default()).expect("exports");
    assert_eq!(import::detect(&bytes).ok(), Some(back));
    let mut trees = import::import(&bytes, None).expect("imports");
    assert_eq!(trees.len(), 1);
    trees.remove(0).loom
}

#[test]
fn tloom_to_pyloom_and_back_keeps_the_tree() {
    let loom = sample();
    let back = through(&loom, Format::Pyloom, In::Pyloom);
    assert_eq!(shape(&back), shape(&loom));
    assert!(
        shape(&loom).contains("[b]") && shape(&loom).contains("[x]"),
        "the sample has marks"
    );
    assert_eq!(paths(&back), paths(&loom));
    let kept = back.get(KEPT).expect("same order, same ids");
    assert_eq!(kept.origin.model_name(), Some("tiny-llama"));
    assert!(kept.origin.is_model());
    let tokens = kept
        .tokens
        .as_ref()
        .expect("tokens through model_responses");
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1].logprob, -1.25);
    assert_eq!(
        back.get(KEPT).map(|n| n.created),
        loom.get(KEPT).map(|n| n.created)
    );
    assert_eq!(back.path_text(back.cursor()), loom.path_text(loom.cursor()));
}

#[test]
fn tloom_to_openloom_and_back_keeps_the_tree() {
    let loom = sample();
    let back = through(&loom, Format::Openloom, In::Openloom);
    // OpenLoom has no archive mark; compare without it.
    let no_x = |s: String| s.replace(" [x]", "").replace(" [b x]", " [b]");
    assert_eq!(no_x(shape(&back)), no_x(shape(&loom)));
    let kept = back.get(KEPT).expect("node");
    assert_eq!(kept.origin.model_name(), Some("tiny-llama"));
    assert_eq!(
        back.get(NodeId(1)).map(|n| n.created),
        loom.get(NodeId(1)).map(|n| n.created)
    );
    assert_eq!(back.path_text(back.cursor()), loom.path_text(loom.cursor()));
    assert_eq!(paths(&back), paths(&loom));
}

#[test]
fn a_pyloom_export_of_an_imported_pyloom_file_keeps_its_ids() {
    let Some(path) = support::fixture("pyloom/dialectical.json") else {
        return;
    };
    let bytes = std::fs::read(path).expect("read");
    let first = import::import(&bytes, None)
        .expect("imports")
        .remove(0)
        .loom;
    let again = export(&first, Format::Pyloom, &ExportOptions::default()).expect("exports");
    let raw: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let ours: serde_json::Value = serde_json::from_slice(&again).expect("json");
    assert_eq!(ours["root"]["id"], raw["root"]["id"]);
    let second = import::import(&again, None)
        .expect("re-imports")
        .remove(0)
        .loom;
    assert_eq!(shape(&second), shape(&first));
}
