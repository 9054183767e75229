//! Tree operations, checked as outlines: state in, operation, state out.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use tloom::tree::outline::{self, OutlineOptions};
use tloom::tree::{Loom, NodeId, Query, TreeError};

fn tree(text: &str) -> Loom {
    outline::parse(text).expect("fixture outline parses")
}

fn show(loom: &Loom) -> String {
    outline::render(loom, loom.root(), OutlineOptions::default())
}

fn id(n: u64) -> NodeId {
    NodeId(n)
}

const STORY: &str = r#"
"Once upon a time" #1 [*]
  ", a cat" #2
    " sat." #4
  ", a dog" #3
"#;

#[test]
fn adding_a_child_appends_it_last_and_path_text_concatenates() {
    let mut loom = tree(STORY);
    let new = loom.add_child(id(1), ", a fox").unwrap();
    assert_eq!(loom.children(id(1)), &[id(2), id(3), new]);
    assert_eq!(loom.path_text(new).unwrap(), "Once upon a time, a fox");
    assert_eq!(
        loom.path_text(id(4)).unwrap(),
        "Once upon a time, a cat sat."
    );
}

#[test]
fn adding_a_sibling_puts_it_right_after_the_node() {
    let mut loom = tree(STORY);
    let new = loom.add_sibling(id(2), ", an owl").unwrap();
    assert_eq!(loom.children(id(1)), &[id(2), new, id(3)]);
    assert!(matches!(
        loom.add_sibling(id(1), "x"),
        Err(TreeError::RootRefused(..))
    ));
}

#[test]
fn adding_a_parent_inserts_between_node_and_parent_and_can_replace_the_root() {
    let mut loom = tree(STORY);
    let mid = loom.add_parent(id(4), " quietly").unwrap();
    assert_eq!(loom.parent(id(4)), Some(mid));
    assert_eq!(loom.children(id(2)), &[mid]);
    assert_eq!(
        loom.path_text(id(4)).unwrap(),
        "Once upon a time, a cat quietly sat."
    );
    let top = loom.add_parent(id(1), "Prologue. ").unwrap();
    assert_eq!(loom.root(), top);
    assert_eq!(
        loom.path_text(id(3)).unwrap(),
        "Prologue. Once upon a time, a dog"
    );
}

#[test]
fn splitting_moves_the_prefix_into_a_new_parent_and_keeps_path_texts() {
    let mut loom = tree(STORY);
    let before: Vec<String> = loom
        .all_nodes()
        .iter()
        .map(|n| loom.path_text(*n).unwrap())
        .collect();
    let upper = loom.split(id(1), 4).unwrap();
    assert_eq!(loom.root(), upper);
    assert_eq!(loom.node(upper).unwrap().text, "Once");
    assert_eq!(loom.node(id(1)).unwrap().text, " upon a time");
    assert_eq!(loom.children(id(1)), &[id(2), id(3)]);
    for (n, text) in [id(1), id(2), id(4), id(3)].iter().zip(before.iter()) {
        assert_eq!(&loom.path_text(*n).unwrap(), text);
    }
}

#[test]
fn splitting_counts_characters_not_bytes() {
    let mut loom = Loom::new("héllo wörld");
    let upper = loom.split(loom.root(), 7).unwrap();
    assert_eq!(loom.node(upper).unwrap().text, "héllo w");
    assert_eq!(loom.node(id(1)).unwrap().text, "örld");
}

#[test]
fn splitting_at_either_end_or_past_the_text_is_refused() {
    let mut loom = tree(STORY);
    for offset in [0, 16, 99] {
        assert!(
            matches!(loom.split(id(1), offset), Err(TreeError::BadOffset { .. })),
            "offset {offset}"
        );
    }
    assert_eq!(show(&loom), show(&tree(STORY)));
}

#[test]
fn merging_an_only_child_joins_texts_and_adopts_its_children() {
    let mut loom = tree(STORY);
    let parent = loom.merge_into_parent(id(4)).unwrap();
    assert_eq!(parent, id(2));
    assert_eq!(loom.node(id(2)).unwrap().text, ", a cat sat.");
    assert!(!loom.contains(id(4)));
    let refused = loom.merge_into_parent(id(2));
    assert_eq!(refused, Err(TreeError::MergeWithSiblings(id(2))));
}

#[test]
fn merge_keeps_grandchildren_in_order() {
    let mut loom = tree("\"a\" #1\n  \"b\" #2\n    \"c\" #3\n    \"d\" #4\n");
    loom.merge_into_parent(id(2)).unwrap();
    assert_eq!(show(&loom), "\"ab\" #1 [*]\n  \"c\" #3\n  \"d\" #4\n");
}

#[test]
fn deleting_removes_the_subtree_and_moves_the_cursor_up() {
    let mut loom = tree(STORY);
    loom.set_cursor(id(4)).unwrap();
    loom.delete(id(2)).unwrap();
    assert!(!loom.contains(id(2)) && !loom.contains(id(4)));
    assert_eq!(loom.cursor(), id(1));
    assert!(matches!(
        loom.delete(id(1)),
        Err(TreeError::RootRefused(..))
    ));
}

