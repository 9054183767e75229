//! The weave in the app, driven through `update` with palette commands and engine events:
//! rounds of ordinary generation jobs, scores recorded, the best node one command away,
//! pause, resume, stop, and Esc stopping it with the generations it cut.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use support::app::*;
use tloom::app::Effect;
use tloom::engine::{
    BranchSummary, EngineEvent, EngineRequest, ExpandRequest, FinishReason, TokenInfo,
};

fn said(app: &tloom::app::App) -> String {
    app.status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default()
}

fn requests(fx: &[Effect]) -> Vec<ExpandRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Engine(EngineRequest::Expand(r)) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn token(text: &str) -> TokenInfo {
    TokenInfo {
        id: Some(1),
        text: text.into(),
        logprob: -0.5,
        entropy: Some(1.0),
        top: Vec::new(),
    }
}

/// Plays a job to its end: branch `b` writes `texts[b]` (one token each); returns the
/// effects of the events.
fn play(app: &mut tloom::app::App, r: &ExpandRequest, texts: &[&str]) -> Vec<Effect> {
    let mut fx = engine(
        app,
        EngineEvent::Started {
            job: r.job,
            prompt_tokens: 3,
        },
    );
    for (b, t) in texts.iter().enumerate().take(r.params.n) {
        fx.extend(engine(
            app,
            EngineEvent::Token {
                job: r.job,
                branch: b,
                token: token(t),
            },
        ));
        fx.extend(engine(
            app,
            EngineEvent::BranchFinished {
                job: r.job,
                branch: b,
                summary: BranchSummary {
                    reason: FinishReason::Length,
                    tokens: 1,
                    mean_logprob: Some(-0.5),
                    mean_entropy: Some(1.0),
                    seed: r.params.seed + b as u64,
                    error: None,
                },
            },
        ));
    }
    fx.extend(engine(app, EngineEvent::JobFinished { job: r.job }));
    fx
}

fn palette(app: &mut tloom::app::App, command: &str) -> Vec<Effect> {
    press(app, ":");
    type_text(app, command);
    press(app, "enter")
}

#[test]
fn a_weave_runs_rounds_of_jobs_until_a_path_passes_and_jumps_to_it() {
    let mut app = ready("\"The keeper saw\" #1 [*]\n");
    app.sampling.n = 2;
    app.sampling.max_tokens = 4;
    let fx = palette(&mut app, "weave dragon 100");
    let round1 = requests(&fx);
    assert_eq!(
        round1.len(),
        1,
        "the first round expands the only node: {}",
        said(&app)
    );
    assert!(said(&app).contains("round 1"), "{}", said(&app));
    let fx = play(&mut app, &round1[0], &[" a ship", " a bird"]);
    let round2 = requests(&fx);
    assert_eq!(round2.len(), 2, "{}", said(&app));
    assert!(
        said(&app).contains("8 of 100 tokens") || said(&app).contains("2 of 100 tokens"),
        "{}",
        said(&app)
    );
    // The person archives one branch meanwhile; the weave goes on with what is left.
    let fx = play(&mut app, &round2[0], &[" and a dragon", " and a cat"]);
    assert!(requests(&fx).is_empty(), "the round waits for its last job");
    let fx = play(&mut app, &round2[1], &[" flew", " sang"]);
    assert!(requests(&fx).is_empty(), "a path passes: no round 3");
    assert!(said(&app).contains("passes"), "{}", said(&app));
    // Every node the weave made records its score.
    let made: Vec<_> = app
        .loom
        .all_nodes()
        .into_iter()
        .filter(|&id| app.loom.get(id).unwrap().extra.contains_key("weave"))
        .collect();
    assert_eq!(made.len(), 6);
    // The branch pane shows each one's score.
    let screen = screen(&app, 120, 40);
    assert!(screen.contains("weave -1.00"), "{screen}");
    palette(&mut app, "weave best");
    assert!(
        app.loom
            .path_text(app.loom.cursor())
            .unwrap()
            .contains("dragon"),
        "{}",
        said(&app)
    );
}

#[test]
fn pause_resume_stop_and_esc_are_the_persons() {
    let mut app = ready("\"The keeper saw\" #1 [*]\n");
    app.sampling.n = 2;
    app.sampling.max_tokens = 4;
    let fx = palette(&mut app, "weave dragon 1000");
    let r = requests(&fx);
    palette(&mut app, "weave pause");
    let fx = play(&mut app, &r[0], &[" a ship", " a bird"]);
    assert!(requests(&fx).is_empty(), "paused: no next round");
    assert!(said(&app).contains("paused"), "{}", said(&app));
    // The person moves the search below the first branch; the next round grows there.
    press(&mut app, "l");
    let branch = app.loom.cursor();
    palette(&mut app, "weave root");
    assert!(said(&app).contains("below this node"), "{}", said(&app));
    let fx = palette(&mut app, "weave resume");
    let r = requests(&fx);
    assert_eq!(r.len(), 1, "only the new root is there to expand");
    assert!(app.loom.children(branch).len() >= 2);
    // Esc cancels the round's generations and stops the weave.
    press(&mut app, "esc");
    let mut fx = Vec::new();
    for req in &r {
        fx.extend(play(&mut app, req, &[" x", " y"]));
    }
    assert!(requests(&fx).is_empty(), "stopped: no next round");
    palette(&mut app, "weave");
    assert!(said(&app).contains("ended: stopped"), "{}", said(&app));
    // A bad regex is an error, not a weave.
    palette(&mut app, "weave (");
    assert!(
        said(&app).contains("bad --score-regex") || said(&app).contains("regex"),
        "{}",
        said(&app)
    );
}
