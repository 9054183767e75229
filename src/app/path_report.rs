//! The curation-metrics report of the path to a node, for the stats panel and `:stats`:
//! the totals of `tree::PathMetrics` with intervention bits from the scores, and one row per
//! node saying what it added.

use super::predictor::{HumanScore, human_score};
use super::state::App;
use crate::tree::{Choice, NodeId, PathMetrics};

/// One node of the path.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub id: NodeId,
    /// Unedited model text (else hand-written or edited).
    pub model: bool,
    pub chars: usize,
    /// Recorded (generated) or scored tokens.
    pub tokens: Option<usize>,
    /// The choice that picked it, for model-written nodes below the root.
    pub choice: Option<Choice>,
    pub intervention: HumanScore,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PathReport {
    pub metrics: PathMetrics,
    /// Intervention bits of the whole path, when every hand-written node is scored.
    pub intervention_bits: Option<f64>,
    /// Hand-written tokens scored along the path.
    pub human_tokens: usize,
    pub rows: Vec<NodeRow>,
}

impl PathReport {
    /// Selection bits per kept (model-written) token, when tokens were recorded.
    pub fn selection_per_token(&self) -> Option<f64> {
        (self.metrics.tokens_kept > 0)
            .then(|| self.metrics.selection_bits / self.metrics.tokens_kept as f64)
    }

    /// Intervention bits per scored hand-written token.
    pub fn intervention_per_token(&self) -> Option<f64> {
        self.intervention_bits
            .filter(|_| self.human_tokens > 0)
            .map(|b| b / self.human_tokens as f64)
    }
}

/// The report on the path from the root to `id`.
pub fn path_report(app: &App, id: NodeId) -> Option<PathReport> {
    let metrics = app.loom.path_metrics(id)?;
    let mut rows = Vec::new();
    let (mut bits, mut complete, mut human_tokens) = (0.0, true, 0);
    for node_id in app.loom.ancestry(id) {
        let node = app.loom.get(node_id)?;
        let intervention = human_score(app, node_id);
        match intervention {
            HumanScore::Scored { bits: b, tokens } => {
                bits += b;
                human_tokens += tokens;
            }
            HumanScore::Unscored => complete = false,
            HumanScore::ModelText => {}
        }
        let tokens = match intervention {
            HumanScore::Scored { tokens, .. } => Some(tokens),
            _ => node.valid_tokens().map(<[_]>::len),
        };
        rows.push(NodeRow {
            id: node_id,
            model: crate::tree::is_model_text(node),
            chars: node.text.chars().count(),
            tokens,
            choice: metrics.choices.iter().find(|c| c.node == node_id).copied(),
            intervention,
        });
    }
    Some(PathReport {
        intervention_bits: complete.then_some(bits),
        human_tokens,
        metrics,
        rows,
    })
}

/// The one-line summary `:stats` used to print, kept for the status line.
pub fn summary(report: &PathReport) -> String {
    let m = &report.metrics;
    let intervention = match report.intervention_bits {
        Some(bits) => format!("{bits:.1} bits"),
        None => "unknown (score the path first)".into(),
    };
    format!(
        "path to #{}: selection {:.1} bits · intervention {intervention} · nodes kept {}/{} ({} archived) · tokens kept {}/{} · {:.0}% model-written",
        m.node,
        m.selection_bits,
        m.nodes_kept,
        m.nodes_generated,
        m.nodes_archived,
        m.tokens_kept,
        m.tokens_generated,
        m.model_share() * 100.0
    )
}
