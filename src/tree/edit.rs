//! Primitive, invertible edits. Every operation on the loom is a sequence of these; applying
//! one returns its inverse, computed at the moment it is applied, so undo and redo restore
//! exactly what was there (including text that streamed in after the edit was recorded).

use super::error::TreeError;
use super::id::NodeId;
use super::loom::Loom;
use super::node::{Node, TokenRecord};

/// A flag that is part of the undoable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Bookmarked,
    Archived,
}

/// One primitive change to the loom.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Insert a detached subtree (preorder, first = its root) under `parent` at `index`.
    Attach {
        parent: NodeId,
        index: usize,
        nodes: Vec<Node>,
    },
    /// Remove the subtree at `id`.
    Detach {
        id: NodeId,
    },
    /// Move `id` (with its subtree) under `parent` at `index`.
    Relink {
        id: NodeId,
        parent: NodeId,
        index: usize,
    },
    /// Make `node` (childless, detached) the new root, with the old root as its only child.
    Reroot {
        node: Box<Node>,
    },
    /// Remove the root, which must have exactly one child; that child becomes the root.
    Unroot,
    SetText {
        id: NodeId,
        text: String,
        tokens: Option<Vec<TokenRecord>>,
        edited: bool,
    },
    SetFlag {
        id: NodeId,
        flag: Flag,
        value: bool,
    },
    SetTags {
        id: NodeId,
        tags: Vec<String>,
    },
    SetNote {
        id: NodeId,
        note: String,
    },
    SetMemory {
        id: NodeId,
        memory: String,
    },
    /// Set (or, with `None`, remove) one value of the node's `extra` map: data that tools
    /// record on a node (the weave's scores), kept through saves and exports.
    SetExtra {
        id: NodeId,
        key: String,
        value: Option<serde_json::Value>,
    },
}

impl Edit {
    /// The node this edit is about, for moving the cursor after undo or redo.
    pub fn focus(&self) -> Option<NodeId> {
        match self {
            Edit::Attach { nodes, .. } => nodes.first().map(|n| n.id),
            Edit::Detach { id }
            | Edit::Relink { id, .. }
            | Edit::SetText { id, .. }
            | Edit::SetFlag { id, .. }
            | Edit::SetTags { id, .. }
            | Edit::SetNote { id, .. }
            | Edit::SetMemory { id, .. }
            | Edit::SetExtra { id, .. } => Some(*id),
            Edit::Reroot { node } => Some(node.id),
            Edit::Unroot => None,
        }
    }
}

impl Loom {
    /// Apply one primitive edit, returning its inverse. On error nothing changed.
    pub(crate) fn apply(&mut self, edit: Edit) -> Result<Edit, TreeError> {
        match edit {
            Edit::Attach {
                parent,
                index,
                nodes,
            } => self.attach(parent, index, nodes),
            Edit::Detach { id } => self.detach(id),
            Edit::Relink { id, parent, index } => self.relink(id, parent, index),
            Edit::Reroot { node } => self.reroot(*node),
            Edit::Unroot => self.unroot(),
            Edit::SetText {
                id,
                text,
                tokens,
                edited,
            } => {
                let node = self.node_mut(id)?;
                let old_text = std::mem::replace(&mut node.text, text);
                let old_tokens = std::mem::replace(&mut node.tokens, tokens);
                let old_edited = std::mem::replace(&mut node.edited, edited);
                Ok(Edit::SetText {
                    id,
                    text: old_text,
                    tokens: old_tokens,
                    edited: old_edited,
                })
            }
            Edit::SetFlag { id, flag, value } => {
                let node = self.node_mut(id)?;
                let slot = match flag {
                    Flag::Bookmarked => &mut node.bookmarked,
                    Flag::Archived => &mut node.archived,
                };
                let old = std::mem::replace(slot, value);
                Ok(Edit::SetFlag {
                    id,
                    flag,
                    value: old,
                })
            }
            Edit::SetTags { id, tags } => {
                let old = std::mem::replace(&mut self.node_mut(id)?.tags, tags);
                Ok(Edit::SetTags { id, tags: old })
            }
            Edit::SetNote { id, note } => {
                let old = std::mem::replace(&mut self.node_mut(id)?.note, note);
                Ok(Edit::SetNote { id, note: old })
            }
            Edit::SetMemory { id, memory } => {
                let old = std::mem::replace(&mut self.node_mut(id)?.memory, memory);
                Ok(Edit::SetMemory { id, memory: old })
            }
            Edit::SetExtra { id, key, value } => {
                let extra = &mut self.node_mut(id)?.extra;
                let old = match value {
                    Some(v) => extra.insert(key.clone(), v),
                    None => extra.remove(&key),
                };
                Ok(Edit::SetExtra {
                    id,
                    key,
                    value: old,
                })
            }
        }
    }

