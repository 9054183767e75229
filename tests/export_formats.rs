//! Every exporter's output read back by a real parser or checked against its spec.

mod support;

use regex::Regex;
use scraper::{Html, Selector};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use support::sample::{ARCHIVED, HOSTILE, KEPT, sample};
use tloom::store::export::{ExportOptions, Format, export};
use tloom::tree::Loom;

fn out(loom: &Loom, format: Format, options: &ExportOptions) -> String {
    String::from_utf8(export(loom, format, options).expect("exports")).expect("utf-8")
}

fn all() -> ExportOptions {
    ExportOptions::default()
}

#[test]
fn txt_is_the_path_text_to_the_cursor_or_a_node() {
    let loom = sample();
    let text = out(&loom, Format::Txt, &all());
    assert_eq!(text, loom.path_text(loom.cursor()).expect("cursor"));
    let opts = ExportOptions {
        node: Some(ARCHIVED),
        ..all()
    };
    assert_eq!(
        out(&loom, Format::Txt, &opts),
        "The lighthouse keeper slept."
    );
    let sub = ExportOptions {
        subtree: true,
        ..all()
    };
    assert!(export(&loom, Format::Txt, &sub).is_err());
    let missing = ExportOptions {
        node: Some(tloom::tree::NodeId(99)),
        ..all()
    };
    assert!(export(&loom, Format::Md, &missing).is_err());
}

#[test]
fn markdown_path_has_separators_and_front_matter_with_provenance() {
    let loom = sample();
    let opts = ExportOptions {
        separators: true,
        front_matter: true,
        title: Some("Keeper".into()),
        ..all()
    };
    let md = out(&loom, Format::Md, &opts);
    let (front, body) = md
        .strip_prefix("---\n")
        .and_then(|r| r.split_once("\n---\n\n"))
        .expect("front matter between --- lines");
    assert!(front.contains("title: \"Keeper\""), "{front}");
    assert!(front.contains("models: [\"tiny-llama\"]"), "{front}");
    assert!(front.contains("path: [\"1\", \"2\", \"4\"]"), "{front}");
    // The value as typed, not the f32 widened to f64 (0.800000011920929).
    assert!(front.contains("temperature: 0.8,"), "{front}");
    assert!(!front.contains("0.80000"), "{front}");
    assert!(front.contains("seed: 7"), "{front}");
    // Removing the separators gives back the exact path text.
    let sep = Regex::new("<!-- node [^>]* -->").expect("regex");
    assert_eq!(sep.find_iter(body).count(), 3);
    let plain = sep.replace_all(body, "");
    assert_eq!(plain.trim_end(), loom.path_text(HOSTILE).expect("path"));
}

#[test]
fn markdown_tree_folds_alternatives_in_details() {
    let loom = sample();
    let md = out(
        &loom,
        Format::Md,
        &ExportOptions {
            subtree: true,
            ..all()
        },
    );
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    // Root has 3 children: one main line, two folded alternatives.
    assert_eq!(md.matches("<details>").count(), 2, "{md}");
    assert!(md.contains("alt 2/3"), "{md}");
    assert!(!md.contains("<script>"), "node text is escaped");
    let hidden = out(
        &loom,
        Format::Md,
        &ExportOptions {
            subtree: true,
            hide_archived: true,
            ..all()
        },
    );
    assert!(!hidden.contains("slept"));
}

#[test]
fn dot_output_renders_with_graphviz() {
    let loom = sample();
    let dot = out(&loom, Format::Dot, &all());
    assert!(
        dot.contains("style=\"rounded,filled,dashed\""),
        "archived is styled"
    );
    assert!(
        dot.contains("fillcolor=\"#ffe08a\""),
        "bookmarked is styled"
    );
    let have_dot = Command::new("dot").arg("-V").output().is_ok();
    if !have_dot {
        assert!(
            !support::in_ci(),
            "CI must have graphviz (apt-get install graphviz)"
        );
        eprintln!("skipped: graphviz `dot` is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tree.dot");
    std::fs::write(&path, &dot).expect("write");
    let result = Command::new("dot")
        .arg("-Tsvg")
        .arg(&path)
        .output()
        .expect("dot runs");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "dot failed: {stderr}");
    assert!(stderr.trim().is_empty(), "dot warned: {stderr}");
    let svg = String::from_utf8_lossy(&result.stdout);
    assert_eq!(svg.matches("class=\"node\"").count(), loom.len());
    assert_eq!(svg.matches("class=\"edge\"").count(), loom.len() - 1);
    // The tooltip carries the hostile text intact (escaped by graphviz for SVG).
    assert!(
        svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{svg}"
    );
}

