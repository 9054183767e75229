//! Model-written nodes with token data and alternatives, for the predictor's tests.
#![allow(dead_code)]

use super::app::{engine, press};
use tloom::app::{App, Effect};
use tloom::engine::{EngineEvent, EngineRequest, TokenAlternative, TokenInfo};
use tloom::tree::NodeId;

pub fn alt(text: &str, p: f32) -> TokenAlternative {
    TokenAlternative {
        id: Some(text.len() as u32 + 100 * (p * 100.0) as u32),
        text: text.into(),
        logprob: p.ln(),
    }
}

/// A token with probability `p` and alternatives (the token itself among them).
pub fn token(text: &str, p: f32, others: &[(&str, f32)]) -> TokenInfo {
    let mine = alt(text, p);
    let mut top = vec![mine.clone()];
    top.extend(others.iter().map(|(t, q)| alt(t, *q)));
    TokenInfo {
        id: mine.id,
        text: text.into(),
        logprob: mine.logprob,
        entropy: None,
        top,
    }
}

pub fn request(fx: &[Effect]) -> &EngineRequest {
    fx.iter()
        .find_map(|e| match e {
            Effect::Engine(r) => Some(r),
            _ => None,
        })
        .expect("an engine request")
}

/// Generate one branch under the cursor with the given tokens; returns its id.
pub fn generated(app: &mut App, tokens: Vec<TokenInfo>) -> NodeId {
    app.sampling.n = 1;
    let fx = press(app, "g");
    let EngineRequest::Expand(req) = request(&fx) else {
        panic!("not an expand request");
    };
    let job = req.job;
    let node = *app
        .loom
        .children(app.loom.cursor())
        .last()
        .expect("the placeholder");
    for token in tokens {
        engine(
            app,
            EngineEvent::Token {
                job,
                branch: 0,
                token,
            },
        );
    }
    engine(app, EngineEvent::JobFinished { job });
    node
}
