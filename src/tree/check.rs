//! Structural invariants of a loom, checked by tests and after risky operations:
//! one root, every node reachable exactly once, parents and children agreeing, and the
//! petgraph edges mirroring the explicit child lists.

use super::loom::Loom;
use petgraph::Direction;
use std::collections::HashSet;

impl Loom {
    /// Describe the first broken invariant, if any.
    pub fn check_invariants(&self) -> Result<(), String> {
        let root = self.get(self.root).ok_or("the root is missing")?;
        if root.parent.is_some() {
            return Err(format!("root {} has a parent", self.root));
        }
        let mut seen = HashSet::with_capacity(self.len());
        let mut stack = vec![self.root];
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                return Err(format!(
                    "node {id} is reachable twice (a cycle or shared child)"
                ));
            }
            let node = self
                .get(id)
                .ok_or_else(|| format!("node {id} is listed but missing"))?;
            if node.id != id {
                return Err(format!("node stored under {id} calls itself {}", node.id));
            }
            let idx = self.index[&id];
            let edge_parents: Vec<_> = self
                .graph
                .neighbors_directed(idx, Direction::Incoming)
                .map(|p| self.graph[p].id)
                .collect();
            let expected: Vec<_> = node.parent.into_iter().collect();
            if edge_parents != expected {
                return Err(format!(
                    "node {id}: graph edges say parent {edge_parents:?}, node says {expected:?}"
                ));
            }
            for &child in &node.children {
                let c = self
                    .get(child)
                    .ok_or_else(|| format!("node {id} lists missing child {child}"))?;
                if c.parent != Some(id) {
                    return Err(format!("child {child} of {id} names parent {:?}", c.parent));
                }
                stack.push(child);
            }
        }
        if seen.len() != self.len() || self.graph.node_count() != self.len() {
            return Err(format!(
                "{} nodes reachable, {} indexed, {} in the graph",
                seen.len(),
                self.len(),
                self.graph.node_count()
            ));
        }
        if self.next_id <= self.index.keys().map(|k| k.0).max().unwrap_or(0) {
            return Err("next_id would reuse an existing id".into());
        }
        if !self.contains(self.cursor) {
            return Err(format!("cursor {} is not a node", self.cursor));
        }
        Ok(())
    }
}