#[test]
fn html_is_self_contained_collapsible_and_inert() {
    let loom = sample();
    let html = out(&loom, Format::Html, &all());
    let doc = Html::parse_document(&html);
    let sel = |s: &str| Selector::parse(s).expect("selector");
    assert_eq!(doc.select(&sel("details")).count(), loom.len());
    for script in doc.select(&sel("script")) {
        let code: String = script.text().collect();
        assert!(
            !code.contains("alert(1)"),
            "a node's text became a script: {code}"
        );
        assert!(script.value().attr("src").is_none());
    }
    assert_eq!(
        doc.select(&sel("script")).count(),
        1,
        "only tloom's own inline script"
    );
    for el in doc.select(&sel("*")) {
        for (name, value) in el.value().attrs() {
            let lower = value.to_ascii_lowercase();
            let url_like = ["http:", "https:", "//", "ftp:", "data:", "javascript:"];
            assert!(
                !url_like.iter().any(|u| lower.trim_start().starts_with(u)),
                "{name}={value} refers outside the file"
            );
            assert!(
                !["src", "href", "srcset", "action"].contains(&name),
                "{name}={value}"
            );
        }
    }
    let seg = doc
        .select(&sel(&format!("#n{HOSTILE} > summary > .seg")))
        .next()
        .expect("hostile node shown");
    let shown: String = seg.text().collect();
    assert_eq!(
        shown,
        loom.get(HOSTILE).expect("node").text,
        "text shown verbatim, as text"
    );
    assert!(
        doc.select(&sel(&format!("#n{KEPT}.bookmarked")))
            .next()
            .is_some()
    );
    assert!(
        doc.select(&sel(&format!("#n{ARCHIVED}.archived")))
            .next()
            .is_some()
    );
    let csp = doc
        .select(&sel("meta[http-equiv=Content-Security-Policy]"))
        .next();
    assert!(csp.is_some_and(|m| {
        m.value()
            .attr("content")
            .is_some_and(|c| c.contains("default-src 'none'"))
    }));
}

#[test]
fn json_canvas_follows_the_1_0_spec() {
    let loom = sample();
    let doc: Value = serde_json::from_str(&out(&loom, Format::Canvas, &all())).expect("json");
    let nodes = doc["nodes"].as_array().expect("nodes list");
    let edges = doc["edges"].as_array().expect("edges list");
    assert_eq!(nodes.len(), loom.len());
    assert_eq!(edges.len(), loom.len() - 1);
    let mut ids = HashSet::new();
    let colors = ["1", "2", "3", "4", "5", "6"];
    let hex = Regex::new("^#[0-9a-fA-F]{6}$").expect("re");
    for n in nodes {
        let id = n["id"].as_str().expect("string id");
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        assert_eq!(n["type"], "text");
        for key in ["x", "y", "width", "height"] {
            assert!(n[key].is_i64(), "{key} must be an integer: {n}");
        }
        assert!(n["width"].as_i64() > Some(0) && n["height"].as_i64() > Some(0));
        assert!(n["text"].is_string());
        if let Some(c) = n.get("color") {
            let c = c.as_str().expect("color string");
            assert!(colors.contains(&c) || hex.is_match(c));
        }
    }
    let sides = ["top", "right", "bottom", "left"];
    for e in edges {
        let id = e["id"].as_str().expect("edge id");
        assert!(ids.insert(id.to_string()), "edge id {id} clashes");
        assert!(ids.contains(e["fromNode"].as_str().expect("from")));
        assert!(ids.contains(e["toNode"].as_str().expect("to")));
        for side in ["fromSide", "toSide"] {
            if let Some(s) = e.get(side) {
                assert!(sides.contains(&s.as_str().expect("side")));
            }
        }
    }
}

