//! The weave's expander over a real engine: each chosen node becomes an expansion job
//! through the session (placeholders, the fold), all of a round's jobs are sent at once,
//! and the round ends when every one of them has.

use super::run::{Expanded, Expander, job_seed, tokens_in};
use crate::engine::{
    EngineEvent, EngineHandle, EngineRequest, ModelDescription, SamplingParams, TokenInfo,
};
use crate::session::jobs::Jobs;
use crate::session::{Outcome, fold, start_expansion};
use crate::tree::{Loom, NodeId};
use std::collections::HashMap;
use std::sync::mpsc::Receiver;

pub struct EngineExpander {
    engine: EngineHandle,
    events: Receiver<EngineEvent>,
    jobs: Jobs,
    params: SamplingParams,
    model: Option<ModelDescription>,
    backend: String,
    trim_prompt: bool,
    /// Judge answers already asked (the calibration prompts repeat).
    answers: HashMap<String, f64>,
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
            answers: HashMap::new(),
        }
    }

    /// The sampling of the next expansions (`n` children of `max_tokens`, seeds from `seed`).
    pub fn set_params(&mut self, params: SamplingParams) {
        self.params = params;
    }

    pub fn shutdown(self) {
        self.engine.shutdown();
    }

    /// The model's scores of `prompt` followed by `suffix` (one scoring pass).
    fn score(&mut self, prompt: &str, suffix: &str) -> Result<Vec<TokenInfo>, String> {
        let job = self.jobs.next_id();
        self.engine.send(EngineRequest::Score {
            job,
            text: format!("{prompt}{suffix}"),
        });
        loop {
            let event = self
                .events
                .recv()
                .map_err(|_| "the engine stopped while judging".to_string())?;
            match event {
                EngineEvent::Scored { job: j, tokens } if j == job => return Ok(tokens),
                EngineEvent::JobFailed { job: j, error } if j == job => {
                    return Err(format!("the judge failed: {error}"));
                }
                EngineEvent::Ready(desc) => self.model = Some(desc),
                EngineEvent::LoadFailed(m) => return Err(format!("the model did not load: {m}")),
                _ => {}
            }
        }
    }

    /// The log-probability the model gives `suffix` right after `prompt`.
    fn suffix_logprob(&mut self, prompt: &str, suffix: &str) -> Result<f64, String> {
        let tokens = self.score(prompt, suffix)?;
        trailing_logprob(&tokens, suffix)
            .ok_or_else(|| format!("the judge's tokens do not end with {suffix:?}"))
    }
}

/// The summed log-probability of the trailing tokens whose texts spell `suffix`.
fn trailing_logprob(tokens: &[TokenInfo], suffix: &str) -> Option<f64> {
    let mut text = String::new();
    let mut sum = 0.0;
    for t in tokens.iter().rev() {
        text.insert_str(0, &t.text);
        sum += t.logprob as f64;
        if text == suffix {
            return Some(sum);
        }
        if text.len() >= suffix.len() {
            return None;
        }
    }
    None
}

impl Expander for EngineExpander {
    fn max_tokens_per_parent(&self) -> usize {
        self.params.n * self.params.max_tokens
    }

    fn judge(&mut self, prompt: &str) -> Result<f64, String> {
        if let Some(&v) = self.answers.get(prompt) {
            return Ok(v);
        }
        // One pass scores " Yes"; when " Yes" is one token, " No" is usually among the
        // alternatives the model had at that position, which saves a second pass.
        let tokens = self.score(prompt, " Yes")?;
        let yes = trailing_logprob(&tokens, " Yes")
            .ok_or_else(|| "the judge's tokens do not end with \" Yes\"".to_string())?;
        let no_alternative = tokens
            .last()
            .filter(|t| t.text == " Yes")
            .and_then(|t| t.top.iter().find(|a| a.text == " No"))
            .map(|a| a.logprob as f64);
        let no = match no_alternative {
            Some(no) => no,
            None => self.suffix_logprob(prompt, " No")?,
        };
        let odds = yes - no;
        self.answers.insert(prompt.to_string(), odds);
        Ok(odds)
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
            params.seed = job_seed(&self.params, round, i);
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
                            out.tokens += tokens_in(loom, id);
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
