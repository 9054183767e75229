//! Test support for the HTTP backend: a loopback replay server that plays recorded SSE
//! transcripts (and faults) back to tloom, and helpers to run a backend and collect events.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tloom::engine::http::{OpenAiBackend, OpenAiConfig};
use tloom::engine::{
    Backend, CancelFlag, EngineEvent, ExpandRequest, FinishReason, JobId, SamplingParams,
};

/// One request as the replay server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the replay server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete reply with Content-Length.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// An SSE stream in chunked encoding, written piece by piece with `delay` between pieces.
    /// `cut` drops the connection without the closing chunk (a server dying mid-stream).
    Stream {
        pieces: Vec<String>,
        delay: Duration,
        cut: bool,
    },
    /// An SSE stream whose end is marked only by closing the connection (no length, not
    /// chunked), as HTTP/1.0-style servers do.
    CloseDelimited { body: String },
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// A transcript sent one line (with its ending) at a time.
    pub fn sse(transcript: &str) -> Reply {
        Reply::Stream {
            pieces: transcript
                .split_inclusive('\n')
                .map(str::to_string)
                .collect(),
            delay: Duration::ZERO,
            cut: false,
        }
    }
}

type Router = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

/// A loopback HTTP server on 127.0.0.1:0 answering with `router(request, request_number)`.
pub struct ReplayServer {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// How many requests were being answered at once, at most.
    pub max_in_flight: Arc<AtomicUsize>,
    /// Streams whose client went away before the stream was fully written.
    pub client_gone: Arc<AtomicUsize>,
}

impl ReplayServer {
    pub fn start(router: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let client_gone = Arc::new(AtomicUsize::new(0));
        let router: Arc<Router> = Arc::new(router);
        let (reqs, maxf, gone) = (requests.clone(), max_in_flight.clone(), client_gone.clone());
        let in_flight = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (router, reqs, maxf, gone, flight) = (
                    router.clone(),
                    reqs.clone(),
                    maxf.clone(),
                    gone.clone(),
                    in_flight.clone(),
                );
                std::thread::spawn(move || {
                    let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
                    maxf.fetch_max(now, Ordering::SeqCst);
                    // Released just before the reply's last bytes go out, so a client that
                    // starts its next request on seeing them never overlaps this one.
                    let release = || {
                        flight.fetch_sub(1, Ordering::SeqCst);
                    };
                    serve(stream, &*router, &reqs, &gone, &release);
                });
            }
        });
        ReplayServer {
            base,
            requests,
            max_in_flight,
            client_gone,
        }
    }

    /// A backend config pointing at this server (base URL given without `/v1`).
    pub fn config(&self) -> OpenAiConfig {
        OpenAiConfig::ad_hoc(self.base.clone(), Some("test-model".into()))
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }

    pub fn completions(&self) -> Vec<Recorded> {
        self.recorded()
            .into_iter()
            .filter(|r| r.path == "/v1/completions")
            .collect()
    }
}

fn serve(
    mut stream: TcpStream,
    router: &Router,
    reqs: &Mutex<Vec<Recorded>>,
    gone: &AtomicUsize,
    release: &dyn Fn(),
) {
    let Some(request) = read_request(&stream) else {
        release();
        return;
    };
    let number = {
        let mut all = reqs.lock().expect("lock");
        all.push(request.clone());
        all.len() - 1
    };
    let reply = router(&request, number);
    let ok = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            release();
            stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(body.as_bytes()))
                .is_ok()
        }
        Reply::Stream { pieces, delay, cut } => {
            write_chunked(&mut stream, &pieces, delay, cut, release)
        }
        Reply::CloseDelimited { body } => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
            release();
            stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(body.as_bytes()))
                .is_ok()
        }
    };
    if !ok {
        gone.fetch_add(1, Ordering::SeqCst);
    }
    let _ = stream.flush();
}

