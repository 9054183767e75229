//! The HTTP backend against a loopback replay server playing the faults real servers produce:
//! HTTP errors with JSON bodies, 429/503 retries, disconnects mid-stream, truncated streams,
//! CRLF and comments, garbage lines, errors inside the stream, slow drips, cancel, timeouts.

mod http_support;

use http_support::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tloom::engine::{Backend, EngineEvent, FinishReason};

fn server_with_stream(transcript: String) -> ReplayServer {
    ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        "/v1/completions" => Reply::sse(&transcript),
        _ => Reply::json(404, json!({"error": "not found"})),
    })
}

#[test]
fn an_http_500_with_a_json_body_fails_the_job_with_the_servers_own_message() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::json(
            500,
            json!({"error": {"message": "KV cache is full, try a shorter prompt", "type": "server_error"}}),
        ),
    });
    let mut backend = connect(server.config());
    let (_, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(2, 4))),
        2,
    );
    let error = end.expect_err("the job fails");
    assert!(error.contains("HTTP 500"), "{error}");
    assert!(
        error.contains("KV cache is full, try a shorter prompt"),
        "{error}"
    );
    assert!(error.contains("/v1/completions"), "names the URL: {error}");
}

#[test]
fn a_429_is_retried_with_backoff_and_then_succeeds() {
    let transcript = transcript("llama_server_stream_chat_logprobs.sse");
    let tries = std::sync::atomic::AtomicUsize::new(0);
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/completions" if tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 => {
            Reply::Full {
                status: 429,
                headers: vec![("retry-after".into(), "0".into())],
                body: json!({"error": {"message": "busy"}}).to_string(),
            }
        }
        "/v1/completions" => Reply::sse(&transcript),
        _ => models_reply(),
    });
    let mut backend = connect(server.config());
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 4))),
        1,
    );
    end.expect("succeeds after retries");
    assert_eq!(b[0].text, " Café au");
    assert_eq!(server.completions().len(), 3, "two 429s, then the stream");
}

#[test]
fn a_503_that_never_clears_gives_up_after_bounded_retries_with_the_message() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Full {
            status: 503,
            headers: vec![("retry-after".into(), "0".into())],
            body: json!({"error": {"message": "loading model"}}).to_string(),
        },
    });
    let mut backend = connect(server.config());
    let (_, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 4))),
        1,
    );
    let error = end.expect_err("gives up");
    assert!(
        error.contains("HTTP 503") && error.contains("loading model"),
        "{error}"
    );
    assert_eq!(server.completions().len(), 5, "1 try + 4 retries");
}

#[test]
fn a_server_vanishing_mid_stream_keeps_the_partial_text_and_ends_with_an_error() {
    let lines: Vec<String> = transcript("llama_server_stream_chat_logprobs.sse")
        .split_inclusive('\n')
        .take(4) // two chunks and their blank lines, then the socket dies
        .map(str::to_string)
        .collect();
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Stream {
            pieces: lines.clone(),
            delay: Duration::ZERO,
            cut: true,
        },
    });
    let mut backend = connect(server.config());
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 8))),
        1,
    );
    end.expect("the job itself finishes");
    assert_eq!(b[0].text, " Caf");
    assert_eq!(b[0].reason, Some(FinishReason::Error));
    let error = b[0].error.clone().expect("an error message");
    assert!(error.contains("after 2 tokens"), "{error}");
}

#[test]
fn a_stream_closed_without_done_or_finish_reason_is_a_truncation_error() {
    let body = transcript("vllm_stream_n2_legacy_logprobs.sse")
        .split_inclusive('\n')
        .take(2)
        .collect::<String>();
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::CloseDelimited { body: body.clone() },
    });
    let mut backend = connect(server.config());
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 8))),
        1,
    );
    end.expect("job finishes");
    assert_eq!(b[0].text, " there");
    assert_eq!(b[0].reason, Some(FinishReason::Error));
    assert!(
        b[0].error
            .as_deref()
            .unwrap_or("")
            .contains("closed the stream"),
        "{:?}",
        b[0].error
    );
}

#[test]
fn crlf_comments_missing_blank_lines_and_a_missing_done_are_all_fine() {
    let plain = transcript("vllm_stream_n2_legacy_logprobs.sse");
    let mut messy = String::from(": keep-alive\r\n\r\n");
    for line in plain.lines().filter(|l| l.starts_with("data: {")) {
        // no space after the colon, CRLF endings, no blank line between events
        messy.push_str(&format!("data:{}\r\n: ping\r\n", &line["data: ".len()..]));
    }
    // no [DONE] at all, and no newline at the very end
    let messy = messy.trim_end().to_string();
    let server = server_with_stream(messy);
    let mut config = server.config();
    config.supports_n = true;
    let mut backend = connect(config);
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(2, 3))),
        2,
    );
    end.expect("job finishes");
    assert_eq!(
        (b[0].text.as_str(), b[1].text.as_str()),
        (" there was a", ", in")
    );
    assert_eq!(b[0].reason, Some(FinishReason::Length));
}

