//! The HTTP backend against a loopback replay server: recorded transcripts of the vLLM
//! (legacy logprobs), llama-server (chat-style logprobs) and llama-cpp-python dialects, the
//! requests tloom sends, fan-out, the loader's probe, the API key, score and explore.
//! The faults live in `http_faults.rs`.

mod http_support;

use http_support::*;
use serde_json::json;
use std::time::Duration;
use tloom::engine::http::{OpenAiBackend, OpenAiConfig};
use tloom::engine::{Backend, EngineEvent, FinishReason, JobId};

fn server_with_stream(transcript: String) -> ReplayServer {
    ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        "/v1/completions" => Reply::sse(&transcript),
        _ => Reply::json(404, json!({"error": "not found"})),
    })
}

#[test]
fn vllm_dialect_with_server_side_n_routes_interleaved_choices_to_their_branches() {
    let server = server_with_stream(transcript("vllm_stream_n2_legacy_logprobs.sse"));
    let mut config = server.config();
    config.supports_n = true;
    let mut backend = connect(config);
    let req = expand_request("Once upon a time", params(2, 3));
    let (b, end) = outcomes(&run_expand(&mut backend, &req), 2);
    end.expect("job finishes");

    assert_eq!(b[0].text, " there was a");
    assert_eq!(b[0].reason, Some(FinishReason::Length));
    assert_eq!(b[1].text, ", in");
    assert_eq!(
        b[1].reason,
        Some(FinishReason::Eos),
        "vLLM stop_reason null means EOS"
    );
    assert_eq!(b[0].tokens.len(), 3);
    let second = &b[1].tokens[0];
    assert_eq!(second.text, ",");
    assert!((second.logprob - (-1.2040)).abs() < 1e-6);
    assert_eq!(second.entropy, None);
    let tops: Vec<&str> = second.top.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        tops,
        [" there", ",", " in"],
        "alternatives sorted most likely first"
    );
    let eos_top: Vec<&str> = b[1].tokens[2].top.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        eos_top,
        [" a", " the", "<|endoftext|>"],
        "a shuffled dict is sorted"
    );

    let sent = server.completions();
    assert_eq!(sent.len(), 1, "one request carries both branches");
    assert_eq!(sent[0].body["n"], json!(2));
    assert_eq!(sent[0].body["stream"], json!(true));
}

#[test]
fn llama_server_dialect_assembles_utf8_split_across_tokens_from_raw_bytes() {
    let server = server_with_stream(transcript("llama_server_stream_chat_logprobs.sse"));
    let mut backend = connect(server.config());
    let req = expand_request("Le", params(1, 4));
    let (b, end) = outcomes(&run_expand(&mut backend, &req), 1);
    end.expect("job finishes");
    assert_eq!(b[0].text, " Café au");
    let texts: Vec<&str> = b[0].tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        [" Caf", "", "é", " au"],
        "the partial byte waits for its partner"
    );
    assert_eq!(b[0].tokens[0].id, Some(9915));
    assert!((b[0].tokens[3].logprob + std::f32::consts::LN_2).abs() < 1e-4);
    let first_top: Vec<&str> = b[0].tokens[0].top.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(first_top, [" The", " A", " Caf"]);
    assert_eq!(b[0].reason, Some(FinishReason::Length));
}

#[test]
fn every_sampling_value_is_sent_explicitly_with_stop_as_an_array() {
    let server = server_with_stream(transcript("llama_server_stream_chat_logprobs.sse"));
    let mut config = server.config();
    config.max_logprobs = 2;
    config.extra_body.insert("cache_prompt".into(), json!(true));
    let mut backend = connect(config);
    let mut p = params(1, 4);
    p.temperature = 0.7;
    p.top_p = 0.9;
    p.top_k = 0;
    p.min_p = 0.0;
    p.repetition_penalty = 1.1;
    p.repetition_window = 32;
    p.stop = vec!["\n".into()];
    p.top_logprobs = 5;
    run_expand(&mut backend, &expand_request("Hi", p));
    let body = &server.completions()[0].body;
    assert_eq!(body["prompt"], json!("Hi"));
    assert_eq!(body["model"], json!("test-model"));
    assert_eq!(body["max_tokens"], json!(4));
    assert!((body["temperature"].as_f64().expect("temperature") - 0.7).abs() < 1e-6);
    assert!((body["top_p"].as_f64().expect("top_p") - 0.9).abs() < 1e-6);
    assert_eq!(body["top_k"], json!(0));
    assert_eq!(body["min_p"], json!(0.0));
    assert!((body["repetition_penalty"].as_f64().expect("rp") - 1.1).abs() < 1e-6);
    assert!((body["repeat_penalty"].as_f64().expect("rp") - 1.1).abs() < 1e-6);
    assert_eq!(body["repeat_last_n"], json!(32));
    assert_eq!(body["stop"], json!(["\n"]));
    assert_eq!(body["seed"], json!(7));
    assert_eq!(
        body["logprobs"],
        json!(2),
        "min(top_logprobs, max_logprobs)"
    );
    assert_eq!(body["cache_prompt"], json!(true), "extra_body is merged");
}

