//! The exact text sent to the model for a node: memory, then the path text.

use crate::tree::{Loom, NodeId};

/// A prompt and how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The text sent to the model.
    pub text: String,
    /// Bytes of `text` that are memory (at the front), not story.
    pub memory_len: usize,
    /// Trailing spaces and tabs removed from the story's end (the continuation's leading
    /// spaces are dropped up to this count, so the path text gets no double space).
    pub trimmed_spaces: usize,
}

/// The memory in force at `node`: the loom's memory, then each ancestor's subtree memory
/// from the root down, one per line.
pub fn memory_for(loom: &Loom, node: NodeId) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if !loom.memory.trim().is_empty() {
        parts.push(&loom.memory);
    }
    for id in loom.ancestry(node) {
        if let Some(n) = loom.get(id)
            && !n.memory.trim().is_empty()
        {
            parts.push(&n.memory);
        }
    }
    let mut memory = String::new();
    for part in parts {
        memory.push_str(part);
        if !memory.ends_with('\n') {
            memory.push('\n');
        }
    }
    memory
}

/// The prompt for generating children of `node`.
pub fn prompt_for(loom: &Loom, node: NodeId, trim_trailing_spaces: bool) -> Prompt {
    let memory = memory_for(loom, node);
    let mut story = loom.path_text(node).unwrap_or_default();
    let mut trimmed_spaces = 0;
    if trim_trailing_spaces {
        let kept = story.trim_end_matches([' ', '\t']).len();
        trimmed_spaces = story.len() - kept;
        story.truncate(kept);
    }
    Prompt {
        memory_len: memory.len(),
        text: memory + &story,
        trimmed_spaces,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_first_and_trailing_spaces_are_trimmed() {
        let mut loom = Loom::new("Once ");
        loom.memory = "Genre: fable.".into();
        let child = loom.add_child(loom.root(), "upon a time  ").expect("add");
        loom.set_node_memory(loom.root(), "Cast: a fox.\n")
            .expect("memory");
        let p = prompt_for(&loom, child, true);
        assert_eq!(p.text, "Genre: fable.\nCast: a fox.\nOnce upon a time");
        assert_eq!(p.memory_len, "Genre: fable.\nCast: a fox.\n".len());
        assert_eq!(p.trimmed_spaces, 2);
        assert_eq!(
            prompt_for(&loom, child, false).text,
            "Genre: fable.\nCast: a fox.\nOnce upon a time  "
        );
    }
}
