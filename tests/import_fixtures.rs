//! Importing the real files in ../shared/fixtures: node counts and every path text,
//! compared with what the test computes itself from the raw JSON.

mod support;

use serde_json::Value;
use support::imported::{loom_paths, only_tree, raw, read};
use tloom::store::import::{Format, detect, import};

/// Expected path texts of a pyloom tree, walking the nesting. A compound node (with a
/// `masked_head`) stands for the chain it masks; its children hang under the chain's tail.
fn pyloom_paths(
    node: &Value,
    prefix: &str,
    out: &mut Vec<String>,
    graft: Option<(&str, &[Value])>,
) {
    if let Some(head) = node.get("masked_head") {
        let tail = node["tail_id"].as_str().expect("tail id");
        let kids = node["children"].as_array().expect("children");
        pyloom_paths(head, prefix, out, Some((tail, kids.as_slice())));
        return;
    }
    let text = format!("{prefix}{}", node["text"].as_str().expect("text"));
    out.push(text.clone());
    for child in node["children"].as_array().expect("children") {
        pyloom_paths(child, &text, out, graft);
    }
    if let Some((tail, kids)) = graft
        && node["id"].as_str() == Some(tail)
    {
        for child in kids {
            pyloom_paths(child, &text, out, None);
        }
    }
}

/// Every node object of a pyloom file (visible and masked).
fn pyloom_nodes(node: &Value, out: &mut Vec<Value>) {
    out.push(node.clone());
    if let Some(head) = node.get("masked_head") {
        pyloom_nodes(head, out);
    }
    for child in node["children"].as_array().expect("children") {
        pyloom_nodes(child, out);
    }
}

fn check_pyloom(file: &str, visible_nodes: usize) {
    let Some(bytes) = read(file) else { return };
    let json = raw(&bytes);
    let mut expected = Vec::new();
    pyloom_paths(&json["root"], "", &mut expected, None);
    let mut all = Vec::new();
    pyloom_nodes(&json["root"], &mut all);
    // The counts SOURCES.md gives are of `root.children` recursively (what pyloom shows).
    let masks = all
        .iter()
        .filter(|n| n.get("masked_head").is_some())
        .count();
    let masked = all.len() - visible_nodes;
    let tree = only_tree(&bytes);
    assert_eq!(detect(&bytes).ok(), Some(Format::Pyloom), "{file}");
    assert_eq!(tree.loom.len(), visible_nodes - masks + masked, "{file}");
    assert_eq!(loom_paths(&tree.loom), expected, "{file}");
    let tagged = |n: &Value, t: &str| {
        n["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|x| x == t))
    };
    let bookmarks = all
        .iter()
        .filter(|n| n["bookmark"] == true || tagged(n, "bookmark"))
        .count();
    let archived = all.iter().filter(|n| tagged(n, "archived")).count();
    let ai = all
        .iter()
        .filter(|n| n["meta"]["source"] == "AI" || n["meta"]["source"] == "mixed")
        .count();
    let stats = tree.loom.stats(tree.loom.root());
    assert_eq!(stats.bookmarks, bookmarks, "{file} bookmarks");
    assert_eq!(stats.archived, archived, "{file} archived");
    let model_nodes = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter(|id| tree.loom.get(*id).is_some_and(|n| n.origin.is_model()))
        .count();
    assert_eq!(model_nodes, ai, "{file} model-written nodes");
    let selected = json["selected_node_id"].as_str().expect("selected node");
    let cursor = tree.loom.get(tree.loom.cursor()).expect("cursor");
    let cursor_source = cursor.extra.get("pyloom").and_then(|p| p.get("id"));
    let selected_is_mask = all
        .iter()
        .any(|n| n["id"] == selected && n.get("masked_head").is_some());
    if !selected_is_mask {
        assert_eq!(
            cursor_source.and_then(Value::as_str),
            Some(selected),
            "{file} cursor"
        );
    }
}

#[test]
fn the_oldest_pyloom_format_with_bookmark_fields_imports_exactly() {
    check_pyloom("pyloom/dialectical_247efe0.json", 14);
}

#[test]
fn early_2021_pyloom_with_chapters_imports_exactly() {
    check_pyloom("pyloom/dialectical.json", 23);
    let Some(bytes) = read("pyloom/dialectical.json") else {
        return;
    };
    let tree = only_tree(&bytes);
    let chapters = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter(|id| {
            tree.loom
                .get(*id)
                .is_some_and(|n| n.extra["pyloom"].get("chapter").is_some())
        })
        .count();
    assert_eq!(chapters, 13);
}

#[test]
fn gpt_chat_pyloom_keeps_models_and_drops_tokens_that_do_not_spell_the_text() {
    check_pyloom("pyloom/GPT_chat.json", 88);
    let Some(bytes) = read("pyloom/GPT_chat.json") else {
        return;
    };
    let tree = only_tree(&bytes);
    let loom = &tree.loom;
    let models: Vec<&str> = loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| loom.get(id)?.origin.model_name())
        .collect();
    assert_eq!(models.len(), 69);
    // Every kept token list spells its node's text exactly.
    for id in loom.all_nodes() {
        let node = loom.get(id).expect("node");
        if let Some(tokens) = &node.tokens {
            let spelled: String = tokens.iter().map(|t| t.text.as_str()).collect();
            assert_eq!(spelled, node.text);
        }
    }
}

