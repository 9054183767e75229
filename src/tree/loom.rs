//! The `Loom`: a tree of text segments over a petgraph `StableDiGraph`, with stable ids,
//! explicit child order, a cursor and a hoist.

use super::error::TreeError;
use super::history::History;
use super::id::NodeId;
use super::node::Node;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The loom tree: nodes, structure, view anchors and undo history.
#[derive(Debug, Clone)]
pub struct Loom {
    pub(crate) graph: StableDiGraph<Node, ()>,
    pub(crate) index: HashMap<NodeId, NodeIndex>,
    pub(crate) root: NodeId,
    pub(crate) next_id: u64,
    pub(crate) history: History,
    pub(crate) clock: fn() -> i64,
    /// The node the user is at.
    pub(crate) cursor: NodeId,
    /// A node acting as the root of the views, if any.
    pub(crate) hoist: Option<NodeId>,
    /// Tree-level memory: prepended to every prompt, not part of the story.
    pub memory: String,
    /// Top-level fields this version does not know, kept for round trips.
    pub extra: Map<String, Value>,
    /// Nodes created, changed or removed since `take_changed` was last called.
    pub(crate) changed: HashSet<NodeId>,
}

/// Current time in Unix milliseconds.
pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Loom {
    /// A new loom whose root holds `text`.
    pub fn new(text: impl Into<String>) -> Loom {
        Self::with_root(Node::new(text))
    }

    /// A new loom with a prepared root node (its id is assigned here).
    pub fn with_root(mut root: Node) -> Loom {
        let clock: fn() -> i64 = system_clock;
        root.id = NodeId(1);
        root.parent = None;
        root.children.clear();
        if root.created == 0 {
            root.created = clock();
        }
        let mut graph = StableDiGraph::new();
        let idx = graph.add_node(root);
        let mut index = HashMap::new();
        index.insert(NodeId(1), idx);
        Loom {
            graph,
            index,
            root: NodeId(1),
            next_id: 2,
            history: History::default(),
            clock,
            cursor: NodeId(1),
            hoist: None,
            memory: String::new(),
            extra: Map::new(),
            changed: HashSet::new(),
        }
    }

    /// Build a loom from nodes whose ids and structure are already set and checked
    /// (used by the file loader). `nodes` must be in an order where parents come first.
    pub(crate) fn from_checked_parts(root: NodeId, nodes: Vec<Node>) -> Loom {
        let mut graph = StableDiGraph::with_capacity(nodes.len(), nodes.len());
        let mut index = HashMap::with_capacity(nodes.len());
        let mut max_id = 0;
        for node in nodes {
            max_id = max_id.max(node.id.0);
            let id = node.id;
            let parent = node.parent;
            let idx = graph.add_node(node);
            index.insert(id, idx);
            if let Some(p) = parent.and_then(|p| index.get(&p)) {
                graph.add_edge(*p, idx, ());
            }
        }
        Loom {
            graph,
            index,
            root,
            next_id: max_id + 1,
            history: History::default(),
            clock: system_clock,
            cursor: root,
            hoist: None,
            memory: String::new(),
            extra: Map::new(),
            changed: HashSet::new(),
        }
    }

    /// Replace the clock (tests use a fixed one so output is deterministic).
    pub fn set_clock(&mut self, clock: fn() -> i64) {
        self.clock = clock;
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn allocate_id(&mut self) -> NodeId {
        let id = NodeId(self.next_id);
        self.next_id += 1;
        id
    }

    pub fn root(&self) -> NodeId {
        self.root
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.index.contains_key(&id)
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.index.get(&id).map(|&idx| &self.graph[idx])
    }

    /// The node, or an error naming the missing id.
    pub fn node(&self, id: NodeId) -> Result<&Node, TreeError> {
        self.get(id).ok_or(TreeError::NoSuchNode(id))
    }

    pub(crate) fn node_mut(&mut self, id: NodeId) -> Result<&mut Node, TreeError> {
        let idx = *self.index.get(&id).ok_or(TreeError::NoSuchNode(id))?;
        self.changed.insert(id);
        Ok(&mut self.graph[idx])
    }

    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.get(id).and_then(|n| n.parent)
    }

    /// Children in their explicit order (empty for a missing node).
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        self.get(id).map(|n| n.children.as_slice()).unwrap_or(&[])
    }

    /// Children that are not archived.
    pub fn visible_children(&self, id: NodeId) -> Vec<NodeId> {
        self.children(id)
            .iter()
            .copied()
            .filter(|c| self.get(*c).is_some_and(|n| !n.archived))
            .collect()
    }

    /// Siblings including the node itself, in order (just the node for the root).
    pub fn siblings(&self, id: NodeId) -> Vec<NodeId> {
        match self.parent(id) {
            Some(p) => self.children(p).to_vec(),
            None => vec![id],
        }
    }

    /// Position of a node among its parent's children.
    pub fn index_in_parent(&self, id: NodeId) -> Option<usize> {
        let parent = self.parent(id)?;
        self.children(parent).iter().position(|&c| c == id)
    }

    /// The ancestors of `id`, from the root down to and including `id`.
    pub fn ancestry(&self, id: NodeId) -> Vec<NodeId> {
        let mut chain = Vec::new();
        let mut current = Some(id);
        while let Some(c) = current {
            if !self.contains(c) {
                break;
            }
            chain.push(c);
            current = self.parent(c);
        }
        chain.reverse();
        chain
    }

    /// Depth of a node: 0 for the root.
    pub fn depth(&self, id: NodeId) -> usize {
        self.ancestry(id).len().saturating_sub(1)
    }

    /// True when `ancestor` is `id` or lies on the path from the root to `id`.
    pub fn is_ancestor(&self, ancestor: NodeId, id: NodeId) -> bool {
        let mut current = Some(id);
        while let Some(c) = current {
            if c == ancestor {
                return true;
            }
            current = self.parent(c);
        }
        false
    }

    /// The concatenated text from the root down to `id`.
    pub fn path_text(&self, id: NodeId) -> Result<String, TreeError> {
        self.node(id)?;
        let chain = self.ancestry(id);
        let len = chain
            .iter()
            .filter_map(|c| self.get(*c))
            .map(|n| n.text.len())
            .sum();
        let mut text = String::with_capacity(len);
        for c in chain {
            if let Some(n) = self.get(c) {
                text.push_str(&n.text);
            }
        }
        Ok(text)
    }

    /// Every node of the subtree at `id`, parents before children, children in order.
    pub fn preorder(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        if !self.contains(id) {
            return out;
        }
        let mut stack = vec![id];
        while let Some(c) = stack.pop() {
            out.push(c);
            stack.extend(self.children(c).iter().rev().copied());
        }
        out
    }

    /// All node ids in tree order.
    pub fn all_nodes(&self) -> Vec<NodeId> {
        self.preorder(self.root)
    }

    /// The underlying graph (edges run parent -> child), for graph algorithms and DOT.
    pub fn graph(&self) -> &StableDiGraph<Node, ()> {
        &self.graph
    }

    pub fn cursor(&self) -> NodeId {
        self.cursor
    }

    pub fn hoist(&self) -> Option<NodeId> {
        self.hoist
    }

    /// The node views treat as the root: the hoisted node, else the root.
    pub fn view_root(&self) -> NodeId {
        self.hoist
            .filter(|h| self.contains(*h))
            .unwrap_or(self.root)
    }

    /// The id the next created node will get (saved so ids are never reused).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    pub(crate) fn set_next_id(&mut self, next: u64) {
        self.next_id = self.next_id.max(next);
    }
}
