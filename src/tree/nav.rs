//! Navigation state that is not undoable: the cursor, visits, hoist, bookmarks order, walks,
//! and the live updates streaming generation makes to a node it already created.

use super::error::TreeError;
use super::id::NodeId;
use super::loom::Loom;
use super::node::{Origin, TokenRecord};

impl Loom {
    /// Move the cursor to `id`, marking it visited and remembering it as its parent's last
    /// visited child (so moving down from the parent returns here).
    pub fn set_cursor(&mut self, id: NodeId) -> Result<(), TreeError> {
        self.node(id)?;
        self.cursor = id;
        self.node_mut(id)?.unread = false;
        let mut child = id;
        while let Some(parent) = self.parent(child) {
            self.node_mut(parent)?.last_child = Some(child);
            child = parent;
        }
        Ok(())
    }

    /// The child to move down to: the last visited one if still there, else the first
    /// non-archived child, else the first child.
    pub fn preferred_child(&self, id: NodeId) -> Option<NodeId> {
        let node = self.get(id)?;
        node.last_child
            .filter(|c| node.children.contains(c))
            .or_else(|| self.visible_children(id).first().copied())
            .or_else(|| node.children.first().copied())
    }

    /// Make `id` act as the root of the views (None: the real root again).
    pub fn set_hoist(&mut self, id: Option<NodeId>) -> Result<(), TreeError> {
        if let Some(h) = id {
            self.node(h)?;
        }
        self.hoist = id.filter(|h| *h != self.root);
        if let Some(h) = self.hoist
            && !self.is_ancestor(h, self.cursor)
        {
            self.cursor = h;
        }
        Ok(())
    }

    /// Mark a node unread or read without moving.
    pub fn set_unread(&mut self, id: NodeId, unread: bool) -> Result<(), TreeError> {
        self.node_mut(id)?.unread = unread;
        Ok(())
    }

    /// Bookmarked nodes in tree order.
    pub fn bookmarks(&self) -> Vec<NodeId> {
        self.all_nodes()
            .into_iter()
            .filter(|id| self.get(*id).is_some_and(|n| n.bookmarked))
            .collect()
    }

    /// The next bookmark after `from` in tree order, wrapping around.
    pub fn next_bookmark(&self, from: NodeId) -> Option<NodeId> {
        self.step_in_order(from, true, |loom, id| {
            loom.get(id).is_some_and(|n| n.bookmarked)
        })
    }

    /// The previous bookmark before `from` in tree order, wrapping around.
    pub fn prev_bookmark(&self, from: NodeId) -> Option<NodeId> {
        self.step_in_order(from, false, |loom, id| {
            loom.get(id).is_some_and(|n| n.bookmarked)
        })
    }

    /// The next node after `from` (tree order, wrapping) for which `wanted` holds.
    pub fn step_in_order(
        &self,
        from: NodeId,
        forward: bool,
        wanted: impl Fn(&Loom, NodeId) -> bool,
    ) -> Option<NodeId> {
        let order = self.all_nodes();
        let start = order.iter().position(|&id| id == from).unwrap_or(0);
        let n = order.len();
        (1..=n)
            .map(|k| {
                if forward {
                    (start + k) % n
                } else {
                    (start + n - k % n) % n
                }
            })
            .map(|i| order[i])
            .find(|&id| wanted(self, id))
    }

    /// Walk down from `from`, choosing among non-archived children with `pick(count)`,
    /// until a leaf. Returns the path walked (without `from`).
    pub fn random_walk(&self, from: NodeId, mut pick: impl FnMut(usize) -> usize) -> Vec<NodeId> {
        let mut path = Vec::new();
        let mut current = from;
        loop {
            let children = self.visible_children(current);
            if children.is_empty() {
                return path;
            }
            current = children[pick(children.len()) % children.len()];
            path.push(current);
        }
    }

    /// Append streamed text (and its token record) to a node being generated. Not an undo
    /// step: the batch that created the node is, and undoing it removes the text too.
    pub fn append_generated(
        &mut self,
        id: NodeId,
        text: &str,
        token: Option<TokenRecord>,
    ) -> Result<(), TreeError> {
        let node = self.node_mut(id)?;
        node.text.push_str(text);
        if let Some(token) = token {
            node.tokens.get_or_insert_with(Vec::new).push(token);
        }
        Ok(())
    }

    /// Replace a node's origin (e.g. to record how its generation finished). Not undoable.
    pub fn set_origin(&mut self, id: NodeId, origin: Origin) -> Result<(), TreeError> {
        self.node_mut(id)?.origin = origin;
        Ok(())
    }
}
