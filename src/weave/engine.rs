//! The weave's expander over a real engine: each chosen node becomes an expansion job
//! through the session (placeholders, the fold), all of a round's jobs are sent at once,
//! and the round ends when every one of them has.

use super::run::{Expanded, Expander};
use crate::engine::{EngineEvent, EngineHandle, ModelDescription, SamplingParams};
use crate::session::jobs::Jobs;
use crate::session::{Outcome, fold, start_expansion};
use crate::tree::{Loom, NodeId};
use std::sync::mpsc::Receiver;

pub struct EngineExpander {
    engine: EngineHandle,
    events: Receiver<EngineEvent>,
    jobs: Jobs,
    params: SamplingParams,
    model: Option<ModelDescription>,
    backend: String,
    trim_prompt: bool,
}

impl EngineExpander {
    /// `params.n` children of `params.max_tokens` tokens per chosen node; `params.seed`
    /// starts the seeds (each job gets its own, so a run is repeatable).
    pub fn new(
        engine: EngineHandle,
        events: Receiver<EngineEvent>,
        params: SamplingParams,
        backend: String,
        trim_prompt: bool,
    ) -> EngineExpander {
        EngineExpander {
            engine,
            events,
            jobs: Jobs::default(),
            params,
            model: None,
            backend,
            trim_prompt,
        }
    }

    /// The sampling of the next expansions (`n` children of `max_tokens`, seeds from `seed`).
    pub fn set_params(&mut self, params: SamplingParams) {
        self.params = params;
    }

    pub fn shutdown(self) {
        self.engine.shutdown();
    }
}

impl Expander for EngineExpander {
    fn max_tokens_per_parent(&self) -> usize {
        self.params.n * self.params.max_tokens
    }

    fn expand(
        &mut self,
        loom: &mut Loom,
        parents: &[NodeId],
        round: usize,
    ) -> Result<Expanded, String> {
        let loading = ModelDescription {
            model: "(loading)".into(),
            backend: self.backend.clone(),
            context_length: 0,
        };
        let mut running = Vec::new();
        for (i, &parent) in parents.iter().enumerate() {
            let mut params = self.params.clone();
            params.seed = self
                .params
                .seed
                .wrapping_add(((round * 64 + i) * self.params.n) as u64);
            let model = self.model.clone().unwrap_or_else(|| loading.clone());
            let e = start_expansion(
                loom,
                &mut self.jobs,
                parent,
                &params,
                &model,
                self.trim_prompt,
                0,
            )?;
            running.push((e.job, parent));
            self.engine.send(e.request);
        }
        let mut out = Expanded::default();
        while !running.is_empty() {
            let event = self
                .events
                .recv()
                .map_err(|_| "the engine stopped in the middle of a round".to_string())?;
            for outcome in fold(loom, &mut self.jobs, self.model.as_ref(), 0, event) {
                match outcome {
                    Outcome::Ready(desc) => self.model = Some(desc),
                    Outcome::LoadFailed(m) => return Err(format!("the model did not load: {m}")),
                    Outcome::ExpansionEnded {
                        job, kept, error, ..
                    } => {
                        if let Some(error) = error {
                            return Err(format!("generation failed: {error}"));
                        }
                        let Some(at) = running.iter().position(|(j, _)| *j == job) else {
                            continue;
                        };
                        let (_, parent) = running.remove(at);
                        for id in kept {
                            out.tokens += loom
                                .get(id)
                                .map_or(0, |n| n.tokens.as_ref().map_or(0, Vec::len));
                            out.nodes.push((parent, id));
                        }
                    }
                    Outcome::Notice(_, text) => log::info!("weave: {text}"),
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}