#[test]
fn without_server_n_branches_fan_out_with_seeds_seed_plus_i_bounded_by_concurrency() {
    let transcript = transcript("llama_server_stream_chat_logprobs.sse");
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Stream {
            pieces: transcript
                .split_inclusive('\n')
                .map(str::to_string)
                .collect(),
            delay: Duration::from_millis(15),
            cut: false,
        },
    });
    let mut config = server.config();
    config.concurrency = 2;
    let mut backend = connect(config);
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("Le", params(5, 4))),
        5,
    );
    end.expect("job finishes");
    for (i, branch) in b.iter().enumerate() {
        assert_eq!(branch.text, " Café au");
        assert_eq!(branch.seed, Some(7 + i as u64));
    }
    let mut seeds: Vec<u64> = server
        .completions()
        .iter()
        .map(|r| {
            assert_eq!(r.body["n"], json!(1));
            r.body["seed"].as_u64().expect("seed")
        })
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, [7, 8, 9, 10, 11]);
    let most = server
        .max_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most <= 2,
        "at most `concurrency` requests at once, saw {most}"
    );
}

#[test]
fn the_loader_reports_an_unreachable_server_by_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }; // closed again: nothing listens there
    let url = format!("http://127.0.0.1:{port}/v1/");
    let loader = tloom::engine::http::ad_hoc_loader(&url, None).expect("a valid URL");
    let error = match loader(&mut |_| {}) {
        Ok(_) => panic!("nothing listens there"),
        Err(e) => e,
    };
    assert!(
        error.contains(&format!("127.0.0.1:{port}/v1/models")),
        "{error}"
    );
    assert!(error.contains("cannot reach"), "{error}");
}

#[test]
fn the_loader_learns_model_and_context_from_models_and_props_through_the_worker() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => Reply::json(200, json!({"data": [{"id": "smollm2", "object": "model"}]})),
        "/props" => Reply::json(
            200,
            json!({"total_slots": 4, "default_generation_settings": {"n_ctx": 8192}}),
        ),
        _ => Reply::json(404, json!({})),
    });
    let config = OpenAiConfig::ad_hoc(format!("{}/v1", server.base), None);
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = tloom::engine::EngineHandle::spawn(
        tloom::engine::http::loader("llama".into(), config),
        Box::new(move |e| {
            let _ = tx.send(e);
        }),
    )
    .expect("spawn");
    let ready = loop {
        match rx.recv_timeout(Duration::from_secs(5)).expect("an event") {
            EngineEvent::Ready(d) => break d,
            EngineEvent::LoadFailed(e) => panic!("{e}"),
            _ => {}
        }
    };
    handle.shutdown();
    assert_eq!(ready.model, "smollm2");
    assert_eq!(ready.backend, "llama");
    assert_eq!(ready.context_length, 8192);
}

#[test]
fn the_api_key_goes_only_into_the_authorization_header() {
    let secret = "sk-tloom-test-0123456789";
    // SAFETY: no other thread of this test binary reads or writes this variable.
    unsafe { std::env::set_var("TLOOM_TEST_HTTP_KEY", secret) };
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        // A hostile server echoing the header back in its error.
        _ => Reply::json(
            401,
            json!({"error": {"message": format!("bad key {}", req.header("authorization").unwrap_or(""))}}),
        ),
    });
    let mut config = server.config();
    config.api_key_env = Some("TLOOM_TEST_HTTP_KEY".into());
    let mut backend = connect(config.clone());
    let events = run_expand(&mut backend, &expand_request("x", params(1, 4)));
    let sent = server.completions();
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {secret}").as_str())
    );
    let (_, end) = outcomes(&events, 1);
    let error = end.expect_err("401");
    assert!(error.contains("HTTP 401"), "{error}");
    let everything = format!(
        "{events:?} {backend:?} {config:?} {:?}",
        toml::to_string(&config)
    );
    assert!(!everything.contains(secret), "the key leaked: {everything}");
    let unset = OpenAiConfig {
        api_key_env: Some("TLOOM_TEST_HTTP_KEY_UNSET".into()),
        ..config
    };
    let mut sink = |_e: EngineEvent| {};
    let err = OpenAiBackend::connect("x".into(), unset, &mut sink).expect_err("unset var");
    assert!(
        err.to_string().contains("TLOOM_TEST_HTTP_KEY_UNSET"),
        "{err}"
    );
}

