//! A weave run: rounds of choose (the policy) -> expand (one batch of jobs) -> score (the
//! rubric) -> back up -> archive the weak, within a token budget that is never exceeded,
//! with the tree handed back after every round to be saved.

use super::rubric::{Candidate, Judge, Rubric};
use super::search::{Policy, Search, Shape};
use crate::tree::{Loom, NodeId, Origin};
use serde_json::json;
use std::collections::HashSet;

/// Writes children under the nodes the search chose.
pub trait Expander {
    /// Adds children under each of `parents`, as one batch; returns each new node with its
    /// parent, and the tokens generated.
    fn expand(
        &mut self,
        loom: &mut Loom,
        parents: &[NodeId],
        round: usize,
    ) -> Result<Expanded, String>;
    /// The most tokens one parent's expansion can take (children x tokens per child).
    fn max_tokens_per_parent(&self) -> usize;
    /// The log-odds of "Yes" against "No" after `prompt`, for a rubric's judge questions.
    fn judge(&mut self, prompt: &str) -> Result<f64, String> {
        let _ = prompt;
        Err("this expander cannot judge: the rubric's judge questions need a model".into())
    }
}

/// An expander as the rubric's judge.
struct AsJudge<'a>(&'a mut dyn Expander);

impl Judge for AsJudge<'_> {
    fn yes_no(&mut self, prompt: &str) -> Result<f64, String> {
        self.0.judge(prompt)
    }
}

/// The first seed of job `i` of round `round`: every branch of a run gets its own.
pub(crate) fn job_seed(params: &crate::engine::SamplingParams, round: usize, i: usize) -> u64 {
    params
        .seed
        .wrapping_add(((round * 64 + i) * params.n) as u64)
}

/// The tokens a generated node took (its token records).
pub(crate) fn tokens_in(loom: &Loom, id: NodeId) -> usize {
    loom.get(id)
        .map_or(0, |n| n.tokens.as_ref().map_or(0, Vec::len))
}

/// What an expansion added.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    /// `(parent, child)` for every new node.
    pub nodes: Vec<(NodeId, NodeId)>,
    pub tokens: usize,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The node the search grows below.
    pub root: NodeId,
    pub budget_tokens: usize,
    /// Nodes expanded per round (one batch).
    pub per_round: usize,
    /// Stop at the first node that passes every regex of the rubric (when it has one).
    pub stop_on_pass: bool,
    pub policy: Policy,
}

/// The best node found.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    pub id: NodeId,
    pub score: f64,
    /// The text from the root to it.
    pub text: String,
    /// Whether it passes every regex of the rubric.
    pub passes: bool,
}

/// How a run went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub best: Option<Best>,
    pub tokens_used: usize,
    pub nodes_added: usize,
    pub rounds: usize,
    pub archived: usize,
}

/// The loom as the policy sees it.
struct LoomShape<'a>(&'a Loom);

impl Shape for LoomShape<'_> {
    fn children(&self, id: NodeId) -> Vec<NodeId> {
        self.0.visible_children(id)
    }

    fn kept(&self, id: NodeId) -> bool {
        self.0.get(id).is_some_and(|n| n.bookmarked)
    }
}

/// Scores `id` against the rubric.
fn score_node(
    loom: &Loom,
    rubric: &Rubric,
    judge: &mut dyn Judge,
    id: NodeId,
) -> Result<super::rubric::Score, String> {
    let node = loom.node(id).map_err(|e| e.to_string())?;
    let path = loom.path_text(id).map_err(|e| e.to_string())?;
    let mean_logprob = match &node.origin {
        Origin::Model(g) => g.mean_logprob,
        _ => None,
    };
    rubric.score_with(
        &Candidate {
            id: id.to_string(),
            path_text: &path,
            branch_text: &node.text,
            mean_logprob,
        },
        judge,
    )
}

fn passes(loom: &Loom, rubric: &Rubric, id: NodeId) -> bool {
    let (Some(node), Ok(path)) = (loom.get(id), loom.path_text(id)) else {
        return false;
    };
    rubric.has_goal()
        && rubric.passes(&Candidate {
            id: id.to_string(),
            path_text: &path,
            branch_text: &node.text,
            mean_logprob: None,
        })
}

