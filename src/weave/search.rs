//! The weave's search policy, with no engine and no file: which nodes to expand next, how
//! values back up the tree, and which branches to archive. It sees the loom through
//! `Shape` (children and the person's marks), so tests drive it with a fake tree.
//!
//! - A node's **value** is its own score until it has scored children, then their soft
//!   maximum (log-mean-exp at temperature `softness`): a single lucky child counts, a
//!   branch whose children are all good counts more, and a node whose children all went
//!   wrong loses its pull (its own score still counts for `best`).
//! - **Selection** descends from the search root by value plus an exploration bonus
//!   (`explore * sqrt(ln(1 + N(parent)) / (1 + N(child)))`, `N` = expansions below), as
//!   UCT does, and expands the first unexpanded node it reaches. Several nodes are chosen
//!   per round for one batch: each pick adds a virtual visit along its path, so the next
//!   pick leans elsewhere.
//! - **The person's marks** weigh in: a kept (bookmarked) node's value gets `kept_bonus`
//!   (a shift, not a floor: bad children still pull it down), an archived one is never chosen, and neither they, their ancestors, nor the
//!   cursor's path are archived by the search.
//! - **Archiving**: after a round, a child whose value trails its best sibling's by more
//!   than `archive_margin` and that was never expanded is archived (never deleted).

use crate::tree::NodeId;
use std::collections::{HashMap, HashSet};

/// What the policy needs to know of the tree.
pub trait Shape {
    /// The children the search may use (not archived).
    fn children(&self, id: NodeId) -> Vec<NodeId>;
    /// Whether the person kept (bookmarked) it.
    fn kept(&self, id: NodeId) -> bool;
}

/// The policy's knobs.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub explore: f64,
    pub softness: f64,
    pub kept_bonus: f64,
    pub archive_margin: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            explore: 0.7,
            softness: 0.3,
            kept_bonus: 1.0,
            archive_margin: 1.5,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Stats {
    score: Option<f64>,
    value: f64,
    visits: f64,
    expanded: bool,
}

/// The search's state over one run.
#[derive(Debug, Clone)]
pub struct Search {
    pub policy: Policy,
    stats: HashMap<NodeId, Stats>,
    parent: HashMap<NodeId, NodeId>,
}

impl Search {
    pub fn new(policy: Policy) -> Search {
        Search {
            policy,
            stats: HashMap::new(),
            parent: HashMap::new(),
        }
    }

    /// Records `id`'s own score (under `parent`, if the search knows it).
    pub fn scored(&mut self, id: NodeId, parent: Option<NodeId>, score: f64) {
        let s = self.stats.entry(id).or_default();
        s.score = Some(score);
        s.value = score;
        if let Some(p) = parent {
            self.parent.insert(id, p);
        }
    }

    /// Marks `id` as expanded (its children were asked for).
    pub fn expanded(&mut self, id: NodeId) {
        self.stats.entry(id).or_default().expanded = true;
        let mut at = Some(id);
        while let Some(n) = at {
            self.stats.entry(n).or_default().visits += 1.0;
            at = self.parent.get(&n).copied();
        }
    }

    pub fn score(&self, id: NodeId) -> Option<f64> {
        self.stats.get(&id).and_then(|s| s.score)
    }

    /// The backed-up value of `id` (its own score before any children).
    pub fn value(&self, id: NodeId) -> Option<f64> {
        self.stats
            .get(&id)
            .filter(|s| s.score.is_some())
            .map(|s| s.value)
    }

