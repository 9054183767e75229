//! Formats with no real file to test against: small inputs constructed here from the
//! schemas in ../shared/docs/formats.md (each says so), checked against path texts written
//! out by hand.

use tloom::store::import::{Format, ImportError, ImportedTree, detect, import};
use tloom::tree::{Loom, Origin};

fn trees(json: &str) -> Vec<ImportedTree> {
    import(json.as_bytes(), None).unwrap_or_else(|e| panic!("imports: {e}"))
}

fn one(json: &str) -> Loom {
    let mut t = trees(json);
    assert_eq!(t.len(), 1);
    t.remove(0).loom
}

fn paths(loom: &Loom) -> Vec<String> {
    loom.all_nodes()
        .into_iter()
        .map(|id| loom.path_text(id).expect("node"))
        .collect()
}

fn model_of(loom: &Loom, text: &str) -> Option<String> {
    let id = loom
        .all_nodes()
        .into_iter()
        .find(|id| loom.get(*id).is_some_and(|n| n.text == text))?;
    loom.get(id)?.origin.model_name().map(String::from)
}

/// Constructed: the NoteState example of formats.md §3.2.
const NOTE: &str = r#"{"current":"b2","hoisted":[],"searchTerm":"","generating":null,
 "nodes":{"a1":{"text":"The ship rounded the headland","parentId":null,"collapsed":false,"unread":false,"bookmarked":false,"lastVisited":1710000000000,"searchResultState":null},
          "b2":{"text":" and the harbour lights came on.","parentId":"a1","collapsed":false,"unread":false,"bookmarked":true,"lastVisited":1710000005000,"searchResultState":null},
          "c3":{"text":" into a wall of fog.","parentId":"a1","collapsed":false,"unread":true,"bookmarked":false,"searchResultState":null}}}"#;

#[test]
fn a_loomsidian_note_keeps_bookmarks_unread_and_the_current_node() {
    assert_eq!(detect(NOTE.as_bytes()).ok(), Some(Format::Loomsidian));
    let loom = one(NOTE);
    assert_eq!(
        paths(&loom),
        [
            "The ship rounded the headland",
            "The ship rounded the headland and the harbour lights came on.",
            "The ship rounded the headland into a wall of fog."
        ]
    );
    assert_eq!(loom.bookmarks().len(), 1);
    assert_eq!(
        loom.path_text(loom.cursor()).expect("cursor"),
        paths(&loom)[1]
    );
    let fog = loom.all_nodes()[2];
    assert!(loom.get(fog).expect("node").unread);
}

#[test]
fn a_loomsidian_vault_gives_one_tree_per_note_and_several_roots_share_an_empty_root() {
    // Constructed: {settings, state} with two notes, the second with two roots.
    let vault = format!(
        r#"{{"settings": {{"model": "x"}}, "state": {{"Stories/Ship.md": {NOTE},
            "Other.md": {{"current": "r1", "hoisted": [], "nodes": {{
              "r1": {{"text": "First root", "parentId": null}},
              "r2": {{"text": "Second root", "parentId": null}},
              "k": {{"text": "!", "parentId": "r2"}}}}}}}}}}"#
    );
    let t = trees(&vault);
    assert_eq!(
        t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["Stories/Ship.md", "Other.md"]
    );
    assert_eq!(
        paths(&t[1].loom),
        ["", "First root", "Second root", "Second root!"]
    );
    assert!(
        t[1].warnings
            .iter()
            .any(|w| w.contains("2 nodes have no parent"))
    );
}

#[test]
fn the_older_loomsidian_list_form_reads_value_and_author() {
    // Constructed: the list form Tapestry's migrator accepts (formats.md §3.2).
    let list = r#"{"current": "a", "nodes": [
        {"id": "a", "value": "Hello", "author": "genesis", "parentId": null, "bookmarked": false},
        {"id": "b", "value": " world", "author": "davinci-preset", "parentId": "a", "bookmarked": true}]}"#;
    let loom = one(list);
    assert_eq!(paths(&loom), ["Hello", "Hello world"]);
    assert_eq!(model_of(&loom, " world").as_deref(), Some("davinci-preset"));
    assert_eq!(model_of(&loom, "Hello"), None);
}

