//! The weave driven by events, for a caller that cannot wait (the TUI): `next_round` starts
//! a round's jobs through the session and returns the requests to send; `job_ended` takes
//! each job's end as the fold reports it, and closes the round when its last job is in. The
//! rounds do what `run` does (same helpers), and the person's marks made meanwhile count
//! at the next round: kept nodes are favoured, archived ones are left alone, the cursor's
//! path is protected wherever the cursor is by then.

use super::rubric::NoJudge;
use super::rubric::Rubric;
use super::run::{Best, Report, absorb, best, choose, goal_reached, job_seed, prepare, tokens_in};
use super::search::{Policy, Search};
use crate::engine::{EngineRequest, JobId, ModelDescription, SamplingParams};
use crate::session::jobs::Jobs;
use crate::session::start_expansion;
use crate::tree::{Loom, NodeId};

/// Why a weave is not running.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// The budget cannot pay for another expansion.
    Budget,
    /// A node passes every regex of the rubric.
    Passed,
    /// Nothing below the root is left to expand.
    Exhausted,
    /// The person stopped it.
    Stopped,
    /// A scorer or the engine failed.
    Failed(String),
}

impl Halt {
    pub fn describe(&self) -> String {
        match self {
            Halt::Budget => "the token budget is spent".into(),
            Halt::Passed => "a path passes the rubric".into(),
            Halt::Exhausted => "nothing is left to expand".into(),
            Halt::Stopped => "stopped".into(),
            Halt::Failed(e) => format!("failed: {e}"),
        }
    }
}

/// A weave in progress.
#[derive(Debug, Clone)]
pub struct Weaver {
    rubric: Rubric,
    search: Search,
    pub root: NodeId,
    pub budget_tokens: usize,
    pub per_round: usize,
    pub stop_on_pass: bool,
    pub report: Report,
    /// This round's jobs and the node each expands; empty between rounds.
    pending: Vec<(JobId, NodeId)>,
    added: Vec<(NodeId, NodeId)>,
    pub paused: bool,
    pub halted: Option<Halt>,
}

impl Weaver {
    /// A weave below `root`; what is already there is scored first.
    pub fn new(
        loom: &Loom,
        rubric: Rubric,
        root: NodeId,
        budget_tokens: usize,
        per_round: usize,
    ) -> Result<Weaver, String> {
        let search = prepare(loom, &rubric, &mut NoJudge, root, Policy::default())?;
        Ok(Weaver {
            rubric,
            search,
            root,
            budget_tokens,
            per_round: per_round.max(1),
            stop_on_pass: true,
            report: Report::default(),
            pending: Vec::new(),
            added: Vec::new(),
            paused: false,
            halted: None,
        })
    }

    /// Whether `job` is one of this round's.
    pub fn owns(&self, job: JobId) -> bool {
        self.pending.iter().any(|(j, _)| *j == job)
    }

    /// Whether a round is in flight.
    pub fn in_round(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn best(&self) -> Option<&Best> {
        self.report.best.as_ref()
    }

    /// Starts the next round (unless paused, halted or one is in flight): placeholders
    /// under each chosen node, jobs in `jobs`; returns the requests for the engine. `params`
    /// gives `n` and `max_tokens` per node and the first seed.
    pub fn next_round(
        &mut self,
        loom: &mut Loom,
        jobs: &mut Jobs,
        params: &SamplingParams,
        model: &ModelDescription,
        trim_prompt: bool,
        now: u64,
    ) -> Vec<EngineRequest> {
        if self.paused || self.halted.is_some() || self.in_round() {
            return Vec::new();
        }
        if self.stop_on_pass && goal_reached(&self.search, loom, &self.rubric, self.root) {
            self.halted = Some(Halt::Passed);
            return Vec::new();
        }
        let per_parent = (params.n * params.max_tokens).max(1);
        let room = self.budget_tokens.saturating_sub(self.report.tokens_used) / per_parent;
        let k = self.per_round.min(room);
        if k == 0 {
            self.halted = Some(Halt::Budget);
            return Vec::new();
        }
        let parents = choose(&mut self.search, loom, self.root, k);
        if parents.is_empty() {
            self.halted = Some(Halt::Exhausted);
            return Vec::new();
        }
        let round = self.report.rounds + 1;
        let mut requests = Vec::new();
        for (i, &parent) in parents.iter().enumerate() {
            let mut p = params.clone();
            p.seed = job_seed(params, round, i);
            match start_expansion(loom, jobs, parent, &p, model, trim_prompt, now) {
                Ok(e) => {
                    self.pending.push((e.job, parent));
                    requests.push(e.request);
                }
                Err(e) => {
                    self.halted = Some(Halt::Failed(e));
                    break;
                }
            }
        }
        requests
    }

    /// One of this round's jobs ended with `kept` nodes (the fold's `ExpansionEnded`).
    /// Returns true when that closed the round (the report is then up to date).
    pub fn job_ended(
        &mut self,
        loom: &mut Loom,
        job: JobId,
        kept: &[NodeId],
        error: Option<&str>,
    ) -> bool {
        let Some(at) = self.pending.iter().position(|(j, _)| *j == job) else {
            return false;
        };
        let (_, parent) = self.pending.remove(at);
        for &id in kept {
            self.report.tokens_used += tokens_in(loom, id);
            self.added.push((parent, id));
        }
        if let Some(e) = error
            && self.halted.is_none()
        {
            self.halted = Some(Halt::Failed(format!("generation failed: {e}")));
        }
        if self.in_round() {
            return false;
        }
        let round = self.report.rounds + 1;
        let added = std::mem::take(&mut self.added);
        self.report.rounds = round;
        self.report.nodes_added += added.len();
        match absorb(
            loom,
            &self.rubric,
            &mut NoJudge,
            &mut self.search,
            self.root,
            round,
            &added,
        ) {
            Ok(n) => self.report.archived += n,
            Err(e) => self.halted = Some(Halt::Failed(e)),
        }
        self.report.best = best(loom, &self.rubric, &self.search, self.root);
        true
    }

    /// Moves the search below `root` (the round in flight finishes where it was): what is
    /// below the new root is scored afresh; the report goes on.
    pub fn move_root(&mut self, loom: &Loom, root: NodeId) -> Result<(), String> {
        self.search = prepare(loom, &self.rubric, &mut NoJudge, root, Policy::default())?;
        self.root = root;
        Ok(())
    }

    /// Stops after the round in flight (its jobs still land in the tree).
    pub fn stop(&mut self) {
        self.halted.get_or_insert(Halt::Stopped);
    }
}
