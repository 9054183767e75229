//! Building an app for tests: a loom from outline notation, default config and keys, a
//! fixed clock, and helpers to press keys and feed engine events.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tloom::app::keymap::Keymap;
use tloom::app::state::{App, FileState};
use tloom::app::{Effect, Msg, update};
use tloom::engine::{EngineEvent, ModelDescription};
use tloom::session::config::Config;
use tloom::tree::outline;

pub const T0: u64 = 1_700_000_000_000;

pub fn app_from(outline_text: &str) -> App {
    let loom = outline::parse(outline_text).expect("outline");
    let file = FileState {
        path: std::env::temp_dir().join("tloom-test-app.json"),
        read_only: None,
        dirty: false,
        save_due: None,
        save_error: None,
    };
    let mut app = App::new(
        loom,
        file,
        Config::default(),
        Keymap::defaults(),
        "local".into(),
        T0,
    );
    app.screen = (120, 40);
    app
}

/// The app with the model ready.
pub fn ready(outline_text: &str) -> App {
    let mut app = app_from(outline_text);
    update(
        &mut app,
        Msg::Engine(EngineEvent::Ready(ModelDescription {
            model: "test.gguf".into(),
            backend: "local".into(),
            context_length: 2048,
        })),
    );
    app
}

/// A key event from a key name ("g", "ctrl-r", "esc", "G").
pub fn key_event(name: &str) -> KeyEvent {
    let (mods, rest) = match name.strip_prefix("ctrl-") {
        Some(r) => (KeyModifiers::CONTROL, r),
        None => (KeyModifiers::NONE, name),
    };
    let code = match rest {
        "esc" => KeyCode::Esc,
        "enter" => KeyCode::Enter,
        "space" => KeyCode::Char(' '),
        "tab" => KeyCode::Tab,
        "backspace" => KeyCode::Backspace,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "end" => KeyCode::End,
        "home" => KeyCode::Home,
        s if s.chars().count() == 1 => KeyCode::Char(s.chars().next().expect("one char")),
        other => panic!("unknown test key {other}"),
    };
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => mods | KeyModifiers::SHIFT,
        _ => mods,
    };
    KeyEvent::new(code, mods)
}

/// Press keys given as space-separated names; returns every effect.
pub fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut fx = Vec::new();
    for k in keys.split_whitespace() {
        fx.extend(update(app, Msg::Key(key_event(k))));
    }
    fx
}

/// Type literal text (each character a key press).
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
}

pub fn engine(app: &mut App, event: EngineEvent) -> Vec<Effect> {
    update(app, Msg::Engine(event))
}

pub fn tick(app: &mut App, ms_after_t0: u64) -> Vec<Effect> {
    update(app, Msg::Tick(T0 + ms_after_t0))
}

/// The tree as outline text.
pub fn shown(app: &App) -> String {
    outline::render(
        &app.loom,
        app.loom.root(),
        outline::OutlineOptions::default(),
    )
}

/// The whole screen drawn at `w x h`, one line a row.
pub fn screen(app: &App, w: u16, h: u16) -> String {
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| tloom::ui::draw(f, app)).expect("draw");
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}