#[test]
fn prime_intellect_pyloom_keeps_logprobs_where_tokens_spell_the_text() {
    check_pyloom("pyloom/prime_intellect.json", 115);
    let Some(bytes) = read("pyloom/prime_intellect.json") else {
        return;
    };
    let json = raw(&bytes);
    let mut all = Vec::new();
    pyloom_nodes(&json["root"], &mut all);
    // Independently: nodes whose logprob tokens are exactly the text, or start with it at a
    // token boundary.
    let fits = all
        .iter()
        .filter(|n| {
            let Some(tokens) = n["meta"]["generation"]["logprobs"]["tokens"].as_array() else {
                return false;
            };
            let text = n["text"].as_str().unwrap_or("");
            let mut acc = String::new();
            for t in tokens {
                if acc == text {
                    break;
                }
                acc.push_str(t.as_str().unwrap_or("\u{0}"));
            }
            !text.is_empty() && acc == text
        })
        .count();
    let tree = only_tree(&bytes);
    let with_tokens = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter(|id| {
            tree.loom
                .get(*id)
                .is_some_and(|n| n.valid_tokens().is_some())
        })
        .count();
    assert_eq!(with_tokens, fits);
    assert!(fits >= 58, "{fits}");
    let node = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| tree.loom.get(id))
        .find(|n| n.tokens.is_some())
        .expect("a node with tokens");
    let tokens = node.tokens.as_ref().expect("tokens");
    assert!(
        tokens
            .iter()
            .all(|t| t.logprob <= 0.0 && t.logprob.is_finite())
    );
    let memory = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| tree.loom.get(id))
        .find(|n| !n.memory.is_empty());
    assert!(memory.is_some_and(|n| n.memory.starts_with("The Metamorphosis of Prime Intellect")));
}

#[test]
fn the_fork_format_unzips_its_hoisted_root_and_hoists_the_tail() {
    check_pyloom("pyloom/teleology.json", 17);
    let Some(bytes) = read("pyloom/teleology.json") else {
        return;
    };
    let tree = only_tree(&bytes);
    let hoist = tree
        .loom
        .hoist()
        .expect("the hoisted compound root becomes a hoist");
    let json = raw(&bytes);
    let tail = json["root"]["tail_id"].as_str().expect("tail");
    let hoisted = tree.loom.get(hoist).expect("hoisted node");
    assert_eq!(hoisted.extra["pyloom"]["id"], tail);
    assert_eq!(
        tree.loom.path_text(hoist).expect("path"),
        json["root"]["text"].as_str().expect("text"),
        "the compound node's text is its chain's text"
    );
    let created: Vec<i64> = tree
        .loom
        .all_nodes()
        .into_iter()
        .filter_map(|id| tree.loom.get(id))
        .map(|n| n.created)
        .filter(|c| *c > 0)
        .collect();
    assert_eq!(created.len(), 12, "creation_timestamp of each AI node");
}

#[test]
fn the_demo_pyloom_tree_imports_with_archived_and_bookmarked_tags() {
    check_pyloom("pyloom/loom_demo.json", 764);
}

#[test]
fn pyloom_model_responses_are_refused_as_not_trees() {
    for file in [
        "pyloom/openAI_response.json",
        "pyloom/openAI_formatted_response.json",
    ] {
        let Some(bytes) = read(file) else { return };
        let err = import(&bytes, None).expect_err("not a tree").to_string();
        assert!(err.contains("not a loom tree"), "{file}: {err}");
        assert!(err.contains("model_responses"), "{file}: {err}");
    }
}