#[test]
fn deleting_children_or_siblings_keeps_the_node() {
    let mut loom = tree(STORY);
    assert_eq!(loom.delete_siblings(id(3)).unwrap(), 1);
    assert_eq!(loom.children(id(1)), &[id(3)]);
    let mut loom = tree(STORY);
    assert_eq!(loom.delete_children(id(1)).unwrap(), 2);
    assert!(loom.children(id(1)).is_empty());
}

#[test]
fn archiving_hides_from_visible_children_without_deleting() {
    let mut loom = tree(STORY);
    loom.set_archived(id(2), true).unwrap();
    assert_eq!(loom.visible_children(id(1)), vec![id(3)]);
    assert_eq!(loom.children(id(1)), &[id(2), id(3)]);
    loom.set_archived(id(2), false).unwrap();
    assert_eq!(loom.visible_children(id(1)), vec![id(2), id(3)]);
}

#[test]
fn moving_reparents_and_refuses_cycles() {
    let mut loom = tree(STORY);
    loom.move_node(id(4), id(3), None).unwrap();
    assert_eq!(loom.parent(id(4)), Some(id(3)));
    assert_eq!(
        loom.path_text(id(4)).unwrap(),
        "Once upon a time, a dog sat."
    );
    let err = loom.move_node(id(3), id(4), None);
    assert_eq!(
        err,
        Err(TreeError::WouldCycle {
            node: id(3),
            target: id(4)
        })
    );
    assert_eq!(
        loom.move_node(id(3), id(3), None),
        Err(TreeError::WouldCycle {
            node: id(3),
            target: id(3)
        })
    );
}

#[test]
fn reordering_siblings_changes_only_their_order() {
    let mut loom = tree(STORY);
    loom.reorder(id(3), 0).unwrap();
    assert_eq!(loom.children(id(1)), &[id(3), id(2)]);
    assert!(matches!(
        loom.reorder(id(3), 5),
        Err(TreeError::BadIndex { .. })
    ));
}

#[test]
fn cloning_copies_a_subtree_with_fresh_ids_after_the_original() {
    let mut loom = tree(STORY);
    let copy = loom.clone_subtree(id(2), None).unwrap();
    assert_eq!(loom.children(id(1)), &[id(2), copy, id(3)]);
    let copied_child = loom.children(copy)[0];
    assert_ne!(copied_child, id(4));
    assert_eq!(
        loom.path_text(copied_child).unwrap(),
        loom.path_text(id(4)).unwrap()
    );
}

#[test]
fn undo_and_redo_walk_through_every_kind_of_step() {
    let mut loom = tree(STORY);
    let start = show(&loom);
    let mut states = vec![start.clone()];
    loom.add_child(id(3), " barked.").unwrap();
    states.push(show(&loom));
    loom.set_text(id(2), ", a lynx").unwrap();
    states.push(show(&loom));
    loom.split(id(2), 3).unwrap();
    states.push(show(&loom));
    loom.set_bookmarked(id(3), true).unwrap();
    states.push(show(&loom));
    loom.move_node(id(4), id(3), Some(0)).unwrap();
    states.push(show(&loom));
    loom.delete(id(2)).unwrap();
    states.push(show(&loom));
    for expected in states.iter().rev().skip(1) {
        loom.undo().unwrap();
        assert_eq!(
            &show(&loom).replace(" [*]", ""),
            &expected.replace(" [*]", "")
        );
    }
    assert!(loom.undo().is_err());
    for expected in states.iter().skip(1) {
        loom.redo().unwrap();
        assert_eq!(
            &show(&loom).replace(" [*]", ""),
            &expected.replace(" [*]", "")
        );
    }
}

#[test]
fn a_batch_is_one_undo_step() {
    let mut loom = tree(STORY);
    let before = show(&loom);
    loom.begin_batch("generate");
    for i in 0..4 {
        loom.add_child(id(4), &format!(" branch {i}")).unwrap();
    }
    loom.end_batch();
    assert_eq!(loom.children(id(4)).len(), 4);
    loom.undo().unwrap();
    assert_eq!(show(&loom), before);
    loom.redo().unwrap();
    assert_eq!(loom.children(id(4)).len(), 4);
}

#[test]
fn text_streamed_after_a_batch_survives_undo_then_redo() {
    let mut loom = tree(STORY);
    let kids = loom
        .add_children(
            id(4),
            vec![tloom::tree::Node::new(""), tloom::tree::Node::new("")],
        )
        .unwrap();
    loom.append_generated(kids[0], " It purred.", None).unwrap();
    loom.undo().unwrap();
    assert!(!loom.contains(kids[0]));
    loom.redo().unwrap();
    assert_eq!(loom.node(kids[0]).unwrap().text, " It purred.");
}

