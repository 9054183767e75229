//! One expansion job against a server: plan the requests (server-side `n`, or N requests with
//! seeds seed+i), run them on reader threads, route choices to branches, and emit the
//! protocol's events in order (`Started` before any `Token`, `JobFinished` or `JobFailed` last).

use super::client::Endpoint;
use super::error::HttpError;
use super::sse::SseEvent;
use super::stream::{self, StreamEvent, StreamMessage};
use super::wire::{self, RequestShape, TokenAssembler};
use crate::engine::protocol::{
    BranchSummary, CancelFlag, EngineEvent, ExpandRequest, FinishReason, TokenInfo,
};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the loop wakes to check the cancel flag and deadlines.
const TICK: Duration = Duration::from_millis(25);

#[derive(Default)]
struct Branch {
    seed: u64,
    tokens: usize,
    /// A choice for this branch arrived (even one without text).
    seen: bool,
    logprob_sum: f64,
    logprob_count: usize,
    done: bool,
    assembler: TokenAssembler,
}

struct Request {
    body: serde_json::Value,
    /// Choice index i of this request's response feeds branch `branches[i]`.
    branches: Vec<usize>,
    cancel: CancelFlag,
    launched: bool,
    opened_at: Option<Instant>,
    got_data: bool,
    over: bool,
}

struct Job<'a> {
    endpoint: &'a Endpoint,
    req: &'a ExpandRequest,
    emit: &'a mut dyn FnMut(EngineEvent),
    branches: Vec<Branch>,
    requests: Vec<Request>,
    started: bool,
    /// Branch failures seen before anything succeeded: reported as BranchFinished once the
    /// job has started, or folded into JobFailed if nothing ever does.
    deferred: Vec<(usize, String)>,
    first_error: Option<String>,
    garbage: Option<String>,
}

/// Run `req` to completion (or cancellation) against `endpoint`.
pub fn run(
    endpoint: &Endpoint,
    model: &str,
    req: &ExpandRequest,
    emit: &mut dyn FnMut(EngineEvent),
) {
    let requests = match plan(endpoint, model, req) {
        Ok(requests) => requests,
        Err(e) => {
            emit(EngineEvent::JobFailed {
                job: req.job,
                error: e.to_string(),
            });
            return;
        }
    };
    let mut branches: Vec<Branch> = (0..req.params.n).map(|_| Branch::default()).collect();
    let server_n = requests.len() == 1 && req.params.n > 1;
    for (i, b) in branches.iter_mut().enumerate() {
        b.seed = if server_n {
            req.params.seed
        } else {
            req.params.seed.wrapping_add(i as u64)
        };
    }
    let mut job = Job {
        endpoint,
        req,
        emit,
        branches,
        requests,
        started: false,
        deferred: Vec::new(),
        first_error: None,
        garbage: None,
    };
    job.drive();
}

fn plan(endpoint: &Endpoint, model: &str, req: &ExpandRequest) -> Result<Vec<Request>, HttpError> {
    let p = &req.params;
    let shapes: Vec<(RequestShape, Vec<usize>)> = if endpoint.config.supports_n && p.n > 1 {
        let shape = RequestShape {
            n: p.n,
            seed: p.seed,
            stream: true,
        };
        vec![(shape, (0..p.n).collect())]
    } else {
        (0..p.n)
            .map(|i| {
                let seed = p.seed.wrapping_add(i as u64);
                (
                    RequestShape {
                        n: 1,
                        seed,
                        stream: true,
                    },
                    vec![i],
                )
            })
            .collect()
    };
    shapes
        .into_iter()
        .map(|(shape, branches)| {
            Ok(Request {
                body: wire::completion_body(&endpoint.config, model, &req.prompt, p, shape)?,
                branches,
                cancel: CancelFlag::new(),
                launched: false,
                opened_at: None,
                got_data: false,
                over: false,
            })
        })
        .collect()
}

