//! Undo and redo: steps of inverse edits, unlimited within a run; a batch is one step.

use super::edit::Edit;
use super::error::TreeError;
use super::id::NodeId;
use super::loom::Loom;

/// One undoable step: the inverses of the edits it made, in the order they were made.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    label: String,
    inverses: Vec<Edit>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
    batch: Option<Step>,
    batch_depth: usize,
}

impl Loom {
    /// Apply `edits` in order as one undoable step. If any fails, the ones already applied
    /// are rolled back and the loom is unchanged.
    pub(crate) fn record(&mut self, label: &str, edits: Vec<Edit>) -> Result<(), TreeError> {
        let mut inverses = Vec::with_capacity(edits.len());
        for edit in edits {
            match self.apply(edit) {
                Ok(inverse) => inverses.push(inverse),
                Err(err) => {
                    self.roll_back(inverses);
                    return Err(err);
                }
            }
        }
        if inverses.is_empty() {
            return Ok(());
        }
        self.history.redo.clear();
        match self.history.batch.as_mut() {
            Some(batch) => batch.inverses.extend(inverses),
            None => self.history.undo.push(Step {
                label: label.to_string(),
                inverses,
            }),
        }
        Ok(())
    }

    fn roll_back(&mut self, inverses: Vec<Edit>) {
        for inverse in inverses.into_iter().rev() {
            // An inverse of an edit that just succeeded applies cleanly.
            let _ = self.apply(inverse);
        }
    }

    /// Start grouping operations into one undo step (nests; the outermost label wins).
    pub fn begin_batch(&mut self, label: &str) {
        self.history.batch_depth += 1;
        if self.history.batch.is_none() {
            self.history.batch = Some(Step {
                label: label.to_string(),
                inverses: Vec::new(),
            });
        }
    }

    /// Close a batch opened with `begin_batch`.
    pub fn end_batch(&mut self) {
        self.history.batch_depth = self.history.batch_depth.saturating_sub(1);
        if self.history.batch_depth == 0
            && let Some(step) = self.history.batch.take()
            && !step.inverses.is_empty()
        {
            self.history.undo.push(step);
        }
    }

    /// Undo the last step. Returns the node the step was about, for the cursor.
    pub fn undo(&mut self) -> Result<Option<NodeId>, TreeError> {
        self.end_open_batch();
        let step = self
            .history
            .undo
            .pop()
            .ok_or(TreeError::NothingTo("undo"))?;
        let (focus, redo) = self.replay(step);
        self.history.redo.push(redo);
        Ok(focus)
    }

    /// Redo the last undone step.
    pub fn redo(&mut self) -> Result<Option<NodeId>, TreeError> {
        self.end_open_batch();
        let step = self
            .history
            .redo
            .pop()
            .ok_or(TreeError::NothingTo("redo"))?;
        let (focus, undo) = self.replay(step);
        self.history.undo.push(undo);
        Ok(focus)
    }

    fn end_open_batch(&mut self) {
        if self.history.batch.is_some() {
            self.history.batch_depth = 1;
            self.end_batch();
        }
    }

    /// Apply a step's inverses newest first, producing the step that reverses it again.
    fn replay(&mut self, step: Step) -> (Option<NodeId>, Step) {
        let mut reversed = Vec::with_capacity(step.inverses.len());
        let mut focus = None;
        for edit in step.inverses.into_iter().rev() {
            let about = edit.focus();
            if let Ok(inverse) = self.apply(edit) {
                focus = about.filter(|id| self.contains(*id)).or(focus);
                reversed.push(inverse);
            }
        }
        // `reversed` holds the new inverses in the order they were applied; replaying it
        // walks them newest first, which is the correct order to undo this undo.
        let focus = focus.or_else(|| reversed.iter().find_map(|e| e.focus()));
        (
            focus.filter(|id| self.contains(*id)),
            Step {
                label: step.label,
                inverses: reversed,
            },
        )
    }

    pub fn can_undo(&self) -> bool {
        !self.history.undo.is_empty()
            || self
                .history
                .batch
                .as_ref()
                .is_some_and(|b| !b.inverses.is_empty())
    }

    pub fn can_redo(&self) -> bool {
        !self.history.redo.is_empty()
    }

    /// Label of the step `undo` would revert.
    pub fn undo_label(&self) -> Option<&str> {
        self.history.undo.last().map(|s| s.label.as_str())
    }

    /// Label of the step `redo` would reapply.
    pub fn redo_label(&self) -> Option<&str> {
        self.history.redo.last().map(|s| s.label.as_str())
    }

    /// Forget all undo history (after loading a file, for example).
    pub fn clear_history(&mut self) {
        self.history = History::default();
    }
}