#[test]
fn score_uses_echo_with_logprobs_and_explains_servers_that_cannot() {
    let server =
        ReplayServer::start(
            |req, _| match (req.path.as_str(), req.body["echo"].as_bool()) {
                ("/v1/models", _) => models_reply(),
                ("/v1/completions", Some(true)) => Reply::json(
                    200,
                    json!({"choices": [{"index": 0, "text": "The cat sat",
            "logprobs": {"tokens": ["The", " cat", " sat"], "token_logprobs": [null, -3.5, -1.0],
                         "top_logprobs": [null, {" cat": -3.5, " dog": -3.1}, {" sat": -1.0}],
                         "text_offset": [0, 3, 7]},
            "finish_reason": "length"}]}),
                ),
                _ => Reply::json(400, json!({"error": {"message": "unexpected"}})),
            },
        );
    let mut backend = connect(server.config());
    let mut events = Vec::new();
    backend.score(JobId(3), "The cat", &mut |e| events.push(e));
    let EngineEvent::Scored { tokens, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        tokens.iter().map(|t| t.text.as_str()).collect::<String>(),
        "The cat"
    );
    assert!(tokens[0].logprob.is_nan(), "the first token has no context");
    assert_eq!(tokens[1].logprob, -3.5);
    assert_eq!(tokens[1].top[0].text, " dog");
    assert_eq!(tokens.len(), 2, "the generated token is cut off");
    assert_eq!(server.completions()[0].body["max_tokens"], json!(1));
    assert_eq!(server.completions()[0].body["echo"], json!(true));

    let refusing = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::json(
            400,
            json!({"error": {"code": 400, "message": "Only no echo is supported", "type": "invalid_request_error"}}),
        ),
    });
    let mut backend = connect(refusing.config());
    let mut events = Vec::new();
    backend.score(JobId(4), "The cat", &mut |e| events.push(e));
    let EngineEvent::JobFailed { error, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(
        error.contains("cannot score") && error.contains("Only no echo is supported"),
        "{error}"
    );

    let mut config = server.config();
    config.supports_echo = false;
    let mut backend = connect(config);
    let mut events = Vec::new();
    backend.score(JobId(5), "The cat", &mut |e| events.push(e));
    let EngineEvent::JobFailed { error, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(error.contains("supports_echo = false"), "{error}");
}

#[test]
fn a_server_that_ignores_n_is_named_as_such() {
    // llama-cpp-python silently answers n = 2 with one choice.
    let server = server_with_stream(transcript("llama_cpp_python_stream_greedy.sse"));
    let mut config = server.config();
    config.supports_n = true;
    let mut backend = connect(config);
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(2, 6))),
        2,
    );
    end.expect("job finishes");
    assert_eq!(b[0].text, " Berlin. The capital of the");
    assert_eq!(b[0].reason, Some(FinishReason::Length));
    assert_eq!(b[1].reason, Some(FinishReason::Error));
    assert!(
        b[1].error
            .as_deref()
            .unwrap_or("")
            .contains("supports_n = false"),
        "{:?}",
        b[1].error
    );
}

#[test]
fn a_recorded_llama_cpp_python_stream_matches_its_logprobs() {
    let server = server_with_stream(transcript("llama_cpp_python_stream_greedy.sse"));
    let mut backend = connect(server.config());
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 6))),
        1,
    );
    end.expect("job finishes");
    let texts: Vec<&str> = b[0].tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, [" Berlin", ".", " The", " capital", " of", " the"]);
    for t in &b[0].tokens {
        assert_eq!(
            t.top[0].logprob, t.logprob,
            "greedy picks the top token: {t:?}"
        );
    }
}

#[test]
fn explore_builds_a_next_token_tree_from_one_token_requests() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => {
            let prompt = req.body["prompt"].as_str().unwrap_or("").to_string();
            let top = if prompt.ends_with(" a") {
                json!({" cat": -0.2, " dog": -1.8})
            } else {
                json!({" a": -0.1, " the": -2.5, " one": -4.0})
            };
            Reply::json(
                200,
                json!({"choices": [{"index": 0, "text": "x", "finish_reason": "length",
                "logprobs": {"tokens": ["x"], "token_logprobs": [-0.1], "top_logprobs": [top]}}]}),
            )
        }
    });
    let mut backend = connect(server.config());
    let mut events = Vec::new();
    let shape = tloom::engine::ExploreShape {
        depth: 2,
        width: 2,
        cutoff: 0.05,
    };
    backend.explore(JobId(5), "I saw", shape, &mut |e| events.push(e));
    let EngineEvent::Explored { roots, .. } = &events[0] else {
        panic!("{events:?}")
    };
    let names: Vec<&str> = roots.iter().map(|r| r.token.text.as_str()).collect();
    assert_eq!(names, [" a", " the"], "width 2; ' one' is cut");
    assert_eq!(roots[0].children.len(), 2);
    assert_eq!(roots[0].children[0].token.text, " cat");
    let p = (-0.1f32).exp() * (-0.2f32).exp();
    assert!((roots[0].children[0].path_prob - p).abs() < 1e-5);
    assert!(
        roots[1].children.iter().all(|c| c.path_prob >= 0.05),
        "cutoff applied below"
    );
    assert_eq!(server.completions().len(), 3, "root, ' a', ' the'");
    assert!(
        server
            .completions()
            .iter()
            .all(|r| r.body["max_tokens"] == json!(1))
    );
}