/// The search over what is already below `root` (every visible node scored; those with
/// children count as expanded).
pub(crate) fn prepare(
    loom: &Loom,
    rubric: &Rubric,
    judge: &mut dyn Judge,
    root: NodeId,
    policy: Policy,
) -> Result<Search, String> {
    loom.node(root).map_err(|e| e.to_string())?;
    let mut search = Search::new(policy);
    let mut stack = vec![(root, None)];
    while let Some((id, parent)) = stack.pop() {
        let s = score_node(loom, rubric, judge, id)?;
        search.scored(id, parent, s.total);
        if !loom.children(id).is_empty() {
            search.expanded(id);
        }
        stack.extend(loom.visible_children(id).into_iter().map(|c| (c, Some(id))));
    }
    search.back_up(&LoomShape(loom), root);
    Ok(search)
}

/// Up to `k` nodes to expand next, each marked as expanded.
pub(crate) fn choose(search: &mut Search, loom: &Loom, root: NodeId, k: usize) -> Vec<NodeId> {
    let parents = search.select(&LoomShape(loom), root, k, &HashSet::new());
    for &p in &parents {
        search.expanded(p);
    }
    parents
}

/// Whether the best node found so far passes the rubric.
pub(crate) fn goal_reached(search: &Search, loom: &Loom, rubric: &Rubric, root: NodeId) -> bool {
    search
        .best(&LoomShape(loom), root)
        .is_some_and(|(id, _)| passes(loom, rubric, id))
}

/// A round's new nodes into the search: each scored and its record written on it, values
/// backed up, weak branches archived (never the cursor's path, nor what the person kept).
/// Returns how many were archived.
pub(crate) fn absorb(
    loom: &mut Loom,
    rubric: &Rubric,
    judge: &mut dyn Judge,
    search: &mut Search,
    root: NodeId,
    round: usize,
    added: &[(NodeId, NodeId)],
) -> Result<usize, String> {
    for &(parent, id) in added {
        let s = score_node(loom, rubric, judge, id)?;
        search.scored(id, Some(parent), s.total);
        let parts: serde_json::Map<String, serde_json::Value> = s
            .parts
            .iter()
            .map(|p| (p.name.clone(), json!(p.value)))
            .collect();
        let record = json!({"round": round, "score": s.total, "parts": parts});
        loom.set_extra(id, "weave", Some(record))
            .map_err(|e| e.to_string())?;
    }
    search.back_up(&LoomShape(loom), root);
    let cursor = loom.cursor();
    let mut protected: HashSet<NodeId> = loom.ancestry(cursor).into_iter().collect();
    protected.insert(cursor);
    let mut archived = 0;
    for id in search.to_archive(&LoomShape(loom), root, &protected) {
        if loom.set_archived(id, true).is_ok() {
            archived += 1;
        }
    }
    Ok(archived)
}

/// Runs the weave on `loom` below `opts.root`. `after_round` sees the tree after each round
/// (to save it); an error from it, the expander or the rubric stops the run, and what the
/// rounds before made stays in the tree.
pub fn run(
    loom: &mut Loom,
    rubric: &Rubric,
    expander: &mut dyn Expander,
    opts: &Options,
    after_round: &mut dyn FnMut(&Loom, &Report) -> Result<(), String>,
) -> Result<Report, String> {
    let mut search = prepare(loom, rubric, &mut AsJudge(expander), opts.root, opts.policy)?;
    let mut report = Report::default();
    let per_parent = expander.max_tokens_per_parent().max(1);
    loop {
        if opts.stop_on_pass && goal_reached(&search, loom, rubric, opts.root) {
            break;
        }
        let room = (opts.budget_tokens - report.tokens_used) / per_parent;
        let k = opts.per_round.min(room);
        if k == 0 {
            break;
        }
        let parents = choose(&mut search, loom, opts.root, k);
        if parents.is_empty() {
            break;
        }
        let round = report.rounds + 1;
        let added = expander.expand(loom, &parents, round)?;
        report.rounds = round;
        report.tokens_used += added.tokens;
        report.nodes_added += added.nodes.len();
        report.archived += absorb(
            loom,
            rubric,
            &mut AsJudge(expander),
            &mut search,
            opts.root,
            round,
            &added.nodes,
        )?;
        report.best = best(loom, rubric, &search, opts.root);
        after_round(loom, &report)?;
    }
    report.best = best(loom, rubric, &search, opts.root);
    Ok(report)
}

pub(crate) fn best(loom: &Loom, rubric: &Rubric, search: &Search, root: NodeId) -> Option<Best> {
    let (id, score) = search.best(&LoomShape(loom), root)?;
    Some(Best {
        id,
        score,
        text: loom.path_text(id).unwrap_or_default(),
        passes: passes(loom, rubric, id),
    })
}
