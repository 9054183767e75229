//! The job table: every request sent to the engine, what it is for, and its progress.
//! Events for jobs not in the table (finished, cancelled, from a replaced engine) are dropped.

use super::convert::BranchText;
use crate::engine::{CancelFlag, JobId, SamplingParams};
use crate::tree::NodeId;

/// What a job is doing.
#[derive(Debug, Clone)]
pub enum JobKind {
    /// Filling `nodes` (one per branch) under `parent`.
    Expand {
        parent: NodeId,
        nodes: Vec<NodeId>,
        text: Vec<BranchText>,
        params: SamplingParams,
    },
    /// Counting the prompt's tokens for the context inspector.
    Inspect,
    /// Scoring the path text to `node` (the text sent, to place the scores).
    Score { node: NodeId, text: String },
    /// The most probable token tree below `node`.
    Explore { node: NodeId },
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub cancel: CancelFlag,
    pub queued_at: u64,
    pub started_at: Option<u64>,
    pub first_token_at: Option<u64>,
    pub tokens: usize,
    pub finished_branches: usize,
}

impl Job {
    /// A job just queued at `now`, with nothing received yet.
    pub fn queued(id: JobId, kind: JobKind, cancel: CancelFlag, now: u64) -> Job {
        Job {
            id,
            kind,
            cancel,
            queued_at: now,
            started_at: None,
            first_token_at: None,
            tokens: 0,
            finished_branches: 0,
        }
    }

    /// Tokens per second since the first token.
    pub fn rate(&self, now: u64) -> Option<f64> {
        let first = self.first_token_at?;
        let secs = now.saturating_sub(first) as f64 / 1000.0;
        (secs > 0.2 && self.tokens > 1).then(|| (self.tokens - 1) as f64 / secs)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Jobs {
    next: u64,
    list: Vec<Job>,
}

impl Jobs {
    pub fn next_id(&mut self) -> JobId {
        self.next += 1;
        JobId(self.next)
    }

    pub fn add(&mut self, job: Job) {
        self.list.push(job);
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut Job> {
        self.list.iter_mut().find(|j| j.id == id)
    }

    pub fn remove(&mut self, id: JobId) -> Option<Job> {
        let i = self.list.iter().position(|j| j.id == id)?;
        Some(self.list.remove(i))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Job> {
        self.list.iter()
    }

    /// Generation jobs not yet finished.
    pub fn expansions(&self) -> impl Iterator<Item = &Job> {
        self.list
            .iter()
            .filter(|j| matches!(j.kind, JobKind::Expand { .. }))
    }

    pub fn is_busy(&self) -> bool {
        self.expansions().next().is_some()
    }

    /// Is this node being written right now (or queued to be)?
    pub fn is_generating(&self, node: NodeId) -> bool {
        self.expansions().any(|j| match &j.kind {
            JobKind::Expand { nodes, .. } => nodes.contains(&node),
            _ => false,
        })
    }

    /// Cancel every generation; returns how many.
    pub fn cancel_all(&mut self) -> usize {
        let mut n = 0;
        for job in self
            .list
            .iter_mut()
            .filter(|j| matches!(j.kind, JobKind::Expand { .. }))
        {
            job.cancel.cancel();
            n += 1;
        }
        n
    }

    /// Forget every job (the engine was replaced); their flags are cancelled.
    pub fn clear(&mut self) {
        for job in &self.list {
            job.cancel.cancel();
        }
        self.list.clear();
    }

    /// Total tokens per second over running generations.
    pub fn rate(&self, now: u64) -> Option<f64> {
        let rates: Vec<f64> = self.expansions().filter_map(|j| j.rate(now)).collect();
        (!rates.is_empty()).then(|| rates.iter().sum())
    }
}
