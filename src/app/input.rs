//! Keys, routed by mode: the keymap in normal and triage mode, text keys while editing,
//! and the keys of each overlay.

use super::action::Action;
use super::keymap::KeyContext;
use super::keys::KeyCombo;
use super::msg::Effect;
use super::state::{App, EditTarget, Level, LineInput, Mode};
use super::textbuf::TextBuf;
use super::{actions, curate, multiverse, palette, predictor, sampling_panel};
use crate::tree::Query;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match app.mode.clone() {
        Mode::Normal | Mode::Triage => {
            let context = if app.mode == Mode::Triage {
                KeyContext::Triage
            } else {
                KeyContext::Normal
            };
            let Some(combo) = KeyCombo::from_event(&key) else {
                return;
            };
            // Ctrl-C cancels running generations before it quits.
            if ctrl && key.code == KeyCode::Char('c') && app.jobs.is_busy() {
                return actions::run(app, Action::Cancel, fx);
            }
            match app.keymap.lookup(context, &combo) {
                Some(action) => actions::run(app, action, fx),
                None => app.say(
                    Level::Info,
                    format!("{combo} is not bound here (? lists the keys)"),
                ),
            }
        }
        Mode::Edit { target, mut buf } => {
            edit_key(app, target, &mut buf, key, fx);
        }
        Mode::Search(mut input) => match key.code {
            KeyCode::Esc => app.mode = Mode::Normal,
            KeyCode::Enter => {
                app.mode = Mode::Normal;
                run_search(app, input.buf.text);
            }
            _ => {
                line_key(&mut input.buf, key);
                app.mode = Mode::Search(input);
            }
        },
        Mode::Palette {
            mut input,
            selected,
        } => palette::key(app, &mut input, selected, key, fx),
        Mode::Help { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::F(1) => {
                app.mode = Mode::Normal
            }
            KeyCode::Down | KeyCode::Char('j') => {
                app.mode = Mode::Help {
                    scroll: scroll.saturating_add(1),
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                app.mode = Mode::Help {
                    scroll: scroll.saturating_sub(1),
                }
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                app.mode = Mode::Help {
                    scroll: scroll.saturating_add(10),
                }
            }
            KeyCode::PageUp => {
                app.mode = Mode::Help {
                    scroll: scroll.saturating_sub(10),
                }
            }
            _ => {}
        },
        Mode::Sampling { field, typing } => sampling_panel::key(app, field, typing, key),
        Mode::Tokens { node, index } => predictor::tokens_key(app, node, index, key),
        Mode::Alternatives {
            node,
            index,
            selected,
        } => predictor::alternatives_key(app, (node, index, selected), key, fx),
        Mode::Multiverse { .. } => multiverse::key(app, key),
        Mode::Stats { scroll } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('I') => app.mode = Mode::Normal,
            KeyCode::Down | KeyCode::Char('j') => {
                app.mode = Mode::Stats {
                    scroll: scroll.saturating_add(1),
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                app.mode = Mode::Stats {
                    scroll: scroll.saturating_sub(1),
                }
            }
            _ => {}
        },
        Mode::Context {
            scroll,
            job,
            inspection,
        } => match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('c') => app.mode = Mode::Normal,
            KeyCode::Down | KeyCode::Char('j') => {
                app.mode = Mode::Context {
                    scroll: scroll.saturating_add(1),
                    job,
                    inspection,
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                app.mode = Mode::Context {
                    scroll: scroll.saturating_sub(1),
                    job,
                    inspection,
                }
            }
            _ => {}
        },
    }
}

