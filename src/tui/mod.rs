//! The terminal UI's shell: startup, the event loop, effects, terminal handling, logging;
//! and the two commands about the UI itself (`tloom keys`, `tloom bench ui`).

pub mod bench_ui;
pub mod effects;
mod keys;
pub mod logger;
mod runtime;
pub mod startup;
mod terminal;

pub use keys::keys_command;
pub use runtime::{Options, run};
