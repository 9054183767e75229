//! One streaming request on its own reader thread, so the job loop never blocks on a socket:
//! it can cancel, enforce the first-byte timeout and multiplex N requests over one channel.

use super::client::Endpoint;
use super::error::HttpError;
use super::sse::{SseDecoder, SseEvent};
use crate::engine::protocol::CancelFlag;
use std::io::{BufRead, BufReader};
use std::sync::mpsc::Sender;

/// What a reader thread reports about its request.
#[derive(Debug)]
pub enum StreamEvent {
    /// The server accepted the request (HTTP 2xx); events follow.
    Opened,
    /// A decoded SSE event.
    Sse(SseEvent),
    /// The response ended cleanly (EOF), with or without `[DONE]`.
    Ended,
    /// The request failed before streaming, or the connection broke while streaming.
    Failed(HttpError),
}

/// A [`StreamEvent`] tagged with the request it belongs to.
#[derive(Debug)]
pub struct StreamMessage {
    pub request: usize,
    pub event: StreamEvent,
}

/// Start request number `request` on a new thread. The thread ends (dropping the
/// connection, which makes vLLM and llama.cpp stop generating) when the stream ends, when
/// `cancel` is set, or when the receiver is gone.
pub fn spawn(
    endpoint: Endpoint,
    body: serde_json::Value,
    request: usize,
    cancel: CancelFlag,
    tx: Sender<StreamMessage>,
) {
    let fallback = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("tloom-http-{request}"))
        .spawn(move || run(&endpoint, &body, request, &cancel, &tx));
    if let Err(e) = spawned {
        let _ = fallback.send(StreamMessage {
            request,
            event: StreamEvent::Failed(HttpError::Broken(format!(
                "could not start a reader thread: {e}"
            ))),
        });
    }
}

fn run(
    endpoint: &Endpoint,
    body: &serde_json::Value,
    request: usize,
    cancel: &CancelFlag,
    tx: &Sender<StreamMessage>,
) {
    let send = |event| tx.send(StreamMessage { request, event }).is_ok();
    let response = match endpoint.post("completions", body, Some(cancel)) {
        Ok(response) => response,
        Err(e) => {
            send(StreamEvent::Failed(e));
            return;
        }
    };
    if !send(StreamEvent::Opened) {
        return;
    }
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut decoder = SseDecoder::new();
    let mut line = Vec::new();
    loop {
        if cancel.is_cancelled() {
            return;
        }
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                for event in decoder.push_line(&text) {
                    if !send(StreamEvent::Sse(event)) {
                        return;
                    }
                }
            }
            Err(e) => {
                for event in decoder.finish() {
                    send(StreamEvent::Sse(event));
                }
                send(StreamEvent::Failed(HttpError::Broken(e.to_string())));
                return;
            }
        }
    }
    for event in decoder.finish() {
        if !send(StreamEvent::Sse(event)) {
            return;
        }
    }
    send(StreamEvent::Ended);
}