#[test]
fn garbage_lines_are_skipped_and_named_if_the_stream_then_breaks() {
    let mut lines: Vec<String> = transcript("llama_server_stream_chat_logprobs.sse")
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    lines.insert(2, "<html>proxy hiccup</html>\n".into());
    lines.insert(3, "data: {truncated json\n\n".into());
    let complete = lines.concat();
    let broken: String = lines[..6].concat();
    for (body, expect_ok) in [(complete, true), (broken, false)] {
        let server = ReplayServer::start(move |req, _| match req.path.as_str() {
            "/v1/models" => models_reply(),
            _ => Reply::CloseDelimited { body: body.clone() },
        });
        let mut backend = connect(server.config());
        let (b, end) = outcomes(
            &run_expand(&mut backend, &expand_request("x", params(1, 4))),
            1,
        );
        end.expect("job finishes");
        if expect_ok {
            assert_eq!(b[0].text, " Café au");
            assert_eq!(b[0].reason, Some(FinishReason::Length));
        } else {
            let error = b[0].error.clone().expect("error");
            assert!(error.contains("proxy hiccup"), "names the garbage: {error}");
        }
    }
}

#[test]
fn mid_stream_errors_in_both_dialects_end_the_branch_with_the_servers_message() {
    for error_line in [
        "data: {\"error\":{\"code\":500,\"message\":\"slot 0 was reset\",\"type\":\"server_error\"}}\n\n",
        "error: {\"code\":500,\"message\":\"slot 0 was reset\",\"type\":\"server_error\"}\n\n",
    ] {
        let mut lines: Vec<String> = transcript("llama_server_stream_chat_logprobs.sse")
            .split_inclusive('\n')
            .take(2)
            .map(str::to_string)
            .collect();
        lines.push(error_line.to_string());
        let server = ReplayServer::start(move |req, _| match req.path.as_str() {
            "/v1/models" => models_reply(),
            _ => Reply::Stream {
                pieces: lines.clone(),
                delay: Duration::ZERO,
                cut: false,
            },
        });
        let mut backend = connect(server.config());
        let (b, end) = outcomes(
            &run_expand(&mut backend, &expand_request("x", params(1, 4))),
            1,
        );
        end.expect("job finishes");
        assert_eq!(b[0].text, " Caf", "partial text kept");
        assert_eq!(b[0].reason, Some(FinishReason::Error));
        assert!(
            b[0].error
                .as_deref()
                .unwrap_or("")
                .contains("slot 0 was reset"),
            "{:?}",
            b[0].error
        );
    }
}

#[test]
fn a_stream_trickling_one_byte_at_a_time_decodes_the_same() {
    let transcript = transcript("llama_server_stream_chat_logprobs.sse");
    let bytes: Vec<String> = transcript.chars().map(String::from).collect();
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Stream {
            pieces: bytes.clone(),
            delay: Duration::from_micros(300),
            cut: false,
        },
    });
    let mut backend = connect(server.config());
    let (b, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 4))),
        1,
    );
    end.expect("job finishes");
    assert_eq!(b[0].text, " Café au");
    assert_eq!(b[0].tokens.len(), 4);
}

#[test]
fn cancel_mid_stream_drops_the_connection_and_keeps_the_text() {
    let chunk = transcript("llama_server_stream_chat_logprobs.sse")
        .split_inclusive('\n')
        .take(2)
        .collect::<String>();
    let pieces = vec![chunk; 400]; // 400 tokens at 10 ms: 4 s unless cancelled
    let server = ReplayServer::start(move |req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Stream {
            pieces: pieces.clone(),
            delay: Duration::from_millis(10),
            cut: false,
        },
    });
    let mut backend = connect(server.config());
    let req = expand_request("x", params(2, 400));
    let cancel = req.cancel.clone();
    let mut events = Vec::new();
    let t0 = Instant::now();
    backend.expand(&req, &mut |e| {
        if matches!(e, EngineEvent::Token { .. }) && events.len() > 6 {
            cancel.cancel();
        }
        events.push(e);
    });
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "cancel is prompt: {:?}",
        t0.elapsed()
    );
    let (b, end) = outcomes(&events, 2);
    end.expect("a cancelled job finishes");
    for branch in &b {
        assert_eq!(branch.reason, Some(FinishReason::Cancelled));
        assert!(
            branch.text.starts_with(" Caf"),
            "text kept: {:?}",
            branch.text
        );
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.client_gone.load(std::sync::atomic::Ordering::SeqCst) < 2
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        server.client_gone.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "both streams dropped"
    );
}

#[test]
fn a_server_that_accepts_but_never_sends_a_token_hits_the_first_byte_timeout() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::Stream {
            pieces: vec![": still thinking\n".into()],
            delay: Duration::from_secs(3),
            cut: false,
        },
    });
    let mut config = server.config();
    config.first_byte_timeout_s = 0.3;
    let mut backend = connect(config);
    let t0 = Instant::now();
    let (_, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 4))),
        1,
    );
    let error = end.expect_err("times out");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert!(
        error.contains("first_byte_timeout_s"),
        "says which setting to raise: {error}"
    );
}

#[test]
fn a_stream_that_ends_before_sending_anything_says_so() {
    let server = ReplayServer::start(|req, _| match req.path.as_str() {
        "/v1/models" => models_reply(),
        _ => Reply::CloseDelimited {
            body: String::new(),
        },
    });
    let mut backend = connect(server.config());
    let (_, end) = outcomes(
        &run_expand(&mut backend, &expand_request("x", params(1, 4))),
        1,
    );
    let error = end.expect_err("nothing came");
    assert!(error.contains("without sending anything"), "{error}");
}
