//! The engine worker: one OS thread owns a backend, reads requests, streams events back.
//!
//! Loading happens on the worker thread too, so the caller never blocks on a model load, and a
//! failed load is an event (`LoadFailed`), never a panic.

use super::protocol::{
    EngineEvent, EngineRequest, ExpandRequest, JobId, ModelDescription, PromptInspection,
};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

/// Where a worker sends its events. The app wraps events into its own message type.
pub type EventSink = Box<dyn Fn(EngineEvent) + Send + 'static>;

/// Something that can make text. Implemented by the local candle model and by HTTP clients.
///
/// Each method reports through `emit` and returns when the job is over (finished, failed or
/// cancelled). Implementations check `cancel` at least once per generated token.
pub trait Backend: Send {
    fn describe(&self) -> ModelDescription;

    /// Generate `req.params.n` continuations of `req.prompt`, emitting `Started`, `Token`,
    /// `BranchFinished` and finally `JobFinished` (or `JobFailed`).
    fn expand(&mut self, req: &ExpandRequest, emit: &mut dyn FnMut(EngineEvent));

    /// Score every token of `text`, emitting `Scored` (or `JobFailed`).
    fn score(&mut self, job: JobId, text: &str, emit: &mut dyn FnMut(EngineEvent));

    /// Count a prompt's tokens and where it would be cut. Backends that cannot tokenize
    /// say so.
    fn inspect(&mut self, prompt: &str, max_tokens: usize) -> Result<PromptInspection, String> {
        let _ = (prompt, max_tokens);
        Err("this backend cannot count tokens".into())
    }

    /// Expand the most likely next tokens, emitting `Explored` (or `JobFailed`).
    fn explore(
        &mut self,
        job: JobId,
        prompt: &str,
        shape: ExploreShape,
        emit: &mut dyn FnMut(EngineEvent),
    );
}

/// The shape of an explored next-token tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExploreShape {
    pub depth: usize,
    pub width: usize,
    pub cutoff: f32,
}

/// A function that builds the backend on the worker thread; it may report progress.
pub type Loader =
    Box<dyn FnOnce(&mut dyn FnMut(EngineEvent)) -> Result<Box<dyn Backend>, String> + Send>;

/// The caller's end of a running worker.
pub struct EngineHandle {
    requests: Sender<EngineRequest>,
    thread: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Start a worker thread that loads a backend with `loader` and then serves requests.
    pub fn spawn(loader: Loader, sink: EventSink) -> std::io::Result<EngineHandle> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tloom-engine".into())
            .spawn(move || run_worker(loader, rx, sink))?;
        Ok(EngineHandle {
            requests: tx,
            thread: Some(thread),
        })
    }

    /// Queue a request. Returns false when the worker has stopped.
    pub fn send(&self, request: EngineRequest) -> bool {
        self.requests.send(request).is_ok()
    }

    /// Ask the worker to stop after the current job and wait for it.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.requests.send(EngineRequest::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        // Do not block the caller on a long generation: the worker exits when it sees the
        // closed channel or the Shutdown request after its current job.
        let _ = self.requests.send(EngineRequest::Shutdown);
        self.thread.take();
    }
}

fn run_worker(loader: Loader, requests: Receiver<EngineRequest>, sink: EventSink) {
    let mut emit = |event: EngineEvent| sink(event);
    let mut backend = match loader(&mut emit) {
        Ok(backend) => backend,
        Err(message) => {
            emit(EngineEvent::LoadFailed(message));
            // Keep answering so callers see failures instead of silence.
            for request in requests {
                match request {
                    EngineRequest::Shutdown => return,
                    other => {
                        if let Some(job) = job_of(&other) {
                            emit(EngineEvent::JobFailed {
                                job,
                                error: "the model failed to load".into(),
                            });
                        }
                    }
                }
            }
            return;
        }
    };
    emit(EngineEvent::Ready(backend.describe()));
    for request in requests {
        match request {
            EngineRequest::Shutdown => return,
            EngineRequest::Cancel(_) => {} // cancellation travels through the job's CancelFlag
            EngineRequest::Expand(req) => {
                if req.cancel.is_cancelled() {
                    emit(EngineEvent::JobFinished { job: req.job });
                    continue;
                }
                backend.expand(&req, &mut emit);
            }
            EngineRequest::Score { job, text } => backend.score(job, &text, &mut emit),
            EngineRequest::Inspect {
                job,
                prompt,
                max_tokens,
            } => emit(EngineEvent::Inspected {
                job,
                result: backend.inspect(&prompt, max_tokens),
            }),
            EngineRequest::Explore {
                job,
                prompt,
                depth,
                width,
                cutoff,
            } => backend.explore(
                job,
                &prompt,
                ExploreShape {
                    depth,
                    width,
                    cutoff,
                },
                &mut emit,
            ),
        }
    }
}

fn job_of(request: &EngineRequest) -> Option<JobId> {
    match request {
        EngineRequest::Expand(req) => Some(req.job),
        EngineRequest::Score { job, .. }
        | EngineRequest::Explore { job, .. }
        | EngineRequest::Inspect { job, .. } => Some(*job),
        EngineRequest::Cancel(_) | EngineRequest::Shutdown => None,
    }
}
