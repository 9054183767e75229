//! Application state and its update function: messages in, state changes and effects out.
//! Joins the tree (what the user curates) and the engine (what writes text).

pub mod action;
pub mod actions;
pub mod curate;
pub mod engine_events;
pub mod generate;
pub mod input;
pub mod keymap;
pub mod keys;
pub mod msg;
pub mod multiverse;
pub mod navigate;
pub mod palette;
pub mod path_report;
pub mod predictor;
pub mod reading;
pub mod sampling_panel;
pub mod settings;
pub mod siblings;
pub mod state;
pub mod textbuf;
pub mod update;
pub mod view;
pub mod weave;

pub use msg::{Effect, Msg};
pub use state::App;
pub use update::update;
