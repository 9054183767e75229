//! The command line: clap definitions for every subcommand.

use crate::tree::NodeId;
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  tloom story.json                          open the loom in the terminal UI
  tloom --model gemma3-270m story.json      ... with the built-in base model gemma-3-270m
  tloom new story.json --prompt 'The lighthouse keeper'
  tloom add story.json --node 1 --text ' had a secret.'
  tloom tree story.json                     outline with ids and markers
  tloom show story.json --node 2            the text from the root down to node 2
  tloom stats story.json --json
  tloom import loom_demo.json -o demo.json  bring in a tree from another loom
  tloom export story.json --format html -o story.html
  tloom completions bash > /etc/bash_completion.d/tloom

Exit codes: 0 ok, 1 failure, 2 usage, 65 bad input file, 66 missing file,
69 backend unavailable, 74 I/O error, 75 file in use or server busy, 78 bad config.";

/// A terminal loom: generate, explore and curate the branching continuations a language
/// model writes from a text.
#[derive(Debug, Parser)]
#[command(name = "tloom", version, about, long_about = None, after_long_help = EXAMPLES)]
pub struct Cli {
    /// A loom file to open in the terminal UI (default: the scratch loom).
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    /// Open the file without writing to it.
    #[arg(long)]
    pub read_only: bool,

    /// The model to loom with: a GGUF file or a built-in model's name (`tloom model list`),
    /// fetched on first use (default: the config's, else the default model).
    #[arg(long)]
    pub model: Option<String>,

    /// Compute threads for the local model (default: physical cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,

    /// The config file (default: $TLOOM_CONFIG, else ~/.config/tloom/config.toml).
    #[arg(long, global = true, value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new loom file with a root prompt.
    New(NewArgs),
    /// Print the path text from the root down to a node.
    Show(ShowArgs),
    /// Print the tree as an indented outline with ids and markers.
    Tree(TreeArgs),
    /// Print statistics of the tree (or of a node's subtree).
    Stats(StatsArgs),
    /// Add a node by hand as a child, sibling or parent of a node.
    Add(AddArgs),
    /// Replace a node's text.
    Edit(EditArgs),
    /// Split a node at a character offset; the text before it becomes a new parent.
    Split(SplitArgs),
    /// Merge a node into its parent (the parent must have no other children).
    Merge(NodeArgs),
    /// Delete a node's subtree, or only its children or siblings.
    Delete(DeleteArgs),
    /// Archive a node (hidden from normal views, not deleted), or unarchive it.
    Archive(FlagArgs),
    /// Bookmark a node, or remove its bookmark.
    Bookmark(FlagArgs),
    /// Move a node (with its subtree) under another parent, or to another position.
    Move(MoveArgs),
    /// Copy a node's subtree with fresh ids.
    Clone(CloneArgs),
    /// Search node texts (substring, or regex with --regex); results in tree order.
    Search(SearchArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Import trees from another loom's file into tloom files (format detected from content).
    Import(ImportArgs),
    /// Export a tree, a subtree or a path to another format (stdout unless -o).
    Export(ExportArgs),
    /// Generate continuations of a node with the model and add them as its children.
    Generate(GenerateArgs),
    /// Search below a node by itself: rounds of expansion scored by a rubric, within a
    /// token budget; weak branches are archived, the tree is saved after every round.
    #[command(
        after_help = "Examples:\n  tloom weave story.json --score-regex '(?i)treasure' --budget-tokens 2000\n  tloom weave story.json --node 7 --rubric assets/rubrics/lighthouse.toml --budget-tokens 4000 --json"
    )]
    Weave(WeaveArgs),
    /// Print the config file's path or the default config.
    Config(ConfigArgs),
    /// Print the key bindings (or docs/keybindings.md with --markdown).
    Keys(KeysArgs),
    /// Run a benchmark and print its numbers.
    Bench(BenchArgs),
    /// Fetch, inspect and try models.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, Args)]
