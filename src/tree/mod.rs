//! The loom itself: nodes, structure, operations, undo, search and statistics.
//! Knows nothing of files, models or the terminal.

mod build;
mod changes;
mod check;
mod edit;
mod error;
mod folded;
mod history;
mod id;
mod loom;
mod metrics;
mod nav;
mod node;
mod ops;
pub mod outline;
mod search;
mod stats;

pub use build::LoomBuilder;
pub use edit::{Edit, Flag};
pub use error::TreeError;
pub use id::NodeId;
pub use loom::{Loom, system_clock};
pub use metrics::{Choice, PathMetrics, intervention_bits, is_model_text};
pub use node::{Author, GenParams, Generation, Imported, Node, Origin, TokenAlt, TokenRecord};
pub use ops::char_to_byte;
pub use search::{Match, Matcher, Query};
pub use stats::SubtreeStats;