#[test]
fn exoloom_pruned_nodes_become_archived_and_lens_bookmarks_bookmarks() {
    // Constructed from formats.md §3.5.
    let exo = r#"{"loomType": "Exoloom", "schemaVersion": 1, "tree": {"title": "Exo", "rootNodeId": 1,
      "nodes": {"1": {"content": "Root", "authorType": "USER", "childrenIds": [3, 2]},
                "2": {"content": " two", "authorType": "LLM", "authorName": "claude", "parentId": 1, "childrenIds": [], "createdAt": "2025-01-02T03:04:05Z"},
                "3": {"content": " three", "authorType": "LLM", "parentId": 1, "childrenIds": []}}},
      "lens": {"bookmarks": [{"nodeId": 2}], "prunedNodes": [{"nodeId": 3}]}}"#;
    let t = trees(exo);
    let loom = &t[0].loom;
    assert_eq!(t[0].name, "Exo");
    assert_eq!(
        paths(loom),
        ["Root", "Root three", "Root two"],
        "childrenIds order"
    );
    let stats = loom.stats(loom.root());
    assert_eq!((stats.bookmarks, stats.archived), (1, 1));
    assert_eq!(model_of(loom, " two").as_deref(), Some("claude"));
    let two = loom.all_nodes()[2];
    assert_eq!(loom.get(two).expect("node").created, 1_735_787_045_000);
}

#[test]
fn miniloom_patches_render_from_the_root_and_rewrites_read_whole() {
    // Constructed: formats.md §3.4's example plus a rewrite node (4) that changes earlier
    // text, patches computed by hand with diff-match-patch's conventions.
    let mini = r#"{"loomTree":{"nodeStore":{
     "1":{"id":"1","timestamp":1735000000000,"type":"root","patch":"","summary":"Root Node","rating":null,"read":true,"parent":null,"children":["2"],"model":null,"error":null,"finishReason":null},
     "2":{"id":"2","timestamp":1735000001000,"type":"user","patch":[{"diffs":[[1,"Once upon"]],"start1":0,"start2":0,"length1":0,"length2":9}],"summary":"Story Begins Here","rating":null,"read":true,"parent":"1","children":["3","4"],"model":null,"error":null,"finishReason":null},
     "3":{"id":"3","timestamp":1735000002000,"type":"gen","patch":[{"diffs":[[0,"upon"],[1," a time"]],"start1":5,"start2":5,"length1":4,"length2":11}],"summary":"Time Begins Once","rating":true,"read":true,"parent":"2","children":[],"model":"meta-llama/llama-3.1-405b","error":null,"finishReason":"length"},
     "4":{"id":"4","timestamp":1735000003000,"type":"rewrite","patch":[{"diffs":[[-1,"Once"],[1,"Twice"],[0," upo"]],"start1":0,"start2":0,"length1":8,"length2":9}],"summary":"Twice","rating":false,"read":false,"parent":"2","children":[],"model":"m","error":null,"finishReason":null}}},
     "focus":{"id":"3"}}"#;
    assert_eq!(detect(mini.as_bytes()).ok(), Some(Format::Miniloom));
    let t = trees(mini);
    let loom = &t[0].loom;
    let mut got = paths(loom);
    got.sort();
    assert_eq!(got, ["", "Once upon", "Once upon a time", "Twice upon"]);
    assert!(
        t[0].warnings
            .iter()
            .any(|w| w.contains("rewrites earlier text"))
    );
    assert_eq!(
        loom.path_text(loom.cursor()).expect("focus"),
        "Once upon a time"
    );
    let stats = loom.stats(loom.root());
    assert_eq!(
        (stats.bookmarks, stats.archived),
        (1, 1),
        "rating up and down"
    );
    assert_eq!(
        model_of(loom, " a time").as_deref(),
        Some("meta-llama/llama-3.1-405b")
    );
}

#[test]
fn basemode_exports_read_tree_id_or_root_id() {
    // Constructed from formats.md §3.7 (basemode-loom `_serialize_loom_json`).
    for key in ["tree_id", "root_id"] {
        let json = format!(
            r#"{{"version": 1, "nodes": [
            {{"id": "r", "parent_id": null, "{key}": "r", "kind": "root", "text": "Seed", "model": null, "checked_out": true, "created_at": "2025-05-01T00:00:00Z", "metadata": {{"name": "Seed tree"}}}},
            {{"id": "a", "parent_id": "r", "{key}": "r", "kind": "text", "text": " grows", "model": "gpt2", "checked_out": true, "metadata": {{"bookmarked": true}}}},
            {{"id": "b", "parent_id": "r", "{key}": "r", "kind": "text", "text": " wilts", "model": "gpt2", "checked_out": false, "metadata": {{"hidden": true}}}}]}}"#
        );
        let t = trees(&json);
        assert_eq!(t[0].name, "Seed tree");
        let loom = &t[0].loom;
        assert_eq!(paths(loom), ["Seed", "Seed grows", "Seed wilts"]);
        assert_eq!(loom.path_text(loom.cursor()).expect("cursor"), "Seed grows");
        let s = loom.stats(loom.root());
        assert_eq!((s.bookmarks, s.archived), (1, 1));
    }
}

