//! The terminal UI's shell: startup, the event loop, effects, terminal handling, logging.

pub mod effects;
pub mod logger;
mod runtime;
pub mod startup;
mod terminal;

pub use runtime::{Options, run};