pub struct FileArg {
    /// The loom file.
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The root prompt text.
    #[arg(long, conflicts_with = "prompt_file")]
    pub prompt: Option<String>,
    /// Read the root prompt from a file ("-" for stdin).
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub prompt_file: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The node (default: the saved cursor).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// Print only the node's own text, not the whole path.
    #[arg(long)]
    pub segment: bool,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Start at this node (default: the root).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// Cut each text to this many characters (0: whole texts).
    #[arg(long, default_value_t = 60)]
    pub width: usize,
    /// Leave out archived nodes.
    #[arg(long)]
    pub hide_archived: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// Statistics of this node's subtree, plus the curation metrics of the path to it
    /// (selection and intervention bits; the latter scores the path with the local model).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip scoring the path with the model (intervention bits are then left out).
    #[arg(long)]
    pub no_model: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Relation {
    Child,
    Sibling,
    Parent,
}

#[derive(Debug, Args)]
pub struct TextInput {
    /// The text.
    #[arg(long, conflicts_with = "text_file")]
    pub text: Option<String>,
    /// Read the text from a file ("-" for stdin).
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub text_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The node to add next to (default: the saved cursor).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// Where the new node goes relative to --node.
    #[arg(long = "as", value_enum, default_value_t = Relation::Child)]
    pub relation: Relation,
    #[command(flatten)]
    pub text: TextInput,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    #[command(flatten)]
    pub text: TextInput,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    /// Character offset inside the node's own text.
    #[arg(long)]
    pub at: usize,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    /// Delete only the node's children.
    #[arg(long, conflicts_with = "siblings")]
    pub children: bool,
    /// Delete only the node's siblings.
    #[arg(long)]
    pub siblings: bool,
}

#[derive(Debug, Args)]
pub struct FlagArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    /// Clear the mark instead of setting it.
    #[arg(long)]
    pub off: bool,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    /// The new parent (default: the current parent, to reorder).
    #[arg(long)]
    pub to: Option<NodeId>,
    /// Position among the new parent's children, from 0 (default: last).
    #[arg(long)]
    pub index: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    #[command(flatten)]
    pub file: FileArg,
    #[arg(long)]
    pub node: NodeId,
    /// Parent of the copy (default: the copy becomes the node's next sibling).
    #[arg(long)]
    pub to: Option<NodeId>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub file: FileArg,
    pub pattern: String,
    /// Treat the pattern as a regular expression.
    #[arg(long)]
    pub regex: bool,
    /// Match case exactly.
    #[arg(long)]
    pub case_sensitive: bool,
    /// Also search archived nodes.
    #[arg(long)]
    pub archived: bool,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import (pyloom, Loomsidian, Bonsai, OpenLoom, ... detected from content).
    #[arg(value_hint = ValueHint::FilePath)]
    pub src: PathBuf,
    /// Where to write the tloom file ("-" for stdout; with --all, a folder). Default: beside
    /// SRC, named after it (or after each note) with ".tloom.json".
    #[arg(short, long, value_hint = ValueHint::AnyPath)]
    pub output: Option<PathBuf>,
    /// The source format, when detection guesses wrong.
    #[arg(long, value_name = "FORMAT")]
    pub from: Option<ImportFormat>,
    /// From a file holding several trees (a Loomsidian vault): the one to import.
    #[arg(long, conflicts_with = "all")]
    pub note: Option<String>,
    /// From a file holding several trees: import every one, each to its own file.
    #[arg(long)]
    pub all: bool,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The format to write.
    #[arg(short, long, value_name = "FORMAT")]
    pub format: ExportFormat,
    /// Path formats (txt, md): the node the path ends at (default: the saved cursor).
    /// Tree formats: the node whose subtree to export (default: the root).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// md: the whole subtree at --node (alternatives folded) instead of the path.
    #[arg(long)]
    pub subtree: bool,
    /// md of a path: mark where each node starts (as HTML comments).
    #[arg(long)]
    pub separators: bool,
    /// md: YAML front matter with provenance (models, sampling, dates, node ids).
    #[arg(long)]
    pub front_matter: bool,
    /// Tree views (md, html, dot, twee, canvas): leave out archived nodes.
    #[arg(long)]
    pub hide_archived: bool,
    /// Title for the export (default: the loom's, else the file name).
    #[arg(long)]
    pub title: Option<String>,
    /// Write here instead of stdout (atomically).
    #[arg(short, long, value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,
}

/// The formats `tloom import --from` accepts.
pub type ImportFormat = crate::store::import::Format;
/// The formats `tloom export --format` writes.
pub type ExportFormat = crate::store::export::Format;

impl ValueEnum for ImportFormat {
    fn value_variants<'a>() -> &'a [Self] {
        ImportFormat::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).aliases(self.aliases().iter().copied()))
    }
}

