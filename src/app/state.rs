//! The application state: the loom, what the user is doing, the jobs in flight and what
//! the status bar says. Changed only by `update`.

use super::keymap::Keymap;
use super::multiverse::TokenTree;
use super::predictor::Predictor;
use super::textbuf::TextBuf;
use crate::engine::{JobId, ModelDescription, SamplingParams};
use crate::session::config::Config;
use crate::session::jobs::Jobs;
use crate::tree::{Loom, NodeId};
use std::collections::HashSet;
use std::path::PathBuf;

/// Which pane has the focus (mouse wheel and page keys act on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Tree,
    Reading,
    Branches,
}

/// What editing in place will do with the text when it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    /// Replace the node's text.
    Node(NodeId),
    /// Add the text as a new child of the node.
    NewChild(NodeId),
    /// Add the text as a new sibling after the node.
    NewSibling(NodeId),
    /// Split the node at the caret (Enter splits, the text is not changed).
    Split(NodeId),
    /// The loom's memory text.
    Memory,
}

/// A one-line input (search, palette).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineInput {
    pub buf: TextBuf,
}

/// What the keyboard is driving.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Walking the cursor node's children, keeping, discarding or expanding each.
    Triage,
    Edit {
        target: EditTarget,
        buf: TextBuf,
    },
    Search(LineInput),
    Palette {
        input: LineInput,
        selected: usize,
    },
    Help {
        scroll: u16,
    },
    Sampling {
        field: usize,
        /// Text being typed for the selected field.
        typing: Option<LineInput>,
    },
    Context {
        scroll: u16,
        /// The inspection job and its answer once it arrives.
        job: Option<JobId>,
        inspection: Option<Result<ContextFit, String>>,
    },
    /// Walking the tokens of a node (`index` is the highlighted token).
    Tokens {
        node: NodeId,
        index: usize,
    },
    /// The alternatives the model had for one token; `selected` is the highlighted one.
    Alternatives {
        node: NodeId,
        index: usize,
        selected: usize,
    },
    /// The curation metrics of the path to the cursor.
    Stats {
        scroll: u16,
    },
    /// The most probable token tree below a node, once the engine answers.
    Multiverse {
        node: NodeId,
        job: JobId,
        result: Option<Result<Vec<TokenTree>, String>>,
        selected: usize,
    },
}

/// How the prompt at the cursor fits the model's context window (the context inspector).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextFit {
    /// Tokens of the whole prompt.
    pub tokens: usize,
    pub context_length: usize,
    /// Tokens cut from the front to fit (0: it fits).
    pub dropped_tokens: usize,
    /// Byte offset in the prompt where the kept part begins (0: nothing cut).
    pub kept_from_byte: usize,
}

/// The engine as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineState {
    Loading { progress: f32, step: String },
    Ready(ModelDescription),
    Failed(String),
}

/// How serious a status message is.
pub use crate::session::Level;

#[derive(Debug, Clone, PartialEq)]
pub struct StatusMessage {
    pub text: String,
    pub level: Level,
    pub at: u64,
}

/// The last search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchState {
    pub query: String,
    pub hits: Vec<NodeId>,
}

/// How each generation picks its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedMode {
    /// A fresh random seed per generation (recorded on each node).
    Random,
    /// The same seed every time (branch i uses seed + i).
    Fixed(u64),
}

/// Where the loom lives on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct FileState {
    pub path: PathBuf,
    /// Why the file must not be written, if it must not.
    pub read_only: Option<String>,
    /// Changes not yet saved.
    pub dirty: bool,
    /// When an autosave is due (ms), if one is.
    pub save_due: Option<u64>,
    /// The last save failure, until a save succeeds.
    pub save_error: Option<String>,
}

/// Everything the UI shows and the update function changes.
pub struct App {
    pub loom: Loom,
    pub file: FileState,
    pub config: Config,
    pub keymap: Keymap,
    /// Sampling values for the next generation (the sampling panel edits them).
    pub sampling: SamplingParams,
    pub seed_mode: SeedMode,
    pub mode: Mode,
    pub focus: Pane,
    pub backend_name: String,
    pub engine: EngineState,
    pub jobs: Jobs,
    pub status: Option<StatusMessage>,
    /// Milliseconds since the Unix epoch, as of the last tick.
    pub now: u64,
    pub folded: HashSet<NodeId>,
    pub show_archived: bool,
    pub search: SearchState,
    /// Lines scrolled up from the automatic position of the reading pane.
    pub reading_scroll: i32,
    /// The highlighted child in the branch pane.
    pub branch_sel: usize,
    /// Terminal size, for mouse hit-testing (the layout is a pure function of it).
    pub screen: (u16, u16),
    /// State of the random walk's generator.
    pub rng: u64,
    /// The probability views: heatmap switch and scores of hand-written text.
    pub predictor: Predictor,
    /// The weave running (or last run) below a node, if any.
    pub weave: Option<crate::weave::weaver::Weaver>,
    pub quit: bool,
}

