//! A small loom with every kind of mark, shared by the export and round-trip tests.

use tloom::tree::{GenParams, Generation, Loom, Node, NodeId, Origin, TokenRecord};

/// Nodes: 1 root prompt; 2 model child (kept, with tokens); 3 archived sibling; 4 hostile
/// text under 2; 5 a child of 4 with quotes, backslashes and newlines; 6 unicode sibling.
pub fn sample() -> Loom {
    let mut loom = Loom::new("The lighthouse keeper");
    loom.set_clock(|| 1_700_000_000_000);
    let root = loom.root();
    let generation = Generation {
        model: "tiny-llama".into(),
        backend: "candle".into(),
        params: GenParams {
            temperature: 0.8,
            max_tokens: 32,
            ..GenParams::default()
        },
        seed: 7,
        finish: Some("length".into()),
        mean_logprob: None,
        mean_entropy: None,
    };
    let mut kept = Node::new(" had a secret.").with_origin(Origin::Model(generation.clone()));
    kept.tokens = Some(vec![
        TokenRecord {
            id: Some(1),
            text: " had".into(),
            logprob: -0.5,
            top: Vec::new(),
        },
        TokenRecord {
            id: Some(2),
            text: " a secret.".into(),
            logprob: -1.25,
            top: Vec::new(),
        },
    ]);
    let a = loom.add_child_node(root, kept).expect("root exists");
    let b = loom
        .add_child_node(
            root,
            Node::new(" slept.").with_origin(Origin::Model(generation)),
        )
        .expect("root exists");
    let c = loom
        .add_child(a, " <script>alert(1)</script> & \"x\" ]] [[y->z]] {w}")
        .expect("node 2 exists");
    loom.add_child(c, "\n:: NotAHeader \\ \"quoted\"\nline 3")
        .expect("node 4 exists");
    loom.add_child(root, " — ünïcødé ✓ 😀")
        .expect("root exists");
    loom.set_bookmarked(a, true).expect("bookmark");
    loom.set_archived(b, true).expect("archive");
    loom.set_cursor(c).expect("cursor");
    loom.clear_history();
    loom
}

/// The node ids of `sample()`.
pub const KEPT: NodeId = NodeId(2);
pub const ARCHIVED: NodeId = NodeId(3);
pub const HOSTILE: NodeId = NodeId(4);
