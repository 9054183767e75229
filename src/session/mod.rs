//! The loop between the tree and the engine, with no UI: the config and the backend it
//! names, the prompt a path makes, placeholders for the branches a job will fill, the job
//! table, and the fold of engine events into the tree. The TUI (`app/`), the CLI and the
//! weave all drive the engine through it.

pub mod backends;
pub mod config;
pub mod convert;
pub mod expand;
pub mod fold;
pub mod jobs;
pub mod prompt;

pub use expand::{Expansion, start_expansion};
pub use fold::{Level, Outcome, fold};