impl App {
    pub fn new(
        loom: Loom,
        file: FileState,
        config: Config,
        keymap: Keymap,
        backend_name: String,
        now: u64,
    ) -> App {
        // The settings the loom was left with, else the config's.
        let stored = super::settings::stored(&loom, &config.sampling);
        let (sampling, seed_mode, note) = match stored {
            Some(Ok((s, m))) => (s, m, None),
            Some(Err(e)) => (config.sampling.clone(), SeedMode::Random, Some(e)),
            None => (config.sampling.clone(), SeedMode::Random, None),
        };
        let mut app = App {
            loom,
            file,
            keymap,
            sampling,
            seed_mode,
            mode: Mode::Normal,
            focus: Pane::Reading,
            backend_name,
            engine: EngineState::Loading {
                progress: 0.0,
                step: "starting".into(),
            },
            jobs: Jobs::default(),
            status: None,
            now,
            folded: HashSet::new(),
            show_archived: false,
            search: SearchState::default(),
            reading_scroll: 0,
            branch_sel: 0,
            screen: (80, 24),
            rng: now | 1,
            predictor: Predictor::default(),
            weave: None,
            quit: false,
            config,
        };
        if let Some(note) = note {
            app.say(
                Level::Warning,
                format!("{note}: the config's defaults are used"),
            );
        }
        app
    }

    /// Show a message in the status bar.
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        match level {
            Level::Error => log::error!("{text}"),
            Level::Warning => log::warn!("{text}"),
            Level::Info => log::info!("{text}"),
        }
        self.status = Some(StatusMessage {
            text,
            level,
            at: self.now,
        });
    }

    /// The children the views show for a node: archived ones only when asked for, and exact
    /// duplicates of an earlier sibling folded into it (it shows their count), unless a
    /// duplicate has been worked on (`foldable`).
    pub fn shown_children(&self, id: NodeId) -> Vec<NodeId> {
        let all = self.unfolded_children(id);
        // Most rows of the tree have one child or none: nothing to fold, no text to hash.
        if all.len() < 2 {
            return all;
        }
        let mut texts = std::collections::HashSet::new();
        all.into_iter()
            .filter(|c| {
                let Some(node) = self.loom.get(*c) else {
                    return true;
                };
                let first = texts.insert(node.text.as_str());
                first || node.text.is_empty() || !self.foldable(*c)
            })
            .collect()
    }

    /// The children before exact duplicates fold: all of them, or the unarchived ones.
    pub fn unfolded_children(&self, id: NodeId) -> Vec<NodeId> {
        if self.show_archived {
            self.loom.children(id).to_vec()
        } else {
            self.loom.visible_children(id)
        }
    }

    /// Whether a node may fold into an earlier sibling with the same text: only a leaf that
    /// is not the cursor, not bookmarked and not being written, so folding hides nothing the
    /// user has worked on.
    fn foldable(&self, id: NodeId) -> bool {
        self.loom.get(id).is_some_and(|n| {
            n.children().is_empty()
                && !n.bookmarked
                && id != self.loom.cursor()
                && !self.jobs.is_generating(id)
        })
    }

    /// The child highlighted in the branch pane, if the cursor has children.
    pub fn selected_child(&self) -> Option<NodeId> {
        let children = self.shown_children(self.loom.cursor());
        children
            .get(self.branch_sel.min(children.len().saturating_sub(1)))
            .copied()
    }

    /// Note that the loom changed and should be saved soon.
    pub fn touch(&mut self) {
        self.file.dirty = true;
        if self.config.ui.autosave && self.file.read_only.is_none() {
            self.file.save_due = Some(self.now + 1000);
        }
    }

    /// A pseudo-random number (xorshift), for random walks.
    pub fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    pub fn model(&self) -> Option<&ModelDescription> {
        match &self.engine {
            EngineState::Ready(m) => Some(m),
            _ => None,
        }
    }
}