    /// Recomputes values below `root`, bottom up (without recursion: the weave may start
    /// above a chain thousands of nodes deep).
    pub fn back_up(&mut self, shape: &dyn Shape, root: NodeId) {
        let mut order = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let children = shape.children(id);
            for &c in &children {
                self.parent.entry(c).or_insert(id);
            }
            stack.extend(children.iter().copied());
            order.push((id, children));
        }
        // Children come after their parent in `order`, so backwards meets them first.
        for (id, children) in order.into_iter().rev() {
            let values: Vec<f64> = children.iter().filter_map(|&c| self.value(c)).collect();
            let bonus = if shape.kept(id) {
                self.policy.kept_bonus
            } else {
                0.0
            };
            let softness = self.policy.softness;
            let Some(s) = self.stats.get_mut(&id) else {
                continue;
            };
            let Some(own) = s.score else {
                continue;
            };
            s.value = bonus
                + if values.is_empty() {
                    own
                } else {
                    soft_max(&values, softness)
                };
        }
    }

    /// Up to `k` nodes below `root` to expand next (see the module's note), and how each was
    /// reached; nodes in `busy` are not chosen again.
    pub fn select(
        &mut self,
        shape: &dyn Shape,
        root: NodeId,
        k: usize,
        busy: &HashSet<NodeId>,
    ) -> Vec<NodeId> {
        let mut virtual_visits: HashMap<NodeId, f64> = HashMap::new();
        let mut chosen = Vec::new();
        let mut taken: HashSet<NodeId> = busy.clone();
        for _ in 0..k {
            let Some(path) = self.descend(shape, root, &virtual_visits, &taken) else {
                break;
            };
            let leaf = *path.last().expect("a path has its leaf");
            for n in &path {
                *virtual_visits.entry(*n).or_default() += 1.0;
            }
            taken.insert(leaf);
            chosen.push(leaf);
        }
        chosen
    }

    fn visits(&self, id: NodeId, extra: &HashMap<NodeId, f64>) -> f64 {
        self.stats.get(&id).map_or(0.0, |s| s.visits) + extra.get(&id).copied().unwrap_or(0.0)
    }

    fn descend(
        &self,
        shape: &dyn Shape,
        root: NodeId,
        extra: &HashMap<NodeId, f64>,
        taken: &HashSet<NodeId>,
    ) -> Option<Vec<NodeId>> {
        let mut path = vec![root];
        let mut at = root;
        loop {
            let expanded = self.stats.get(&at).is_some_and(|s| s.expanded);
            let children: Vec<NodeId> = shape
                .children(at)
                .into_iter()
                .filter(|c| self.value(*c).is_some())
                .collect();
            if !expanded && children.is_empty() {
                return (!taken.contains(&at)).then_some(path);
            }
            let n = self.visits(at, extra);
            let best = children
                .iter()
                .filter(|c| self.open(shape, **c, taken))
                .map(|&c| {
                    let v = self.value(c).unwrap_or(f64::NEG_INFINITY);
                    let bonus = self.policy.explore
                        * ((1.0 + n).ln() / (1.0 + self.visits(c, extra))).sqrt();
                    (c, v + bonus)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((c, _)) => {
                    path.push(c);
                    at = c;
                }
                None => return None,
            }
        }
    }

    /// Whether some node at or below `id` can still be chosen.
    fn open(&self, shape: &dyn Shape, id: NodeId, taken: &HashSet<NodeId>) -> bool {
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            let expanded = self.stats.get(&n).is_some_and(|s| s.expanded);
            let children = shape.children(n);
            if !expanded && children.is_empty() {
                if !taken.contains(&n) {
                    return true;
                }
                continue;
            }
            stack.extend(children.into_iter().filter(|c| self.value(*c).is_some()));
        }
        false
    }

    /// Children below `root` to archive: never expanded, trailing their best sibling by
    /// more than `archive_margin`, and not in `protected` (nor above a protected node).
    pub fn to_archive(
        &self,
        shape: &dyn Shape,
        root: NodeId,
        protected: &HashSet<NodeId>,
    ) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let children = shape.children(id);
            let best = children
                .iter()
                .filter_map(|c| self.value(*c))
                .fold(f64::NEG_INFINITY, f64::max);
            for &c in &children {
                let weak = self
                    .value(c)
                    .is_some_and(|v| v < best - self.policy.archive_margin);
                let expanded = self.stats.get(&c).is_some_and(|s| s.expanded);
                if weak && !expanded && !self.guards(shape, c, protected) {
                    out.push(c);
                } else {
                    stack.push(c);
                }
            }
        }
        out
    }

    /// Whether `id` or a node below it is protected or kept.
    fn guards(&self, shape: &dyn Shape, id: NodeId, protected: &HashSet<NodeId>) -> bool {
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            if protected.contains(&n) || shape.kept(n) {
                return true;
            }
            stack.extend(shape.children(n));
        }
        false
    }

    /// The scored node below `root` with the highest own score (`root` itself only when
    /// nothing below it is scored: the search is for what comes after it).
    pub fn best(&self, shape: &dyn Shape, root: NodeId) -> Option<(NodeId, f64)> {
        let mut best: Option<(NodeId, f64)> = None;
        let mut stack = shape.children(root);
        while let Some(id) = stack.pop() {
            if let Some(s) = self.score(id)
                && best.is_none_or(|(_, b)| s > b)
            {
                best = Some((id, s));
            }
            stack.extend(shape.children(id));
        }
        best.or_else(|| self.score(root).map(|s| (root, s)))
    }
}

/// `t * ln(mean(exp(v / t)))`: between the mean (large `t`) and the maximum (small `t`).
pub fn soft_max(values: &[f64], t: f64) -> f64 {
    let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.is_empty() || !m.is_finite() {
        return m;
    }
    let mean = values.iter().map(|v| ((v - m) / t).exp()).sum::<f64>() / values.len() as f64;
    m + t * mean.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_max_lies_between_mean_and_max() {
        let v = [0.0, 1.0, 3.0];
        let s = soft_max(&v, 0.3);
        assert!(s < 3.0 && s > 4.0 / 3.0, "{s}");
        assert!((soft_max(&[2.0], 0.3) - 2.0).abs() < 1e-12);
    }
}
