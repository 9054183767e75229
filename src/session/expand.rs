//! Starting a generation: empty placeholders appear under the parent at once (one undo
//! step), the job enters the table, and the request for the engine is made; `fold` then
//! fills the placeholders as tokens stream in.

use super::convert::{BranchText, placeholder};
use super::jobs::{Job, JobKind, Jobs};
use super::prompt::prompt_for;
use crate::engine::SamplingParams;
use crate::engine::{CancelFlag, EngineRequest, ExpandRequest, JobId, ModelDescription};
use crate::tree::{Loom, NodeId};

/// A generation just started.
#[derive(Debug)]
pub struct Expansion {
    pub job: JobId,
    /// The placeholders, one per branch, in branch order.
    pub nodes: Vec<NodeId>,
    /// What to send to the engine.
    pub request: EngineRequest,
}

/// Starts `params.n` branches under `parent`: the prompt is the path's text (memory first,
/// trailing spaces trimmed when `trim_prompt`), the placeholders are recorded as `model`'s
/// (a model still loading is renamed when the job starts).
pub fn start_expansion(
    loom: &mut Loom,
    jobs: &mut Jobs,
    parent: NodeId,
    params: &SamplingParams,
    model: &ModelDescription,
    trim_prompt: bool,
    now: u64,
) -> Result<Expansion, String> {
    let prompt = prompt_for(loom, parent, trim_prompt);
    let placeholders = (0..params.n)
        .map(|i| placeholder(model, params, i))
        .collect();
    loom.begin_batch("generate");
    let added = loom.add_children(parent, placeholders);
    loom.end_batch();
    let nodes = added.map_err(|e| e.to_string())?;
    let job = jobs.next_id();
    let cancel = CancelFlag::new();
    let kind = JobKind::Expand {
        parent,
        nodes: nodes.clone(),
        text: vec![BranchText::new(prompt.trimmed_spaces); params.n],
        params: params.clone(),
    };
    jobs.add(Job::queued(job, kind, cancel.clone(), now));
    let request = EngineRequest::Expand(ExpandRequest {
        job,
        prompt: prompt.text,
        params: params.clone(),
        cancel,
    });
    Ok(Expansion {
        job,
        nodes,
        request,
    })
}
