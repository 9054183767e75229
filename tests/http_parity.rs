//! Parity: the same model behind llama-cpp-python's server and in the local candle engine
//! gives the same greedy text and the same per-token logprobs, within a stated tolerance.
//!
//! Tolerance: both sides read the same Q4_1 weights and both quantize activations to 8 bits
//! per 32 values for the dot products, but independently: llama.cpp keeps the scales in
//! f16, tloom in f32, and they round at different places. Measured on these three prompts
//! against an exact reference (the same weights dequantized to f32, f32 activations):
//! tloom's logprobs move by a mean of 0.018-0.033 nats (max 0.12), llama.cpp's by
//! 0.032-0.044 (max 0.20), often in opposite directions. A token matches when its logprob
//! differs by at most 0.3 nats, and the mean over the compared tokens must be at most 0.08
//! nats. Greedy texts must agree token for token; comparison stops at the first position
//! where they differ if the top two candidates are within 0.25 nats on either side there
//! (the two roundings together may flip such a choice), and fails otherwise.

mod http_support;
mod support;

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;
use tloom::engine::http::OpenAiConfig;
use tloom::engine::local::LocalModelSpec;
use tloom::engine::{
    CancelFlag, EngineEvent, EngineHandle, EngineRequest, ExpandRequest, JobId, Loader,
    SamplingParams, TokenInfo,
};

const MAX_TOKEN_GAP: f32 = 0.3;
const MAX_MEAN_GAP: f32 = 0.08;
const NEAR_TIE: f32 = 0.25;

const PROMPTS: &[&str] = &[
    "The capital of France is Paris. The capital of Germany is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):\n    ",
];

fn local_loader(model: PathBuf) -> Loader {
    tloom::engine::local::loader(LocalModelSpec {
        model: Some(model),
        ..LocalModelSpec::default()
    })
}

/// The default model where `tloom model fetch` puts it.
fn default_model() -> Option<PathBuf> {
    tloom::engine::model_store::installed_default_model()
}

fn inputs() -> Option<(String, PathBuf)> {
    let url = std::env::var("TLOOM_TEST_SERVER_URL")
        .ok()
        .filter(|u| !u.is_empty());
    match (url, default_model()) {
        (Some(url), Some(model)) => Some((url, model)),
        (url, _) => {
            let missing = if url.is_none() {
                "TLOOM_TEST_SERVER_URL (run `eval \"$(scripts/start-test-server.sh start)\"`)"
            } else {
                "the default model in the cache"
            };
            if support::in_ci() {
                panic!("{missing} is missing; CI must provide it");
            }
            eprintln!("skipped: {missing} is missing");
            None
        }
    }
}

/// A started worker and its event stream.
fn start(loader: Loader) -> (EngineHandle, Receiver<EngineEvent>) {
    let (tx, rx) = mpsc::channel();
    let handle = EngineHandle::spawn(
        loader,
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    )
    .expect("spawn worker");
    loop {
        match rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the worker answers")
        {
            EngineEvent::Ready(_) => return (handle, rx),
            EngineEvent::LoadFailed(e) => panic!("load failed: {e}"),
            _ => {}
        }
    }
}

fn greedy_tokens(
    handle: &EngineHandle,
    rx: &Receiver<EngineEvent>,
    job: u64,
    prompt: &str,
) -> Vec<TokenInfo> {
    let params = SamplingParams {
        n: 1,
        max_tokens: 16,
        temperature: 0.0,
        top_logprobs: 5,
        seed: 0,
        ..SamplingParams::default()
    };
    let req = ExpandRequest {
        job: JobId(job),
        prompt: prompt.into(),
        params,
        cancel: CancelFlag::new(),
    };
    assert!(handle.send(EngineRequest::Expand(req)));
    let mut tokens = Vec::new();
    loop {
        match rx
            .recv_timeout(Duration::from_secs(120))
            .expect("events keep coming")
        {
            EngineEvent::Token { token, .. } => tokens.push(token),
            EngineEvent::JobFinished { .. } => return tokens,
            EngineEvent::JobFailed { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
}

fn near_tie(token: &TokenInfo) -> bool {
    match token.top.as_slice() {
        [a, b, ..] => (a.logprob - b.logprob).abs() <= NEAR_TIE,
        _ => false,
    }
}

#[test]
fn server_and_local_engine_agree_on_greedy_text_and_logprobs() {
    let Some((url, model)) = inputs() else { return };
    let (server, server_rx) = start(tloom::engine::http::loader(
        "server".into(),
        OpenAiConfig::ad_hoc(url, None),
    ));
    let (local, local_rx) = start(local_loader(model));
    let mut gaps = Vec::new();
    for (i, prompt) in PROMPTS.iter().enumerate() {
        let remote = greedy_tokens(&server, &server_rx, i as u64, prompt);
        let here = greedy_tokens(&local, &local_rx, i as u64, prompt);
        assert!(!remote.is_empty() && !here.is_empty(), "{prompt:?}");
        for (r, l) in remote.iter().zip(&here) {
            if r.text != l.text {
                // Rounding may flip the choice only where the top two are nearly tied.
                assert!(
                    near_tie(r) || near_tie(l),
                    "{prompt:?}: greedy choices differ without a near tie: server {remote:?}\nlocal {here:?}"
                );
                break;
            }
            let gap = (r.logprob - l.logprob).abs();
            assert!(
                gap <= MAX_TOKEN_GAP,
                "{prompt:?} token {:?}: server {} local {}",
                r.text,
                r.logprob,
                l.logprob
            );
            gaps.push(gap);
            if near_tie(r) || near_tie(l) {
                break; // the next choice may flip on rounding alone
            }
        }
    }
    let mean = gaps.iter().sum::<f32>() / gaps.len() as f32;
    eprintln!(
        "compared {} tokens; mean |Δlogprob| = {mean:.4} nats, max = {:.4}",
        gaps.len(),
        gaps.iter().cloned().fold(0.0, f32::max)
    );
    assert!(mean <= MAX_MEAN_GAP, "mean gap {mean} nats");
    server.shutdown();
    local.shutdown();
}
