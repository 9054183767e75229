//! Structural and text operations. Each is one undoable step built from primitive edits,
//! checked before it is applied so a refused operation changes nothing.

use super::edit::{Edit, Flag};
use super::error::TreeError;
use super::id::NodeId;
use super::loom::Loom;
use super::node::{Node, split_tokens};

impl Loom {
    /// Give a prepared node a fresh id and creation time.
    fn fresh(&mut self, mut node: Node) -> Node {
        node.id = self.allocate_id();
        node.parent = None;
        node.children.clear();
        if node.created == 0 {
            node.created = self.now();
        }
        node
    }

    /// Add a child written by hand at the end of `parent`'s children.
    pub fn add_child(&mut self, parent: NodeId, text: &str) -> Result<NodeId, TreeError> {
        self.add_child_node(parent, Node::new(text))
    }

    /// Add a prepared node (origin, tokens, flags set by the caller) as the last child.
    pub fn add_child_node(&mut self, parent: NodeId, node: Node) -> Result<NodeId, TreeError> {
        let ids = self.add_children(parent, vec![node])?;
        Ok(ids[0])
    }

    /// Add several children at once as one undo step (one generation batch).
    pub fn add_children(
        &mut self,
        parent: NodeId,
        nodes: Vec<Node>,
    ) -> Result<Vec<NodeId>, TreeError> {
        let start = self.node(parent)?.children.len();
        let mut edits = Vec::with_capacity(nodes.len());
        let mut ids = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.into_iter().enumerate() {
            let node = self.fresh(node);
            ids.push(node.id);
            edits.push(Edit::Attach {
                parent,
                index: start + i,
                nodes: vec![node],
            });
        }
        self.record("add", edits)?;
        Ok(ids)
    }

    /// Add a sibling right after `id`.
    pub fn add_sibling(&mut self, id: NodeId, text: &str) -> Result<NodeId, TreeError> {
        let parent = self
            .node(id)?
            .parent
            .ok_or(TreeError::RootRefused(id, "it has no siblings"))?;
        let index = self.index_in_parent(id).unwrap_or(0) + 1;
        let node = self.fresh(Node::new(text));
        let new_id = node.id;
        self.record(
            "add sibling",
            vec![Edit::Attach {
                parent,
                index,
                nodes: vec![node],
            }],
        )?;
        Ok(new_id)
    }

    /// Insert a new node between `id` and its parent (it becomes the root if `id` was).
    pub fn add_parent(&mut self, id: NodeId, text: &str) -> Result<NodeId, TreeError> {
        self.node(id)?;
        let node = self.fresh(Node::new(text));
        let new_id = node.id;
        let edits = self.insert_above(id, node);
        self.record("add parent", edits)?;
        Ok(new_id)
    }

    fn insert_above(&self, id: NodeId, node: Node) -> Vec<Edit> {
        let new_id = node.id;
        match self.parent(id) {
            None => vec![Edit::Reroot {
                node: Box::new(node),
            }],
            Some(parent) => {
                let index = self.index_in_parent(id).unwrap_or(0);
                vec![
                    Edit::Attach {
                        parent,
                        index,
                        nodes: vec![node],
                    },
                    Edit::Relink {
                        id,
                        parent: new_id,
                        index: 0,
                    },
                ]
            }
        }
    }

    /// Replace a node's text. Token data no longer applies and is dropped (undo restores it).
    pub fn set_text(&mut self, id: NodeId, text: &str) -> Result<(), TreeError> {
        let node = self.node(id)?;
        if node.text == text {
            return Ok(());
        }
        self.record(
            "edit",
            vec![Edit::SetText {
                id,
                text: text.to_string(),
                tokens: None,
                edited: true,
            }],
        )
    }