    fn attach(
        &mut self,
        parent: NodeId,
        index: usize,
        nodes: Vec<Node>,
    ) -> Result<Edit, TreeError> {
        let len = self.node(parent)?.children.len();
        if index > len {
            return Err(TreeError::BadIndex { parent, index, len });
        }
        let Some(top) = nodes.first().map(|n| n.id) else {
            return Err(TreeError::NothingTo("attach"));
        };
        if let Some(clash) = nodes.iter().find(|n| self.contains(n.id)) {
            return Err(TreeError::DuplicateId(clash.id));
        }
        for mut node in nodes {
            if node.id == top {
                node.parent = Some(parent);
            }
            self.next_id = self.next_id.max(node.id.0 + 1);
            let id = node.id;
            let node_parent = node.parent;
            let idx = self.graph.add_node(node);
            self.index.insert(id, idx);
            self.changed.insert(id);
            if let Some(pidx) = node_parent.and_then(|p| self.index.get(&p).copied()) {
                self.graph.add_edge(pidx, idx, ());
            }
        }
        self.node_mut(parent)?.children.insert(index, top);
        Ok(Edit::Detach { id: top })
    }

    fn detach(&mut self, id: NodeId) -> Result<Edit, TreeError> {
        let parent = self
            .node(id)?
            .parent
            .ok_or(TreeError::RootRefused(id, "the root cannot be deleted"))?;
        let index = self.index_in_parent(id).unwrap_or(0);
        let ids = self.preorder(id);
        let mut nodes = Vec::with_capacity(ids.len());
        for c in &ids {
            self.changed.insert(*c);
            if let Some(idx) = self.index.remove(c)
                && let Some(node) = self.graph.remove_node(idx)
            {
                nodes.push(node);
            }
        }
        // The parent's last_child may keep pointing at the detached node: `preferred_child`
        // ignores stale values, and undo then restores the exact state.
        self.node_mut(parent)?.children.retain(|&c| c != id);
        if !self.contains(self.cursor) {
            self.cursor = parent;
        }
        if self.hoist.is_some_and(|h| !self.contains(h)) {
            self.hoist = None;
        }
        Ok(Edit::Attach {
            parent,
            index,
            nodes,
        })
    }

    fn relink(&mut self, id: NodeId, parent: NodeId, index: usize) -> Result<Edit, TreeError> {
        let old_parent = self
            .node(id)?
            .parent
            .ok_or(TreeError::RootRefused(id, "the root cannot be moved"))?;
        self.node(parent)?;
        if self.is_ancestor(id, parent) {
            return Err(TreeError::WouldCycle {
                node: id,
                target: parent,
            });
        }
        let old_index = self.index_in_parent(id).unwrap_or(0);
        let len_after_removal = self.children(parent).len() - usize::from(parent == old_parent);
        if index > len_after_removal {
            return Err(TreeError::BadIndex {
                parent,
                index,
                len: len_after_removal,
            });
        }
        self.node_mut(old_parent)?.children.retain(|&c| c != id);
        self.node_mut(parent)?.children.insert(index, id);
        self.node_mut(id)?.parent = Some(parent);
        if old_parent != parent {
            let (op, np, me) = (
                self.index[&old_parent],
                self.index[&parent],
                self.index[&id],
            );
            if let Some(edge) = self.graph.find_edge(op, me) {
                self.graph.remove_edge(edge);
            }
            self.graph.add_edge(np, me, ());
        }
        Ok(Edit::Relink {
            id,
            parent: old_parent,
            index: old_index,
        })
    }

    fn reroot(&mut self, mut node: Node) -> Result<Edit, TreeError> {
        if self.contains(node.id) {
            return Err(TreeError::DuplicateId(node.id));
        }
        let old_root = self.root;
        node.parent = None;
        node.children = vec![old_root];
        let id = node.id;
        self.next_id = self.next_id.max(id.0 + 1);
        let idx = self.graph.add_node(node);
        self.index.insert(id, idx);
        self.changed.insert(id);
        let old_idx = self.index[&old_root];
        self.graph.add_edge(idx, old_idx, ());
        self.node_mut(old_root)?.parent = Some(id);
        self.root = id;
        Ok(Edit::Unroot)
    }

    fn unroot(&mut self) -> Result<Edit, TreeError> {
        let root = self.root;
        let children = self.children(root).to_vec();
        let [child] = children.as_slice() else {
            return Err(TreeError::RootRefused(
                root,
                "it must have exactly one child to be removed",
            ));
        };
        let child = *child;
        let idx = self
            .index
            .remove(&root)
            .ok_or(TreeError::NoSuchNode(root))?;
        let mut node = self
            .graph
            .remove_node(idx)
            .ok_or(TreeError::NoSuchNode(root))?;
        node.children.clear();
        self.changed.insert(root);
        self.node_mut(child)?.parent = None;
        self.root = child;
        if self.cursor == root {
            self.cursor = child;
        }
        if self.hoist == Some(root) {
            self.hoist = None;
        }
        Ok(Edit::Reroot {
            node: Box::new(node),
        })
    }
}
