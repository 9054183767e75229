//! Subtree statistics: size, shape, curation marks and who wrote the text.

use super::id::NodeId;
use super::loom::Loom;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SubtreeStats {
    pub nodes: usize,
    /// Longest root-to-leaf distance inside the subtree (0 for a lone node).
    pub depth: usize,
    pub leaves: usize,
    pub bookmarks: usize,
    pub archived: usize,
    /// Characters written by a model (here or in an imported tool).
    pub model_chars: usize,
    /// Characters written by people (or of unknown origin).
    pub human_chars: usize,
}

impl Loom {
    /// Statistics of the subtree rooted at `id` (all zeros for a missing node).
    pub fn stats(&self, id: NodeId) -> SubtreeStats {
        let mut stats = SubtreeStats::default();
        if !self.contains(id) {
            return stats;
        }
        let mut stack = vec![(id, 0usize)];
        while let Some((current, depth)) = stack.pop() {
            let Some(node) = self.get(current) else {
                continue;
            };
            stats.nodes += 1;
            stats.depth = stats.depth.max(depth);
            if node.children().is_empty() {
                stats.leaves += 1;
            }
            stats.bookmarks += usize::from(node.bookmarked);
            stats.archived += usize::from(node.archived);
            let chars = node.text.chars().count();
            if node.origin.is_model() && !node.edited {
                stats.model_chars += chars;
            } else {
                stats.human_chars += chars;
            }
            stack.extend(node.children().iter().map(|&c| (c, depth + 1)));
        }
        stats
    }
}