fn write_chunked(
    stream: &mut TcpStream,
    pieces: &[String],
    delay: Duration,
    cut: bool,
    release: &dyn Fn(),
) -> bool {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        release();
        return false;
    }
    let mut released = false;
    for (i, piece) in pieces.iter().enumerate() {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if !released && (i + 1 == pieces.len() || piece.contains("[DONE]")) {
            released = true;
            release();
        }
        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
        if stream
            .write_all(chunk.as_bytes())
            .and_then(|_| stream.flush())
            .is_err()
        {
            if !released {
                release();
            }
            return false;
        }
    }
    if !released {
        release();
    }
    if cut {
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return true;
    }
    stream.write_all(b"0\r\n\r\n").is_ok()
}

fn read_request(stream: &TcpStream) -> Option<Recorded> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "content-length" {
            length = v.parse().ok()?;
        }
        headers.push((k, v));
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// A transcript from `tests/fixtures/http/`.
pub fn transcript(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/http")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `/v1/models` reply most tests need.
pub fn models_reply() -> Reply {
    Reply::json(
        200,
        serde_json::json!({"object":"list","data":[{"id":"test-model","object":"model"}]}),
    )
}

/// Connect a backend (running the probe) and panic with the message if it fails.
pub fn connect(config: OpenAiConfig) -> OpenAiBackend {
    let mut sink = |_e: EngineEvent| {};
    OpenAiBackend::connect("test".into(), config, &mut sink).unwrap_or_else(|e| panic!("{e}"))
}

pub fn params(n: usize, max_tokens: usize) -> SamplingParams {
    SamplingParams {
        n,
        max_tokens,
        seed: 7,
        top_logprobs: 3,
        ..SamplingParams::default()
    }
}

pub fn expand_request(prompt: &str, params: SamplingParams) -> ExpandRequest {
    ExpandRequest {
        job: JobId(1),
        prompt: prompt.into(),
        params,
        cancel: CancelFlag::new(),
    }
}

/// Run an expansion and collect its events.
pub fn run_expand(backend: &mut dyn Backend, req: &ExpandRequest) -> Vec<EngineEvent> {
    let mut events = Vec::new();
    backend.expand(req, &mut |e| events.push(e));
    events
}

/// What a job produced, per branch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BranchOutcome {
    pub text: String,
    pub tokens: Vec<tloom::engine::TokenInfo>,
    pub reason: Option<FinishReason>,
    pub error: Option<String>,
    pub seed: Option<u64>,
}

/// Fold events into per-branch outcomes, checking the protocol's ordering rules on the way:
/// `Started` before any token or branch end, nothing after the job's last event.
pub fn outcomes(events: &[EngineEvent], n: usize) -> (Vec<BranchOutcome>, Result<(), String>) {
    let mut out = vec![BranchOutcome::default(); n];
    let mut started = false;
    let mut ended: Option<Result<(), String>> = None;
    for e in events {
        assert!(ended.is_none(), "event after the job ended: {e:?}");
        match e {
            EngineEvent::Started { .. } => {
                assert!(!started, "Started twice");
                started = true;
            }
            EngineEvent::Token { branch, token, .. } => {
                assert!(started, "Token before Started");
                assert!(
                    out[*branch].reason.is_none(),
                    "Token after its branch finished"
                );
                out[*branch].text.push_str(&token.text);
                out[*branch].tokens.push(token.clone());
            }
            EngineEvent::BranchFinished {
                branch, summary, ..
            } => {
                assert!(started, "BranchFinished before Started");
                assert!(
                    out[*branch].reason.is_none(),
                    "branch {branch} finished twice"
                );
                assert_eq!(summary.tokens, out[*branch].tokens.len());
                out[*branch].reason = Some(summary.reason.clone());
                out[*branch].error = summary.error.clone();
                out[*branch].seed = Some(summary.seed);
            }
            EngineEvent::JobFinished { .. } => {
                assert!(
                    out.iter().all(|b| b.reason.is_some()) || !started,
                    "JobFinished with unfinished branches: {out:?}"
                );
                ended = Some(Ok(()));
            }
            EngineEvent::JobFailed { error, .. } => ended = Some(Err(error.clone())),
            other => panic!("unexpected event {other:?}"),
        }
    }
    (out, ended.expect("the job never ended"))
}