impl ValueEnum for ExportFormat {
    fn value_variants<'a>() -> &'a [Self] {
        ExportFormat::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a built-in model (default: the default model, SmolLM2-135M-Instruct, 98 MB)
    /// into the cache; prints its path last.
    #[command(
        after_help = "Examples:\n  tloom model fetch\n  tloom model fetch gemma3-270m\n  tloom model list"
    )]
    Fetch {
        /// A built-in model's name (`tloom model list` shows them).
        name: Option<String>,
    },
    /// The built-in models: names, sizes, licences, and whether each is in the cache.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Architecture, size, quantization, context and tokenizer of a GGUF file.
    Info {
        /// A GGUF file (default: the default model).
        #[arg(value_hint = ValueHint::FilePath)]
        path: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Print the token ids of TEXT (special tokens such as <|im_start|> recognised).
    Tokenize {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        json: bool,
        text: String,
    },
    /// Generate raw continuations of TEXT, without a loom file.
    Complete {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[arg(long)]
        json: bool,
        text: String,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// A GGUF model file (default: the default model, fetched if missing).
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub model: Option<PathBuf>,
    /// A tokenizer.json to use instead of the GGUF's vocabulary.
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub tokenizer: Option<PathBuf>,
}

/// Sampling options; unset values come from the config file's [sampling] table.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Sampling")]
pub struct SamplingArgs {
    /// Number of continuations.
    #[arg(short, long)]
    pub n: Option<usize>,
    /// Most tokens per continuation.
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// 0 is greedy.
    #[arg(long)]
    pub temperature: Option<f32>,
    #[arg(long)]
    pub top_p: Option<f32>,
    /// 0 disables top-k.
    #[arg(long)]
    pub top_k: Option<usize>,
    #[arg(long)]
    pub min_p: Option<f32>,
    #[arg(long)]
    pub repetition_penalty: Option<f32>,
    /// Branch i uses seed + i (default: a random seed, recorded on each node).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop sequence (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchKind {
    /// Load, save, path text and search on a 100,000-node tree.
    Tree,
    /// Prefill, decode, batched decode, time to first token and peak RSS of the local model.
    Engine,
    /// A scripted looming session: 1000-token root, 6 rounds of 4 x 48 tokens.
    LoomSession,
    /// One keypress plus a full redraw with a 100,000-node loom, idle and while streaming.
    Ui,
    /// The engine's CPU kernels alone (matmuls, attention) at the default model's shapes.
    Kernels,
    /// Write (once) and print the path of a bigger model with random weights: --shape
    /// llama3-1b or qwen3-4b.
    ShapeFile,
    /// The weave against best-of-N sampling at the same token budget (--runs seeds a goal).
    Weave,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(value_enum)]
    pub kind: BenchKind,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Repetitions for the engine benchmark (medians are reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Run on a model of this shape with random Q4_K_M weights (llama3-1b, qwen3-4b),
    /// written into the cache on first use, instead of --model.
    #[arg(long, conflicts_with = "model")]
    pub shape: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The node to continue (default: the saved cursor).
    #[arg(long)]
    pub node: Option<NodeId>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// A tokenizer.json for a local model.
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub tokenizer: Option<PathBuf>,
    /// Print JSON: {"children": [{"id", "text", "tokens", "finish_reason"}]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scorer").required(true).args(["rubric", "score_regex"])))]
pub struct WeaveArgs {
    #[command(flatten)]
    pub file: FileArg,
    /// The node to search below (default: the saved cursor).
    #[arg(long)]
    pub node: Option<NodeId>,
    /// A rubric file (TOML; docs/weave.md).
    #[arg(long, value_hint = ValueHint::FilePath)]
    pub rubric: Option<PathBuf>,
    /// A one-line rubric: the text from the root must match this regex.
    #[arg(long)]
    pub score_regex: Option<String>,
    /// The most tokens the run may generate (never exceeded).
    #[arg(long)]
    pub budget_tokens: usize,
    /// Nodes expanded per round.
    #[arg(long, default_value_t = 2)]
    pub per_round: usize,
    /// Keep searching after a node passes every regex of the rubric.
    #[arg(long)]
    pub no_stop: bool,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Print JSON: {"best": {"id", "score", "text"}, "tokens_used", "nodes_added", "rounds"}.
    #[arg(long)]
    pub json: bool,
}

/// Which backend generates: a named one from the config, or a server given here.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// A backend named in the config (default: the config's `backend`).
    #[arg(long, conflicts_with = "base_url")]
    pub backend: Option<String>,
    /// An OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (no config needed).
    #[arg(long)]
    pub base_url: Option<String>,
    /// With --base-url: the server's model name. Otherwise: a local GGUF file.
    #[arg(long)]
    pub model: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print where the config file is read from.
    #[arg(long, conflicts_with = "print_default")]
    pub path: bool,
    /// Print the default config (a commented starting point).
    #[arg(long)]
    pub print_default: bool,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Print docs/keybindings.md.
    #[arg(long)]
    pub markdown: bool,
}