    /// Split a node at a character offset: the text before it moves into a new parent.
    /// Returns the new parent's id. The node keeps its id, children and token data that
    /// fall after the split.
    pub fn split(&mut self, id: NodeId, char_offset: usize) -> Result<NodeId, TreeError> {
        let node = self.node(id)?;
        let len = node.text.len();
        let byte = char_to_byte(&node.text, char_offset).ok_or(TreeError::BadOffset {
            node: id,
            offset: char_offset,
            len,
        })?;
        if byte == 0 || byte == len {
            return Err(TreeError::BadOffset {
                node: id,
                offset: char_offset,
                len,
            });
        }
        let (prefix_tokens, suffix_tokens) = match node.valid_tokens() {
            Some(tokens) => match split_tokens(tokens, byte) {
                Some((a, b)) => (Some(a), Some(b)),
                None => (None, None),
            },
            None => (None, None),
        };
        let mut upper = node.clone();
        upper.text = node.text[..byte].to_string();
        upper.tokens = prefix_tokens;
        upper.bookmarked = false;
        upper.tags.clear();
        upper.note.clear();
        upper.memory.clear();
        upper.last_child = Some(id);
        upper.extra.clear();
        let suffix = node.text[byte..].to_string();
        let edited = node.edited;
        upper.created = node.created;
        let upper = self.fresh(upper);
        let upper_id = upper.id;
        let mut edits = self.insert_above(id, upper);
        edits.push(Edit::SetText {
            id,
            text: suffix,
            tokens: suffix_tokens,
            edited,
        });
        self.record("split", edits)?;
        Ok(upper_id)
    }

    /// Merge a node into its parent: the parent's text gains the node's text and the node's
    /// children take its place. Refused when the parent has other children.
    pub fn merge_into_parent(&mut self, id: NodeId) -> Result<NodeId, TreeError> {
        let node = self.node(id)?;
        let parent_id = node
            .parent
            .ok_or(TreeError::RootRefused(id, "it has no parent to merge into"))?;
        let parent = self.node(parent_id)?;
        if parent.children.len() != 1 {
            return Err(TreeError::MergeWithSiblings(id));
        }
        let text = format!("{}{}", parent.text, node.text);
        let tokens = match (parent.valid_tokens(), node.valid_tokens()) {
            (Some(a), Some(b)) => Some([a, b].concat()),
            _ => None,
        };
        let mut edits = vec![Edit::SetText {
            id: parent_id,
            text,
            tokens,
            edited: parent.edited || node.edited,
        }];
        for (i, &child) in node.children.iter().enumerate() {
            edits.push(Edit::Relink {
                id: child,
                parent: parent_id,
                index: i,
            });
        }
        edits.push(Edit::Detach { id });
        self.record("merge", edits)?;
        Ok(parent_id)
    }

    /// Delete a node and its whole subtree (undoable).
    pub fn delete(&mut self, id: NodeId) -> Result<(), TreeError> {
        if self.node(id)?.parent.is_none() {
            return Err(TreeError::RootRefused(id, "the root cannot be deleted"));
        }
        self.record("delete", vec![Edit::Detach { id }])
    }

    /// Delete every child of a node.
    pub fn delete_children(&mut self, id: NodeId) -> Result<usize, TreeError> {
        let children = self.node(id)?.children.clone();
        let count = children.len();
        let edits = children
            .into_iter()
            .map(|c| Edit::Detach { id: c })
            .collect();
        self.record("delete children", edits)?;
        Ok(count)
    }

    /// Delete every sibling of a node, keeping the node.
    pub fn delete_siblings(&mut self, id: NodeId) -> Result<usize, TreeError> {
        self.node(id)?;
        let siblings: Vec<NodeId> = self.siblings(id).into_iter().filter(|&s| s != id).collect();
        let count = siblings.len();
        let edits = siblings
            .into_iter()
            .map(|c| Edit::Detach { id: c })
            .collect();
        self.record("delete siblings", edits)?;
        Ok(count)
    }

    pub fn set_archived(&mut self, id: NodeId, value: bool) -> Result<(), TreeError> {
        self.set_flag(
            id,
            Flag::Archived,
            value,
            if value { "archive" } else { "unarchive" },
        )
    }

    pub fn set_bookmarked(&mut self, id: NodeId, value: bool) -> Result<(), TreeError> {
        self.set_flag(
            id,
            Flag::Bookmarked,
            value,
            if value { "bookmark" } else { "unbookmark" },
        )
    }

    fn set_flag(
        &mut self,
        id: NodeId,
        flag: Flag,
        value: bool,
        label: &str,
    ) -> Result<(), TreeError> {
        let node = self.node(id)?;
        let current = match flag {
            Flag::Bookmarked => node.bookmarked,
            Flag::Archived => node.archived,
        };
        if current == value {
            return Ok(());
        }
        if flag == Flag::Archived && node.parent.is_none() {
            return Err(TreeError::RootRefused(id, "the root cannot be archived"));
        }
        self.record(label, vec![Edit::SetFlag { id, flag, value }])
    }

