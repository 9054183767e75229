//! Engine events into the loom: tokens fill their nodes, finished branches get their
//! provenance, failures become status messages. Events of unknown jobs are dropped.

use super::msg::Effect;
use super::state::{App, EngineState, Level, Mode};
use crate::engine::{EngineEvent, FinishReason, JobId};
use crate::session::convert::finished;
use crate::session::jobs::JobKind;
use crate::tree::{Generation, Origin};

pub fn handle(app: &mut App, event: EngineEvent, fx: &mut Vec<Effect>) {
    let _ = fx;
    match event {
        EngineEvent::Loading { progress, step } => {
            app.engine = EngineState::Loading { progress, step }
        }
        EngineEvent::Ready(desc) => {
            app.say(
                Level::Info,
                format!(
                    "{} ready ({} tokens of context)",
                    desc.model, desc.context_length
                ),
            );
            app.engine = EngineState::Ready(desc);
        }
        EngineEvent::LoadFailed(message) => {
            app.say(Level::Error, format!("the model did not load: {message}"));
            app.engine = EngineState::Failed(message);
        }
        EngineEvent::PromptTrimmed {
            job,
            dropped_tokens,
            kept_tokens,
        } if app.jobs.get_mut(job).is_some() => {
            app.say(
                Level::Warning,
                format!("prompt too long for the context: its first {dropped_tokens} tokens were left out ({kept_tokens} kept)"),
            );
        }
        EngineEvent::Started { job, .. } => started(app, job),
        EngineEvent::Token { job, branch, token } => {
            let now = app.now;
            let Some(j) = app.jobs.get_mut(job) else {
                return;
            };
            j.tokens += 1;
            j.first_token_at.get_or_insert(now);
            let JobKind::Expand { nodes, text, .. } = &mut j.kind else {
                return;
            };
            let (Some(node), Some(assembler)) = (nodes.get(branch).copied(), text.get_mut(branch))
            else {
                return;
            };
            let (piece, record) = assembler.push(&token);
            if app
                .loom
                .append_generated(node, &piece, Some(record))
                .is_err()
            {
                // The node was deleted or undone: nothing left to fill for this branch.
                if all_gone(app, job)
                    && let Some(j) = app.jobs.get_mut(job)
                {
                    j.cancel.cancel();
                }
            }
        }
        EngineEvent::BranchFinished {
            job,
            branch,
            summary,
        } => {
            let Some(j) = app.jobs.get_mut(job) else {
                return;
            };
            j.finished_branches += 1;
            let JobKind::Expand { nodes, .. } = &j.kind else {
                return;
            };
            let Some(node) = nodes.get(branch).copied() else {
                return;
            };
            if let Some(origin) = app.loom.get(node).map(|n| finished(&n.origin, &summary)) {
                let _ = app.loom.set_origin(node, origin);
            }
            if summary.reason == FinishReason::Error {
                let why = summary.error.unwrap_or_else(|| "the backend failed".into());
                app.say(
                    Level::Error,
                    format!("a branch stopped early: {why} (its text so far is kept)"),
                );
            }
        }
        EngineEvent::JobFinished { job } => finish(app, job),
        EngineEvent::JobFailed { job, error } if super::predictor::owns(app, job) => {
            super::predictor::failed(app, job, error)
        }
        EngineEvent::JobFailed { job, error } => {
            if app.jobs.get_mut(job).is_some() {
                app.say(Level::Error, format!("generation failed: {error}"));
                mark_unfinished_as_failed(app, job);
                finish(app, job);
            }
        }
        EngineEvent::Inspected { job, result } => {
            if let Mode::Context {
                job: Some(waiting),
                inspection,
                ..
            } = &mut app.mode
                && *waiting == job.0
            {
                *inspection = Some(result);
            }
            app.jobs.remove(job);
        }
        EngineEvent::Scored { job, tokens } => super::predictor::scored(app, job, tokens),
        EngineEvent::Explored { job, roots } => super::multiverse::explored(app, job, roots),
        EngineEvent::PromptTrimmed { .. } => {}
    }
}

/// The job's prefill is done: placeholders made before the model was known get its name.
fn started(app: &mut App, job: JobId) {
    let now = app.now;
    let model = app.model().cloned();
    let Some(j) = app.jobs.get_mut(job) else {
        return;
    };
    j.started_at = Some(now);
    let (JobKind::Expand { nodes, .. }, Some(model)) = (&j.kind, model) else {
        return;
    };
    for node in nodes.clone() {
        if let Some(Origin::Model(g)) = app.loom.get(node).map(|n| n.origin.clone())
            && g.model != model.model
        {
            let _ = app.loom.set_origin(
                node,
                Origin::Model(Generation {
                    model: model.model.clone(),
                    ..g
                }),
            );
        }
    }
}

/// A failed job's branches that never heard how they ended keep their text, marked "error".
fn mark_unfinished_as_failed(app: &mut App, job: JobId) {
    let Some(JobKind::Expand { nodes, .. }) =
        app.jobs.iter().find(|j| j.id == job).map(|j| &j.kind)
    else {
        return;
    };
    for node in nodes.clone() {
        if let Some(Origin::Model(g)) = app.loom.get(node).map(|n| n.origin.clone())
            && g.finish.is_none()
        {
            let origin = Origin::Model(Generation {
                finish: Some("error".into()),
                ..g
            });
            let _ = app.loom.set_origin(node, origin);
        }
    }
}

fn all_gone(app: &App, job: JobId) -> bool {
    app.jobs
        .iter()
        .find(|j| j.id == job)
        .is_some_and(|j| match &j.kind {
            JobKind::Expand { nodes, .. } => nodes.iter().all(|n| !app.loom.contains(*n)),
            _ => false,
        })
}

/// A job is over: branches that never got any text are removed, the rest stay (a cut
/// branch keeps its text), and an autosave is scheduled.
fn finish(app: &mut App, job: JobId) {
    let Some(j) = app.jobs.remove(job) else {
        return;
    };
    // "cancelling N generations" is true only until the last of them ends.
    if !app.jobs.is_busy()
        && app
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("cancelling "))
    {
        app.say(
            Level::Info,
            "cancelled: the branches keep their text, marked as cut",
        );
    }
    let JobKind::Expand { nodes, .. } = j.kind else {
        return;
    };
    let empty: Vec<_> = nodes
        .iter()
        .copied()
        .filter(|n| {
            app.loom
                .get(*n)
                .is_some_and(|node| node.text.is_empty() && node.children().is_empty())
        })
        .collect();
    if !empty.is_empty() {
        app.loom.begin_batch("remove empty branches");
        for node in &empty {
            let _ = app.loom.delete(*node);
        }
        app.loom.end_batch();
    }
    let cursor = app.loom.cursor();
    let kids = app.shown_children(cursor).len();
    app.branch_sel = app.branch_sel.min(kids.saturating_sub(1));
    app.touch();
}
