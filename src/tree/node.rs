//! The data a node carries: its own text segment, provenance, curation flags, token data.

use super::id::NodeId;
use serde_json::{Map, Value};

/// Who or what wrote a node's text.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Origin {
    /// Typed (or pasted) by a person.
    #[default]
    Human,
    /// Written by a model through tloom.
    Model(Generation),
    /// Came from another loom's file.
    Imported(Imported),
}

/// Provenance of model-written text: enough to regenerate the branch exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    /// Model identity (file name or server model name).
    pub model: String,
    /// Backend name (e.g. "candle" or a configured server).
    pub backend: String,
    pub params: GenParams,
    /// The seed this branch sampled with.
    pub seed: u64,
    /// Why generation stopped ("length", "stop", "eos", "cancelled", "error"); None while running.
    pub finish: Option<String>,
    pub mean_logprob: Option<f32>,
    pub mean_entropy: Option<f32>,
}

/// The sampling parameters a generation used.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    pub max_tokens: u32,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: u32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub stop: Vec<String>,
}

impl Default for GenParams {
    fn default() -> Self {
        GenParams {
            max_tokens: 0,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            stop: Vec::new(),
        }
    }
}

/// Provenance of imported text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Imported {
    /// The format it came from ("pyloom", "openloom", ...).
    pub format: String,
    pub author: Author,
    /// Model name, when the source recorded one.
    pub model: Option<String>,
}

/// Authorship as recorded by another tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Author {
    Human,
    Model,
    #[default]
    Unknown,
}

impl Origin {
    /// True for text written by a model, here or in another tool.
    pub fn is_model(&self) -> bool {
        match self {
            Origin::Model(_) => true,
            Origin::Imported(imp) => imp.author == Author::Model,
            Origin::Human => false,
        }
    }

    pub fn generation(&self) -> Option<&Generation> {
        match self {
            Origin::Model(g) => Some(g),
            _ => None,
        }
    }

    /// The model name, for model-written text that recorded one.
    pub fn model_name(&self) -> Option<&str> {
        match self {
            Origin::Model(g) => Some(&g.model),
            Origin::Imported(imp) => imp.model.as_deref(),
            Origin::Human => None,
        }
    }
}

/// One alternative token at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenAlt {
    pub id: Option<u32>,
    pub text: String,
    pub logprob: f32,
}

/// One token of model-written text, with what else the model might have said.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub id: Option<u32>,
    pub text: String,
    /// Natural-log probability under the untempered distribution.
    pub logprob: f32,
    /// The most likely alternatives, most likely first.
    pub top: Vec<TokenAlt>,
}

/// A node of the loom. Structure (parent, children) is maintained by `Loom`.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub(crate) id: NodeId,
    pub(crate) parent: Option<NodeId>,
    pub(crate) children: Vec<NodeId>,
    /// This node's own text segment; the path text is the concatenation from the root.
    pub text: String,
    pub origin: Origin,
    /// Creation time, Unix milliseconds.
    pub created: i64,
    pub bookmarked: bool,
    /// Hidden from normal views, not deleted.
    pub archived: bool,
    /// Text was changed by hand after it was written (token data no longer applies).
    pub edited: bool,
    pub tags: Vec<String>,
    pub note: String,
    /// Memory text prepended to prompts for this subtree (empty: none).
    pub memory: String,
    /// Not yet visited by the user.
    pub unread: bool,
    /// The child last visited from here, so moving down returns to it.
    pub last_child: Option<NodeId>,
    /// Per-token data for model-written text; its texts concatenate to `text`.
    pub tokens: Option<Vec<TokenRecord>>,
    /// Fields this version does not know, kept so newer files round-trip.
    pub extra: Map<String, Value>,
}

impl Node {
    /// A fresh node with the given text, as a person would write it.
    pub fn new(text: impl Into<String>) -> Node {
        Node {
            id: NodeId(0),
            parent: None,
            children: Vec::new(),
            text: text.into(),
            origin: Origin::Human,
            created: 0,
            bookmarked: false,
            archived: false,
            edited: false,
            tags: Vec::new(),
            note: String::new(),
            memory: String::new(),
            unread: false,
            last_child: None,
            tokens: None,
            extra: Map::new(),
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn parent(&self) -> Option<NodeId> {
        self.parent
    }

    /// Children in their stable, explicit order.
    pub fn children(&self) -> &[NodeId] {
        &self.children
    }

    pub fn with_origin(mut self, origin: Origin) -> Node {
        self.origin = origin;
        self
    }

    /// Token data that matches the text exactly, or None.
    pub fn valid_tokens(&self) -> Option<&[TokenRecord]> {
        let tokens = self.tokens.as_deref()?;
        let total: usize = tokens.iter().map(|t| t.text.len()).sum();
        (total == self.text.len()).then_some(tokens)
    }
}

/// Split token data at a byte offset of the text they cover. Returns None for both halves
/// when the offset falls inside a token.
pub(crate) fn split_tokens(
    tokens: &[TokenRecord],
    offset: usize,
) -> Option<(Vec<TokenRecord>, Vec<TokenRecord>)> {
    let mut pos = 0;
    for (i, token) in tokens.iter().enumerate() {
        if pos == offset {
            return Some((tokens[..i].to_vec(), tokens[i..].to_vec()));
        }
        pos += token.text.len();
        if pos > offset {
            return None;
        }
    }
    (pos == offset).then(|| (tokens.to_vec(), Vec::new()))
}