#[test]
fn a_new_operation_clears_redo() {
    let mut loom = tree(STORY);
    loom.add_child(id(1), "x").unwrap();
    loom.undo().unwrap();
    assert!(loom.can_redo());
    loom.add_child(id(1), "y").unwrap();
    assert!(!loom.can_redo());
}

#[test]
fn bookmarks_cycle_in_tree_order() {
    let mut loom = tree("\"r\" #1\n  \"a\" #2 [b]\n    \"b\" #4\n  \"c\" #3 [b]\n");
    assert_eq!(loom.bookmarks(), vec![id(2), id(3)]);
    assert_eq!(loom.next_bookmark(id(1)), Some(id(2)));
    assert_eq!(loom.next_bookmark(id(2)), Some(id(3)));
    assert_eq!(loom.next_bookmark(id(3)), Some(id(2)));
    assert_eq!(loom.prev_bookmark(id(2)), Some(id(3)));
    assert_eq!(loom.prev_bookmark(id(4)), Some(id(2)));
    loom.set_bookmarked(id(2), false).unwrap();
    assert_eq!(loom.next_bookmark(id(3)), Some(id(3)));
}

#[test]
fn moving_down_returns_to_the_last_visited_child() {
    let mut loom = tree(STORY);
    assert_eq!(loom.preferred_child(id(1)), Some(id(2)));
    loom.set_cursor(id(3)).unwrap();
    assert_eq!(loom.preferred_child(id(1)), Some(id(3)));
    loom.set_cursor(id(4)).unwrap();
    assert_eq!(loom.preferred_child(id(1)), Some(id(2)));
}

#[test]
fn search_finds_substrings_and_regexes_in_tree_order() {
    let loom = tree(STORY);
    let hits = loom.search_nodes(&Query::substring(", A ")).unwrap();
    assert_eq!(hits, vec![id(2), id(3)]);
    let mut q = Query::substring(r"s\w+\.");
    q.regex = true;
    let m = loom.search(&q).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        &loom.node(m[0].node).unwrap().text[m[0].start..m[0].end],
        "sat."
    );
    q.pattern = "(".into();
    assert!(matches!(loom.search(&q), Err(TreeError::BadPattern(_))));
}

#[test]
fn hoisting_limits_search_and_the_view_root() {
    let mut loom = tree(STORY);
    loom.set_hoist(Some(id(2))).unwrap();
    assert_eq!(loom.view_root(), id(2));
    assert_eq!(
        loom.search_nodes(&Query::substring("a")).unwrap(),
        vec![id(2), id(4)]
    );
    loom.set_hoist(None).unwrap();
    assert_eq!(loom.view_root(), id(1));
}

#[test]
fn subtree_statistics_count_shape_marks_and_authorship() {
    let loom = tree("\"ab\" #1\n  \"cde\" #2 [m b]\n    \"f\" #4 [x]\n  \"g\" #3\n");
    let s = loom.stats(id(1));
    assert_eq!(
        (s.nodes, s.depth, s.leaves, s.bookmarks, s.archived),
        (4, 2, 2, 1, 1)
    );
    assert_eq!((s.model_chars, s.human_chars), (3, 4));
    assert_eq!(loom.stats(id(2)).nodes, 2);
}

#[test]
fn random_walk_follows_visible_children_to_a_leaf() {
    let loom = tree("\"r\" #1\n  \"a\" #2 [x]\n  \"b\" #3\n    \"c\" #4\n");
    assert_eq!(loom.random_walk(id(1), |_| 0), vec![id(3), id(4)]);
}

#[test]
fn outline_round_trips_through_render_and_parse() {
    let loom = tree("\"line\\none\" #1 [b]\n  \"two\" #5 [x u *]\n");
    let text = show(&loom);
    assert_eq!(show(&outline::parse(&text).unwrap()), text);
    assert!(outline::parse("  \"x\"").is_err());
    assert!(outline::parse("\"a\"\n\"b\"").is_err());
}

#[test]
fn search_results_come_in_tree_order_with_few_and_with_many_hits() {
    // Children are added in an order unlike their ids, so storage order is not tree order.
    let mut loom = Loom::new("root");
    let root = loom.root();
    let mut parents = vec![root];
    for i in 0..2600 {
        let parent = parents[(i * 7919) % parents.len()];
        let text = if i % 500 == 0 {
            format!("rare {i}")
        } else {
            format!("common {i}")
        };
        let id = loom.add_child(parent, &text).unwrap();
        if i % 3 == 0 {
            loom.reorder(id, 0).unwrap();
        }
        parents.push(id);
    }
    let archived = loom.children(root)[0];
    loom.set_archived(archived, true).unwrap();
    let hidden: Vec<NodeId> = loom.preorder(archived);
    for word in ["rare", "common"] {
        let expected: Vec<NodeId> = loom
            .preorder(root)
            .into_iter()
            .filter(|id| !hidden.contains(id))
            .filter(|id| loom.node(*id).unwrap().text.contains(word))
            .collect();
        let found = loom.search_nodes(&Query::substring(word)).unwrap();
        assert_eq!(found, expected, "{word}");
    }
}
