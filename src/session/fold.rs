//! Engine events folded into the loom, routed by the job they belong to: tokens fill their
//! nodes, finished branches get their provenance, a finished generation drops its empty
//! branches. What is not the tree's (the engine's state, results for the predictor views,
//! things to tell the person) comes back as `Outcome`s for the caller to show. Events of
//! jobs not in the table (finished, cancelled, from a replaced engine) are dropped.

use super::convert::finished;
use super::jobs::{Job, JobKind, Jobs};
use crate::engine::{
    EngineEvent, ExploredToken, FinishReason, JobId, ModelDescription, PromptInspection, TokenInfo,
};
use crate::tree::{Generation, Loom, NodeId, Origin};

/// How serious a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// What an event meant beyond the tree's own changes.
#[derive(Debug, Clone)]
pub enum Outcome {
    Loading {
        progress: f32,
        step: String,
    },
    Ready(ModelDescription),
    LoadFailed(String),
    /// Something to tell the person.
    Notice(Level, String),
    /// A generation job is over (finished, cancelled or failed): `kept` are its branches that
    /// got text (the empty ones were removed); `error` says why it failed, if it did.
    ExpansionEnded {
        job: JobId,
        parent: NodeId,
        kept: Vec<NodeId>,
        error: Option<String>,
    },
    /// An `Inspect` job's answer.
    Inspected {
        job: JobId,
        result: Result<PromptInspection, String>,
    },
    /// A `Score` job's tokens for the path text `text` ending at `node`.
    Scored {
        job: JobId,
        node: NodeId,
        text: String,
        tokens: Vec<TokenInfo>,
    },
    /// An `Explore` job's token tree below `node`.
    Explored {
        job: JobId,
        node: NodeId,
        roots: Vec<ExploredToken>,
    },
    /// An `Inspect`, `Score` or `Explore` job failed.
    ViewFailed {
        job: JobId,
        error: String,
    },
}

/// Folds `event` into `loom` and `jobs`; `model` is the engine's model once it is ready,
/// `now` the clock in milliseconds.
pub fn fold(
    loom: &mut Loom,
    jobs: &mut Jobs,
    model: Option<&ModelDescription>,
    now: u64,
    event: EngineEvent,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    match event {
        EngineEvent::Loading { progress, step } => out.push(Outcome::Loading { progress, step }),
        EngineEvent::Ready(desc) => out.push(Outcome::Ready(desc)),
        EngineEvent::LoadFailed(message) => out.push(Outcome::LoadFailed(message)),
        EngineEvent::PromptTrimmed {
            job,
            dropped_tokens,
            kept_tokens,
        } if jobs.get_mut(job).is_some() => out.push(Outcome::Notice(
            Level::Warning,
            format!(
                "prompt too long for the context: its first {dropped_tokens} tokens were left \
                 out ({kept_tokens} kept)"
            ),
        )),
        EngineEvent::PromptTrimmed { .. } => {}
        EngineEvent::Started { job, .. } => started(loom, jobs, model, now, job),
        EngineEvent::Token { job, branch, token } => {
            let Some(j) = jobs.get_mut(job) else {
                return out;
            };
            j.tokens += 1;
            j.first_token_at.get_or_insert(now);
            let JobKind::Expand { nodes, text, .. } = &mut j.kind else {
                return out;
            };
            let (Some(node), Some(assembler)) = (nodes.get(branch).copied(), text.get_mut(branch))
            else {
                return out;
            };
            let (piece, record) = assembler.push(&token);
            if loom.append_generated(node, &piece, Some(record)).is_err() {
                // The node was deleted or undone: nothing left to fill for this branch.
                if nodes.iter().all(|n| !loom.contains(*n)) {
                    j.cancel.cancel();
                }
            }
        }
        EngineEvent::BranchFinished {
            job,
            branch,
            summary,
        } => {
            let Some(j) = jobs.get_mut(job) else {
                return out;
            };
            j.finished_branches += 1;
            let JobKind::Expand { nodes, .. } = &j.kind else {
                return out;
            };
            let Some(node) = nodes.get(branch).copied() else {
                return out;
            };
            if let Some(origin) = loom.get(node).map(|n| finished(&n.origin, &summary)) {
                let _ = loom.set_origin(node, origin);
            }
            if summary.reason == FinishReason::Error {
                let why = summary.error.unwrap_or_else(|| "the backend failed".into());
                out.push(Outcome::Notice(
                    Level::Error,
                    format!("a branch stopped early: {why} (its text so far is kept)"),
                ));
            }
        }
        EngineEvent::JobFinished { job } => {
            if let Some(j) = jobs.remove(job) {
                out.extend(ended(loom, j, None));
            }
        }
        EngineEvent::JobFailed { job, error } => match jobs.remove(job) {
            Some(j) if matches!(j.kind, JobKind::Expand { .. }) => {
                mark_unfinished_as_failed(loom, &j);
                out.extend(ended(loom, j, Some(error)));
            }
            Some(_) => out.push(Outcome::ViewFailed { job, error }),
            None => {}
        },
        EngineEvent::Inspected { job, result } => {
            if let Some(Job {
                kind: JobKind::Inspect,
                ..
            }) = jobs.remove(job)
            {
                out.push(Outcome::Inspected { job, result });
            }
        }
        EngineEvent::Scored { job, tokens } => {
            if let Some(Job {
                kind: JobKind::Score { node, text },
                ..
            }) = jobs.remove(job)
            {
                out.push(Outcome::Scored {
                    job,
                    node,
                    text,
                    tokens,
                });
            }
        }
        EngineEvent::Explored { job, roots } => {
            if let Some(Job {
                kind: JobKind::Explore { node },
                ..
            }) = jobs.remove(job)
            {
                out.push(Outcome::Explored { job, node, roots });
            }
        }
    }
    out
}