/// A passage as the Twee 3 spec reads it: name, tags, metadata, content.
struct Passage {
    name: String,
    tags: Vec<String>,
    meta: Option<Value>,
    content: String,
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

fn parse_twee(text: &str) -> Vec<Passage> {
    // Header: "::" name (with \-escapes, no unescaped [ ] { }), optional [tags], optional {json}.
    let header = Regex::new(r"^::\s*((?:\\.|[^\\\[\]{}])+?)\s*(?:\[([^\]]*)\])?\s*(\{.*\})?\s*$")
        .expect("regex");
    let mut passages: Vec<Passage> = Vec::new();
    for line in text.split('\n') {
        if line.starts_with("::") {
            let caps = header
                .captures(line)
                .unwrap_or_else(|| panic!("bad passage header: {line}"));
            passages.push(Passage {
                name: unescape(&caps[1]),
                tags: caps
                    .get(2)
                    .map(|t| t.as_str().split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
                meta: caps
                    .get(3)
                    .map(|m| serde_json::from_str(m.as_str()).expect("metadata is JSON")),
                content: String::new(),
            });
        } else if let Some(p) = passages.last_mut() {
            p.content.push_str(line);
            p.content.push('\n');
        } else {
            assert!(
                line.trim().is_empty(),
                "text before the first passage: {line}"
            );
        }
    }
    passages
}

#[test]
fn twee_follows_the_twee_3_spec_and_links_resolve() {
    let loom = sample();
    let twee = out(&loom, Format::Twee, &all());
    let passages = parse_twee(&twee);
    let by_name: HashMap<&str, &Passage> = passages.iter().map(|p| (p.name.as_str(), p)).collect();
    assert_eq!(by_name.len(), passages.len(), "passage names are unique");
    assert_eq!(passages.len(), loom.len() + 2);
    assert!(by_name["StoryTitle"].content.trim() == "tloom");
    let data: Value =
        serde_json::from_str(&by_name["StoryData"].content).expect("StoryData is JSON");
    let ifid = data["ifid"].as_str().expect("ifid");
    let v4 = Regex::new("^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
        .expect("re");
    assert!(v4.is_match(ifid), "{ifid}");
    assert!(by_name.contains_key(data["start"].as_str().expect("start")));
    assert_eq!(
        ifid,
        serde_json::from_str::<Value>(&by_name["StoryData"].content).expect("json")["ifid"],
        "stable"
    );
    let link = Regex::new(r"\[\[(.*?)\]\]").expect("re");
    let position = Regex::new(r"^-?\d+,-?\d+$").expect("re");
    let mut links = 0;
    for p in &passages {
        for tag in &p.tags {
            assert!(!tag.contains(char::is_whitespace) && !tag.contains(['[', ']']));
        }
        if let Some(meta) = &p.meta {
            let pos = meta["position"].as_str().expect("position");
            assert!(position.is_match(pos), "{pos}");
        }
        for caps in link.captures_iter(&p.content) {
            let inner = &caps[1];
            let (label, target) = inner.rsplit_once("->").expect("label->target");
            assert!(!label.contains("->") && !label.contains('|'), "{inner}");
            assert!(
                by_name.contains_key(target),
                "link to missing passage {target:?}"
            );
            links += 1;
        }
    }
    assert_eq!(links, loom.len() - 1);
    let kept = passages
        .iter()
        .find(|p| p.name.starts_with(&format!("{KEPT} ")))
        .expect("kept passage");
    assert!(
        kept.tags.contains(&"kept".to_string()) && kept.tags.contains(&"generated".to_string())
    );
    assert_eq!(
        twee,
        out(&loom, Format::Twee, &all()),
        "output is reproducible"
    );
}

#[test]
fn pairs_pit_kept_children_against_archived_siblings() {
    let loom = sample();
    let jsonl = out(&loom, Format::Pairs, &all());
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 1, "{jsonl}");
    let pair = &lines[0];
    assert_eq!(pair["prompt"], "The lighthouse keeper");
    assert_eq!(pair["chosen"], " had a secret.");
    assert_eq!(pair["rejected"], " slept.");
    assert_eq!(pair["chosen_model"], "tiny-llama");
}

#[test]
fn json_export_is_the_tloom_file_format() {
    let loom = sample();
    let bytes = export(&loom, Format::Json, &all()).expect("exports");
    let back = tloom::store::load_bytes(std::path::Path::new("x"), &bytes).expect("loads");
    let o = tloom::tree::outline::OutlineOptions::default();
    let render = tloom::tree::outline::render;
    assert_eq!(
        render(&back.loom, back.loom.root(), o),
        render(&loom, loom.root(), o)
    );
}

#[test]
fn a_subtree_export_starts_from_the_whole_path() {
    let loom = sample();
    let opts = ExportOptions {
        node: Some(KEPT),
        ..all()
    };
    let bytes = export(&loom, Format::Json, &opts).expect("exports");
    let back = tloom::store::load_bytes(std::path::Path::new("x"), &bytes)
        .expect("loads")
        .loom;
    assert_eq!(back.len(), 3);
    let root = back.get(back.root()).expect("root");
    assert_eq!(root.text, "The lighthouse keeper had a secret.");
    assert!(root.bookmarked);
}