impl Job<'_> {
    fn drive(&mut self) {
        let (tx, rx) = mpsc::channel::<StreamMessage>();
        let limit = self.endpoint.config.concurrency.max(1);
        while !self.branches.iter().all(|b| b.done) {
            self.launch_up_to(limit, &tx);
            if self.req.cancel.is_cancelled() {
                self.cancel_all();
                break;
            }
            match rx.recv_timeout(TICK) {
                Ok(message) => self.handle(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break, // unreachable: we hold `tx`
            }
            self.check_first_byte_deadlines();
        }
        for request in &self.requests {
            request.cancel.cancel(); // readers still open drop their connections
        }
        self.finish_job();
    }

    fn launch_up_to(&mut self, limit: usize, tx: &mpsc::Sender<StreamMessage>) {
        let in_flight = self
            .requests
            .iter()
            .filter(|r| r.launched && !r.over)
            .count();
        let waiting = self
            .requests
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.launched);
        let to_start: Vec<usize> = waiting
            .map(|(i, _)| i)
            .take(limit.saturating_sub(in_flight))
            .collect();
        for i in to_start {
            let r = &mut self.requests[i];
            r.launched = true;
            let body = r.body.clone();
            stream::spawn(self.endpoint.clone(), body, i, r.cancel.clone(), tx.clone());
        }
    }

    fn handle(&mut self, message: StreamMessage) {
        let r = message.request;
        if self.requests.get(r).is_none_or(|req| req.over) {
            return; // a request already given up on (e.g. timed out)
        }
        match message.event {
            StreamEvent::Opened => self.requests[r].opened_at = Some(Instant::now()),
            StreamEvent::Sse(SseEvent::Data(json)) => {
                self.requests[r].got_data = true;
                self.on_chunk(r, &json);
            }
            StreamEvent::Sse(SseEvent::Done) => self.end_request(r, None),
            StreamEvent::Sse(SseEvent::Error(message)) => {
                self.end_request(r, Some(HttpError::Server(message).to_string()));
            }
            StreamEvent::Sse(SseEvent::Garbage(line)) => {
                log::warn!("skipping an unreadable line from the server: {line:?}");
                self.garbage.get_or_insert(line);
            }
            StreamEvent::Ended if !self.requests[r].got_data && self.garbage.is_none() => {
                let why = "the server closed the stream without sending anything; its log may \
                           say why (e.g. a prompt longer than its context)";
                self.end_request(r, Some(why.to_string()));
            }
            StreamEvent::Ended => {
                let mut why = "the server closed the stream before the branch finished".to_string();
                if let Some(line) = &self.garbage {
                    why.push_str(&format!(" (it also sent unreadable lines, e.g. {line:?})"));
                }
                self.end_request(r, Some(why));
            }
            StreamEvent::Failed(e) => self.end_request(r, Some(e.to_string())),
        }
    }

    fn on_chunk(&mut self, r: usize, json: &serde_json::Value) {
        let choices = match wire::choices_of(json) {
            Ok(choices) => choices,
            Err(e) => {
                log::warn!("skipping a chunk: {e}");
                self.garbage.get_or_insert(e);
                return;
            }
        };
        let asked_stops = !self.req.params.stop.is_empty();
        for choice in choices {
            let Some(&b) = self.requests[r].branches.get(choice.index) else {
                log::warn!(
                    "the server sent choice index {} it was not asked for",
                    choice.index
                );
                continue;
            };
            if self.branches[b].done {
                continue;
            }
            self.branches[b].seen = true;
            let wire_tokens = wire::wire_tokens(&choice.logprobs, self.req.params.top_logprobs);
            let tokens = self.branches[b].assembler.tokens(&choice.text, wire_tokens);
            for token in tokens {
                self.emit_token(b, token);
            }
            if choice.finish_reason.is_some() {
                match wire::finish_reason(&choice, asked_stops) {
                    Ok(reason) => self.finish_branch(b, reason, None),
                    Err(why) => self.fail_branch(b, why),
                }
            }
        }
    }

    /// The request's stream is over: `error` None means a clean `[DONE]`.
    fn end_request(&mut self, r: usize, error: Option<String>) {
        for b in self.requests[r].branches.clone() {
            if self.branches[b].done {
                continue;
            }
            match &error {
                Some(why) => {
                    let why = match self.branches[b].tokens {
                        0 => why.clone(),
                        n => format!("{why} (after {n} tokens)"),
                    };
                    self.fail_branch(b, why);
                }
                None if !self.branches[b].seen => {
                    let branches = &self.requests[r].branches;
                    let index = branches.iter().position(|&x| x == b).unwrap_or(b);
                    let n = branches.len();
                    let why = if n > 1 {
                        format!(
                            "the server sent nothing for choice {index} of n = {n}; it probably \
                             ignores `n`: set supports_n = false for this backend"
                        )
                    } else {
                        "the server ended the stream without any completion".to_string()
                    };
                    self.fail_branch(b, why);
                }
                None => {
                    // [DONE] without a finish_reason: infer it from the token count.
                    let reason = if self.branches[b].tokens >= self.req.params.max_tokens {
                        FinishReason::Length
                    } else {
                        FinishReason::Eos
                    };
                    self.finish_branch(b, reason, None);
                }
            }
        }
        self.requests[r].over = true;
    }

    fn check_first_byte_deadlines(&mut self) {
        let timeout = self.endpoint.config.first_byte_timeout();
        let late: Vec<usize> = (self.requests.iter().enumerate())
            .filter(|(_, r)| !r.over && !r.got_data)
            .filter(|(_, r)| r.opened_at.is_some_and(|t| t.elapsed() > timeout))
            .map(|(i, _)| i)
            .collect();
        for r in late {
            self.requests[r].cancel.cancel();
            let error = HttpError::Timeout {
                url: self.endpoint.url("completions"),
                what: "send its first token",
                secs: self.endpoint.config.first_byte_timeout_s,
                setting: "first_byte_timeout_s",
            };
            self.end_request(r, Some(error.to_string()));
        }
    }

    fn ensure_started(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        (self.emit)(EngineEvent::Started {
            job: self.req.job,
            prompt_tokens: 0, // unknown: the stream reports usage only at its end, if at all
        });
        for (b, error) in std::mem::take(&mut self.deferred) {
            self.emit_finished(b, FinishReason::Error, Some(error));
        }
    }

    fn emit_token(&mut self, b: usize, token: TokenInfo) {
        self.ensure_started();
        let branch = &mut self.branches[b];
        branch.tokens += 1;
        if token.logprob.is_finite() {
            branch.logprob_sum += f64::from(token.logprob);
            branch.logprob_count += 1;
        }
        (self.emit)(EngineEvent::Token {
            job: self.req.job,
            branch: b,
            token,
        });
    }

    fn finish_branch(&mut self, b: usize, reason: FinishReason, error: Option<String>) {
        self.ensure_started();
        self.branches[b].done = true;
        self.emit_finished(b, reason, error);
    }

    fn fail_branch(&mut self, b: usize, error: String) {
        self.first_error.get_or_insert_with(|| error.clone());
        if self.started {
            self.finish_branch(b, FinishReason::Error, Some(error));
        } else {
            self.branches[b].done = true;
            self.deferred.push((b, error));
        }
    }

    fn emit_finished(&mut self, b: usize, reason: FinishReason, error: Option<String>) {
        let branch = &self.branches[b];
        let summary = BranchSummary {
            reason,
            tokens: branch.tokens,
            mean_logprob: (branch.logprob_count > 0)
                .then(|| (branch.logprob_sum / branch.logprob_count as f64) as f32),
            mean_entropy: None,
            seed: branch.seed,
            error,
        };
        (self.emit)(EngineEvent::BranchFinished {
            job: self.req.job,
            branch: b,
            summary,
        });
    }

    fn cancel_all(&mut self) {
        for request in &self.requests {
            request.cancel.cancel();
        }
        if !self.started {
            return; // nothing was shown: the job just ends
        }
        for b in 0..self.branches.len() {
            if !self.branches[b].done {
                self.finish_branch(b, FinishReason::Cancelled, None);
            }
        }
    }

    fn finish_job(&mut self) {
        let job = self.req.job;
        if self.started || self.req.cancel.is_cancelled() || self.branches.is_empty() {
            (self.emit)(EngineEvent::JobFinished { job });
            return;
        }
        let error = self
            .first_error
            .take()
            .unwrap_or_else(|| "no branch finished".into());
        (self.emit)(EngineEvent::JobFailed { job, error });
    }
}
