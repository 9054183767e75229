//! The weave: a budgeted search over the loom that expands and scores branches by itself
//! (docs/weave.md). `rubric` scores candidates, `search` is the policy (what to expand, how
//! values back up, what to archive), `run` the rounds within a token budget, and `engine`
//! the expander over a real engine through the session; `weaver` drives the same rounds
//! from events, for the TUI. Headless: `tloom weave`.

pub mod engine;
pub mod rubric;
pub mod run;
pub mod search;
pub mod weaver;

pub use rubric::Rubric;
pub use run::{Best, Expanded, Expander, Options, Report, run};
pub use search::Policy;
