//! The weave in the TUI: `:weave REGEX [TOKENS]` searches below the cursor by itself, in
//! rounds of ordinary generation jobs (the tree fills as it would under `g`, and `Esc`
//! cancels a round's jobs like any others), while the person reads, keeps and archives;
//! `:weave pause`, `resume`, `stop`, `root` (search below the cursor from now on) and `best`
//! (jump to the best node found).

use super::msg::Effect;
use super::state::{App, Level};
use crate::engine::{JobId, ModelDescription};
use crate::tree::NodeId;
use crate::weave::Rubric;
use crate::weave::weaver::Weaver;

/// Tokens a weave may spend when `:weave` names no budget.
const DEFAULT_BUDGET: usize = 2000;

pub fn command(app: &mut App, args: &str, fx: &mut Vec<Effect>) {
    let args = args.trim();
    match args {
        "" => {
            let text = match &app.weave {
                Some(w) => summary(w),
                None => "weave REGEX [TOKENS] searches below the cursor by itself".into(),
            };
            app.say(Level::Info, text);
        }
        "stop" => match app.weave.as_mut() {
            Some(w) => {
                w.stop();
                app.say(Level::Info, "weave: stopping after the round in flight");
            }
            None => app.say(Level::Info, "no weave is running"),
        },
        "pause" => match app.weave.as_mut() {
            Some(w) => {
                w.paused = true;
                app.say(Level::Info, "weave paused (:weave resume goes on)");
            }
            None => app.say(Level::Info, "no weave is running"),
        },
        "resume" => match app.weave.as_mut() {
            Some(w) if w.halted.is_none() => {
                w.paused = false;
                app.say(Level::Info, "weave resumed");
                next(app, fx);
            }
            Some(_) => app.say(
                Level::Info,
                "the weave has ended: :weave REGEX starts another",
            ),
            None => app.say(Level::Info, "no weave is running"),
        },
        "root" => {
            let cursor = app.loom.cursor();
            let moved = match app.weave.as_mut() {
                Some(w) if w.halted.is_none() => Some(w.move_root(&app.loom, cursor)),
                _ => None,
            };
            match moved {
                Some(Ok(())) => {
                    next(app, fx);
                    app.say(Level::Info, "weave: searching below this node from now on");
                }
                Some(Err(e)) => app.say(Level::Error, format!("weave: {e}")),
                None => app.say(Level::Info, "no weave is running"),
            }
        }
        "best" => match app.weave.as_ref().and_then(|w| w.best()).map(|b| b.id) {
            Some(id) if app.loom.contains(id) => {
                super::navigate::go(app, id);
                app.say(Level::Info, "the best node the weave found");
            }
            _ => app.say(Level::Info, "the weave has found nothing yet"),
        },
        _ => start(app, args, fx),
    }
}

fn start(app: &mut App, args: &str, fx: &mut Vec<Effect>) {
    if !super::curate::writable(app) {
        return;
    }
    if app.weave.as_ref().is_some_and(|w| w.halted.is_none()) {
        return app.say(
            Level::Warning,
            "a weave is already running: :weave stop ends it",
        );
    }
    // A last word that is a number is the budget.
    let (pattern, budget) = match args.rsplit_once(' ') {
        Some((p, n)) if n.parse::<usize>().is_ok() => {
            (p.trim(), n.parse().unwrap_or(DEFAULT_BUDGET))
        }
        _ => (args, DEFAULT_BUDGET),
    };
    let rubric = match Rubric::from_regex(pattern) {
        Ok(r) => r,
        Err(e) => return app.say(Level::Error, e),
    };
    let root = app.loom.cursor();
    match Weaver::new(&app.loom, rubric, root, budget, 2) {
        Ok(w) => {
            app.weave = Some(w);
            app.say(
                Level::Info,
                format!("weave: searching below this node for {pattern:?}, {budget} tokens"),
            );
            next(app, fx);
        }
        Err(e) => app.say(Level::Error, format!("weave: {e}")),
    }
}

/// A job ended: if it was the weave's, the round may be over; then the next one starts.
pub fn job_ended(
    app: &mut App,
    job: JobId,
    kept: &[NodeId],
    error: Option<&str>,
    fx: &mut Vec<Effect>,
) {
    let Some(w) = app.weave.as_mut() else {
        return;
    };
    if !w.owns(job) {
        return;
    }
    if w.job_ended(&mut app.loom, job, kept, error) {
        app.file.dirty = true;
        app.touch();
        next(app, fx);
    }
}

/// Starts the next round, or says why the weave ended.
fn next(app: &mut App, fx: &mut Vec<Effect>) {
    let model = app.model().cloned().unwrap_or_else(|| ModelDescription {
        model: "(loading)".into(),
        backend: app.backend_name.clone(),
        context_length: 0,
    });
    let mut params = app.sampling.clone();
    params.seed = app.next_random() % (1 << 31);
    let trim = app.config.ui.trim_prompt;
    let now = app.now;
    let Some(w) = app.weave.as_mut() else {
        return;
    };
    let requests = w.next_round(&mut app.loom, &mut app.jobs, &params, &model, trim, now);
    let text = summary(w);
    let started = !requests.is_empty();
    fx.extend(requests.into_iter().map(Effect::Engine));
    if started {
        app.file.dirty = true;
    }
    let level = match w.halted {
        Some(crate::weave::weaver::Halt::Failed(_)) => Level::Error,
        _ => Level::Info,
    };
    app.say(level, text);
}

fn summary(w: &Weaver) -> String {
    let r = &w.report;
    let best = w.best().map_or(String::new(), |b| {
        format!(
            " · best {:.2}{}",
            b.score,
            if b.passes {
                " (passes; :weave best)"
            } else {
                ""
            }
        )
    });
    let state = match (&w.halted, w.paused) {
        (Some(h), _) => format!("ended: {}", h.describe()),
        (None, true) => "paused".into(),
        (None, false) => format!("round {}", r.rounds + 1),
    };
    format!(
        "weave {state} · {} of {} tokens · {} nodes, {} archived{best}",
        r.tokens_used, w.budget_tokens, r.nodes_added, r.archived
    )
}
