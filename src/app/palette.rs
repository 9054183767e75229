//! The command palette: every action by name, plus commands that take an argument
//! (import, export, backend, set, seed, memory, tag, note). Fuzzy-matched as you type.

use super::action::Action;
use super::msg::Effect;
use super::state::{App, Level, LineInput, Mode, SeedMode};
use super::{actions, curate, input};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;

/// Commands that take arguments, with their usage.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "import",
        "import PATH: graft another loom's tree (any supported format) under the current node",
    ),
    (
        "export",
        "export FORMAT [PATH]: write txt, md, json, pyloom, openloom, dot, html, twee, canvas or pairs",
    ),
    (
        "backend",
        "backend NAME: switch to a backend from the config",
    ),
    (
        "model",
        "model PATH|NAME: load another model (a GGUF file or a built-in name such as gemma3-270m)",
    ),
    (
        "set",
        "set KEY=VALUE: a sampling value (n, max_tokens, temperature, top_p, top_k, min_p, ...)",
    ),
    (
        "seed",
        "seed random|N: a fresh seed per generation, or a fixed one",
    ),
    (
        "memory",
        "memory TEXT: the loom's memory, prepended to every prompt",
    ),
    (
        "node-memory",
        "node-memory TEXT: memory for the current subtree",
    ),
    (
        "weave",
        "weave REGEX [TOKENS]: search below the cursor by itself until a path matches; weave pause|resume|stop|root|best",
    ),
    ("tag", "tag WORDS: set the current node's tags"),
    ("note", "note TEXT: set the current node's note"),
    (
        "stats",
        "stats: curation metrics of the path to the current node (selection/intervention bits, kept vs generated)",
    ),
];

/// One entry of the palette list.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Action(Action),
    Command(&'static str),
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Action(a) => a.name(),
            Entry::Command(c) => c,
        }
    }

    pub fn doc(&self) -> &str {
        match self {
            Entry::Action(a) => a.doc(),
            Entry::Command(c) => COMMANDS.iter().find(|(n, _)| n == c).map_or("", |(_, d)| d),
        }
    }
}

/// A subsequence match score (higher is better), or None.
fn score(pattern: &str, name: &str) -> Option<i32> {
    if pattern.is_empty() {
        return Some(0);
    }
    let mut score = 0;
    let mut last = None;
    let mut chars = name.char_indices();
    for p in pattern.chars() {
        let (i, _) = chars.by_ref().find(|(_, c)| c.eq_ignore_ascii_case(&p))?;
        score += match last {
            Some(l) if i == l + 1 => 3,
            _ if i == 0 => 4,
            _ => 1,
        };
        last = Some(i);
    }
    Some(score * 10 - name.len() as i32)
}

/// Entries matching the first word of the input, best first.
pub fn matches(text: &str) -> Vec<Entry> {
    let word = text.split_whitespace().next().unwrap_or("");
    let mut scored: Vec<(i32, Entry)> = COMMANDS
        .iter()
        .map(|(n, _)| Entry::Command(n))
        .chain(Action::ALL.iter().map(|a| Entry::Action(*a)))
        .filter_map(|e| score(word, e.name()).map(|s| (s, e)))
        .collect();
    scored.sort_by_key(|e| std::cmp::Reverse(e.0));
    scored.into_iter().map(|(_, e)| e).collect()
}

pub fn key(
    app: &mut App,
    input: &mut LineInput,
    selected: usize,
    key: KeyEvent,
    fx: &mut Vec<Effect>,
) {
    let found = matches(input.text());
    match key.code {
        KeyCode::Esc => app.mode = Mode::Normal,
        KeyCode::Up => {
            app.mode = Mode::Palette {
                input: input.clone(),
                selected: selected.saturating_sub(1),
            }
        }
        KeyCode::Down | KeyCode::Tab => {
            let next = (selected + 1).min(found.len().saturating_sub(1));
            app.mode = Mode::Palette {
                input: input.clone(),
                selected: next,
            };
        }
        KeyCode::Enter => {
            app.mode = Mode::Normal;
            let text = input.text().trim().to_string();
            let args = text
                .split_once(char::is_whitespace)
                .map_or("", |(_, a)| a.trim())
                .to_string();
            match found.get(selected) {
                Some(Entry::Action(a)) => actions::run(app, *a, fx),
                Some(Entry::Command(c)) => command(app, c, &args, fx),
                None => app.say(Level::Info, format!("no command matches {text:?}")),
            }
        }
        _ => {
            input::line_key(&mut input.buf, key);
            app.mode = Mode::Palette {
                input: input.clone(),
                selected: 0,
            };
        }
    }
}