/// The job's prefill is done: placeholders made before the model was known get its name.
fn started(
    loom: &mut Loom,
    jobs: &mut Jobs,
    model: Option<&ModelDescription>,
    now: u64,
    job: JobId,
) {
    let Some(j) = jobs.get_mut(job) else {
        return;
    };
    j.started_at = Some(now);
    let (JobKind::Expand { nodes, .. }, Some(model)) = (&j.kind, model) else {
        return;
    };
    for &node in nodes {
        if let Some(Origin::Model(g)) = loom.get(node).map(|n| n.origin.clone())
            && g.model != model.model
        {
            let origin = Origin::Model(Generation {
                model: model.model.clone(),
                ..g
            });
            let _ = loom.set_origin(node, origin);
        }
    }
}

/// A failed job's branches that never heard how they ended keep their text, marked "error".
fn mark_unfinished_as_failed(loom: &mut Loom, job: &Job) {
    let JobKind::Expand { nodes, .. } = &job.kind else {
        return;
    };
    for &node in nodes {
        if let Some(Origin::Model(g)) = loom.get(node).map(|n| n.origin.clone())
            && g.finish.is_none()
        {
            let origin = Origin::Model(Generation {
                finish: Some("error".into()),
                ..g
            });
            let _ = loom.set_origin(node, origin);
        }
    }
}

/// A generation is over: branches that never got any text are removed (one undo step), the
/// rest stay (a cut branch keeps its text).
fn ended(loom: &mut Loom, job: Job, error: Option<String>) -> Option<Outcome> {
    let JobKind::Expand { parent, nodes, .. } = job.kind else {
        return None;
    };
    let (empty, kept): (Vec<NodeId>, Vec<NodeId>) = nodes
        .into_iter()
        .filter(|n| loom.contains(*n))
        .partition(|n| {
            loom.get(*n)
                .is_some_and(|node| node.text.is_empty() && node.children().is_empty())
        });
    if !empty.is_empty() {
        loom.begin_batch("remove empty branches");
        for node in &empty {
            let _ = loom.delete(*node);
        }
        loom.end_batch();
    }
    Some(Outcome::ExpansionEnded {
        job: job.id,
        parent,
        kept,
        error,
    })
}
