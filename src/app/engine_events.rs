//! Engine events into the app: the session's fold changes the loom and the job table; what
//! comes back becomes the engine's state in the status bar, messages, and the results the
//! predictor views wait for.

use super::msg::Effect;
use super::state::{App, ContextFit, EngineState, Level, Mode};
use crate::engine::EngineEvent;
use crate::session::{Outcome, fold};

pub fn handle(app: &mut App, event: EngineEvent, fx: &mut Vec<Effect>) {
    let model = app.model().cloned();
    let outcomes = fold(&mut app.loom, &mut app.jobs, model.as_ref(), app.now, event);
    for outcome in outcomes {
        match outcome {
            Outcome::Loading { progress, step } => {
                app.engine = EngineState::Loading { progress, step }
            }
            Outcome::Ready(desc) => {
                app.say(
                    Level::Info,
                    format!(
                        "{} ready ({} tokens of context)",
                        desc.model, desc.context_length
                    ),
                );
                app.engine = EngineState::Ready(desc);
            }
            Outcome::LoadFailed(message) => {
                app.say(Level::Error, format!("the model did not load: {message}"));
                app.engine = EngineState::Failed(message);
            }
            Outcome::Notice(level, text) => app.say(level, text),
            Outcome::ExpansionEnded {
                job, kept, error, ..
            } => {
                if let Some(error) = &error {
                    app.say(Level::Error, format!("generation failed: {error}"));
                }
                expansion_ended(app);
                super::weave::job_ended(app, job, &kept, error.as_deref(), fx);
            }
            Outcome::Inspected { job, result } => {
                if let Mode::Context {
                    job: Some(waiting),
                    inspection,
                    ..
                } = &mut app.mode
                    && *waiting == job
                {
                    *inspection = Some(result.map(|i| ContextFit {
                        tokens: i.tokens,
                        context_length: i.context_length,
                        dropped_tokens: i.dropped_tokens,
                        kept_from_byte: i.kept_from_byte,
                    }));
                }
            }
            Outcome::Scored {
                node, text, tokens, ..
            } => super::predictor::scored(app, node, &text, tokens),
            Outcome::Explored { job, roots, .. } => super::multiverse::explored(app, job, roots),
            Outcome::ViewFailed { job, error } => super::predictor::failed(app, job, error),
        }
    }
}

/// A generation ended: "cancelling N generations" gives way once the last of them is over,
/// the branch highlight stays on a branch, and an autosave is scheduled.
fn expansion_ended(app: &mut App) {
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
    let cursor = app.loom.cursor();
    let kids = app.shown_children(cursor).len();
    app.branch_sel = app.branch_sel.min(kids.saturating_sub(1));
    app.touch();
}
