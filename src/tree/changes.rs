//! Which nodes changed since someone last asked, so changes can be persisted incrementally.
//! Every mutation of a node goes through `node_mut` or adds/removes it in `edit.rs`, which
//! mark it.

use super::id::NodeId;
use super::loom::Loom;

impl Loom {
    /// Note that `id` was created, changed or removed.
    pub fn mark_changed(&mut self, id: NodeId) {
        self.changed.insert(id);
    }

    /// True when some node changed since the last `take_changed`.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    /// The ids changed (created, modified or removed) since the last call, in id order;
    /// the set is emptied.
    pub fn take_changed(&mut self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.changed.drain().collect();
        ids.sort_unstable();
        ids
    }
}
