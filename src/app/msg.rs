//! Messages into the app and effects out of it. `update` turns one into the other; the
//! runtime performs the effects (engine requests, file I/O, the external editor).

use super::state::EditTarget;
use crate::engine::{EngineEvent, EngineRequest};
use crate::tree::NodeId;
use crossterm::event::{KeyEvent, MouseEvent};
use std::path::PathBuf;

/// Something that happened.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock, in milliseconds since the Unix epoch.
    Tick(u64),
    Engine(EngineEvent),
    /// $EDITOR closed; the edited text, or why it failed.
    EditorClosed {
        target: EditTarget,
        result: Result<String, String>,
    },
}

/// Something the runtime must do.
#[derive(Debug, Clone)]
pub enum Effect {
    Engine(EngineRequest),
    /// Save the loom now (atomically); the runtime reports back through `App::saved`.
    Save,
    /// Edit text in $EDITOR, then send `Msg::EditorClosed`.
    OpenEditor {
        target: EditTarget,
        text: String,
    },
    /// Replace the engine with the named backend from the config.
    SwitchBackend(String),
    /// Reload the engine with another model: a GGUF path or a built-in model's name for the
    /// local backend, the server's model name for a server.
    SwitchModel(String),
    /// Read another loom's file and graft its trees under `parent`.
    Import {
        path: PathBuf,
        parent: NodeId,
    },
    /// Export with a format name (as `tloom export` takes) to a path.
    Export {
        format: String,
        path: PathBuf,
        node: NodeId,
    },
    Quit,
}
