//! Building a loom from another source node by node (importers), and grafting a whole
//! loom under a node of another as one undoable step (`:import` in the UI).

use super::edit::Edit;
use super::error::TreeError;
use super::id::NodeId;
use super::loom::Loom;
use super::node::Node;
use std::collections::HashMap;

/// Builds a loom parents-first. Ids are given in the order nodes are added, from 1 (the
/// root); children keep the order they were added in. Creation times are kept as given
/// (0 means unknown).
#[derive(Debug, Clone)]
pub struct LoomBuilder {
    nodes: Vec<Node>,
}

impl LoomBuilder {
    /// Start with the root node.
    pub fn new(mut root: Node) -> LoomBuilder {
        root.id = NodeId(1);
        root.parent = None;
        root.children.clear();
        root.archived = false;
        LoomBuilder { nodes: vec![root] }
    }

    /// The root's id.
    pub fn root(&self) -> NodeId {
        NodeId(1)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn slot(&self, id: NodeId) -> Option<usize> {
        let i = usize::try_from(id.0).ok()?.checked_sub(1)?;
        (i < self.nodes.len()).then_some(i)
    }

    /// Add `node` as the last child of `parent` (which must already be added).
    pub fn add(&mut self, parent: NodeId, mut node: Node) -> Result<NodeId, TreeError> {
        let p = self.slot(parent).ok_or(TreeError::NoSuchNode(parent))?;
        let id = NodeId(self.nodes.len() as u64 + 1);
        node.id = id;
        node.parent = Some(parent);
        node.children.clear();
        node.last_child = None;
        self.nodes[p].children.push(id);
        self.nodes.push(node);
        Ok(id)
    }

    /// A node added so far, to change its data (not its structure).
    pub fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        let i = self.slot(id)?;
        self.nodes.get_mut(i)
    }

    /// The finished loom, with the cursor at the root and no undo history.
    pub fn finish(self) -> Loom {
        Loom::from_checked_parts(NodeId(1), self.nodes)
    }
}

impl Loom {
    /// Copy the whole of `other` under `parent` as its last child, with fresh ids, as one
    /// undoable step. Texts, flags, provenance and token data are kept. Returns the id the
    /// copy of `other`'s root got.
    pub fn graft(&mut self, parent: NodeId, other: &Loom) -> Result<NodeId, TreeError> {
        let index = self.node(parent)?.children.len();
        let order = other.preorder(other.root());
        let mut map = HashMap::with_capacity(order.len());
        for old in &order {
            let new = self.allocate_id();
            map.insert(*old, new);
        }
        let nodes: Vec<Node> = order
            .iter()
            .filter_map(|old| other.get(*old))
            .map(|n| {
                let mut copy = n.clone();
                copy.id = map[&n.id];
                copy.parent = n.parent.and_then(|p| map.get(&p).copied());
                copy.children = n
                    .children
                    .iter()
                    .filter_map(|c| map.get(c).copied())
                    .collect();
                copy.last_child = n.last_child.and_then(|c| map.get(&c).copied());
                copy
            })
            .collect();
        let top = nodes
            .first()
            .map(|n| n.id)
            .ok_or(TreeError::NothingTo("import"))?;
        self.record(
            "import",
            vec![Edit::Attach {
                parent,
                index,
                nodes,
            }],
        )?;
        Ok(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::outline::{OutlineOptions, render};

    fn plain() -> OutlineOptions {
        OutlineOptions {
            ids: false,
            ..OutlineOptions::default()
        }
    }

    #[test]
    fn a_builder_keeps_the_order_children_were_added_in() {
        let mut b = LoomBuilder::new(Node::new("root"));
        let a = b.add(b.root(), Node::new(" a")).expect("root exists");
        b.add(b.root(), Node::new(" b")).expect("root exists");
        b.add(a, Node::new(" a1")).expect("a exists");
        let loom = b.finish();
        assert_eq!(
            render(&loom, loom.root(), plain()),
            "\"root\" [*]\n  \" a\"\n    \" a1\"\n  \" b\"\n"
        );
        assert_eq!(loom.path_text(NodeId(4)).expect("node 4"), "root a a1");
        assert_eq!(loom.next_id(), 5);
    }

    #[test]
    fn a_builder_refuses_a_parent_it_has_not_seen() {
        let mut b = LoomBuilder::new(Node::new("root"));
        assert_eq!(
            b.add(NodeId(7), Node::new("x")),
            Err(TreeError::NoSuchNode(NodeId(7)))
        );
        assert_eq!(
            b.add(NodeId(0), Node::new("x")),
            Err(TreeError::NoSuchNode(NodeId(0)))
        );
    }

    #[test]
    fn grafting_copies_a_loom_under_a_node_and_undo_removes_it() {
        let mut host = Loom::new("Host");
        let at = host.add_child(host.root(), " here").expect("root exists");
        let mut b = LoomBuilder::new(Node::new(" guest"));
        let g = b.add(b.root(), Node::new(" child")).expect("root exists");
        b.get_mut(g).expect("added").bookmarked = true;
        let guest = b.finish();
        let top = host.graft(at, &guest).expect("graft");
        let out = render(&host, host.root(), plain());
        assert_eq!(
            out,
            "\"Host\" [*]\n  \" here\"\n    \" guest\"\n      \" child\" [b]\n"
        );
        assert_eq!(host.parent(top), Some(at));
        host.undo().expect("undo");
        assert_eq!(
            render(&host, host.root(), plain()),
            "\"Host\" [*]\n  \" here\"\n"
        );
    }
}