fn edit_key(
    app: &mut App,
    target: EditTarget,
    buf: &mut TextBuf,
    key: KeyEvent,
    fx: &mut Vec<Effect>,
) {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let split_mode = matches!(target, EditTarget::Split(_));
    match key.code {
        KeyCode::Esc if split_mode => {
            app.mode = Mode::Normal;
            return app.say(Level::Info, "split cancelled");
        }
        KeyCode::Esc => return curate::apply_edit(app, target, buf.text.clone(), fx),
        KeyCode::Char('s') if ctrl => return curate::apply_edit(app, target, buf.text.clone(), fx),
        KeyCode::Char('c') if ctrl => {
            app.mode = Mode::Normal;
            return app.say(Level::Info, "edit discarded");
        }
        KeyCode::Enter if split_mode => {
            if let EditTarget::Split(id) = target {
                curate::split_at(app, id, buf.caret_chars());
            }
            return;
        }
        KeyCode::Char('t') if ctrl => {
            if let EditTarget::Node(id) | EditTarget::Split(id) = target {
                let at = buf.caret_chars();
                curate::apply_edit(app, EditTarget::Node(id), buf.text.clone(), fx);
                curate::split_at(app, id, at);
            }
            return;
        }
        _ if split_mode => {
            caret_key(buf, key);
        }
        KeyCode::Enter => buf.insert("\n"),
        KeyCode::Tab => buf.insert("\t"),
        _ => {
            if !caret_key(buf, key) {
                line_key(buf, key);
            }
        }
    }
    app.mode = Mode::Edit {
        target,
        buf: buf.clone(),
    };
}

/// Caret movement; true when the key moved the caret.
fn caret_key(buf: &mut TextBuf, key: KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Left if ctrl => buf.word_left(),
        KeyCode::Right if ctrl => buf.word_right(),
        KeyCode::Left => buf.left(),
        KeyCode::Right => buf.right(),
        KeyCode::Up => buf.up(),
        KeyCode::Down => buf.down(),
        KeyCode::Home => buf.home(),
        KeyCode::End => buf.end(),
        _ => return false,
    }
    true
}

/// Typing into a one-line (or multi-line) buffer.
pub fn line_key(buf: &mut TextBuf, key: KeyEvent) {
    if caret_key(buf, key) {
        return;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Backspace => buf.backspace(),
        KeyCode::Delete => buf.delete(),
        KeyCode::Char('u') if ctrl => *buf = TextBuf::default(),
        KeyCode::Char(c) if !ctrl => {
            let mut tmp = [0u8; 4];
            buf.insert(c.encode_utf8(&mut tmp));
        }
        _ => {}
    }
}

/// A paste goes into whatever text is being typed, as one piece.
pub fn paste(app: &mut App, text: &str) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    match &mut app.mode {
        Mode::Edit {
            target: EditTarget::Split(_),
            ..
        } => {}
        Mode::Edit { buf, .. } => buf.insert(&text),
        Mode::Search(input) | Mode::Palette { input, .. } => {
            input.buf.insert(text.lines().next().unwrap_or(""))
        }
        Mode::Sampling {
            typing: Some(input),
            ..
        } => input.buf.insert(text.lines().next().unwrap_or("")),
        _ => app.say(
            Level::Info,
            "to paste text, start writing first: a adds a child, e edits",
        ),
    }
}

/// Search node texts: plain, case-insensitive; `re:` in front for a regular expression.
pub fn run_search(app: &mut App, text: String) {
    if text.is_empty() {
        return;
    }
    let (pattern, regex) = match text.strip_prefix("re:") {
        Some(p) => (p.to_string(), true),
        None => (text.clone(), false),
    };
    let query = Query {
        pattern,
        regex,
        case_sensitive: false,
        include_archived: app.show_archived,
    };
    match app.loom.search_nodes(&query) {
        Ok(hits) if hits.is_empty() => app.say(Level::Info, format!("no node contains “{text}”")),
        Ok(hits) => {
            app.search.hits = hits;
            app.search.query = text;
            super::navigate::search_step(app, true);
        }
        Err(e) => app.say(Level::Warning, e.to_string()),
    }
}

impl LineInput {
    pub fn text(&self) -> &str {
        &self.buf.text
    }
}