    pub fn set_tags(&mut self, id: NodeId, tags: Vec<String>) -> Result<(), TreeError> {
        self.node(id)?;
        self.record("tag", vec![Edit::SetTags { id, tags }])
    }

    pub fn set_note(&mut self, id: NodeId, note: &str) -> Result<(), TreeError> {
        self.node(id)?;
        self.record(
            "note",
            vec![Edit::SetNote {
                id,
                note: note.to_string(),
            }],
        )
    }

    /// Set one value of the node's `extra` map (`None` removes it), as one undo step.
    pub fn set_extra(
        &mut self,
        id: NodeId,
        key: &str,
        value: Option<serde_json::Value>,
    ) -> Result<(), TreeError> {
        self.node(id)?;
        self.record(
            "record",
            vec![Edit::SetExtra {
                id,
                key: key.to_string(),
                value,
            }],
        )
    }

    /// Set the memory text of a subtree (prepended to prompts below it).
    pub fn set_node_memory(&mut self, id: NodeId, memory: &str) -> Result<(), TreeError> {
        self.node(id)?;
        self.record(
            "memory",
            vec![Edit::SetMemory {
                id,
                memory: memory.to_string(),
            }],
        )
    }

    /// Move a node (with its subtree) under a new parent, at `index` or at the end.
    /// Refuses to move the root or to move a node into its own subtree.
    pub fn move_node(
        &mut self,
        id: NodeId,
        parent: NodeId,
        index: Option<usize>,
    ) -> Result<(), TreeError> {
        self.node(id)?;
        self.node(parent)?;
        if self.is_ancestor(id, parent) {
            return Err(TreeError::WouldCycle {
                node: id,
                target: parent,
            });
        }
        let same = self.parent(id) == Some(parent);
        let len = self.children(parent).len() - usize::from(same);
        let index = index.unwrap_or(len);
        self.record("move", vec![Edit::Relink { id, parent, index }])
    }

    /// Move a node to `index` among its siblings.
    pub fn reorder(&mut self, id: NodeId, index: usize) -> Result<(), TreeError> {
        let parent = self
            .node(id)?
            .parent
            .ok_or(TreeError::RootRefused(id, "it has no siblings"))?;
        if self.index_in_parent(id) == Some(index) {
            return Ok(());
        }
        self.record("reorder", vec![Edit::Relink { id, parent, index }])
    }

    /// Copy the subtree at `id` under `parent` (default: as the next sibling of `id`),
    /// with fresh ids. Returns the copy's root.
    pub fn clone_subtree(
        &mut self,
        id: NodeId,
        parent: Option<NodeId>,
    ) -> Result<NodeId, TreeError> {
        self.node(id)?;
        let (parent, index) = match parent {
            Some(p) => (p, self.node(p)?.children.len()),
            None => {
                let p = self.parent(id).ok_or(TreeError::RootRefused(
                    id,
                    "give a parent to clone the whole tree under",
                ))?;
                (p, self.index_in_parent(id).unwrap_or(0) + 1)
            }
        };
        let nodes = self.copy_with_fresh_ids(id);
        let top = nodes[0].id;
        self.record(
            "clone",
            vec![Edit::Attach {
                parent,
                index,
                nodes,
            }],
        )?;
        Ok(top)
    }

    fn copy_with_fresh_ids(&mut self, id: NodeId) -> Vec<Node> {
        let order = self.preorder(id);
        let mut map = std::collections::HashMap::with_capacity(order.len());
        for old in &order {
            let new = self.allocate_id();
            map.insert(*old, new);
        }
        order
            .iter()
            .filter_map(|old| self.get(*old))
            .map(|n| {
                let mut copy = n.clone();
                copy.id = map[&n.id];
                copy.parent = n.parent.and_then(|p| map.get(&p).copied());
                copy.children = n.children.iter().map(|c| map[c]).collect();
                copy.last_child = n.last_child.and_then(|c| map.get(&c).copied());
                copy
            })
            .collect()
    }
}

/// Byte index of a character offset (the end of the text is allowed).
pub fn char_to_byte(text: &str, char_offset: usize) -> Option<usize> {
    if char_offset == text.chars().count() {
        return Some(text.len());
    }
    text.char_indices().nth(char_offset).map(|(b, _)| b)
}
