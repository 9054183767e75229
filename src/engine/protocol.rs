//! The messages between the rest of tloom and an engine worker: requests in, events out.
//!
//! Every backend (the local candle model, an OpenAI-compatible server) speaks this protocol,
//! so the app treats them alike. Nothing here knows about the loom tree or the UI.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Identifies one request (an expansion, a scoring pass, ...) for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub u64);

/// The knobs of one generation. Every value is explicit: backends never apply hidden defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// Number of continuations (branches).
    pub n: usize,
    /// Upper bound on generated tokens per branch.
    pub max_tokens: usize,
    /// 0 means greedy.
    pub temperature: f32,
    /// 1.0 disables nucleus sampling.
    pub top_p: f32,
    /// 0 disables top-k.
    pub top_k: usize,
    /// 0.0 disables min-p.
    pub min_p: f32,
    /// 1.0 disables the penalty.
    pub repetition_penalty: f32,
    /// How many of the most recent tokens the repetition penalty looks at.
    pub repetition_window: usize,
    /// Generation of a branch stops when its text contains one of these; the stop text is cut.
    pub stop: Vec<String>,
    /// Branch i samples with seed + i.
    pub seed: u64,
    /// How many alternatives to record per generated token.
    pub top_logprobs: usize,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            n: 4,
            max_tokens: 48,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            repetition_window: 64,
            stop: Vec::new(),
            seed: 0,
            top_logprobs: 10,
        }
    }
}

/// One alternative for a token position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenAlternative {
    /// Token id, when the backend reports it.
    pub id: Option<u32>,
    pub text: String,
    /// Natural-log probability under the untempered distribution.
    pub logprob: f32,
}

/// One generated (or scored) token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: Option<u32>,
    /// The text this token adds (may be empty while a multi-byte character is incomplete;
    /// the bytes then arrive with a later token).
    pub text: String,
    /// Natural-log probability of this token under the untempered distribution.
    pub logprob: f32,
    /// Entropy (nats) of the untempered distribution at this position, when known.
    pub entropy: Option<f32>,
    /// The most likely tokens at this position, most likely first.
    pub top: Vec<TokenAlternative>,
}

/// Why a branch stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Reached max_tokens.
    Length,
    /// Produced one of the stop sequences (cut from the text).
    Stop,
    /// Produced an end-of-sequence token.
    Eos,
    /// The user cancelled; the text so far is kept.
    Cancelled,
    /// The backend failed mid-way; the text so far is kept.
    Error,
}

impl FinishReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            FinishReason::Length => "length",
            FinishReason::Stop => "stop",
            FinishReason::Eos => "eos",
            FinishReason::Cancelled => "cancelled",
            FinishReason::Error => "error",
        }
    }
}

/// Summary of one finished branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchSummary {
    pub reason: FinishReason,
    pub tokens: usize,
    /// Mean natural-log probability of the generated tokens.
    pub mean_logprob: Option<f32>,
    /// Mean entropy (nats) over the generated positions.
    pub mean_entropy: Option<f32>,
    /// The seed this branch sampled with.
    pub seed: u64,
    /// Why the branch failed, in words for the status bar (the server's own message where
    /// there is one); set when `reason` is `Error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the model is, as reported once it is ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDescription {
    /// Human-readable model id recorded on generated nodes (e.g. the GGUF file name).
    pub model: String,
    /// Backend name recorded on generated nodes (e.g. "candle", or a configured server name).
    pub backend: String,
    /// Context window in tokens.
    pub context_length: usize,
}

/// A request for one expansion: N continuations of a prompt.
#[derive(Debug, Clone)]
pub struct ExpandRequest {
    pub job: JobId,
    pub prompt: String,
    pub params: SamplingParams,
    pub cancel: CancelFlag,
}

/// Requests to an engine worker.
#[derive(Debug, Clone)]
pub enum EngineRequest {
    Expand(ExpandRequest),
    /// Score every token of a text under the model (one forward pass).
    Score {
        job: JobId,
        text: String,
    },
    /// The most likely next-token tree from a prompt, to `depth` tokens, keeping branches
    /// whose cumulative probability is at least `cutoff`, at most `width` children each.
    Explore {
        job: JobId,
        prompt: String,
        depth: usize,
        width: usize,
        cutoff: f32,
    },
    /// Count the prompt's tokens and say where it would be cut to fit the context window
    /// with room for `max_tokens` (for the context inspector).
    Inspect {
        job: JobId,
        prompt: String,
        max_tokens: usize,
    },
    Cancel(JobId),
    Shutdown,
}

/// How a prompt fits the context window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptInspection {
    /// Tokens of the whole prompt.
    pub tokens: usize,
    pub context_length: usize,
    /// Tokens cut from the front to fit (0: it fits).
    pub dropped_tokens: usize,
    /// Byte offset in the prompt where the kept part begins (0: nothing cut).
    pub kept_from_byte: usize,
}

/// One node of an explored next-token tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploredToken {
    pub token: TokenAlternative,
    /// Probability of this whole token path (product along it).
    pub path_prob: f32,
    pub children: Vec<ExploredToken>,
}

/// Events from an engine worker.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// Loading progress, 0.0..=1.0, with a short description of the step.
    Loading {
        progress: f32,
        step: String,
    },
    Ready(ModelDescription),
    LoadFailed(String),
    /// The prompt did not fit the context window and was cut from the front.
    PromptTrimmed {
        job: JobId,
        dropped_tokens: usize,
        kept_tokens: usize,
    },
    /// Prefill is done; tokens follow.
    Started {
        job: JobId,
        prompt_tokens: usize,
    },
    Token {
        job: JobId,
        branch: usize,
        token: TokenInfo,
    },
    BranchFinished {
        job: JobId,
        branch: usize,
        summary: BranchSummary,
    },
    /// All branches of the job are done (or the job failed after JobFailed).
    JobFinished {
        job: JobId,
    },
    JobFailed {
        job: JobId,
        error: String,
    },
    Scored {
        job: JobId,
        tokens: Vec<TokenInfo>,
    },
    Explored {
        job: JobId,
        roots: Vec<ExploredToken>,
    },
    Inspected {
        job: JobId,
        result: Result<PromptInspection, String>,
    },
}

/// A shared cancel flag; the worker checks it before every token.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
