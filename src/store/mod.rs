//! Files: the tloom format (a versioned DTO), atomic saves with a backup, the journal of
//! unsaved changes, the one-writer lock, and (in submodules) imports from and exports to
//! other tools.

pub mod atomic;
mod convert;
mod error;
pub mod export;
mod file;
pub mod format;
mod format_de;
pub mod import;
mod journal;
mod lock;
mod replay;
pub mod time;

pub use error::StoreError;
pub use file::{Opened, load, load_bytes, save, save_bytes, to_bytes};
pub use journal::{Base, Journal, journal_path};
pub use lock::{FileLock, lock_path};
pub use replay::{Recovered, load_recovering};
