//! tloom: a terminal loom for exploring and curating the continuations a language model writes.
//!
//! Layers, in dependency order: `tree` (the loom itself, no UI or model), `engine` (text
//! generation, no tree), `store` (files), `session` (the tree<->engine loop with no UI:
//! config, backends, prompts, jobs and the fold of engine events into the tree), `app`
//! (the TUI's state and update), `ui` (drawing only), `weave` (the automatic search, over
//! `session`) and `cli` (headless subcommands).

pub mod app;
pub mod cli;
pub mod engine;
pub mod fuzzing;
pub mod session;
pub mod store;
pub mod tree;
pub mod tui;
pub mod ui;
pub mod weave;