fn command(app: &mut App, name: &str, args: &str, fx: &mut Vec<Effect>) {
    let cursor = app.loom.cursor();
    let usage = || {
        COMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, u)| *u)
            .to_string()
    };
    if args.is_empty()
        && !matches!(
            name,
            "memory" | "node-memory" | "tag" | "note" | "stats" | "weave"
        )
    {
        return app.say(Level::Info, usage());
    }
    match name {
        "import" if curate::writable(app) => fx.push(Effect::Import {
            path: expand_home(args),
            parent: cursor,
        }),
        "export" => {
            let mut words = args.split_whitespace();
            let format = words.next().unwrap_or("").to_string();
            let path = match words.next() {
                Some(p) => expand_home(p),
                None => default_export_path(app, &format),
            };
            fx.push(Effect::Export {
                format,
                path,
                node: cursor,
            });
        }
        "backend" => fx.push(Effect::SwitchBackend(args.to_string())),
        "model" if args.is_empty() => app.say(
            Level::Warning,
            "model PATH|NAME: a GGUF file or a built-in model (tloom model list)",
        ),
        "model" => fx.push(Effect::SwitchModel(expand_home(args).display().to_string())),
        "stats" => {
            if let Some(report) = super::path_report::path_report(app, cursor) {
                app.say(Level::Info, super::path_report::summary(&report));
            }
            app.mode = Mode::Stats { scroll: 0 };
        }
        "set" => match super::sampling_panel::set_value(&mut app.sampling, args) {
            Ok(()) => app.say(Level::Info, format!("set {args}")),
            Err(e) => app.say(Level::Warning, e),
        },
        "seed" => match args {
            "random" => {
                app.seed_mode = SeedMode::Random;
                app.say(Level::Info, "a fresh random seed for each generation");
            }
            n => match n.parse() {
                Ok(seed) => {
                    app.seed_mode = SeedMode::Fixed(seed);
                    app.say(
                        Level::Info,
                        format!("seed fixed at {seed} (branch i uses {seed} + i)"),
                    );
                }
                Err(_) => app.say(
                    Level::Warning,
                    format!("seed takes \"random\" or a whole number, not {n:?}"),
                ),
            },
        },
        "weave" => super::weave::command(app, args, fx),
        "memory" => {
            super::curate::apply_edit(app, super::state::EditTarget::Memory, args.to_string(), fx)
        }
        "node-memory" if curate::writable(app) => {
            let r = app_result(app.loom.set_node_memory(cursor, args));
            report(app, r)
        }
        "tag" if curate::writable(app) => {
            let tags = args.split_whitespace().map(str::to_string).collect();
            let r = app_result(app.loom.set_tags(cursor, tags));
            report(app, r)
        }
        "note" if curate::writable(app) => {
            let r = app_result(app.loom.set_note(cursor, args));
            report(app, r)
        }
        _ => {}
    }
}

fn app_result(r: Result<(), crate::tree::TreeError>) -> Result<(), String> {
    r.map_err(|e| e.to_string())
}

fn report(app: &mut App, r: Result<(), String>) {
    match r {
        Ok(()) => app.touch(),
        Err(e) => app.say(Level::Warning, e),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map_or_else(|| PathBuf::from(path), |h| PathBuf::from(h).join(rest)),
        None => PathBuf::from(path),
    }
}

/// `<file stem>.<format>` beside the loom file.
fn default_export_path(app: &App, format: &str) -> PathBuf {
    let stem = app
        .file
        .path
        .file_stem()
        .map_or("loom".into(), |s| s.to_string_lossy().into_owned());
    let ext = format
        .parse::<crate::store::export::Format>()
        .map_or(format.to_string(), |f| f.extension().to_string());
    app.file.path.with_file_name(format!("{stem}.{ext}"))
}