#[test]
fn helm_wool_and_logitloom_files_import() {
    // Constructed from formats.md §3.7.
    let helm = r#"{"id": "t", "name": "Helm tree", "rootId": "a", "currentNodeId": "c", "bookmarkedNodeIds": ["b"],
        "nodes": [{"id": "a", "text": "A", "parentId": null, "childIds": ["c", "b"], "locked": false},
                  {"id": "b", "text": "B", "parentId": "a", "childIds": [], "locked": false},
                  {"id": "c", "text": "C", "parentId": "a", "childIds": [], "locked": true, "lockReason": "x"}]}"#;
    let loom = one(helm);
    assert_eq!(paths(&loom), ["A", "AC", "AB"]);
    assert_eq!(loom.path_text(loom.cursor()).expect("cursor"), "AC");
    assert_eq!(loom.bookmarks().len(), 1);

    let wool = r#"{"nodes": {"u1": {"id": "u1", "parent_id": null, "type": "user", "text": "Hi", "position": {"x": 0, "y": 0}, "loading": false, "error": null},
        "u2": {"id": "u2", "parent_id": "u1", "type": "ai", "text": " there", "position": {"x": 1, "y": 1}, "loading": false, "error": null}}, "focused_node_id": "u2"}"#;
    let loom = one(wool);
    assert_eq!(paths(&loom), ["Hi", "Hi there"]);
    assert!(loom.get(loom.cursor()).expect("cursor").origin.is_model());

    let logit = r#"{"isLogitLoomTreeVersion": "logit-loom-tree-v1", "modelName": "llama",
        "modelSettings": {"kind": "base", "prompt": "The cat", "prefill": " sat"},
        "roots": [{"id": "t1", "text": " on", "logprob": -0.1, "prob": 0.9, "branchFinished": null,
                   "children": [{"id": "t2", "text": " the", "logprob": -0.2, "prob": 0.8, "branchFinished": "stop", "children": []}]},
                  {"id": "t3", "text": " in", "logprob": -2.3, "prob": 0.1, "branchFinished": null, "children": []}]}"#;
    let loom = one(logit);
    assert_eq!(
        paths(&loom),
        [
            "The cat sat",
            "The cat sat on",
            "The cat sat on the",
            "The cat sat in"
        ]
    );
    let on = loom.all_nodes()[1];
    let node = loom.get(on).expect("node");
    assert_eq!(node.valid_tokens().map(|t| t[0].logprob), Some(-0.1));
    assert!(matches!(&node.origin, Origin::Imported(i) if i.model.as_deref() == Some("llama")));
}

#[test]
fn a_textile_tree_export_imports_with_kept_nodes_bookmarked() {
    // Constructed from textile's storyExport.ts `downloadStoryTreeJson` shape.
    let textile = r#"{"schemaVersion": 1, "title": "Tale", "exportedAt": "2025-01-01T00:00:00Z",
      "tree": {"id": "r", "text": "Once", "origin": "human", "continuations": [
        {"id": "a", "text": " more", "origin": "model", "generatedBy": {"model": "kimi"}, "kept": true},
        {"id": "b", "text": " again", "origin": "unknown"}]}}"#;
    let t = trees(textile);
    assert_eq!(t[0].name, "Tale");
    assert_eq!(paths(&t[0].loom), ["Once", "Once more", "Once again"]);
    assert_eq!(model_of(&t[0].loom, " more").as_deref(), Some("kimi"));
    assert_eq!(t[0].loom.bookmarks().len(), 1);
}

#[test]
fn newer_pyloom_generation_pointers_take_tokens_from_model_responses() {
    // Constructed: the newer pyloom node shape (formats.md §3.1) with a Response entry.
    let py = r#"{"root": {"id": "r", "text": "", "mutable": false, "children": [
        {"id": "p", "text": "Hello", "meta": {"source": "prompt"}, "children": [
          {"id": "g", "text": " world", "meta": {"source": "AI", "creation_timestamp": "2021-09-16-21.55.18"},
           "generation": {"id": "cmpl-1", "index": 1}, "tags": ["archived", "demo"], "children": []}]}]},
      "model_responses": {"cmpl-1": {"id": "cmpl-1", "model": "davinci", "timestamp": "2021-09-16-21.55.18",
        "prompt": {"text": "Hello", "tokens": null},
        "completions": [{"text": " x", "finishReason": "length", "tokens": []},
                        {"text": " world", "finishReason": "length", "tokens": [
                          {"generatedToken": {"token": " wor", "logprob": -1.5}, "position": {"start": 0, "end": 4}, "counterfactuals": {" wor": -1.5, " pla": -2.0}},
                          {"generatedToken": {"token": "ld", "logprob": -0.1}, "position": 6, "counterfactuals": null}]}]}},
      "selected_node_id": "g"}"#;
    let loom = one(py);
    let g = loom.get(loom.cursor()).expect("cursor");
    assert_eq!(g.text, " world");
    assert_eq!(g.origin.model_name(), Some("davinci"));
    assert!(g.archived && g.tags == ["demo"]);
    assert_eq!(g.created, 1_631_829_318_000);
    let tokens = g.valid_tokens().expect("tokens spell the text");
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0].top[1].text, " pla");
}

