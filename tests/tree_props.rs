//! Property tests: random operation sequences keep the loom's invariants, undo restores
//! each operation exactly, redo reapplies it, and save then load is the identity.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use proptest::prelude::*;
use tloom::store;
use tloom::tree::{Loom, Node, NodeId};

#[derive(Debug, Clone)]
enum Op {
    AddChild(usize, String),
    AddSibling(usize, String),
    AddParent(usize, String),
    Batch(usize, u8),
    SetText(usize, String),
    Split(usize, usize),
    Merge(usize),
    Delete(usize),
    DeleteChildren(usize),
    DeleteSiblings(usize),
    Archive(usize, bool),
    Bookmark(usize, bool),
    Move(usize, usize, Option<usize>),
    Reorder(usize, usize),
    Clone(usize),
    Tags(usize, Vec<String>),
    Note(usize, String),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-zé ]{1,6}", Just("🙂x".to_string())]
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..64usize;
    prop_oneof![
        (n.clone(), text()).prop_map(|(a, t)| Op::AddChild(a, t)),
        (n.clone(), text()).prop_map(|(a, t)| Op::AddSibling(a, t)),
        (n.clone(), text()).prop_map(|(a, t)| Op::AddParent(a, t)),
        (n.clone(), 1..4u8).prop_map(|(a, k)| Op::Batch(a, k)),
        (n.clone(), text()).prop_map(|(a, t)| Op::SetText(a, t)),
        (n.clone(), 0..8usize).prop_map(|(a, o)| Op::Split(a, o)),
        n.clone().prop_map(Op::Merge),
        n.clone().prop_map(Op::Delete),
        n.clone().prop_map(Op::DeleteChildren),
        n.clone().prop_map(Op::DeleteSiblings),
        (n.clone(), any::<bool>()).prop_map(|(a, b)| Op::Archive(a, b)),
        (n.clone(), any::<bool>()).prop_map(|(a, b)| Op::Bookmark(a, b)),
        (n.clone(), n.clone(), proptest::option::of(0..4usize))
            .prop_map(|(a, b, i)| Op::Move(a, b, i)),
        (n.clone(), 0..4usize).prop_map(|(a, i)| Op::Reorder(a, i)),
        n.clone().prop_map(Op::Clone),
        (n.clone(), proptest::collection::vec("[a-z]{1,3}", 0..3))
            .prop_map(|(a, t)| Op::Tags(a, t)),
        (n, text()).prop_map(|(a, t)| Op::Note(a, t)),
    ]
}

fn pick(loom: &Loom, i: usize) -> NodeId {
    let all = loom.all_nodes();
    all[i % all.len()]
}

/// Apply one op; Ok(true) when it changed the loom.
fn apply(loom: &mut Loom, op: &Op) -> bool {
    let before = snapshot(loom);
    let result = match op.clone() {
        Op::AddChild(a, t) => loom.add_child(pick(loom, a), &t).map(drop),
        Op::AddSibling(a, t) => loom.add_sibling(pick(loom, a), &t).map(drop),
        Op::AddParent(a, t) => loom.add_parent(pick(loom, a), &t).map(drop),
        Op::Batch(a, k) => {
            let parent = pick(loom, a);
            let nodes = (0..k).map(|i| Node::new(format!("gen{i}"))).collect();
            loom.add_children(parent, nodes).map(drop)
        }
        Op::SetText(a, t) => loom.set_text(pick(loom, a), &t),
        Op::Split(a, o) => loom.split(pick(loom, a), o).map(drop),
        Op::Merge(a) => loom.merge_into_parent(pick(loom, a)).map(drop),
        Op::Delete(a) => loom.delete(pick(loom, a)),
        Op::DeleteChildren(a) => loom.delete_children(pick(loom, a)).map(drop),
        Op::DeleteSiblings(a) => loom.delete_siblings(pick(loom, a)).map(drop),
        Op::Archive(a, b) => loom.set_archived(pick(loom, a), b),
        Op::Bookmark(a, b) => loom.set_bookmarked(pick(loom, a), b),
        Op::Move(a, b, i) => loom.move_node(pick(loom, a), pick(loom, b), i),
        Op::Reorder(a, i) => loom.reorder(pick(loom, a), i),
        Op::Clone(a) => loom.clone_subtree(pick(loom, a), None).map(drop),
        Op::Tags(a, t) => loom.set_tags(pick(loom, a), t),
        Op::Note(a, t) => loom.set_note(pick(loom, a), &t),
    };
    if result.is_err() {
        assert_eq!(snapshot(loom), before, "a refused {op:?} changed the loom");
    }
    result.is_ok() && snapshot(loom) != before
}

/// Everything but view state (cursor, hoist) and the id counter.
fn snapshot(loom: &Loom) -> String {
    let bytes = store::to_bytes(loom);
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("\"cursor\"")
                && !l.starts_with("\"next_id\"")
                && !l.starts_with("\"hoist\"")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn fixed_clock() -> i64 {
    1_700_000_000_000
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_keep_invariants_and_undo_restores_each_exactly(ops in proptest::collection::vec(op(), 1..40)) {
        let mut loom = Loom::new("root");
        loom.set_clock(fixed_clock);
        for op in &ops {
            let before = snapshot(&loom);
            let changed = apply(&mut loom, op);
            prop_assert!(loom.check_invariants().is_ok(), "{op:?}: {:?}", loom.check_invariants());
            if changed {
                let after = snapshot(&loom);
                loom.undo().unwrap();
                prop_assert_eq!(&snapshot(&loom), &before, "undo of {:?}", op);
                prop_assert!(loom.check_invariants().is_ok());
                loom.redo().unwrap();
                prop_assert_eq!(&snapshot(&loom), &after, "redo of {:?}", op);
                prop_assert!(loom.check_invariants().is_ok());
            }
        }
    }

    #[test]
    fn undoing_everything_returns_to_the_start(ops in proptest::collection::vec(op(), 1..30)) {
        let mut loom = Loom::new("root");
        loom.set_clock(fixed_clock);
        let start = snapshot(&loom);
        for op in &ops {
            apply(&mut loom, op);
        }
        let end = snapshot(&loom);
        while loom.undo().is_ok() {}
        prop_assert_eq!(snapshot(&loom), start);
        while loom.redo().is_ok() {}
        prop_assert_eq!(snapshot(&loom), end);
    }

    #[test]
    fn save_then_load_is_the_identity(ops in proptest::collection::vec(op(), 0..40)) {
        let mut loom = Loom::new("root");
        loom.set_clock(fixed_clock);
        for op in &ops {
            apply(&mut loom, op);
        }
        let bytes = store::to_bytes(&loom);
        let loaded = store::load_bytes(std::path::Path::new("mem.json"), &bytes).unwrap().loom;
        prop_assert!(loaded.check_invariants().is_ok());
        prop_assert_eq!(String::from_utf8(store::to_bytes(&loaded)).unwrap(), String::from_utf8(bytes).unwrap());
    }
}
