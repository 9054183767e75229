//! Preference pairs for training, one JSON object per line: at every branch, each kept
//! child (bookmarked, or on the path to the cursor, and not archived) against each archived
//! sibling. `prompt` is the path text down to the parent; `chosen` and `rejected` are the
//! children's own texts. Node ids and models ride along for traceability.

use crate::tree::{Loom, NodeId};
use serde_json::json;
use std::collections::HashSet;

pub fn render(loom: &Loom) -> String {
    let on_path: HashSet<NodeId> = loom.ancestry(loom.cursor()).into_iter().collect();
    let mut out = String::new();
    for parent in loom.all_nodes() {
        let children = loom.children(parent);
        let get = |id: &NodeId| loom.get(*id);
        let kept: Vec<_> = children
            .iter()
            .filter_map(get)
            .filter(|n| !n.archived && (n.bookmarked || on_path.contains(&n.id())))
            .collect();
        let rejected: Vec<_> = children
            .iter()
            .filter_map(get)
            .filter(|n| n.archived)
            .collect();
        if kept.is_empty() || rejected.is_empty() {
            continue;
        }
        let prompt = loom.path_text(parent).unwrap_or_default();
        for chosen in &kept {
            for reject in &rejected {
                let line = json!({
                    "prompt": prompt,
                    "chosen": chosen.text,
                    "rejected": reject.text,
                    "prompt_node": parent.to_string(),
                    "chosen_node": chosen.id().to_string(),
                    "rejected_node": reject.id().to_string(),
                    "chosen_model": chosen.origin.model_name(),
                    "rejected_model": reject.origin.model_name(),
                });
                out.push_str(&line.to_string());
                out.push('\n');
            }
        }
    }
    out
}