fn nested_pyloom(depth: usize) -> String {
    let mut s = String::from("{\"root\": ");
    for i in 0..depth {
        s.push_str(&format!(
            "{{\"id\": \"n{i}\", \"text\": \"x\", \"children\": ["
        ));
    }
    s.push_str(&"]}".repeat(depth));
    s.push('}');
    s
}

#[test]
fn a_pyloom_tree_ten_thousand_nodes_deep_imports() {
    let json = nested_pyloom(10_000);
    let loom = one(&json);
    assert_eq!(loom.len(), 10_000);
    let deepest = *loom.all_nodes().last().expect("nodes");
    assert_eq!(loom.depth(deepest), 9_999);
    assert_eq!(loom.path_text(deepest).expect("path").len(), 10_000);
    // It also exports back to nested pyloom without deep recursion, and re-imports.
    let out = tloom::store::export::export(
        &loom,
        tloom::store::export::Format::Pyloom,
        &Default::default(),
    )
    .expect("exports");
    assert_eq!(one(std::str::from_utf8(&out).expect("utf-8")).len(), 10_000);
}

#[test]
fn absurdly_deep_json_is_refused_with_a_clear_error() {
    let json = "[".repeat(200_001);
    let err = import(json.as_bytes(), None).expect_err("too deep");
    assert!(matches!(err, ImportError::TooDeep { .. }), "{err}");
    assert!(err.to_string().contains("nested"), "{err}");
}

#[test]
fn a_lync_log_of_one_event_imports() {
    // Constructed: one message event on one line (the Lync shape of the textile fixture).
    let one_line = r#"{"v":1,"id":"e1","kind":"corpus/message","at":"2026-07-06T04:10:00Z","author":{"actor":"me"},"parents":[],"payload":{"role":"user","text":"Hello"}}"#;
    assert_eq!(detect(one_line.as_bytes()).ok(), Some(Format::Lync));
    assert_eq!(paths(&one(one_line)), ["Hello"]);
}

#[test]
fn pyloom_export_and_import_agree_on_the_deepest_tree() {
    use tloom::store::export::{ExportError, Format as Out, PYLOOM_MAX_LEVELS, export};
    let mut loom = tloom::tree::Loom::new("r");
    let mut at = loom.root();
    for _ in 0..PYLOOM_MAX_LEVELS {
        at = loom.add_child(at, "x").expect("add");
    }
    // The deepest tree the export allows comes back whole.
    let out = export(&loom, Out::Pyloom, &Default::default()).expect("exports");
    let back = one(std::str::from_utf8(&out).expect("utf-8"));
    assert_eq!(back.len(), PYLOOM_MAX_LEVELS + 1);
    // One level more is refused when writing, with what to do instead.
    loom.add_child(at, "y").expect("add");
    let err = export(&loom, Out::Pyloom, &Default::default()).expect_err("too deep");
    assert!(matches!(err, ExportError::TooDeep { .. }), "{err}");
    assert!(err.to_string().contains("use json"), "{err}");
}

#[test]
fn openloom_gaps_are_warned_about_and_odd_values_kept() {
    // Constructed from the OpenLoom v1 shape (formats.md): a node without `text`, a
    // `createdTime` that is not a number, and a `currentNodeId` that is not in the file.
    let json = r#"{"rootNodeId": "A", "currentNodeId": "Z",
      "nodes": {
        "A": {"id": "A", "text": "Hello", "author": "user", "childrenIds": ["B"], "createdTime": 700000000},
        "B": {"id": "B", "parentId": "A", "author": "assistant", "modelId": "m", "childrenIds": [], "createdTime": "yesterday"}
      }}"#;
    let mut t = trees(json);
    let tree = t.remove(0);
    let warnings = tree.warnings.join("\n");
    assert!(warnings.contains("\"B\" has no text"), "{warnings}");
    assert!(warnings.contains("createdTime \"yesterday\""), "{warnings}");
    assert!(warnings.contains("currentNodeId \"Z\""), "{warnings}");
    let loom = tree.loom;
    assert_eq!(loom.cursor(), loom.root());
    assert_eq!(loom.extra["currentNodeId"], "Z");
    let b = loom
        .all_nodes()
        .into_iter()
        .find(|&id| id != loom.root())
        .unwrap();
    let node = loom.get(b).unwrap();
    assert_eq!(node.text, "");
    assert_eq!(node.extra["openloom"]["createdTime"], "yesterday");
}
